package content_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
	"github.com/cursorwindow/cursorwindow/fdpass"
	"github.com/cursorwindow/cursorwindow/window"
)

// tripRows returns n rows of (id, fare, city, payload).
func tripRows(n int) [][]any {
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{int64(i), float64(i) * 0.25, fmt.Sprintf("city-%03d", i%500), []byte(strings.Repeat("p", i%64))}
	}
	return rows
}

// startServer serves p (contenttest.Serve) with the package's quiet
// logger.
func startServer(t testing.TB, p provider.Provider, opts ...provider.ServerOption) (string, *provider.Server) {
	t.Helper()
	return contenttest.Serve(t, p, append([]provider.ServerOption{provider.WithLogger(quiet)}, opts...)...)
}

var quiet = slog.New(slog.DiscardHandler)

// noWait has a client return the provider's busy answers as they come,
// for tests of the refusals themselves.
var noWait = content.WithBusyWait(0)

func newProvider(n int) *contenttest.MemProvider {
	p := contenttest.NewMemProvider()
	p.AddTable("trips", []string{"id", "fare", "city", "payload"}, tripRows(n))
	return p
}

func checkRow(t testing.TB, cur *content.Cursor, i int64) {
	t.Helper()
	id, err := cur.Int64(0)
	require.NoError(t, err)
	require.Equal(t, i, id)
	fare, err := cur.Float64(1)
	require.NoError(t, err)
	require.Equal(t, float64(i)*0.25, fare)
	city, err := cur.StringView(2)
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("city-%03d", i%500), city)
	payload, err := cur.Bytes(3)
	require.NoError(t, err)
	require.Len(t, payload, int(i%64))
}

func TestFullScanAcrossWindows(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []content.QueryOption
	}{
		{"shared", nil},
		{"shared-prefetch-3", []content.QueryOption{content.WithPrefetch(3)}},
		{"no-prefetch", []content.QueryOption{content.WithPrefetch(0)}},
		{"inline", []content.QueryOption{content.WithCopiedWindows()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 50_000
			path, _ := startServer(t, newProvider(n), provider.WithWindowSize(256<<10))
			c := contenttest.Dial(t, path)
			cur, err := c.Query(context.Background(), &content.Query{URI: "trips"}, tc.opts...)
			require.NoError(t, err)
			assert.Equal(t, []string{"id", "fare", "city", "payload"}, cur.Columns())
			assert.Equal(t, int64(n), cur.Count())
			var i int64
			for pos, err := range cur.All() {
				require.NoError(t, err)
				require.Equal(t, i, pos)
				checkRow(t, cur, i)
				i++
			}
			assert.Equal(t, int64(n), i)
			assert.False(t, cur.Next())
			require.NoError(t, cur.Err())
			require.NoError(t, cur.Close())
		})
	}
}

func TestSmallResultIsInline(t *testing.T) {
	path, _ := startServer(t, newProvider(1000))
	c := contenttest.Dial(t, path)
	before := countFDs(t)
	cur, err := c.Query(context.Background(), &content.Query{URI: "trips", Selection: "id < ?", Args: []any{3}, Order: "id DESC"})
	require.NoError(t, err)
	assert.Equal(t, before, countFDs(t), "no fd crossed for a small result")
	var ids []int64
	for cur.Next() {
		id, err := cur.Int64(0)
		require.NoError(t, err)
		ids = append(ids, id)
	}
	require.NoError(t, cur.Err())
	assert.Equal(t, []int64{2, 1, 0}, ids)
	require.NoError(t, cur.Close())
}

func TestMoveBackwardAndRandom(t *testing.T) {
	const n = 20_000
	path, _ := startServer(t, newProvider(n), provider.WithWindowSize(64<<10))
	c := contenttest.Dial(t, path)
	cur, err := c.Query(context.Background(), &content.Query{URI: "trips"})
	require.NoError(t, err)
	defer cur.Close()
	for _, pos := range []int64{0, 15_000, 14_999, 14_000, 3, 19_999, 10_000, 9_999} {
		require.True(t, cur.Move(pos), "move to %d: %v", pos, cur.Err())
		checkRow(t, cur, pos)
	}
	assert.False(t, cur.Move(n), "past the end")
	require.NoError(t, cur.Err())
	_, err = cur.Int64(0)
	require.ErrorIs(t, err, content.ErrNoRow)
	require.True(t, cur.Move(5))
	checkRow(t, cur, 5)
}

