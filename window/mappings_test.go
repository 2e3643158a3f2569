package window_test

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/cursorwindow/cursorwindow/window"
)

// dupFile returns a new descriptor of w's file, as a consumer receives
// one, for Mappings.Open to close.
func dupFile(t testing.TB, w *window.Writer) *os.File {
	t.Helper()
	fd, err := unix.Dup(int(w.File().Fd()))
	require.NoError(t, err)
	return os.NewFile(uintptr(fd), "dup")
}

// recycled returns a pooled-style window (fixed size, sealed for reuse)
// of the backing opts choose, filled with rows.
func recycled(t testing.TB, rows [][]value, opts ...window.Option) *window.Writer {
	t.Helper()
	opts = append([]window.Option{window.WithInitialSize(64 << 10), window.WithMaxSize(64 << 10)}, opts...)
	w, err := window.Create(len(rows[0]), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { w.Close() })
	writeRows(t, w, rows)
	require.NoError(t, w.SealReusable())
	return w
}

// refill empties w and fills it with rows, as a pool does.
func refill(t testing.TB, w *window.Writer, rows [][]value) {
	t.Helper()
	require.NoError(t, w.Reset(0))
	writeRows(t, w, rows)
	require.NoError(t, w.SealReusable())
}

// mapsWith counts the lines of /proc/self/maps that contain s.
func mapsWith(t testing.TB, s string) int {
	b, err := os.ReadFile("/proc/self/maps")
	require.NoError(t, err)
	return strings.Count(string(b), s)
}

func textRows(n int, tag string) [][]value {
	rows := make([][]value, n)
	for i := range rows {
		rows[i] = []value{vInt(int64(i)), vStr(fmt.Sprintf("%s %d", tag, i))}
	}
	return rows
}

func TestMappingsReuseARecycledWindow(t *testing.T) {
	checkLeaks(t)
	m := window.NewMappings(4)
	defer m.Close()
	first := textRows(30, "first")
	w := recycled(t, first)
	base := countMemfdMaps(t)

	r1, err := m.Open(dupFile(t, w))
	require.NoError(t, err)
	assertRows(t, r1, first)
	assert.Equal(t, base+1, countMemfdMaps(t), "mapped once")
	id := r1.Identity()
	require.NoError(t, r1.Close())
	require.NoError(t, r1.Close(), "idempotent")
	_, err = r1.Int64(0, 0)
	assert.ErrorIs(t, err, window.ErrClosed)
	assert.Equal(t, base+1, countMemfdMaps(t), "kept, idle")
	assert.Equal(t, window.MappingStats{Idle: 1}, m.Stats())

	second := textRows(7, "second")
	refill(t, w, second)
	r2, err := m.Open(dupFile(t, w))
	require.NoError(t, err)
	assertRows(t, r2, second)
	assert.Equal(t, id, r2.Identity())
	assert.Equal(t, base+1, countMemfdMaps(t), "the same mapping, not mapped again")

	// Two readers of one file share the mapping; each closes on its own.
	r3, err := m.Open(dupFile(t, w))
	require.NoError(t, err)
	assert.Equal(t, base+1, countMemfdMaps(t))
	assert.Equal(t, window.MappingStats{InUse: 1}, m.Stats())
	require.NoError(t, r2.Close())
	assertRows(t, r3, second)
	require.NoError(t, r3.Close())

	require.NoError(t, m.Close())
	assert.Equal(t, base, countMemfdMaps(t), "Close unmaps the idle mappings")
}

func TestMappingsKeepUpToTheLimitIdle(t *testing.T) {
	for _, limit := range []int{0, 1, 3, 10} {
		t.Run(fmt.Sprintf("limit=%d", limit), func(t *testing.T) {
			checkLeaks(t)
			var ws []*window.Writer
			for i := range 5 {
				ws = append(ws, recycled(t, textRows(3, fmt.Sprint("w", i))))
			}
			base := countMemfdMaps(t)
			m := window.NewMappings(limit)
			defer m.Close()
			// One window held throughout is never unmapped.
			held, err := m.Open(dupFile(t, ws[0]))
			require.NoError(t, err)
			for i, w := range ws[1:] {
				r, err := m.Open(dupFile(t, w))
				require.NoError(t, err)
				require.NoError(t, r.Close())
				assert.Equal(t, base+1+min(i+1, limit), countMemfdMaps(t), "held + idle up to the limit")
			}
			assertRows(t, held, textRows(3, "w0"))
			assert.Equal(t, window.MappingStats{InUse: 1, Idle: min(limit, 4)}, m.Stats())

			// The most recently released is reused; the oldest was unmapped.
			before := countMemfdMaps(t)
			r, err := m.Open(dupFile(t, ws[4]))
			require.NoError(t, err)
			if limit > 0 {
				assert.Equal(t, before, countMemfdMaps(t), "reused")
			} else {
				assert.Equal(t, before+1, countMemfdMaps(t), "nothing kept")
			}
			require.NoError(t, r.Close())
			require.NoError(t, held.Close())
			assert.Equal(t, base+min(limit, 5), countMemfdMaps(t))
		})
	}
}

