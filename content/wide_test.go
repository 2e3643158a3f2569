package content_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
	"github.com/cursorwindow/cursorwindow/window"
)

// A result so wide that an inline window, or even a pooled one, cannot
// hold a row of it (a window's directory takes 48 bytes a column) goes to
// a window that can: a shared one, or a one-off larger one.
func TestWideResults(t *testing.T) {
	for _, tc := range []struct {
		ncols int
		opts  []provider.ServerOption
	}{
		{1000, nil},   // past the inline window: a pooled one
		{40_000, nil}, // past a 2 MiB pooled window: a one-off larger one
		{100, []provider.ServerOption{provider.WithWindowSize(4096)}},
	} {
		t.Run(fmt.Sprint(tc.ncols), func(t *testing.T) {
			mp := contenttest.NewMemProvider()
			cols := make([]string, tc.ncols)
			rows := make([][]any, 3)
			for i := range cols {
				cols[i] = fmt.Sprintf("c%d", i)
			}
			for r := range rows {
				rows[r] = make([]any, tc.ncols)
				for i := range rows[r] {
					rows[r][i] = int64(r*tc.ncols + i)
				}
			}
			mp.AddTable("t", cols, rows)
			path, _ := contenttest.Serve(t, mp, tc.opts...)
			c := contenttest.Dial(t, path)
			cur, err := c.Query(context.Background(), &content.Query{URI: "t"})
			require.NoError(t, err)
			defer cur.Close()
			n := 0
			for ; cur.Next(); n++ {
				for _, i := range []int{0, tc.ncols / 2, tc.ncols - 1} {
					v, err := cur.Int64(i)
					require.NoError(t, err)
					require.Equal(t, int64(n*tc.ncols+i), v)
				}
			}
			require.NoError(t, cur.Err())
			require.Equal(t, 3, n)
		})
	}
	require.Greater(t, window.MinSize(40_000), int64(provider.DefaultWindowSize), "the widest case needs more than a pooled window")
}

// A bulk load so wide that the provider's pooled window holds no row of
// it is sent in windows that do.
func TestWideBulkInsert(t *testing.T) {
	const ncols = 100
	cols := make([]string, ncols)
	row := make([]any, ncols)
	for i := range cols {
		cols[i] = fmt.Sprintf("c%d", i)
		row[i] = int64(i)
	}
	p := contenttest.NewMemProvider()
	p.AddTable("t", cols, nil)
	path, _ := startServer(t, p, provider.WithWindowSize(4096))
	require.Greater(t, window.MinSize(ncols), int64(4096))
	c := contenttest.Dial(t, path)
	b, err := c.BulkInsert(context.Background(), "t", cols)
	require.NoError(t, err)
	require.NoError(t, b.Append(row...))
	require.NoError(t, b.Append(row...))
	n, err := b.Close()
	require.NoError(t, err)
	require.Equal(t, int64(2), n)
	checkTable(t, c, "t", [][]any{row, row})
}
