package content_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
	"github.com/cursorwindow/cursorwindow/window"
)

// A held window outlives the cursor's moves and its Close: its views
// still read the rows, the provider keeps it out of its pool until the
// hold is released (from another goroutine), and then gets it back.
func TestHoldBlock(t *testing.T) {
	const n = 30_000
	path, s := startServer(t, newProvider(n), provider.WithWindowSize(64<<10),
		provider.WithLimits(provider.Limits{ConnWindows: 256, UIDWindows: 256})) // every window shared
	cur, err := contenttest.Dial(t, path).Query(context.Background(), &content.Query{URI: "trips"})
	require.NoError(t, err)

	type held struct {
		w       *window.Window
		row, n  int
		start   int64
		city    []byte // a view, read after the cursor closed
		release func()
	}
	var holds []held
	for cur.NextBlock() {
		w, row, k, release := cur.HoldBlock()
		city, err := w.Bytes(row, 2)
		require.NoError(t, err)
		holds = append(holds, held{w: w, row: row, n: k, start: cur.Position(), city: city, release: release})
	}
	require.NoError(t, cur.Err())
	require.Greater(t, len(holds), 3, "several windows")
	require.NoError(t, cur.Close())

	// Every window is still the consumer's, and reads as it did.
	require.Eventually(t, func() bool { return s.Stats().WindowsOut == len(holds) }, 10*time.Second, 5*time.Millisecond, "%d held, %+v", len(holds), s.Stats())
	var rows int64
	for _, h := range holds {
		for i := range h.n {
			id, err := h.w.Int64(h.row+i, 0)
			require.NoError(t, err)
			require.Equal(t, h.start+int64(i), id)
		}
		assert.Equal(t, fmt.Sprintf("city-%03d", h.start%500), string(h.city))
		rows += int64(h.n)
	}
	assert.Equal(t, int64(n), rows)

	// Released from other goroutines, twice each: the second does nothing.
	var wg sync.WaitGroup
	for i := range holds {
		wg.Go(holds[i].release)
		wg.Go(holds[i].release)
	}
	wg.Wait()
	require.Eventually(t, func() bool { return s.Stats().WindowsOut == 0 }, 10*time.Second, 5*time.Millisecond)
}

// A hold on a window the cursor has not left keeps it past the cursor's
// own release of it; a block-less cursor holds nothing.
func TestHoldBlockOffRow(t *testing.T) {
	path, _ := startServer(t, newProvider(10))
	cur, err := contenttest.Dial(t, path).Query(context.Background(), &content.Query{URI: "trips"})
	require.NoError(t, err)
	defer cur.Close()
	w, row, k, release := cur.HoldBlock()
	assert.Nil(t, w)
	assert.Zero(t, row+k)
	release()

	require.True(t, cur.Next())
	w, row, k, release = cur.HoldBlock()
	require.NotNil(t, w)
	assert.Equal(t, 0, row)
	assert.Equal(t, 10, k)
	require.NoError(t, cur.Close())
	id, err := w.Int64(9, 0)
	require.NoError(t, err)
	assert.Equal(t, int64(9), id)
	release()
}