func TestErrorsReachTheConsumer(t *testing.T) {
	path, _ := startServer(t, newProvider(10))
	c := contenttest.Dial(t, path)
	ctx := context.Background()
	_, err := c.Query(ctx, &content.Query{URI: "nope"})
	require.ErrorIs(t, err, content.ErrNotFound)
	var pe *content.ProviderError
	require.True(t, errors.As(err, &pe))
	assert.Contains(t, pe.Message, "nope")
	_, err = c.Query(ctx, &content.Query{URI: "trips", Projection: []string{"bogus"}})
	require.ErrorIs(t, err, content.ErrBadRequest)
	_, err = c.Call(ctx, "explode", "", nil)
	require.ErrorIs(t, err, content.ErrUnsupported)
}

func TestWritesAndNotifications(t *testing.T) {
	path, _ := startServer(t, newProvider(3))
	c := contenttest.Dial(t, path)
	watcher := contenttest.Dial(t, path)
	ctx := context.Background()
	w, err := watcher.Register(ctx, "trips", false)
	require.NoError(t, err)
	id, err := c.Insert(ctx, "trips", content.Values{"id": 100, "city": "Lyon"})
	require.NoError(t, err)
	assert.Equal(t, int64(3), id)
	select {
	case uri := <-w.C():
		assert.Equal(t, "trips", uri)
	case <-time.After(5 * time.Second):
		t.Fatal("no notification")
	}
	n, err := c.Update(ctx, "trips", content.Values{"fare": 9.5}, "id = ?", 100)
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	<-w.C()
	cur, err := c.Query(ctx, &content.Query{URI: "trips", Selection: "city = ?", Args: []any{"Lyon"}})
	require.NoError(t, err)
	require.True(t, cur.Next())
	f, err := cur.Float64(1)
	require.NoError(t, err)
	assert.Equal(t, 9.5, f)
	n, err = c.Delete(ctx, "trips", "id >= ?", 1)
	require.NoError(t, err)
	assert.Equal(t, int64(3), n)
	<-w.C()
	require.NoError(t, cur.Requery(ctx))
	assert.False(t, cur.Next(), "the Lyon row is gone")
	require.NoError(t, cur.Close())
	res, err := c.Call(ctx, "tables", "", nil)
	require.NoError(t, err)
	assert.Equal(t, []any{"trips"}, res["tables"])
	require.NoError(t, w.Close())
}

func TestUnauthorisedUIDRefused(t *testing.T) {
	path, _ := startServer(t, newProvider(3), provider.WithAuthorizer(func(c fdpass.Cred) error {
		return fmt.Errorf("uid %d is not welcome", c.UID)
	}))
	_, err := content.Dial(context.Background(), path)
	require.ErrorIs(t, err, content.ErrPermission)
	assert.Contains(t, err.Error(), "not welcome")
}

// Each way of reaching no provider has its own kind and a message that
// says what to do; none is "provider gone", which means a provider that
// was there and left.
func TestNoProvider(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "stale.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	require.NoError(t, err)
	ln.SetUnlinkOnClose(false)
	ln.Close() // a provider killed without removing its socket
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	for _, tc := range []struct {
		name, path string
		kind       error
		says       string
	}{
		{"no socket", filepath.Join(dir, "absent.sock"), syscall.ENOENT, "no socket there: start the provider"},
		{"no directory", filepath.Join(dir, "absent", "p.sock"), syscall.ENOENT, "no socket there"},
		{"stale socket", stale, syscall.ECONNREFUSED, "a stale socket"},
		{"regular file", file, syscall.ENOTSOCK, "not a socket"},
		{"directory", dir, syscall.ENOTSOCK, "not a socket"},
		{"path too long", filepath.Join(dir, strings.Repeat("x", 120)), syscall.ENAMETOOLONG, "at most 107"},
		{"abstract name", "@cursorwindow-test-absent-" + strconv.Itoa(os.Getpid()), syscall.ECONNREFUSED, "abstract name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := content.Dial(context.Background(), tc.path)
			require.ErrorIs(t, err, content.ErrNoProvider)
			assert.ErrorIs(t, err, tc.kind)
			assert.NotErrorIs(t, err, content.ErrProviderGone)
			assert.Contains(t, err.Error(), tc.says)
		})
	}
}

func TestSocketIsPrivateAndNotStolen(t *testing.T) {
	path, _ := startServer(t, newProvider(1))
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	dir, err := os.Stat(filepath.Dir(path))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), dir.Mode().Perm())
	_, err = provider.Listen(path, 0o600)
	require.Error(t, err, "a live provider's socket is not stolen")

	stale := filepath.Join(t.TempDir(), "stale.sock")
	require.NoError(t, os.WriteFile(stale, nil, 0o600))
	ln, err := provider.Listen(stale, 0o600)
	require.NoError(t, err, "a stale socket file is replaced")
	ln.Close()
}

