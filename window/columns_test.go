package window_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/window"
)

// checkBatchReads compares every batch read of r, over every start and a
// few run lengths, with the single-field accessors: the same values, and
// a batch stops exactly where a single read fails.
func checkBatchReads(t *testing.T, r *window.Window) {
	t.Helper()
	rows := r.NumRows()
	for col := -1; col <= r.NumColumns(); col++ {
		for from := 0; from <= rows+1; from++ {
			for _, max := range []int{0, 1, 3, rows + 2} {
				ints := make([]int64, max)
				n, err := r.Int64s(col, from, ints)
				checkRun(t, r, n, err, col, from, max, func(row int) error {
					v, err := r.Int64(row, col)
					if err == nil {
						assert.Equal(t, v, ints[row-from], "Int64s(%d) row %d", col, row)
					}
					return err
				})
				floats := make([]float64, max)
				n, err = r.Float64s(col, from, floats)
				checkRun(t, r, n, err, col, from, max, func(row int) error {
					v, err := r.Float64(row, col)
					if err == nil && !(math.IsNaN(v) && math.IsNaN(floats[row-from])) {
						assert.Equal(t, v, floats[row-from], "Float64s(%d) row %d", col, row)
					}
					return err
				})
				views := make([][]byte, max)
				n, err = r.Views(col, from, views)
				checkRun(t, r, n, err, col, from, max, func(row int) error {
					v, err := r.Bytes(row, col)
					if err == nil {
						assert.Equal(t, len(v), len(views[row-from]))
						if len(v) > 0 {
							assert.Equal(t, v, views[row-from], "Views(%d) row %d", col, row)
						}
					}
					return err
				})
				types := make([]window.FieldType, max)
				n, err = r.Types(col, from, types)
				checkRun(t, r, n, err, col, from, max, func(row int) error {
					v, err := r.Type(row, col)
					if err == nil {
						assert.Equal(t, v, types[row-from], "Types(%d) row %d", col, row)
					}
					return err
				})
			}
		}
	}
}

// checkRun checks a batch read of up to max rows from `from` that read n
// rows and returned err, against one() called per row.
func checkRun(t *testing.T, r *window.Window, n int, err error, col, from, max int, one func(row int) error) {
	t.Helper()
	rows := r.NumRows()
	if col < 0 || col >= r.NumColumns() || from > rows {
		require.Error(t, err)
		assert.True(t, errors.Is(err, window.ErrOutOfRange) || errors.Is(err, window.ErrClosed), "%v", err)
		assert.Zero(t, n)
		return
	}
	want := min(max, rows-from)
	for row := from; row < from+n; row++ {
		require.NoError(t, one(row), "row %d, read by the batch, must read alone", row)
	}
	if err != nil {
		require.Less(t, n, want)
		assert.Error(t, one(from+n), "the batch stopped where a single read fails")
		return
	}
	assert.Equal(t, want, n)
}

func TestBatchReadsAgreeWithSingleReads(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	b := mixedWindow(t, 40, mixedValues{
		float: func(int) float64 { return rng.NormFloat64() * 1e6 },
		str:   func(i int) string { return []string{"", "12", "3.5", "not a number", "héllo"}[i%5] },
		blob:  func(i int) []byte { return []byte{byte(i), 0, 1} },
	}, rng)
	r, err := window.OpenBytes(b)
	require.NoError(t, err)
	defer r.Close()
	checkBatchReads(t, r)

	require.NoError(t, r.Close())
	_, err = r.Int64s(0, 0, make([]int64, 3))
	require.ErrorIs(t, err, window.ErrClosed)
}

// The batch reads allocate nothing.
func TestBatchReadsAllocateNothing(t *testing.T) {
	w, err := window.New(2)
	require.NoError(t, err)
	defer w.Close()
	for i := range 100 {
		require.NoError(t, w.AllocRow())
		require.NoError(t, w.PutInt64(0, int64(i)))
		require.NoError(t, w.PutString(1, "abc"))
	}
	b, err := w.AppendTo(nil)
	require.NoError(t, err)
	r, err := window.OpenBytes(b)
	require.NoError(t, err)
	defer r.Close()
	ints, views := make([]int64, 100), make([][]byte, 100)
	allocs := testing.AllocsPerRun(100, func() {
		r.Int64s(0, 0, ints)
		r.Views(1, 0, views)
	})
	assert.Zero(t, allocs)
}

// Int64Values and Float64Values view a typed column in place: the values
// the accessors read (0 for NULL), and ok false for a column of another
// type or form, for bytes not 8-byte aligned in memory, after Close.
func TestValuesViews(t *testing.T) {
	const n = 37
	w, err := window.New(4)
	require.NoError(t, err)
	for i := range n {
		require.NoError(t, w.AllocRow())
		require.NoError(t, w.PutInt64(0, int64(i)*3-50))
		if i%4 == 1 {
			require.NoError(t, w.PutNull(1))
		} else {
			require.NoError(t, w.PutFloat64(1, float64(i)/8))
		}
		require.NoError(t, w.PutString(2, "s"))
		if i == 5 {
			require.NoError(t, w.PutString(3, "mixed"))
		} else {
			require.NoError(t, w.PutInt64(3, int64(i)))
		}
	}
	b, err := w.AppendTo(nil)
	require.NoError(t, err)
	r, err := window.OpenBytes(b)
	require.NoError(t, err)

	ids, ok := r.Int64Values(0)
	require.True(t, ok)
	require.Len(t, ids, n)
	fares, ok := r.Float64Values(1)
	require.True(t, ok)
	require.Len(t, fares, n)
	for i := range n {
		v, err := r.Int64(i, 0)
		require.NoError(t, err)
		assert.Equal(t, v, ids[i])
		f, err := r.Float64(i, 1)
		require.NoError(t, err)
		assert.Equal(t, f, fares[i], "row %d (NULL reads 0)", i)
	}
	for _, tc := range []struct {
		col   int
		float bool
	}{{0, true}, {1, false}, {2, false}, {2, true}, {3, false}, {-1, false}, {4, true}} {
		if tc.float {
			_, ok = r.Float64Values(tc.col)
		} else {
			_, ok = r.Int64Values(tc.col)
		}
		assert.False(t, ok, "column %d, float %v", tc.col, tc.float)
	}

	// The same window one byte off an 8-byte boundary: no view, and the
	// batch read still reads it.
	shifted := make([]byte, len(b)+1)
	copy(shifted[1:], b)
	s, err := window.OpenBytes(shifted[1:])
	require.NoError(t, err)
	_, ok = s.Int64Values(0)
	assert.False(t, ok)
	got := make([]int64, n)
	k, err := s.Int64s(0, 0, got)
	require.NoError(t, err)
	assert.Equal(t, ids, got[:k])

	require.NoError(t, r.Close())
	_, ok = r.Int64Values(0)
	assert.False(t, ok)
}