func TestMappingsWithQuarantineFaultStaleViews(t *testing.T) {
	checkLeaks(t)
	m := window.NewMappings(1, window.WithQuarantine())
	defer m.Close()
	w := recycled(t, [][]value{{vStr("first window's data")}})
	r, err := m.Open(dupFile(t, w))
	require.NoError(t, err)
	view, err := r.Bytes(0, 0)
	require.NoError(t, err)
	require.NoError(t, r.Close())
	refill(t, w, [][]value{{vStr("SECOND window's data")}})
	faulted, got := faults(view)
	assert.True(t, faulted, "an idle mapping is inaccessible: the stale view reads nothing (%q)", got)

	r, err = m.Open(dupFile(t, w))
	require.NoError(t, err, "reused: made readable again")
	s, err := r.String(0, 0)
	require.NoError(t, err)
	assert.Equal(t, "SECOND window's data", s)
	view, err = r.Bytes(0, 0)
	require.NoError(t, err)
	require.NoError(t, r.Close())

	// A second window pushes the first out of the cache (limit 1): its
	// range stays reserved, so no later mapping can serve the stale view.
	other := recycled(t, [][]value{{vStr("other")}})
	o, err := m.Open(dupFile(t, other))
	require.NoError(t, err)
	require.NoError(t, o.Close())
	var more []*window.Window
	for range 16 {
		o, err := window.Open(other.File())
		require.NoError(t, err)
		more = append(more, o)
	}
	faulted, _ = faults(view)
	assert.True(t, faulted, "an evicted mapping is quarantined")
	for _, o := range more {
		o.Close()
	}
}

func TestMappingsOpenRefuses(t *testing.T) {
	checkLeaks(t)
	m := window.NewMappings(4)
	defer m.Close()
	_, err := m.Open(nil)
	require.ErrorIs(t, err, window.ErrNotSealed)

	fd, err := unix.MemfdCreate("unsealed", unix.MFD_CLOEXEC)
	require.NoError(t, err)
	f := os.NewFile(uintptr(fd), "unsealed")
	_, err = m.Open(f)
	require.ErrorIs(t, err, window.ErrNotSealed)
	assert.Error(t, f.Close(), "closed by Open even on error")

	// A refill with a bad header: the mapping is dropped, the error
	// reported, and a good refill maps afresh.
	w := recycled(t, textRows(2, "ok"))
	r, err := m.Open(dupFile(t, w))
	require.NoError(t, err)
	require.NoError(t, r.Close())
	base := countMemfdMaps(t)
	require.NoError(t, w.Reset(0))
	b, err := w.Bytes()
	require.NoError(t, err)
	b[0] ^= 0xff // the writer's own mapping (a test's liberty): bad magic
	require.NoError(t, w.SealReusable())
	_, err = m.Open(dupFile(t, w))
	require.ErrorIs(t, err, window.ErrCorrupt)
	assert.Equal(t, base-1, countMemfdMaps(t), "the mapping was dropped")
	refill(t, w, textRows(4, "good"))
	r, err = m.Open(dupFile(t, w))
	require.NoError(t, err)
	assertRows(t, r, textRows(4, "good"))
	require.NoError(t, r.Close())

	require.NoError(t, m.Close())
	require.NoError(t, m.Close(), "idempotent")
	f = dupFile(t, w)
	_, err = m.Open(f)
	require.ErrorIs(t, err, window.ErrClosed)
	assert.Error(t, f.Close(), "closed by Open after Close too")
}

func TestMappingsCloseWhileInUse(t *testing.T) {
	checkLeaks(t)
	w := recycled(t, textRows(5, "held"))
	base := countMemfdMaps(t)
	m := window.NewMappings(4)
	r, err := m.Open(dupFile(t, w))
	require.NoError(t, err)
	require.NoError(t, m.Close())
	assertRows(t, r, textRows(5, "held"))
	assert.Equal(t, base+1, countMemfdMaps(t), "a mapping in use stays")
	require.NoError(t, r.Close())
	assert.Equal(t, base, countMemfdMaps(t), "unmapped by its last reader once the cache is closed")
}

