package content_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
)

// A cursor dropped without Close is counted (and logged); a closed one is
// not.
func TestLeakedCursorIsReported(t *testing.T) {
	path, _ := startServer(t, newProvider(10))
	c, err := content.Dial(context.Background(), path, content.WithLeakStacks())
	require.NoError(t, err)
	defer c.Close()
	open := func(close bool) {
		cur, err := c.Query(context.Background(), &content.Query{URI: "trips"})
		require.NoError(t, err)
		require.True(t, cur.Next())
		if close {
			require.NoError(t, cur.Close())
		}
	}
	open(true)
	open(false)
	for i := 0; i < 50 && c.Stats().LeakedCursors == 0; i++ {
		runtime.GC() // cleanups run after a collection, on their own goroutine
		runtime.Gosched()
	}
	assert.Equal(t, int64(1), c.Stats().LeakedCursors)
}
