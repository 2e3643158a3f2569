package content_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

// A scan by blocks reads every row once, in order, with the batch reads.
func TestScanByBlocks(t *testing.T) {
	const n = 30_000
	path, _ := startServer(t, newProvider(n), provider.WithWindowSize(64<<10))
	cur, err := contenttest.Dial(t, path).Query(context.Background(), &content.Query{URI: "trips"})
	require.NoError(t, err)
	defer cur.Close()
	ids := make([]int64, 512)
	fares := make([]float64, 512)
	views := make([][]byte, 512)
	var next int64
	blocks := 0
	for cur.NextBlock() {
		w, row, left := cur.Block()
		require.Equal(t, next, cur.Position())
		blocks++
		for left > 0 {
			k, err := w.Int64s(0, row, ids[:min(left, len(ids))])
			require.NoError(t, err)
			_, err = w.Float64s(1, row, fares[:k])
			require.NoError(t, err)
			_, err = w.Views(2, row, views[:k])
			require.NoError(t, err)
			for i := range k {
				require.Equal(t, next, ids[i])
				require.Equal(t, float64(next)*0.25, fares[i])
				require.Equal(t, fmt.Sprintf("city-%03d", next%500), string(views[i]))
				next++
			}
			row, left = row+k, left-k
		}
	}
	require.NoError(t, cur.Err())
	assert.Equal(t, int64(n), next)
	assert.Greater(t, blocks, 3, "several windows")

	// Next and NextBlock mix: NextBlock leaves the rest of the block.
	require.NoError(t, cur.Requery(context.Background()))
	require.True(t, cur.Next())
	require.True(t, cur.Next())
	_, _, left := cur.Block()
	require.True(t, cur.NextBlock())
	assert.Equal(t, int64(1+left), cur.Position())
}
