package window_test

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/window"
)

// checkReadRows compares ReadRows of r, from every start and with a few
// run lengths, with the single-field accessors: every column as Types
// with every value slice (each field by its type), and every column as
// one converting slice. A run stops exactly at the first row one of whose
// fields a single read refuses.
func checkReadRows(t *testing.T, r *window.Window) {
	t.Helper()
	rows, ncols := r.NumRows(), r.NumColumns()
	for from := 0; from <= rows+1; from++ {
		for _, max := range []int{0, 1, 3, 700, rows + 2} {
			typed := make([]window.Column, ncols)
			for c := range typed {
				typed[c] = window.Column{Types: make([]window.FieldType, max), Int64s: make([]int64, max),
					Float64s: make([]float64, max), Views: make([][]byte, max)}
			}
			n, err := r.ReadRows(from, typed)
			checkRowsRun(t, r, n, err, from, max, func(row, col int) error {
				typ, err := r.Type(row, col)
				if err != nil {
					return err
				}
				i := row - from
				assert.Equal(t, typ, typed[col].Types[i], "(%d, %d)", row, col)
				switch typ {
				case window.TypeInt64:
					v, _ := r.Int64(row, col)
					assert.Equal(t, v, typed[col].Int64s[i])
				case window.TypeFloat64:
					v, _ := r.Float64(row, col)
					if !math.IsNaN(v) {
						assert.Equal(t, v, typed[col].Float64s[i])
					}
				case window.TypeString, window.TypeBlob:
					v, err := r.Bytes(row, col)
					if err != nil {
						return err
					}
					assert.Equal(t, string(v), string(typed[col].Views[i]))
					assert.NotNil(t, typed[col].Views[i], "(%d, %d): empty, not NULL", row, col)
				case window.TypeNull:
					assert.Zero(t, typed[col].Int64s[i])
					assert.Nil(t, typed[col].Views[i])
				}
				return nil
			})
			ints := make([]window.Column, ncols)
			for c := range ints {
				ints[c] = window.Column{Int64s: make([]int64, max)}
			}
			n, err = r.ReadRows(from, ints)
			checkRowsRun(t, r, n, err, from, max, func(row, col int) error {
				v, err := r.Int64(row, col)
				if err == nil {
					assert.Equal(t, v, ints[col].Int64s[row-from], "(%d, %d)", row, col)
				}
				return err
			})
		}
	}
	_, err := r.ReadRows(0, make([]window.Column, ncols+1))
	require.ErrorIs(t, err, window.ErrOutOfRange)
}

// checkRowsRun checks a ReadRows of up to max rows from `from` that read n
// rows and returned err, against one(row, col) called per field.
func checkRowsRun(t *testing.T, r *window.Window, n int, err error, from, max int, one func(row, col int) error) {
	t.Helper()
	rows := r.NumRows()
	if from > rows {
		require.Error(t, err)
		assert.True(t, errors.Is(err, window.ErrOutOfRange) || errors.Is(err, window.ErrClosed), "%v", err)
		assert.Zero(t, n)
		return
	}
	want := min(max, rows-from)
	for row := from; row < from+n; row++ {
		for col := range r.NumColumns() {
			require.NoError(t, one(row, col), "(%d, %d), read by ReadRows, must read alone", row, col)
		}
	}
	if err == nil {
		assert.Equal(t, want, n)
		return
	}
	require.Less(t, n, want)
	var failed bool
	for col := range r.NumColumns() {
		failed = failed || one(from+n, col) != nil
	}
	assert.True(t, failed, "ReadRows stopped at row %d, where a single read fails: %v", from+n, err)
}

func TestReadRowsAgreesWithSingleReads(t *testing.T) {
	w, err := window.New(5)
	require.NoError(t, err)
	defer w.Close()
	rows := sampleRows(600) // more than a tile of 5 columns
	rows[7][0], rows[8][2], rows[9][3] = vNull(), vNull(), vBlob(nil)
	rows[10][0], rows[11][1] = vStr("12"), vStr("not a number")
	writeRows(t, w, rows)
	r := view(t, w)
	checkReadRows(t, r)

	// A column of several value slices needs Types.
	_, err = r.ReadRows(0, []window.Column{{Int64s: make([]int64, 2), Views: make([][]byte, 2)}})
	require.ErrorIs(t, err, window.ErrOutOfRange)
	require.NoError(t, r.Close())
	_, err = r.ReadRows(0, []window.Column{{Int64s: make([]int64, 2)}})
	require.ErrorIs(t, err, window.ErrClosed)
}

// ReadRows allocates nothing.
func TestReadRowsAllocatesNothing(t *testing.T) {
	w, err := window.New(5)
	require.NoError(t, err)
	defer w.Close()
	writeRows(t, w, sampleRows(100))
	r := view(t, w)
	typed := window.Column{Types: make([]window.FieldType, 100), Int64s: make([]int64, 100),
		Float64s: make([]float64, 100), Views: make([][]byte, 100)}
	cols := []window.Column{{Int64s: make([]int64, 100)}, {Float64s: make([]float64, 100)}, {Views: make([][]byte, 100)}, typed, {}}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := r.ReadRows(0, cols); err != nil {
			panic(err)
		}
	})
	assert.Zero(t, allocs)
}