func TestManyConsumersAndDisconnects(t *testing.T) {
	const n = 30_000
	path, s := startServer(t, newProvider(n), provider.WithWindowSize(128<<10), provider.WithMemoryBudget(4<<20))
	before := countFDs(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := content.Dial(context.Background(), path)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			cur, err := c.Query(context.Background(), &content.Query{URI: "trips"})
			if err != nil {
				errs <- err
				return
			}
			var rows int64
			for cur.Next() {
				id, err := cur.Int64(0)
				if err != nil || id != rows {
					errs <- fmt.Errorf("row %d: id %d, %v", rows, id, err)
					return
				}
				rows++
				if g%2 == 1 && rows == n/2 {
					return // disconnect mid-scan without closing the cursor
				}
			}
			if err := cur.Err(); err != nil || rows != n {
				errs <- fmt.Errorf("scanned %d rows: %v", rows, err)
			}
			cur.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	// Every connection ended and every window went back to the pool or
	// the idle cache; the only fds left are theirs.
	require.Eventually(t, func() bool {
		st := s.Stats()
		return st.Conns == 0 && st.WindowsOut == 0 && st.Cached == st.CachedIdle &&
			countFDs(t) <= before+st.PoolIdle+st.CachedIdle
	}, 15*time.Second, 10*time.Millisecond, "fds back to baseline: %+v, %d fds, %d before: %v", s.Stats(), countFDs(t), before, fdTargets(t))
	assert.LessOrEqual(t, s.Stats().PoolBytes, int64(4<<20), "within the memory budget")
	c := contenttest.Dial(t, path)
	cur, err := c.Query(context.Background(), &content.Query{URI: "trips"}, content.WithPrefetch(8))
	require.NoError(t, err)
	for cur.Next() {
	}
	require.NoError(t, cur.Err())
	cur.Close()
}

func TestProviderGone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.sock")
	ln, err := provider.Listen(path, 0o600)
	require.NoError(t, err)
	s := provider.NewServer(newProvider(50_000), provider.WithWindowSize(64<<10), provider.WithLogger(quiet))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	c := contenttest.Dial(t, path)
	cur, err := c.Query(context.Background(), &content.Query{URI: "trips"}, content.WithPrefetch(0))
	require.NoError(t, err)
	require.True(t, cur.Next())
	cancel()
	require.NoError(t, <-done)
	// The window in hand stays readable.
	checkRow(t, cur, 0)
	for cur.Next() {
	}
	require.ErrorIs(t, cur.Err(), content.ErrProviderGone)
	require.ErrorIs(t, cur.Err(), content.ErrShutdown, "a graceful shutdown, not a crash")
	require.NoError(t, cur.Close())
}

// fdTargets lists what the process's descriptors point at, for a failed
// baseline check's message.
func fdTargets(t testing.TB) []string {
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	var out []string
	for _, e := range ents {
		target, _ := os.Readlink("/proc/self/fd/" + e.Name())
		out = append(out, e.Name()+"->"+target)
	}
	return out
}

// countFDs counts the process's descriptors of the kinds this library
// opens (sockets, memfds, shm objects and files), leaving out anonymous
// inodes and pipes: the runtime's and the test harness's (pidfds of child
// processes, eventfds, epoll, the children's pipes), which come and go on
// their own schedule and once made a baseline check fail with one more.
func countFDs(t testing.TB) int {
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	n := 0
	for _, e := range ents {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil || strings.HasPrefix(target, "anon_inode:") || strings.HasPrefix(target, "pipe:") {
			continue // gone meanwhile, or not ours
		}
		n++
	}
	return n
}

