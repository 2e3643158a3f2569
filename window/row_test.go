package window_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/window"
)

// checkRow compares Row's accessors on every field of r (and on a row and
// a column either side of the window's) with the Window's: an accessor
// says ok exactly when the field has its type (for Bytes: a non-empty
// STRING or BLOB the Window reads without error), and then returns the
// Window's value.
func checkRow(t *testing.T, r *window.Window) {
	t.Helper()
	for _, i := range []int{-1, r.NumRows()} {
		_, ok := r.Row(i)
		assert.False(t, ok, "row %d of %d", i, r.NumRows())
	}
	for i := range r.NumRows() {
		row, ok := r.Row(i)
		require.True(t, ok, "row %d", i)
		for col := -1; col <= r.NumColumns(); col++ {
			checkRowField(t, r, row, i, col)
		}
	}
}

func checkRowField(t *testing.T, r *window.Window, row window.Row, i, col int) {
	t.Helper()
	typ, terr := r.Type(i, col)
	if col < 0 || col >= r.NumColumns() {
		assert.Equal(t, window.FieldType(0xff), row.Type(col))
	} else if terr == nil {
		assert.Equal(t, typ, row.Type(col), "(%d, %d)", i, col)
	} else {
		assert.Greater(t, row.Type(col), window.TypeBlob, "(%d, %d): %v", i, col, terr)
	}
	valid := terr == nil
	if col >= 0 && col < r.NumColumns() {
		// Row's accessors read typed columns; a mixed column's fields say
		// no, and the Window's accessors read them.
		if bufs, err := r.Buffers(col); err == nil && bufs.Mixed {
			valid = false
		}
	}

	v, ok := row.Int64(col)
	assert.Equal(t, valid && typ == window.TypeInt64, ok, "Int64 (%d, %d)", i, col)
	if ok {
		want, err := r.Int64(i, col)
		require.NoError(t, err)
		assert.Equal(t, want, v)
	}

	f, ok := row.Float64(col)
	assert.Equal(t, valid && typ == window.TypeFloat64, ok, "Float64 (%d, %d)", i, col)
	if ok {
		want, err := r.Float64(i, col)
		require.NoError(t, err)
		assert.Equal(t, math.Float64bits(want), math.Float64bits(f))
	}

	b, ok := row.Bytes(col)
	want, err := r.Bytes(i, col)
	text := valid && (typ == window.TypeString || typ == window.TypeBlob)
	assert.Equal(t, text && err == nil && len(want) > 0, ok, "Bytes (%d, %d): %v", i, col, err)
	if ok {
		assert.True(t, bytes.Equal(want, b), "Bytes (%d, %d)", i, col)
		assert.Equal(t, len(b), cap(b), "a view's capacity ends at the field")
	}
}

// mixedValues are the values of a mixedWindow's fields, by row.
type mixedValues struct {
	float func(row int) float64
	str   func(row int) string
	blob  func(row int) []byte
}

// mixedWindow returns the bytes of a window of rows rows of 4 columns,
// each field drawn by rng: NULL, a random INT64, or the float, string,
// blob or empty BLOB of its row.
func mixedWindow(t *testing.T, rows int, v mixedValues, rng *rand.Rand) []byte {
	t.Helper()
	w, err := window.New(4)
	require.NoError(t, err)
	defer w.Close()
	for i := range rows {
		require.NoError(t, w.AllocRow())
		for col := range 4 {
			switch rng.IntN(6) {
			case 0:
				require.NoError(t, w.PutNull(col))
			case 1:
				require.NoError(t, w.PutInt64(col, rng.Int64()-math.MaxInt64/2))
			case 2:
				require.NoError(t, w.PutFloat64(col, v.float(i)))
			case 3:
				require.NoError(t, w.PutString(col, v.str(i)))
			case 4:
				require.NoError(t, w.PutBlob(col, v.blob(i)))
			case 5:
				require.NoError(t, w.PutBlob(col, nil))
			}
		}
	}
	b, err := w.AppendTo(nil)
	require.NoError(t, err)
	return b
}

