package provider_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

// TestSmallQueryWakes counts (never times) what wakes a thread in a
// 1-row query's round trip on the provider's side: timers armed for the
// reader's watchdog, and read deadlines set (each arms a timer, the idle
// timeout's). Each costs a futex wake-up across CPUs (docs/PERFORMANCE.md,
// "Small queries"). It fails if one comes back per query. The consumer's
// side is content's TestSmallQueryCosts.
func TestSmallQueryWakes(t *testing.T) {
	p := contenttest.NewMemProvider()
	p.AddTable("t", []string{"id", "name"}, [][]any{{int64(1), "a"}, {int64(2), "b"}})
	path, s := contenttest.Serve(t, p)
	ctx := context.Background()
	c, err := content.Dial(ctx, path)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	query := func() { queryRows(t, c, &content.Query{URI: "t", Limit: 1}, 1) }
	query() // the connection's first request
	const n = 200
	arms0, fires0, _ := s.WatchdogCounts()
	deadlines0 := s.ReadDeadlines()
	for range n {
		query()
	}
	arms, fires, _ := s.WatchdogCounts()
	arms, fires = arms-arms0, fires-fires0
	deadlines := s.ReadDeadlines() - deadlines0
	t.Logf("%d queries: watchdog armed %d times, fired %d; read deadline moved %d times", n, arms, fires, deadlines)
	// The idle timeout's deadline moves once in half a timeout (15 s by
	// default), not once a read.
	assert.LessOrEqual(t, deadlines, int64(1), "the read deadline is set per request (%d times, %d queries)", deadlines, n)
	// The provider arms its reader's watchdog only when it is not armed:
	// after the first, every arming follows a firing that found no
	// request running. A timer per request would make arms n.
	assert.LessOrEqual(t, arms, fires+1, "the watchdog is armed once per request (arms %d, fires %d, %d queries)", arms, fires, n)
}

// A query answered again by the cached window holding its whole result
// (a handoff) is answered on the reading goroutine, as a small result
// is: it arms no watchdog (whose arming and firing wake threads) and
// opens no query.
func TestWholeWindowAnswerArmsNoWatchdog(t *testing.T) {
	p := &counted{Provider: smallTable(2)}
	path, s := contenttest.Serve(t, p, provider.WithInlineLimit(0)) // every result in a shared window
	ctx := context.Background()
	c, err := content.Dial(ctx, path)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	query := func() { queryRows(t, c, &content.Query{URI: "t"}, 2) }
	query() // filled, cached, its caller admitted
	const n = 200
	arms0, fires0, _ := s.WatchdogCounts()
	queries0 := p.queries.Load()
	for range n {
		query()
	}
	arms, fires, _ := s.WatchdogCounts()
	assert.Zero(t, arms-arms0, "watchdog armed (%d queries)", n)
	assert.LessOrEqual(t, fires-fires0, int64(1), "watchdog fired (%d queries): at most for the arming before them", n)
	assert.Zero(t, p.queries.Load()-queries0, "the provider's Query called (%d queries)", n)
}

// queryRows runs q and checks that it has rows rows.
func queryRows(t *testing.T, c *content.Client, q *content.Query, rows int) {
	t.Helper()
	cur, err := c.Query(context.Background(), q)
	require.NoError(t, err)
	n := 0
	for cur.Next() {
		n++
	}
	require.NoError(t, cur.Err())
	require.NoError(t, cur.Close())
	require.Equal(t, rows, n)
}