func TestWindowsSharedBetweenConsumers(t *testing.T) {
	const n = 40_000
	path, s := startServer(t, newProvider(n), provider.WithWindowSize(256<<10))
	ctx := context.Background()
	a, b := contenttest.Dial(t, path), contenttest.Dial(t, path)
	ca, err := a.Query(ctx, &content.Query{URI: "trips"})
	require.NoError(t, err)
	// No window ahead for b: its prefetch, sent now, could race a's own
	// and fill the second window itself, and where its rows end differs
	// from a's, every later window of b starts where a has none (13
	// failures in 50 runs, two at once under -race, before).
	cb, err := b.Query(ctx, &content.Query{URI: "trips"}, content.WithPrefetch(0))
	require.NoError(t, err)
	// a reads the result first, b after (side by side, the two could
	// both fill a window neither had found cached yet: correct, but the
	// count of hits would depend on timing).
	for _, cur := range []*content.Cursor{ca, cb} {
		for i := int64(0); i < n; i++ {
			require.True(t, cur.Next())
			checkRow(t, cur, i)
		}
		require.False(t, cur.Next())
	}
	st := s.Stats()
	windows := st.Cached
	assert.Greater(t, windows, 5, "the result spans several windows")
	assert.GreaterOrEqual(t, st.SharedHits, int64(windows-1), "the second consumer got the first one's windows")
	require.NoError(t, ca.Close())
	require.NoError(t, cb.Close())

	// A third consumer, later, is served from the idle cache.
	hits := s.Stats().SharedHits
	rows, _, err := scanTrips(ctx, contenttest.Dial(t, path))
	require.NoError(t, err)
	assert.Equal(t, int64(n), rows)
	assert.GreaterOrEqual(t, s.Stats().SharedHits-hits, int64(windows))

	// A write invalidates: the next query sees the new data.
	_, err = a.Update(ctx, "trips", content.Values{"fare": -1.0}, "id = ?", 39_999)
	require.NoError(t, err)
	cur, err := b.Query(ctx, &content.Query{URI: "trips"})
	require.NoError(t, err)
	require.True(t, cur.Move(39_999))
	f, err := cur.Float64(1)
	require.NoError(t, err)
	assert.Equal(t, -1.0, f)
	require.NoError(t, cur.Close())
}

func TestIdleCachedWindowsYieldToNewQueries(t *testing.T) {
	// A budget of 4 windows: idle cached windows of one query must be
	// evicted for another, not make it wait and fail.
	p := newProvider(20_000)
	p.AddTable("other", []string{"id", "fare", "city", "payload"}, tripRows(20_000))
	path, s := startServer(t, p, provider.WithWindowSize(128<<10), provider.WithMemoryBudget(4*128<<10), provider.WithPoolWait(100*time.Millisecond))
	c := contenttest.Dial(t, path)
	for _, uri := range []string{"trips", "other", "trips", "other"} {
		cur, err := c.Query(context.Background(), &content.Query{URI: uri})
		require.NoError(t, err)
		var rows int
		for cur.Next() {
			rows++
		}
		require.NoError(t, cur.Err(), uri)
		assert.Equal(t, 20_000, rows)
		require.NoError(t, cur.Close())
	}
	assert.LessOrEqual(t, s.Stats().PoolBytes, int64(4*128<<10))
}

func scanTrips(ctx context.Context, c *content.Client) (int64, float64, error) {
	return scan(ctx, c, &content.Query{URI: "trips"})
}

// slowProvider delays every row, to test deadlines.
type slowProvider struct {
	provider.ReadOnly
	delay time.Duration
}

type slowRows struct {
	delay time.Duration
	i     int
}

func (p slowProvider) Query(context.Context, *content.Query) (provider.Rows, error) {
	return &slowRows{delay: p.delay}, nil
}
func (r *slowRows) Columns() []string { return []string{"i"} }
func (r *slowRows) Next() bool        { time.Sleep(r.delay); r.i++; return r.i <= 100_000 }
func (r *slowRows) Put(w *window.Writer) error {
	return w.PutInt64(0, int64(r.i))
}
func (r *slowRows) Err() error   { return nil }
func (r *slowRows) Close() error { return nil }

func TestDeadlinesAreHonoured(t *testing.T) {
	path, _ := startServer(t, slowProvider{delay: 2 * time.Millisecond})
	c := contenttest.Dial(t, path)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Query(ctx, &content.Query{URI: "slow"})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 2*time.Second)

	// The connection is still usable: a write-free call works.
	_, err = c.Call(context.Background(), "anything", "", nil)
	require.ErrorIs(t, err, content.ErrUnsupported)
}

func TestListenRefusesUnsafeDirectories(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "open")
	require.NoError(t, os.Mkdir(dir, 0o777))
	require.NoError(t, os.Chmod(dir, 0o777))
	_, err := provider.Listen(filepath.Join(dir, "p.sock"), 0o600)
	require.Error(t, err, "a directory anyone can write to")
	assert.Contains(t, err.Error(), "writable by others")

	require.NoError(t, os.Chmod(dir, 0o777|os.ModeSticky))
	ln, err := provider.Listen(filepath.Join(dir, "p.sock"), 0o600)
	require.NoError(t, err, "a sticky directory like /tmp is fine: nobody can replace our socket")
	ln.Close()
}

func TestProviderErrorText(t *testing.T) {
	path, _ := startServer(t, newProvider(1))
	c := contenttest.Dial(t, path)
	_, err := c.Query(context.Background(), &content.Query{URI: "nope"})
	require.Error(t, err)
	assert.Equal(t, `content: provider: not found: no table "nope" (tables: trips)`, err.Error())
}
