package content_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
	"github.com/cursorwindow/cursorwindow/window"
)

// logRecorder is a slog.Handler keeping every record a server logs, so
// that a test can check what was logged (and that it was logged once).
type logRecorder struct {
	s     *logStore
	attrs []slog.Attr
}

type logStore struct {
	mu      sync.Mutex
	entries []logEntry
}

type logEntry struct {
	level slog.Level
	msg   string
	attrs map[string]any
}

func newLogRecorder() (*slog.Logger, *logStore) {
	s := &logStore{}
	return slog.New(logRecorder{s: s}), s
}

func (h logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (h logRecorder) Handle(_ context.Context, r slog.Record) error {
	e := logEntry{level: r.Level, msg: r.Message, attrs: map[string]any{}}
	for _, a := range h.attrs {
		e.attrs[a.Key] = a.Value.Any()
	}
	r.Attrs(func(a slog.Attr) bool {
		e.attrs[a.Key] = a.Value.Any()
		return true
	})
	h.s.mu.Lock()
	h.s.entries = append(h.s.entries, e)
	h.s.mu.Unlock()
	return nil
}

func (h logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	return logRecorder{s: h.s, attrs: append(slices.Clip(h.attrs), as...)}
}

func (h logRecorder) WithGroup(string) slog.Handler { return h }

// withStack returns the entries that carry a stack: the provider's panics.
func (s *logStore) withStack() []logEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []logEntry
	for _, e := range s.entries {
		if _, ok := e.attrs["stack"]; ok {
			out = append(out, e)
		}
	}
	return out
}

// contains reports whether any entry mentions text in an attribute.
func (s *logStore) contains(text string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.entries {
		for _, v := range e.attrs {
			if strings.Contains(fmt.Sprint(v), text) {
				return true
			}
		}
	}
	return false
}

// secretPath stands for what a provider's own errors may name and a
// consumer must never see: paths, SQL, schema.
const secretPath = "/secret/db"

// faultyProvider serves n rows of one INT64 column "i" (0, 1, ...) under
// any URI "mode/at", failing as mode says at row at:
//
//	ok       no failure
//	query    Query panics
//	columns  Rows.Columns panics
//	next     Rows.Next panics at row at
//	put      Rows.Put panics at row at
//	close    Rows.Close panics
//	fail     Rows.Next ends at row at and Rows.Err reports a bad request
//	gatedput Rows.Put waits for gate to be closed at row at, then panics
//
// Insert panics. It counts the Queries it answered and the Rows it opened
// and closed.
type faultyProvider struct {
	provider.ReadOnly
	n       int64
	gate    chan struct{}
	queries atomic.Int64
	opened  atomic.Int64
	closed  atomic.Int64
}

func (p *faultyProvider) Query(_ context.Context, q *content.Query) (provider.Rows, error) {
	p.queries.Add(1)
	mode, at, _ := strings.Cut(q.URI, "/")
	if mode == "query" {
		panic("Query panics reading " + secretPath)
	}
	r := &faultyRows{p: p, mode: mode, i: -1, at: -1}
	if at != "" {
		n, err := strconv.ParseInt(at, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: uri %q", content.ErrNotFound, q.URI)
		}
		r.at = n
	}
	p.opened.Add(1)
	return r, nil
}

func (p *faultyProvider) Insert(context.Context, string, content.Values) (int64, error) {
	panic("Insert panics writing " + secretPath)
}

type faultyRows struct {
	p     *faultyProvider
	mode  string
	i, at int64
}

func (r *faultyRows) Columns() []string {
	if r.mode == "columns" {
		panic("Columns panics on " + secretPath)
	}
	return []string{"i"}
}

func (r *faultyRows) Next() bool {
	r.i++
	switch {
	case r.mode == "next" && r.i == r.at:
		panic("Next panics on " + secretPath)
	case r.mode == "fail" && r.i == r.at:
		return false
	}
	return r.i < r.p.n
}

func (r *faultyRows) Put(w *window.Writer) error {
	if r.mode == "gatedput" && r.i == r.at {
		<-r.p.gate
		panic("Put panics on " + secretPath)
	}
	if r.mode == "put" && r.i == r.at {
		panic("Put panics on " + secretPath)
	}
	return w.PutInt64(0, r.i)
}

