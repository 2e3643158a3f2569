package main

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/window"
)

// A column of mixed types is summarised stretch by stretch: every type it
// held is named, a STRING next to a BLOB included, and each field counts
// once.
func TestScanSummaryOfMixedColumn(t *testing.T) {
	w, err := window.New(1)
	require.NoError(t, err)
	defer w.Close()
	put := []func() error{
		func() error { return w.PutString(0, "ab") },
		func() error { return w.PutString(0, "") },
		func() error { return w.PutBlob(0, []byte{1, 2, 3}) },
		func() error { return w.PutNull(0) },
		func() error { return w.PutInt64(0, math.MaxInt64) },
		func() error { return w.PutInt64(0, 2) }, // overflows the exact sum
		func() error { return w.PutFloat64(0, 0.5) },
		func() error { return w.PutString(0, "cde") },
	}
	for _, p := range put {
		require.NoError(t, w.AllocRow())
		require.NoError(t, p())
	}
	b, err := w.AppendTo(nil)
	require.NoError(t, err)
	r, err := window.OpenBytes(b)
	require.NoError(t, err)
	defer r.Close()

	var s colStats
	// Two blocks, split inside the first STRING stretch.
	require.NoError(t, s.addColumn(r, 0, 0, 1))
	require.NoError(t, s.addColumn(r, 0, 1, r.NumRows()))
	assert.Equal(t, "INT64+FLOAT64+STRING+BLOB", s.kind())
	assert.Equal(t, int64(1), s.nulls)
	assert.Equal(t, int64(2), s.ints)
	assert.Equal(t, int64(1), s.floats)
	assert.Equal(t, int64(2+0+3+8+8+8+3), s.bytes)
	lo, hi, sum := s.cells()
	assert.Equal(t, "0.5", lo)
	assert.Equal(t, "9.223372036854776e+18", hi) // a column with floats shows its range as floats
	assert.Equal(t, "9.22337203685e+18", sum)
}

// Typed columns are summarised in place, NULLs counted apart, whatever
// the block's bounds: the same summary as one field at a time.
func TestScanSummaryOfTypedColumns(t *testing.T) {
	const n = 300
	w, err := window.New(4)
	require.NoError(t, err)
	defer w.Close()
	for i := range n {
		require.NoError(t, w.AllocRow())
		require.NoError(t, w.PutInt64(0, int64(i*7-1000)))
		if i%3 == 0 {
			require.NoError(t, w.PutNull(1))
			require.NoError(t, w.PutNull(2))
		} else {
			require.NoError(t, w.PutFloat64(1, float64(i)/4))
			require.NoError(t, w.PutString(2, strings.Repeat("x", i%5)))
		}
		require.NoError(t, w.PutNull(3))
	}
	b, err := w.AppendTo(nil)
	require.NoError(t, err)
	r, err := window.OpenBytes(b)
	require.NoError(t, err)
	defer r.Close()
	for _, cut := range []int{0, 1, 7, 8, 150, n} {
		var blocks, fields [4]colStats
		for c := range 4 {
			require.NoError(t, blocks[c].addColumn(r, c, 0, cut))
			require.NoError(t, blocks[c].addColumn(r, c, cut, n))
			require.NoError(t, fields[c].addMixed(r, c, 0, n))
			assert.Equal(t, fields[c], blocks[c], "column %d, cut at %d", c, cut)
		}
	}
}

// Offsets out of order where only a NULL row's would show it: the block
// is summarised a field at a time, as the accessors read it, none lost.
func TestScanSummaryOfDamagedOffsets(t *testing.T) {
	w, err := window.New(1)
	require.NoError(t, err)
	defer w.Close()
	for i := range 10 {
		require.NoError(t, w.AllocRow())
		if i == 2 {
			require.NoError(t, w.PutNull(0))
		} else {
			require.NoError(t, w.PutString(0, "abc"))
		}
	}
	b, err := w.AppendTo(nil)
	require.NoError(t, err)
	offs := binary.LittleEndian.Uint64(b[64+16:])  // column 0's offsets (docs/FORMAT.md)
	binary.LittleEndian.PutUint32(b[offs+4*3:], 0) // row 2, NULL, ends at 0
	r, err := window.OpenBytes(b)
	require.NoError(t, err)
	var want int64 // what the accessors read: row 3 now starts at 0
	for i := range 10 {
		v, err := r.Bytes(i, 0)
		require.NoError(t, err)
		want += int64(len(v))
	}
	var s colStats
	require.NoError(t, s.addColumn(r, 0, 0, 10))
	assert.Equal(t, int64(1), s.nulls, "the NULL row counted, not the block lost")
	assert.Equal(t, want, s.bytes)
}
