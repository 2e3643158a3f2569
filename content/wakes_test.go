package content_test

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

// TestSmallQueryCosts counts (never times) what wakes a thread in a
// 1-row query's round trip on the consumer's side: replies handed from a
// reader goroutine to their caller. Each one costs a futex wake-up across
// CPUs, the cost that made small queries several times slower than a bare
// socket (docs/PERFORMANCE.md, "Small queries"). It fails if one comes
// back per query. The provider's side is content/provider's
// TestSmallQueryWakes.
func TestSmallQueryCosts(t *testing.T) {
	p := contenttest.NewMemProvider()
	p.AddTable("trips", []string{"id", "fare", "city", "payload"}, benchTable(10))
	path, _ := startServer(t, p)
	c := contenttest.Dial(t, path)
	q := &content.Query{URI: "trips", Limit: 1}
	query := func() {
		rows, _, err := scan(context.Background(), c, q)
		require.NoError(t, err)
		require.Equal(t, int64(1), rows)
	}
	query() // the connection's first request
	const n = 200
	replies0 := c.ReplyHandoffs()
	for range n {
		query()
	}
	// A lone request is read by its caller: no reply is handed from a
	// background reader to a caller.
	assert.Zero(t, c.ReplyHandoffs()-replies0, "replies handed over by a reader goroutine (%d queries)", n)
}

// Closing a cursor that holds a shared window releases it without
// waking the client's writer goroutine (a thread's wake-up a query, a
// handoff's largest cost) and without a system call of its own: the
// release goes with the next query, in its write, so that the provider
// reads both in one wake-up. (The timer that writes a release no query
// carries is set beyond the test, so that it writes nothing here.)
func TestReleaseWakesNoGoroutine(t *testing.T) {
	p := contenttest.NewMemProvider()
	p.AddTable("trips", []string{"id", "fare", "city", "payload"}, benchTable(1000))
	path, s := startServer(t, p, provider.WithInlineLimit(0)) // every window shared: released on Close
	c := contenttest.Dial(t, path, content.WithLinger(time.Hour))
	q := &content.Query{URI: "trips", Limit: 100}
	const n = 200
	queued0, held0 := c.PostsQueued(), c.ReleasesHeld()
	for range n {
		cur, err := c.Query(context.Background(), q)
		require.NoError(t, err)
		require.True(t, cur.Next())
		require.NoError(t, cur.Close())
	}
	assert.Zero(t, c.PostsQueued()-queued0, "releases queued for the writer goroutine (%d queries)", n)
	assert.Equal(t, int64(n), c.ReleasesHeld()-held0, "releases held for the next query (%d queries)", n)
	assert.Equal(t, 1, s.Stats().WindowsOut, "every release but the last one, held, came with a query")
}

// A held release that no query follows is written all the same, within
// the client's linger (10 ms).
func TestHeldReleaseIsWrittenWithoutAQuery(t *testing.T) {
	p := contenttest.NewMemProvider()
	p.AddTable("trips", []string{"id", "fare", "city", "payload"}, benchTable(1000))
	path, s := startServer(t, p, provider.WithInlineLimit(0))
	c := contenttest.Dial(t, path)
	held0 := c.ReleasesHeld()
	cur, err := c.Query(context.Background(), &content.Query{URI: "trips", Limit: 100})
	require.NoError(t, err)
	require.True(t, cur.Next())
	require.Equal(t, 1, s.Stats().WindowsOut)
	require.NoError(t, cur.Close())
	require.Equal(t, int64(1), c.ReleasesHeld()-held0)
	require.Eventually(t, func() bool { return s.Stats().WindowsOut == 0 }, 10*time.Second, time.Millisecond, "the release written")
}

// A client that nobody reads (no request waits, no watch) still learns,
// from Err, that its provider shut down: Err polls the socket and reads
// what came (the goodbye, or the end of the stream). database/sql's pool relies on it (sqldriver's IsValid).
func TestIdleClientSeesTheEnd(t *testing.T) {
	ln, path := listen(t)
	s := provider.NewServer(newProvider(1), provider.WithLogger(quiet))
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	c := contenttest.Dial(t, path)
	_, _, err := scan(context.Background(), c, &content.Query{URI: "trips"})
	require.NoError(t, err)
	require.NoError(t, c.Err(), "the provider is there")
	stop()
	require.NoError(t, <-done) // the goodbye is written and the socket closed
	// Err never waits: a background reader still draining the query's
	// last messages may be the one to read the goodbye, a moment later.
	require.Eventually(t, func() bool { return c.Err() != nil }, 10*time.Second, time.Millisecond)
	require.ErrorIs(t, c.Err(), content.ErrProviderGone)
}

func listen(t *testing.T) (*net.UnixListener, string) {
	path := filepath.Join(t.TempDir(), "provider.sock")
	ln, err := provider.Listen(path, 0o600)
	require.NoError(t, err)
	return ln, path
}