func (r *faultyRows) Err() error {
	if r.mode == "fail" && r.i >= r.at {
		return fmt.Errorf("%w: position -1", content.ErrBadRequest)
	}
	return nil
}

func (r *faultyRows) Close() error {
	r.p.closed.Add(1)
	if r.mode == "close" {
		panic("Close panics on " + secretPath)
	}
	return nil
}

// scanInts reads a one-column result of 0, 1, ... and returns how many
// rows it read.
func scanInts(ctx context.Context, c *content.Client, uri string, opts ...content.QueryOption) (int64, error) {
	cur, err := c.Query(ctx, &content.Query{URI: uri}, opts...)
	if err != nil {
		return 0, err
	}
	defer cur.Close()
	var n int64
	for cur.Next() {
		v, err := cur.Int64(0)
		if err != nil {
			return n, err
		}
		if v != n {
			return n, fmt.Errorf("row %d holds %d", n, v)
		}
		n++
	}
	return n, cur.Err()
}

// poolSettled reports whether every pooled window is back: none held by a
// consumer, every cached one idle, and the pool's memory exactly that of
// its idle and cached windows (a window lost by a failed fill would be
// counted in PoolBytes and in neither).
func poolSettled(s *provider.Server, windowSize int64) bool {
	st := s.Stats()
	return st.Conns == 0 && st.WindowsOut == 0 && st.Cached == st.CachedIdle &&
		st.PoolBytes == int64(st.PoolIdle+st.CachedIdle)*windowSize
}

// TestProviderPanicCostsOnlyItsRequest: a panic in Query, in any Rows
// method or in Insert is answered ErrInternal to that request alone,
// without the panic's text; it is logged once with its stack; the same
// consumer and a new one are served afterwards; the rows that panicked
// are closed and no pooled window is lost.
// One piece: each panic is followed by the same checks on the same
// server (it still serves this consumer and a new one).
func TestProviderPanicCostsOnlyItsRequest(t *testing.T) {
	const n, windowSize = 4000, 16 << 10
	p := &faultyProvider{n: n}
	logger, logs := newLogRecorder()
	// Inline limit 0: every window, the first too, is a pooled shared
	// window, which a fill that panics must give back.
	path, s := startServer(t, p, provider.WithLogger(logger), provider.WithWindowSize(windowSize), provider.WithInlineLimit(0))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard only
	defer cancel()
	c, err := content.Dial(ctx, path)
	require.NoError(t, err)
	defer c.Close()

	checkFailure := func(t *testing.T, err error) {
		t.Helper()
		require.ErrorIs(t, err, content.ErrInternal)
		assert.NotContains(t, err.Error(), secretPath, "the panic's text stays in the provider")
	}
	for _, tc := range []struct {
		name, uri string
		later     bool // the panic comes in a later window: the query itself succeeds
	}{
		{"Query", "query/0", false},
		{"Rows.Columns", "columns/0", false},
		{"Rows.Next in the first window", "next/3", false},
		{"Rows.Put in the first window", "put/10", false},
		{"Rows.Next in a later window", "next/3000", true},
		{"Rows.Put in a later window", "put/3000", true},
		{"Rows.Close", "close/0", false},
		{"Insert", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			panics := len(logs.withStack())
			switch {
			case tc.uri == "":
				_, err := c.Insert(ctx, "ok", content.Values{"i": 1})
				checkFailure(t, err)
			case tc.later:
				rows, err := scanInts(ctx, c, tc.uri)
				checkFailure(t, err)
				assert.Positive(t, rows, "the rows before the panic were read")
				assert.Less(t, rows, int64(3000))
			case strings.HasPrefix(tc.uri, "close/"):
				// Every row was put before Close: the result may be
				// whole or ErrInternal, never more than that request.
				rows, err := scanInts(ctx, c, tc.uri)
				if err != nil {
					checkFailure(t, err)
				} else {
					assert.Equal(t, int64(n), rows)
				}
			default:
				_, err := c.Query(ctx, &content.Query{URI: tc.uri})
				checkFailure(t, err)
			}
			entries := logs.withStack()
			require.Len(t, entries, panics+1, "the panic is logged once")
			assert.Contains(t, fmt.Sprint(entries[panics].attrs["stack"]), "content_test.(*faulty",
				"the log carries the panic's stack, down to the provider's frame")

			rows, err := scanInts(ctx, c, "ok/0")
			require.NoError(t, err, "the same consumer is served afterwards")
			assert.Equal(t, int64(n), rows)
			other, err := content.Dial(ctx, path)
			require.NoError(t, err)
			rows, err = scanInts(ctx, other, "ok/0", content.WithPrefetch(3))
			require.NoError(t, err, "a new consumer is served afterwards")
			assert.Equal(t, int64(n), rows)
			require.NoError(t, other.Close())
			// Every Rows is closed once its query ends (a query served
			// from cached windows ends with the consumer's close, which
			// travels after the scan's last answer).
			waitUntil(t, 10*time.Second, func() (bool, string) {
				return p.opened.Load() == p.closed.Load(),
					fmt.Sprintf("the rows that panicked were closed: %d opened, %d closed", p.opened.Load(), p.closed.Load())
			})
		})
	}
	require.NoError(t, c.Close())
	waitUntil(t, 10*time.Second, func() (bool, string) {
		return poolSettled(s, windowSize), fmt.Sprintf("every pooled window is back: %+v", s.Stats())
	})
}

