package window_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/window"
)

// The Row that Row returns with ok false (a row out of range, a nil
// window: content's Cursor.Row off a row) reads nothing: every accessor
// says no, none panics.
func TestRowNotOkReadsNothing(t *testing.T) {
	r := openRows(t, 1, [][]value{{vInt(7)}})
	var none *window.Window
	rows := []func() (window.Row, bool){
		func() (window.Row, bool) { return r.Row(-1) },
		func() (window.Row, bool) { return r.Row(r.NumRows()) },
		func() (window.Row, bool) { return none.Row(0) },
	}
	for i, get := range rows {
		row, ok := get()
		require.False(t, ok, "case %d", i)
		assert.NotPanics(t, func() {
			assert.Equal(t, window.FieldType(0xff), row.Type(0))
			_, ok1 := row.Int64(0)
			_, ok2 := row.Float64(0)
			_, ok3 := row.Bytes(0)
			assert.False(t, ok1 || ok2 || ok3, "case %d", i)
		}, "case %d", i)
	}
}

// A Row kept across the Mappings cycle (its reader closed, the mapping
// parked PROT_NONE, refilled with another shape, reloaded and handed out
// again) reads nothing and does not fault: readers are copies of the
// cached Window, so reload and park never change a handed-out one. Two
// readers of one mapping keep each other's Rows valid. (An outside review
// of Row wrote this and the tests below.)
func TestRowAcrossMappingsParkReload(t *testing.T) {
	m := window.NewMappings(4, window.WithQuarantine())
	defer m.Close()
	w := recycled(t, [][]value{{vInt(1)}, {vInt(2)}})

	r1, err := m.Open(dupFile(t, w))
	require.NoError(t, err)
	old, ok := r1.Row(0)
	require.True(t, ok)
	require.NoError(t, r1.Close()) // parks the mapping

	// Refill with 4 columns: Row(0)'s slots in the old shape are the last
	// 16 bytes of the region; column 3 in the new shape would be 48 past it.
	require.NoError(t, w.Reset(0))
	require.NoError(t, w.SetNumColumns(4))
	wide := [][]value{{vInt(10), vFloat(1.5), vStr("x"), vInt(13)}}
	writeRows(t, w, wide)
	require.NoError(t, w.SealReusable())
	r2, err := m.Open(dupFile(t, w))
	require.NoError(t, err)
	defer r2.Close()
	require.Equal(t, 4, r2.NumColumns())
	for col := range 4 {
		_, ok1 := old.Int64(col)
		_, ok2 := old.Bytes(col)
		assert.False(t, ok1 || ok2, "the closed reader's row, column %d", col)
		assert.Equal(t, window.FieldType(0xff), old.Type(col))
	}
	checkRow(t, r2)
	checkBatchReads(t, r2)

	row2, ok := r2.Row(0)
	require.True(t, ok)
	r3, err := m.Open(dupFile(t, w)) // refs 2: no reload
	require.NoError(t, err)
	require.NoError(t, r3.Close()) // refs 1: no park
	v, ok := row2.Int64(3)
	assert.True(t, ok)
	assert.Equal(t, int64(13), v)
}

// The batch reads at their limits: an unaligned inline window of
// MaxColumns columns read at its last column, a start at the end, a start
// or column out of range, a dst far longer than the window.
func TestBatchReadsAtLimits(t *testing.T) {
	const ncols = window.MaxColumns
	src, err := window.New(ncols, window.WithMaxSize(8<<20))
	require.NoError(t, err)
	defer src.Close()
	for i := range 3 {
		require.NoError(t, src.AllocRow())
		require.NoError(t, src.PutInt64(ncols-1, int64(i)-1))
		require.NoError(t, src.PutString(0, "s"))
	}
	compact, err := src.AppendTo(nil)
	require.NoError(t, err)
	odd := append(make([]byte, 1, len(compact)+1), compact...)[1:]
	r, err := window.OpenBytes(odd)
	require.NoError(t, err)
	defer r.Close()

	ints := make([]int64, 1000)
	k, err := r.Int64s(ncols-1, 0, ints)
	require.NoError(t, err)
	assert.Equal(t, []int64{-1, 0, 1}, ints[:k])
	views := make([][]byte, 1000)
	k, err = r.Views(0, 1, views)
	require.NoError(t, err)
	assert.Equal(t, [][]byte{[]byte("s"), []byte("s")}, views[:k])
	types := make([]window.FieldType, 5)
	k, err = r.Types(ncols-2, 0, types)
	require.NoError(t, err)
	assert.Equal(t, []window.FieldType{0, 0, 0}, types[:k])

	k, err = r.Int64s(0, 3, ints) // from == NumRows: nothing, no error
	assert.NoError(t, err)
	assert.Zero(t, k)
	for _, c := range [][2]int{{-1, 0}, {ncols, 0}, {0, -1}, {0, 4}} {
		k, err = r.Float64s(c[0], c[1], make([]float64, 2))
		assert.ErrorIs(t, err, window.ErrOutOfRange, "col %d from %d", c[0], c[1])
		assert.Zero(t, k)
	}
	row, ok := r.Row(2)
	require.True(t, ok)
	v, ok := row.Int64(ncols - 1)
	assert.True(t, ok)
	assert.Equal(t, int64(1), v)
	require.NoError(t, r.Close())
	_, err = r.Int64s(0, 0, ints)
	assert.ErrorIs(t, err, window.ErrClosed)
	_, ok = row.Int64(ncols - 1)
	assert.False(t, ok)
}

// openRows returns a reader over an inline window of rows.
func openRows(t *testing.T, ncols int, rows [][]value) *window.Window {
	t.Helper()
	w, err := window.New(ncols)
	require.NoError(t, err)
	defer w.Close()
	writeRows(t, w, rows)
	b, err := w.AppendTo(nil)
	require.NoError(t, err)
	r, err := window.OpenBytes(b)
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return r
}
