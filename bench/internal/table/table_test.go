package table

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/window"
)

func TestSumMatchesChecksum(t *testing.T) {
	for _, name := range []string{Wide, Narrow} {
		tb, err := New(name, 3000)
		require.NoError(t, err)
		assert.Equal(t, tb.Checksum(3000), Sum(name, 3000), name)
		assert.Equal(t, tb.Checksum(100), Sum(name, 100), name)
	}
	for _, c := range must(New(Wide, 10)).Cities {
		assert.Len(t, c, CityLen)
	}
}

// TestRowsFillWindow writes a table through the provider's Rows into a
// window and reads it back.
func TestRowsFillWindow(t *testing.T) {
	tb := must(New(Wide, 50))
	rows, err := NewProvider(tb).Query(context.Background(), &content.Query{URI: Wide, Limit: 40})
	require.NoError(t, err)
	defer rows.Close()
	w, err := window.New(len(rows.Columns()))
	require.NoError(t, err)
	defer w.Close()
	for rows.Next() {
		require.NoError(t, w.AllocRow())
		require.NoError(t, rows.(*Rows).Put(w))
	}
	b, err := w.Bytes()
	require.NoError(t, err)
	r, err := window.OpenBytes(b)
	require.NoError(t, err)
	defer r.Close()
	require.Equal(t, 40, r.NumRows())
	for i := range 40 {
		id, _ := r.Int64(i, 0)
		fare, _ := r.Float64(i, 1)
		city, _ := r.String(i, 2)
		blob, _ := r.Bytes(i, 3)
		assert.Equal(t, tb.Row(i), Row{ID: id, Fare: fare, City: city, Payload: blob})
	}
}

func must(t *Table, err error) *Table {
	if err != nil {
		panic(err)
	}
	return t
}