// TestPanicDoesNotRerunItsQuery: the requests queued behind the one whose
// rows panicked must not run the provider's Query again: the query ended.
// A raw consumer makes the queue certain: it asks for four windows ahead,
// and the fill of the first one waits, at the row that will panic, until
// the consumer knows the other three are queued (the provider answered a
// later request read from the same connection).
func TestPanicDoesNotRerunItsQuery(t *testing.T) {
	p := &faultyProvider{n: 4000, gate: make(chan struct{})}
	logger, logs := newLogRecorder()
	// 8 KiB windows hold about 1,000 of these rows (8 bytes and a bit
	// each): the result spans four.
	path, _ := startServer(t, p, provider.WithLogger(logger), provider.WithWindowSize(8<<10), provider.WithInlineLimit(0))
	c := rawDial(t, path)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(time.Minute))) // a hang guard only
	rawSend(t, c, 1, map[string]any{"v": wireVersion})
	typ, _ := rawRecv(t, c)
	require.Equal(t, uint16(2), typ, "helloReply")

	// How many rows the first window holds: the panic goes in the second.
	rawSend(t, c, 3, map[string]any{"r": 2, "u": "ok/0"})
	typ, first := rawRecv(t, c)
	require.Equal(t, uint16(4), typ, "window: %v", first)
	rows := intOf(t, first["k"])
	require.Less(t, rows, int64(2000), "the result spans several windows")
	rawSend(t, c, 6, map[string]any{"q": 2, "w": first["w"]})
	rawSend(t, c, 7, map[string]any{"r": 0, "q": 2})

	rawSend(t, c, 3, map[string]any{"r": 3, "u": fmt.Sprintf("gatedput/%d", rows+5)})
	typ, m := rawRecv(t, c)
	require.Equal(t, uint16(4), typ, "window: %v", m)
	for r := 4; r <= 7; r++ {
		rawSend(t, c, 5, map[string]any{"r": r, "q": 3, "s": -1})
	}
	rawSend(t, c, 10, map[string]any{"r": 8, "u": "ok"}) // a register: answered once the reader got past the four
	typ, m = rawRecv(t, c)
	require.Equal(t, uint16(9), typ, "the register's ok comes first: the fill of request 4 waits (%v)", m)
	close(p.gate)

	answers := map[int64]uint16{}
	for range 4 {
		typ, m := rawRecv(t, c)
		answers[intOf(t, m["r"])] = typ
		if typ == 8 {
			assert.NotContains(t, fmt.Sprint(m["m"]), secretPath)
		}
	}
	assert.Equal(t, uint16(8), answers[4], "the window whose rows panicked is an error")
	assert.Equal(t, int64(2), p.queries.Load(), "Query ran for the probe and once for this query, never again")
	assert.Len(t, logs.withStack(), 1, "the panic is logged once")
	for r := int64(5); r <= 7; r++ {
		assert.Equal(t, uint16(8), answers[r], "request %d, queued behind the panic, is refused", r)
	}
}

