package content_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
)

// TestSmallQueryCosts counts (never times) what wakes a thread in a
// 1-row query's round trip: timers armed, goroutines handed the reading
// of a connection, replies handed from a reader goroutine to their
// caller. Each one costs a futex wake-up across CPUs, the cost that made
// small queries several times slower than a bare socket
// (docs/PERFORMANCE.md, "Small queries"). It fails if one comes back per
// query.
func TestSmallQueryCosts(t *testing.T) {
	p := contenttest.NewMemProvider()
	p.AddTable("trips", []string{"id", "fare", "city", "payload"}, benchTable(10))
	path, s := startServer(t, p)
	c := dial(t, path)
	q := &content.Query{URI: "trips", Limit: 1}
	query := func() {
		rows, _, err := scan(context.Background(), c, q)
		require.NoError(t, err)
		require.Equal(t, int64(1), rows)
	}
	query() // the connection's first request
	const n = 200
	arms0, fires0, _ := s.WatchdogCounts()
	replies0 := c.ReplyHandoffs()
	for range n {
		query()
	}
	arms, fires, _ := s.WatchdogCounts()
	arms, fires = arms-arms0, fires-fires0

	// The provider arms its inline watchdog only when it is not armed:
	// after the first, every arming follows a firing that found no
	// request running. A timer per request would make arms n.
	assert.LessOrEqual(t, arms, fires+1, "the inline watchdog is armed once per request (arms %d, fires %d, %d queries)", arms, fires, n)

	// The consumer's reader hands each reply to its caller: one hand-off
	// per query, which no other may join.
	assert.LessOrEqual(t, c.ReplyHandoffs()-replies0, int64(n), "more than one reply hand-off per query")
}
