package memtable_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/memtable"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

// A scan reads one version of its table while the table is rewritten
// under it: the rows are spread over many small windows (4 KiB, none
// inline), so most are filled after the writes; a move back and a
// second pass read the same version again, and a new query reads the
// new one.
func TestSnapshot(t *testing.T) {
	const n = 3000 // about 25 windows of 4 KiB
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{i, fmt.Sprintf("old-%04d", i)}
	}
	p := memtable.New()
	require.NoError(t, p.AddTable("t", []memtable.Column{
		{Name: "i", Type: memtable.Integer, NotNull: true},
		{Name: "v", Type: memtable.Text, NotNull: true},
	}, rows))
	c, srv := serve(t, p, provider.WithWindowSize(4096), provider.WithInlineLimit(0))
	p.OnChange(srv.Change)
	ctx := context.Background()

	for _, q := range []*content.Query{
		{URI: "t"},
		{URI: "t", Selection: "i >= ?", Args: []any{0}, Order: "i"}, // a filtered, sorted snapshot
	} {
		cur, err := c.Query(ctx, q)
		require.NoError(t, err)
		check := func(from int64) {
			t.Helper()
			for i := from; cur.Next(); i++ {
				got, err := cur.Int64(0)
				require.NoError(t, err)
				require.Equal(t, i, got)
				v, err := cur.String(1)
				require.NoError(t, err)
				require.Equal(t, fmt.Sprintf("old-%04d", i), v)
			}
			require.NoError(t, cur.Err())
			assert.Equal(t, int64(n), cur.Position(), "every row of the old version, no more")
		}
		for i := range int64(10) { // the first window only
			require.True(t, cur.Next())
			got, err := cur.Int64(0)
			require.NoError(t, err)
			require.Equal(t, i, got)
		}
		require.NoError(t, p.Change("t", func(tx *memtable.Tx) error {
			if _, err := tx.Update(ctx, "t", content.Values{"v": "new"}, "", nil); err != nil {
				return err
			}
			if _, err := tx.Delete(ctx, "t", "i BETWEEN ? AND ?", []any{100, 2000}); err != nil {
				return err
			}
			_, err := tx.Insert(ctx, "t", content.Values{"i": -1, "v": "new"})
			return err
		}))
		check(10)
		require.True(t, cur.Move(5), "back, into a window long released")
		check(6)
		require.NoError(t, cur.Close())

		// The provider's table itself is all new.
		got := scan(t, c, &content.Query{URI: "t", Selection: "v != ?", Args: []any{"new"}})
		assert.Empty(t, got)
		require.NoError(t, p.AddTable("t", []memtable.Column{
			{Name: "i", Type: memtable.Integer, NotNull: true},
			{Name: "v", Type: memtable.Text, NotNull: true},
		}, rows))
		srv.NotifyChange("t")
	}
}