// rawSend writes one frame whose body is msgpack-encoded body.
func rawSend(t testing.TB, c *net.UnixConn, typ uint16, body map[string]any) {
	t.Helper()
	b, err := msgpack.Marshal(body)
	require.NoError(t, err)
	_, err = c.Write(append(frameHeader(typ, uint32(len(b)), 0), b...))
	require.NoError(t, err)
}

// rawRecv reads one frame (any descriptors it carried are discarded by the
// kernel: a plain read does not take them) and decodes its body.
func rawRecv(t testing.TB, c *net.UnixConn) (uint16, map[string]any) {
	t.Helper()
	h := make([]byte, 16)
	_, err := io.ReadFull(c, h)
	require.NoError(t, err)
	body := make([]byte, binary.LittleEndian.Uint32(h[8:]))
	_, err = io.ReadFull(c, body)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, msgpack.Unmarshal(body, &m))
	return binary.LittleEndian.Uint16(h[6:]), m
}

func intOf(t testing.TB, v any) int64 {
	t.Helper()
	x, err := content.NormalizeValue(v)
	require.NoError(t, err)
	n, ok := x.(int64)
	require.True(t, ok, "%v (%T) is not an integer", v, v)
	return n
}

// errProvider fails queries as their URI says, and every insert with a
// plain error naming a path.
type errProvider struct{ provider.ReadOnly }

func (errProvider) Query(_ context.Context, q *content.Query) (provider.Rows, error) {
	switch q.URI {
	case "plain":
		return nil, errors.New("open " + secretPath + ": no such file or directory")
	case "marked":
		return nil, fmt.Errorf("%w: column %q is not indexed", content.ErrBadRequest, "fare")
	case "several":
		return nil, fmt.Errorf("%w, %w and %w at once", content.ErrBusy, content.ErrNotFound, content.ErrUnsupported)
	}
	return nil, fmt.Errorf("%w: %s", content.ErrNotFound, q.URI)
}

func (errProvider) Insert(context.Context, string, content.Values) (int64, error) {
	return 0, fmt.Errorf("insert: %w", errors.New("disk I/O error on "+secretPath))
}

// TestProviderErrorTextReachesConsumersOnlyWhenMarked: an error that wraps
// no sentinel is ErrInternal without its text (which the provider logs);
// one that wraps a sentinel is shown as written; one wrapping several
// sentinels gets the same code every time.
func TestProviderErrorTextReachesConsumersOnlyWhenMarked(t *testing.T) {
	logger, logs := newLogRecorder()
	path, _ := startServer(t, errProvider{}, provider.WithLogger(logger))
	c := contenttest.Dial(t, path)
	ctx := context.Background()

	_, err := c.Query(ctx, &content.Query{URI: "plain"})
	require.ErrorIs(t, err, content.ErrInternal)
	assert.NotContains(t, err.Error(), "/secret")
	var pe *content.ProviderError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "internal", pe.Code)
	_, err = c.Insert(ctx, "t", content.Values{"a": 1})
	require.ErrorIs(t, err, content.ErrInternal)
	assert.NotContains(t, err.Error(), "/secret")
	assert.True(t, logs.contains(secretPath), "the provider's operator sees the real error in the log")

	_, err = c.Query(ctx, &content.Query{URI: "marked"})
	require.ErrorIs(t, err, content.ErrBadRequest)
	assert.Contains(t, err.Error(), `column "fare" is not indexed`)

	codes := map[string]int{}
	for range 50 {
		_, err := c.Query(ctx, &content.Query{URI: "several"})
		require.ErrorAs(t, err, &pe)
		codes[pe.Code]++
		assert.Contains(t, err.Error(), "at once", "a marked error's text is shown")
	}
	require.Len(t, codes, 1, "one code for the same error every time: %v", codes)
	for code := range codes {
		assert.Contains(t, []string{"busy", "not_found", "unsupported"}, code, "the code of a sentinel it wraps")
	}
}