func TestMappingsCopyLocation(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []window.Option
		// mapped says what /proc/self/maps shows of a mapping of w.
		mapped func(w *window.Writer) string
	}{
		{"shm", []window.Option{window.WithBacking(window.ShmBacking()), window.WithName(testPrefix)},
			func(w *window.Writer) string { return "/dev/shm/" + w.Location().Name }},
		{"sysv", []window.Option{window.WithBacking(window.SysVBacking())},
			func(w *window.Writer) string { return fmt.Sprintf("SYSV%08x", w.Location().Key) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkLeaks(t)
			m := window.NewMappings(4)
			defer m.Close()
			first := textRows(40, "first")
			w := recycled(t, first, tc.opts...)
			mapped := tc.mapped(w)
			base := mapsWith(t, mapped) // the writer's own

			c1, err := m.CopyLocation(w.Location())
			require.NoError(t, err)
			assertRows(t, c1, first)
			assert.Less(t, c1.Size(), 64<<10, "a compact copy, without the free space")
			assert.Equal(t, base+1, mapsWith(t, mapped), "one mapping, idle")

			second := textRows(3, "second")
			refill(t, w, second)
			c2, err := m.CopyLocation(w.Location())
			require.NoError(t, err)
			assertRows(t, c2, second)
			assertRows(t, c1, first) // a copy is its own
			assert.Equal(t, base+1, mapsWith(t, mapped), "the mapping was reused")

			require.NoError(t, m.Close())
			assert.Equal(t, base, mapsWith(t, mapped))
			require.NoError(t, w.Close())
			assertRows(t, c2, second) // outlives the window and the cache
			require.NoError(t, c2.Close())
		})
	}
}

func TestMappingsCopyLocationChecksTheObjectEachTime(t *testing.T) {
	checkLeaks(t)
	m := window.NewMappings(4)
	defer m.Close()
	shmOpts := []window.Option{window.WithBacking(window.ShmBacking()), window.WithName(testPrefix)}
	w := recycled(t, textRows(10, "original"), shmOpts...)
	loc := w.Location()
	path := "/dev/shm/" + loc.Name
	c, err := m.CopyLocation(loc)
	require.NoError(t, err)
	assertRows(t, c, textRows(10, "original"))

	// The name now names another object of the same size: its rows, not
	// the cached mapping's.
	other := recycled(t, textRows(2, "impostor"), shmOpts...)
	require.NoError(t, os.Rename("/dev/shm/"+other.Location().Name, path))
	c, err = m.CopyLocation(loc)
	require.NoError(t, err)
	assertRows(t, c, textRows(2, "impostor"))

	// Its mode opened to others: refused, though a mapping is cached.
	require.NoError(t, os.Chmod(path, 0o644))
	_, err = m.CopyLocation(loc)
	require.ErrorIs(t, err, window.ErrPermission)
	require.NoError(t, os.Chmod(path, 0o600))

	// Truncated under the cached mapping: an error, not a crash.
	require.NoError(t, os.Truncate(path, 100))
	_, err = m.CopyLocation(loc)
	require.ErrorIs(t, err, window.ErrCorrupt)
	require.NoError(t, os.Truncate(path, 1<<20))
	_, err = m.CopyLocation(loc)
	require.ErrorIs(t, err, window.ErrCorrupt, "header size and object size disagree")

	_, err = m.CopyLocation(window.Location{Kind: window.KindMemfd})
	require.Error(t, err)
	_, err = m.CopyLocation(window.Location{Kind: window.KindShm, Name: "../etc/passwd"})
	require.Error(t, err)
}

func TestMappingsCopyLocationOfAFileWindow(t *testing.T) {
	checkLeaks(t)
	path := t.TempDir() + "/snap.cw"
	rows := sampleRows(20)
	w, err := window.Create(5, window.WithBacking(window.FileBacking(path)))
	require.NoError(t, err)
	defer w.Close()
	writeRows(t, w, rows)
	require.NoError(t, w.Seal())
	m := window.NewMappings(4)
	defer m.Close()
	base := mapsWith(t, path) // the writer's own
	c, err := m.CopyLocation(w.Location())
	require.NoError(t, err)
	assertRows(t, c, rows)
	assert.Equal(t, base, mapsWith(t, path), "a file window is not cached")
}

