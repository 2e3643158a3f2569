package content_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

// A cursor dropped without Close while it holds a window of the
// provider's is counted (and logged); a closed one is not, nor one that
// holds nothing (a whole small result, copied inline: its query ended
// with its answer).
func TestLeakedCursorIsReported(t *testing.T) {
	path, _ := startServer(t, newProvider(10), provider.WithInlineLimit(0)) // every window shared: held until released
	inlinePath, _ := startServer(t, newProvider(10))
	c, err := content.Dial(context.Background(), path, content.WithLeakStacks())
	require.NoError(t, err)
	defer c.Close()
	ci, err := content.Dial(context.Background(), inlinePath)
	require.NoError(t, err)
	defer ci.Close()
	open := func(c *content.Client, close bool) {
		cur, err := c.Query(context.Background(), &content.Query{URI: "trips"})
		require.NoError(t, err)
		require.True(t, cur.Next())
		if close {
			require.NoError(t, cur.Close())
		}
	}
	open(c, true)
	open(c, false)
	open(ci, false)
	for i := 0; i < 50 && c.Stats().LeakedCursors == 0; i++ {
		runtime.GC() // cleanups run after a collection, on their own goroutine
		runtime.Gosched()
	}
	assert.Equal(t, int64(1), c.Stats().LeakedCursors)
	for range 3 {
		runtime.GC()
		runtime.Gosched()
	}
	assert.Zero(t, ci.Stats().LeakedCursors, "a cursor holding nothing is not a leak")
}