// TestLimitsHoldAcrossConnections: a uid cannot get around the
// per-connection limits by opening more connections, and each refusal
// names the limit it hit.
func TestLimitsHoldAcrossConnections(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Every window shared (inline limit 0), results of several windows:
	// each cursor without prefetch holds one window and one open query.
	opts := []provider.ServerOption{provider.WithWindowSize(64 << 10), provider.WithInlineLimit(0)}
	open := func(c *content.Client) (*content.Cursor, error) {
		return c.Query(ctx, &content.Query{URI: "trips"}, content.WithPrefetch(0))
	}
	busy := func(t *testing.T, err error, limit string) {
		t.Helper()
		require.ErrorIs(t, err, content.ErrBusy)
		assert.Contains(t, err.Error(), limit)
	}

	t.Run("windows", func(t *testing.T) {
		path, _ := startServer(t, newProvider(20_000), append(opts, provider.WithLimits(provider.Limits{ConnWindows: 2, UIDWindows: 3}))...)
		a, b := contenttest.Dial(t, path, noWait), contenttest.Dial(t, path, noWait) // the provider's refusals, as it answers them
		a1, err := open(a)
		require.NoError(t, err)
		_, err = open(a)
		require.NoError(t, err)
		_, err = open(a)
		busy(t, err, "per-connection")
		b1, err := open(b)
		require.NoError(t, err, "the uid holds 3 windows")
		_, err = open(b)
		busy(t, err, "per-uid")

		// A window let go on the same connection is counted back before
		// the next request is read.
		require.NoError(t, b1.Close())
		b1, err = open(b)
		require.NoError(t, err)
		// The windows of a closed connection are counted back too (a's
		// release travels on a's connection: b sees it eventually).
		require.NoError(t, a1.Close())
		require.NoError(t, a.Close())
		var b2 *content.Cursor
		waitUntil(t, 10*time.Second, func() (bool, string) {
			b2, err = open(b)
			return err == nil, fmt.Sprintf("the uid's windows are released with its connection: %v", err)
		})
		require.True(t, b2.Next())
		require.True(t, b1.Next())
	})

	t.Run("queries per uid", func(t *testing.T) {
		path, _ := startServer(t, newProvider(20_000), append(opts, provider.WithLimits(provider.Limits{ConnQueries: 2, UIDQueries: 3}))...)
		a, b := contenttest.Dial(t, path, noWait), contenttest.Dial(t, path, noWait) // the provider's refusals, as it answers them
		for range 2 {
			_, err := open(a)
			require.NoError(t, err)
		}
		_, err := open(a)
		busy(t, err, "per-connection")
		b1, err := open(b)
		require.NoError(t, err)
		_, err = open(b)
		busy(t, err, "per-uid")
		require.NoError(t, b1.Close())
		_, err = open(b)
		require.NoError(t, err, "a closed query is counted back")
	})

	t.Run("queries in total", func(t *testing.T) {
		path, _ := startServer(t, newProvider(20_000), append(opts, provider.WithLimits(provider.Limits{ConnQueries: 2, UIDQueries: 10, Queries: 3}))...)
		a, b := contenttest.Dial(t, path, noWait), contenttest.Dial(t, path, noWait) // the provider's refusals, as it answers them
		for range 2 {
			_, err := open(a)
			require.NoError(t, err)
		}
		_, err := open(b)
		require.NoError(t, err)
		_, err = open(b)
		busy(t, err, "3 queries open")
		assert.NotContains(t, err.Error(), "per-uid")
		assert.NotContains(t, err.Error(), "per-connection")
	})
}