// TestMappingsConcurrentUse opens, reads and closes a few recycled
// windows from many goroutines through a cache smaller than their number
// (meant for -race); nothing leaks.
func TestMappingsConcurrentUse(t *testing.T) {
	checkLeaks(t)
	var ws []*window.Writer
	for i := range 4 {
		ws = append(ws, recycled(t, textRows(10, fmt.Sprint("w", i))))
	}
	m := window.NewMappings(2)
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for i := range 40 {
				k := (g + i) % len(ws)
				fd, err := unix.Dup(int(ws[k].File().Fd()))
				if !assert.NoError(t, err) {
					return
				}
				r, err := m.Open(os.NewFile(uintptr(fd), "dup"))
				if !assert.NoError(t, err) {
					return
				}
				s, err := r.String(9, 1)
				assert.NoError(t, err)
				assert.Equal(t, fmt.Sprintf("w%d 9", k), s)
				assert.NoError(t, r.Close())
			}
		})
	}
	wg.Wait()
	require.NoError(t, m.Close())
}

// A memfd already mapped is reused on its identity alone: its seals
// cannot have gone, and it is read through the mapping, not through the
// descriptor, so a descriptor that could not be mapped (O_PATH) still
// opens it; a cache that has not mapped it refuses that descriptor.
func TestMappingsReuseOnIdentity(t *testing.T) {
	checkLeaks(t)
	w := recycled(t, textRows(3, "x"))
	m := window.NewMappings(4)
	defer m.Close()
	r, err := m.Open(dupFile(t, w))
	require.NoError(t, err)
	require.NoError(t, r.Close())
	opath := func() *os.File {
		fd, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", w.File().Fd()), unix.O_PATH|unix.O_CLOEXEC, 0)
		require.NoError(t, err)
		return os.NewFile(uintptr(fd), "opath")
	}
	r, err = m.Open(opath())
	require.NoError(t, err, "the cached mapping")
	assertRows(t, r, textRows(3, "x"))
	require.NoError(t, r.Close())

	fresh := window.NewMappings(4)
	defer fresh.Close()
	_, err = fresh.Open(opath())
	require.ErrorIs(t, err, window.ErrNotSealed, "mapped for the first time: every check")
}

// With WithCloseBatch, the descriptor of a memfd the cache maps already
// is closed with a batch of others (its close would wake the Go
// runtime's monitor thread): a Mappings holds at most batch-1 such
// descriptors more than its mappings, none once the mapping goes, and
// none after Close. Without it, none.
func TestMappingsCloseReusedDescriptorsInBatches(t *testing.T) {
	checkLeaks(t)
	w := recycled(t, textRows(3, "x"))
	at := window.NewMappings(4)
	defer at.Close()
	r0, err := at.Open(dupFile(t, w))
	require.NoError(t, err)
	n := countFDs(t)
	for range 10 {
		r, err := at.Open(dupFile(t, w))
		require.NoError(t, err)
		require.NoError(t, r.Close())
		require.Equal(t, n, countFDs(t), "closed at once without WithCloseBatch")
	}
	require.NoError(t, r0.Close())

	m := window.NewMappings(0, window.WithCloseBatch(64)) // a mapping no reader holds is unmapped
	defer m.Close()
	first, err := m.Open(dupFile(t, w))
	require.NoError(t, err)
	base := countFDs(t)
	for i := range 150 {
		r, err := m.Open(dupFile(t, w))
		require.NoError(t, err)
		assertRows(t, r, textRows(3, "x"))
		require.NoError(t, r.Close())
		require.LessOrEqual(t, countFDs(t), base+63, "after %d reuses", i+1)
	}
	require.Greater(t, countFDs(t), base, "some are kept for the next batch")
	require.NoError(t, first.Close()) // the last reader: unmapped
	require.Equal(t, base, countFDs(t), "none kept past the mapping")
	assert.Equal(t, window.MappingStats{}, m.Stats())

	r, err := m.Open(dupFile(t, w))
	require.NoError(t, err)
	r2, err := m.Open(dupFile(t, w))
	require.NoError(t, err)
	require.NoError(t, m.Close())
	require.NoError(t, r.Close())
	require.NoError(t, r2.Close())
	require.Equal(t, base, countFDs(t), "none kept past Close")
}

// A POSIX shm object this cache maps (CopyLocation), unsealed, is never
// reused on its identity by Open: a provider that hands its descriptor
// over as if it were a memfd is refused, as before the object was mapped
// (else it could truncate the object under a reader: SIGBUS).
func TestMappingsOpenDoesNotReuseAnShmMapping(t *testing.T) {
	checkLeaks(t)
	w := recycled(t, textRows(40, "x"), window.WithBacking(window.ShmBacking()), window.WithName(testPrefix))
	m := window.NewMappings(4)
	defer m.Close()
	c, err := m.CopyLocation(w.Location())
	require.NoError(t, err)
	require.NoError(t, c.Close())
	f, err := os.Open("/dev/shm/" + w.Location().Name)
	require.NoError(t, err)
	_, err = m.Open(f)
	require.ErrorIs(t, err, window.ErrNotSealed)
}
