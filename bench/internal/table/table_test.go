package table

import (
	"context"
	"encoding/binary"
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

	// The column reader and the row reader agree, from any row.
	for lo := range 40 {
		n, sum, ok, err := ReadWideColumns(r, lo, 40)
		require.NoError(t, err)
		require.True(t, ok)
		n2, sum2, err := ReadWide(r, lo, 40)
		require.NoError(t, err)
		assert.Equal(t, n2, n)
		assert.Equal(t, sum2, sum)
	}
	assert.Equal(t, tb.Checksum(40), must2(ReadWideColumns(r, 0, 40)))
	// Offsets out of order are an error, not a wrong length.
	bad := append([]byte(nil), b...)
	offs := binary.LittleEndian.Uint64(bad[64+2*48+16:]) // column 2's offsets
	binary.LittleEndian.PutUint32(bad[offs+4*7:], 1)
	rb, err := window.OpenBytes(bad)
	require.NoError(t, err)
	n, _, ok, err := ReadWideColumns(rb, 0, 40)
	assert.True(t, ok)
	assert.ErrorIs(t, err, window.ErrCorrupt)
	assert.Equal(t, 6, n, "the rows before the bad offset")

	for i := range 40 {
		id, _ := r.Int64(i, 0)
		fare, _ := r.Float64(i, 1)
		city, _ := r.String(i, 2)
		blob, _ := r.Bytes(i, 3)
		assert.Equal(t, tb.Row(i), Row{ID: id, Fare: fare, City: city, Payload: blob})
	}
}

func must2(_ int, sum float64, _ bool, err error) float64 {
	if err != nil {
		panic(err)
	}
	return sum
}

func must(t *Table, err error) *Table {
	if err != nil {
		panic(err)
	}
	return t
}