// TestCursorKeepsTheSQLContract: Err keeps the first real error after
// Close, Close is idempotent, Move(-1) rewinds.
func TestCursorKeepsTheSQLContract(t *testing.T) {
	path, _ := startServer(t, &faultyProvider{n: 20_000}, provider.WithWindowSize(16<<10))
	c := contenttest.Dial(t, path)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	t.Run("Err after Close", func(t *testing.T) {
		cur, err := c.Query(ctx, &content.Query{URI: "fail/5000"})
		require.NoError(t, err)
		var rows int64
		for cur.Next() {
			rows++
		}
		assert.Positive(t, rows, "the error comes in a later window")
		assert.LessOrEqual(t, rows, int64(5000))
		require.ErrorIs(t, cur.Err(), content.ErrBadRequest)
		want := cur.Err().Error()
		assert.Contains(t, want, "position -1")
		require.NoError(t, cur.Close())
		require.ErrorIs(t, cur.Err(), content.ErrBadRequest, "Err keeps the real error after Close")
		assert.Equal(t, want, cur.Err().Error())
	})

	t.Run("Close is idempotent", func(t *testing.T) {
		cur, err := c.Query(ctx, &content.Query{URI: "ok/0"})
		require.NoError(t, err)
		require.True(t, cur.Next())
		require.NoError(t, cur.Close())
		require.NoError(t, cur.Close())
		assert.False(t, cur.Next())
		assert.False(t, cur.Move(0))
		require.NoError(t, cur.Err(), "closing is not an error")
		_, err = cur.Int64(0)
		require.ErrorIs(t, err, content.ErrClosed)
		require.ErrorIs(t, cur.Requery(ctx), content.ErrClosed)
		require.NoError(t, cur.Close())
	})

	t.Run("Move(-1) rewinds", func(t *testing.T) {
		cur, err := c.Query(ctx, &content.Query{URI: "ok/0"})
		require.NoError(t, err)
		defer cur.Close()
		for _, from := range []int64{2, 15_000, -1} {
			if from >= 0 {
				require.True(t, cur.Move(from))
			}
			assert.False(t, cur.Move(-1), "before the first row")
			require.NoError(t, cur.Err(), "rewinding is not an error")
			assert.Equal(t, int64(-1), cur.Position())
			_, err = cur.Int64(0)
			require.ErrorIs(t, err, content.ErrNoRow)
			require.True(t, cur.Next(), "from %d", from)
			v, err := cur.Int64(0)
			require.NoError(t, err)
			assert.Equal(t, int64(0), v, "Next after Move(-1) reads row 0 (from %d)", from)
		}
		// After the end too.
		assert.False(t, cur.Move(20_000))
		assert.False(t, cur.Next())
		assert.False(t, cur.Move(-1))
		require.True(t, cur.Next())
		v, err := cur.Int64(0)
		require.NoError(t, err)
		assert.Equal(t, int64(0), v)
		require.NoError(t, cur.Err())
	})
}

// TestHeldWindowOutlivesTheProvider: once the provider is gone, Move
// still reaches every row of the window the cursor holds, in any order,
// also after a move outside it failed.
func TestHeldWindowOutlivesTheProvider(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.sock")
	ln, err := provider.Listen(path, 0o600)
	require.NoError(t, err)
	s := provider.NewServer(newProvider(50_000), provider.WithWindowSize(64<<10), provider.WithLogger(quiet))
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	defer func() {
		stop()
		<-done
	}()
	c := contenttest.Dial(t, path)
	cur, err := c.Query(context.Background(), &content.Query{URI: "trips"}, content.WithPrefetch(0))
	require.NoError(t, err)
	require.True(t, cur.Move(99), "the first window holds 100 rows at least")
	stop()
	require.NoError(t, <-done)
	done <- nil // for the deferred wait

	for _, pos := range []int64{0, 50, 99, 1} {
		require.True(t, cur.Move(pos), "move to %d in the held window: %v", pos, cur.Err())
		checkRow(t, cur, pos)
	}
	assert.False(t, cur.Move(40_000), "outside the held window")
	require.ErrorIs(t, cur.Err(), content.ErrProviderGone)
	checkRow(t, cur, 1) // the cursor stays on its row
	for _, pos := range []int64{5, 98} {
		require.True(t, cur.Move(pos), "move to %d after the failure", pos)
		checkRow(t, cur, pos)
	}
	require.NoError(t, cur.Close())
	require.ErrorIs(t, cur.Err(), content.ErrProviderGone)
}
