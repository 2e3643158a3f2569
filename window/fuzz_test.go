package window_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/window"
)

// fuzzSeeds returns valid windows to start from.
func fuzzSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, n := range []int{0, 1, 3} {
		w, err := window.New(5)
		require.NoError(t, err)
		writeRows(t, w, sampleRows(n))
		b, err := w.AppendTo(nil)
		require.NoError(t, err)
		seeds = append(seeds, b)
		w.Close()
	}
	return seeds
}

// FuzzOpenBytes feeds arbitrary bytes to the reader as an inline window
// and calls every accessor on every cell: any error is fine, a panic is
// not. Whatever decodes must re-encode to a window with the same values.
func FuzzOpenBytes(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := window.OpenBytes(data)
		if err != nil {
			require.ErrorIs(t, err, window.ErrCorrupt)
			return
		}
		defer r.Close()
		checkBatchReads(t, r)
		checkRow(t, r)
		var rows [][]value
		clean := true
		for row := range r.NumRows() {
			var vals []value
			for col := range r.NumColumns() {
				v, ok := readAll(t, r, row, col)
				clean = clean && ok
				vals = append(vals, v)
			}
			rows = append(rows, vals)
		}
		if !clean {
			return
		}
		w, err := window.New(r.NumColumns(), window.WithMaxSize(int64(2*len(data)+window.HeaderSize)), window.WithStartPos(r.StartPos()))
		require.NoError(t, err)
		defer w.Close()
		writeRows(t, w, rows)
		b, err := w.AppendTo(nil)
		require.NoError(t, err)
		r2, err := window.OpenBytes(b)
		require.NoError(t, err)
		require.Equal(t, r.StartPos(), r2.StartPos())
		assertRows(t, r2, rows)
	})
}

// readAll calls every accessor on (row, col). It returns the field's value
// and whether the field was readable.
func readAll(t *testing.T, r *window.Window, row, col int) (value, bool) {
	allowed := func(err error) bool {
		return err == nil || errors.Is(err, window.ErrCorrupt) || errors.Is(err, window.ErrType)
	}
	typ, err := r.Type(row, col)
	i, ierr := r.Int64(row, col)
	fv, ferr := r.Float64(row, col)
	s, serr := r.String(row, col)
	_, verr := r.StringView(row, col)
	b, berr := r.Bytes(row, col)
	_, aerr := r.AppendBytes(nil, row, col)
	_, nerr := r.IsNull(row, col)
	for _, e := range []error{err, ierr, ferr, serr, verr, berr, aerr, nerr} {
		if !allowed(e) {
			t.Fatalf("(%d, %d): unexpected error %v", row, col, e)
		}
	}
	if err != nil {
		return value{}, false
	}
	switch typ {
	case window.TypeInt64:
		return vInt(i), ierr == nil
	case window.TypeFloat64:
		return vFloat(fv), ferr == nil
	case window.TypeString:
		return vStr(s), serr == nil
	case window.TypeBlob:
		return vBlob(b), berr == nil
	}
	return vNull(), true
}

// FuzzMutateWhileReading flips bytes of a mapped window (through its
// writer's mapping, as a hostile provider with a F_SEAL_FUTURE_WRITE window
// could) while a reader calls every accessor on every cell: the reader may
// see wrong values or errors, but must never panic or read outside the
// window.
func FuzzMutateWhileReading(f *testing.F) {
	f.Add([]byte{0, 0, 0xff, 12, 0, 9, 64, 0, 0xff})
	f.Add([]byte{8, 0, 0xff, 16, 0, 0xff, 32, 0, 0xff, 40, 0, 1})
	f.Fuzz(func(t *testing.T, edits []byte) {
		w, err := window.Create(5, window.WithInitialSize(16<<10), window.WithMaxSize(16<<10))
		require.NoError(t, err)
		defer w.Close()
		writeRows(t, w, sampleRows(40))
		require.NoError(t, w.SealReusable())
		r, err := window.Open(w.File())
		require.NoError(t, err)
		defer r.Close()
		mem, err := w.Bytes() // the writer's own, still writable, mapping
		require.NoError(t, err)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; i+2 < len(edits); i += 3 {
				off := int(edits[i]) | int(edits[i+1])<<8
				// Slots live at the end of the region: aim half of the
				// edits there, half at the header and heap.
				if off&1 == 1 {
					off = len(mem) - 1 - off%len(mem)
				}
				mem[off%len(mem)] = edits[i+2]
			}
		}()
		for row := range r.NumRows() {
			for col := range r.NumColumns() {
				readAll(t, r, row, col)
			}
		}
		rowAll(r)
		<-done
		for row := range r.NumRows() {
			for col := range r.NumColumns() {
				readAll(t, r, row, col)
			}
		}
	})
}

// rowAll calls Row's accessors on every field of r, whatever it holds:
// under a concurrent writer the values may be anything, but no accessor
// may panic or read outside the window.
func rowAll(r *window.Window) (n int) {
	for i := range r.NumRows() {
		row, _ := r.Row(i)
		for col := -1; col <= r.NumColumns(); col++ {
			v, _ := row.Int64(col)
			f, _ := row.Float64(col)
			b, _ := row.Bytes(col)
			n += int(v) + int(f) + len(b) + int(row.Type(col))
		}
	}
	return n
}

// FuzzOpenFileBytes feeds arbitrary bytes to the file window's checks
// (CRC-32C, then header): any error is fine, a panic is not; whatever
// passes reads every cell without panicking. Seeds are real file windows,
// whose checksums pass, so the fuzzer also mutates past the checksum.
func FuzzOpenFileBytes(f *testing.F) {
	for _, n := range []int{0, 1, 3} {
		path := filepath.Join(f.TempDir(), "seed.cw")
		w, err := window.Create(5, window.WithBacking(window.FileBacking(path)))
		require.NoError(f, err)
		writeRows(f, w, sampleRows(n))
		require.NoError(f, w.Seal())
		require.NoError(f, w.Close())
		b, err := os.ReadFile(path)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := window.OpenFileBytes(data)
		if err != nil {
			require.ErrorIs(t, err, window.ErrCorrupt)
			return
		}
		defer r.Close()
		for row := range r.NumRows() {
			for col := range r.NumColumns() {
				readAll(t, r, row, col)
			}
		}
	})
}
