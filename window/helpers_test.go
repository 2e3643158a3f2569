package window_test

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/window"
)

// value is one field of a test row.
type value struct {
	t window.FieldType
	i int64
	f float64
	s string
}

func vNull() value             { return value{t: window.TypeNull} }
func vInt(i int64) value       { return value{t: window.TypeInt64, i: i} }
func vFloat(f float64) value   { return value{t: window.TypeFloat64, f: f} }
func vStr(s string) value      { return value{t: window.TypeString, s: s} }
func vBlob(b []byte) value     { return value{t: window.TypeBlob, s: string(b)} }
func (v value) String() string { return fmt.Sprintf("%s(%d,%g,%q)", v.t, v.i, v.f, v.s) }

// put writes v into column col of the writer's last row.
func put(w *window.Writer, col int, v value) error {
	switch v.t {
	case window.TypeInt64:
		return w.PutInt64(col, v.i)
	case window.TypeFloat64:
		return w.PutFloat64(col, v.f)
	case window.TypeString:
		return w.PutString(col, v.s)
	case window.TypeBlob:
		return w.PutBlob(col, []byte(v.s))
	}
	return w.PutNull(col)
}

// writeRows appends rows, checking the writer's invariants after each one.
func writeRows(t testing.TB, w *window.Writer, rows [][]value) {
	t.Helper()
	for _, r := range rows {
		require.NoError(t, w.AllocRow())
		for c, v := range r {
			require.NoError(t, put(w, c, v))
		}
		checkInvariants(t, w)
	}
}

// readValue reads (row, col) back with the accessor that matches want.
func readValue(t testing.TB, r *window.Window, row, col int, want window.FieldType) value {
	t.Helper()
	typ, err := r.Type(row, col)
	require.NoError(t, err)
	require.Equal(t, want, typ, "type of (%d, %d)", row, col)
	switch typ {
	case window.TypeInt64:
		i, err := r.Int64(row, col)
		require.NoError(t, err)
		return vInt(i)
	case window.TypeFloat64:
		f, err := r.Float64(row, col)
		require.NoError(t, err)
		return vFloat(f)
	case window.TypeString:
		s, err := r.String(row, col)
		require.NoError(t, err)
		view, err := r.StringView(row, col)
		require.NoError(t, err)
		require.Equal(t, s, view)
		return vStr(s)
	case window.TypeBlob:
		b, err := r.Bytes(row, col)
		require.NoError(t, err)
		c, err := r.AppendBytes(nil, row, col)
		require.NoError(t, err)
		require.True(t, bytes.Equal(b, c))
		return vBlob(b)
	}
	return vNull()
}

// assertRows checks that r holds exactly rows.
func assertRows(t testing.TB, r *window.Window, rows [][]value) {
	t.Helper()
	require.Equal(t, len(rows), r.NumRows())
	for i, row := range rows {
		for c, want := range row {
			got := readValue(t, r, i, c, want.t)
			if want.t == window.TypeFloat64 && math.IsNaN(want.f) {
				assert.True(t, math.IsNaN(got.f))
				continue
			}
			assert.Equal(t, want, got, "(%d, %d)", i, c)
		}
	}
}

// checkInvariants asserts what must hold of a writer after every mutation:
// its bytes open as a valid window that agrees with the writer, the region
// is aligned and every string or blob lies inside the heap.
func checkInvariants(t testing.TB, w *window.Writer) {
	t.Helper()
	b, err := w.Bytes()
	require.NoError(t, err)
	assert.Zero(t, len(b)%8, "region size is aligned")
	r, err := window.OpenBytes(b)
	require.NoError(t, err, "writer bytes open as a window")
	defer r.Close()
	assert.Equal(t, w.NumRows(), r.NumRows())
	assert.Equal(t, w.NumColumns(), r.NumColumns())
	assert.Equal(t, w.StartPos(), r.StartPos())
	assert.LessOrEqual(t, w.Used(), len(b))
	for row := range r.NumRows() {
		for col := range r.NumColumns() {
			typ, err := r.Type(row, col)
			require.NoError(t, err)
			if typ == window.TypeString || typ == window.TypeBlob {
				_, err := r.Bytes(row, col)
				require.NoError(t, err, "heap reference of (%d, %d)", row, col)
			}
		}
	}
}

// checkLeaks records the open fds and memfd mappings now and asserts in
// t.Cleanup that the test left no more behind.
func checkLeaks(t testing.TB) {
	t.Helper()
	fds, maps := countFDs(t), countMemfdMaps(t)
	t.Cleanup(func() {
		assert.Equal(t, fds, countFDs(t), "open fds")
		assert.Equal(t, maps, countMemfdMaps(t), "memfd mappings")
	})
}

func countFDs(t testing.TB) int {
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(ents)
}

func countMemfdMaps(t testing.TB) int {
	b, err := os.ReadFile("/proc/self/maps")
	require.NoError(t, err)
	return strings.Count(string(b), "/memfd:")
}

// sampleRows returns n rows of (int64, float64, string, blob, null).
func sampleRows(n int) [][]value {
	rows := make([][]value, n)
	for i := range rows {
		rows[i] = []value{
			vInt(int64(i) * 1_000_003),
			vFloat(float64(i) / 7),
			vStr(fmt.Sprintf("row-%06d-%s", i, strings.Repeat("x", i%13))),
			vBlob(bytes.Repeat([]byte{byte(i)}, i%70)),
			vNull(),
		}
	}
	return rows
}

// view returns a reader over the writer's current bytes (Bytes, then
// OpenBytes): valid only until the writer's next write, Reset or Close.
func view(t testing.TB, w *window.Writer) *window.Window {
	t.Helper()
	b, err := w.Bytes()
	require.NoError(t, err)
	r, err := window.OpenBytes(b)
	require.NoError(t, err)
	return r
}
