package main

import (
	"math"
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
	// Two tiles, split inside the first STRING stretch.
	require.NoError(t, s.addRows(r, tileRows(r, 0, make([]window.Row, 1)), 0, 0))
	require.NoError(t, s.addRows(r, tileRows(r, 1, make([]window.Row, r.NumRows()-1)), 0, 1))
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