func TestRowAgreesWithSingleReads(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	b := mixedWindow(t, 60, mixedValues{
		float: func(i int) float64 { return []float64{rng.NormFloat64(), math.NaN(), math.Copysign(0, -1)}[i%3] },
		str:   func(i int) string { return []string{"", "12", "héllo"}[i%3] },
		blob:  func(i int) []byte { return []byte{byte(i), 0, 0xff} },
	}, rng)
	r, err := window.OpenBytes(b)
	require.NoError(t, err)
	defer r.Close()
	checkRow(t, r)

	// An inline window need not be aligned: Row reads its values as
	// bytes, and its offsets only where they are aligned.
	odd := append(make([]byte, 1, len(b)+1), b...)[1:]
	ro, err := window.OpenBytes(odd)
	require.NoError(t, err)
	checkRow(t, ro)
	require.NoError(t, ro.Close())

	// A Row kept past Close reads nothing.
	row, ok := r.Row(0)
	require.True(t, ok)
	require.NoError(t, r.Close())
	_, ok = r.Row(0)
	assert.False(t, ok)
	assert.Equal(t, window.FieldType(0xff), row.Type(0))
	for col := range 4 {
		_, ok1 := row.Int64(col)
		_, ok2 := row.Float64(col)
		_, ok3 := row.Bytes(col)
		assert.False(t, ok1 || ok2 || ok3, "column %d of a closed window", col)
	}
}

// Row's accessors on a window whose offsets point outside the data, or
// whose mixed column holds a type outside the format, say no: the
// Window's accessors name the damage.
func TestRowRefusesDamagedSlots(t *testing.T) {
	w, err := window.New(2)
	require.NoError(t, err)
	defer w.Close()
	for i := range 3 {
		require.NoError(t, w.AllocRow())
		require.NoError(t, w.PutString(0, "abcdef"))
		if i == 1 {
			require.NoError(t, w.PutFloat64(1, 1.5)) // column 1 is mixed
		} else {
			require.NoError(t, w.PutInt64(1, 7))
		}
	}
	b, err := w.AppendTo(nil)
	require.NoError(t, err)
	le := binary.LittleEndian
	entry := func(col int) []byte { return b[64+48*col : 64+48*(col+1)] }
	offsets := le.Uint64(entry(0)[16:])
	le.PutUint32(b[offsets+4:], 1000) // row 0 ends past the data
	le.PutUint32(b[offsets+8:], 2)    // row 1 starts after it ends
	types := le.Uint64(entry(1)[24:])
	b[types+2] = 9 // no type of the format
	r, err := window.OpenBytes(b)
	require.NoError(t, err)
	defer r.Close()
	checkRow(t, r)
	for i := range 2 {
		row, _ := r.Row(i)
		_, ok := row.Bytes(0)
		assert.False(t, ok, "row %d", i)
		_, err := r.Bytes(i, 0)
		assert.ErrorIs(t, err, window.ErrCorrupt)
	}
	row, _ := r.Row(2)
	assert.Equal(t, window.FieldType(9), row.Type(1))
	_, err = r.Int64(2, 1)
	assert.ErrorIs(t, err, window.ErrCorrupt)
}

func TestRowAllocatesNothing(t *testing.T) {
	w, err := window.New(3)
	require.NoError(t, err)
	defer w.Close()
	for i := range 100 {
		require.NoError(t, w.AllocRow())
		require.NoError(t, w.PutInt64(0, int64(i)))
		require.NoError(t, w.PutFloat64(1, 0.5))
		require.NoError(t, w.PutString(2, "abc"))
	}
	r := view(t, w)
	var n int
	allocs := testing.AllocsPerRun(100, func() {
		for i := range r.NumRows() {
			row, _ := r.Row(i)
			v, _ := row.Int64(0)
			f, _ := row.Float64(1)
			s, _ := row.Bytes(2)
			n += int(v) + int(f) + len(s) + int(row.Type(0))
		}
	})
	assert.Zero(t, allocs)
}

// Row's point is that its accessors inline into the caller's loop: a
// change that pushes one over the compiler's budget fails here, not
// silently in a benchmark.
func TestRowInlines(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the package with -gcflags=-m")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	out, err := exec.Command(gobin, "build", "-gcflags=-m", ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, fn := range []string{`\(\*Window\)\.Row`, `Row\.Type`, `Row\.Int64`, `Row\.Float64`, `Row\.Bytes`} {
		assert.Regexp(t, `(?m)can inline `+fn+`( |$)`, string(out), "%s must inline", fn)
	}
}
