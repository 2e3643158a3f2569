package window_test

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/cursorwindow/cursorwindow/window"
)

func newInline(t testing.TB, ncols int, opts ...window.Option) *window.Writer {
	t.Helper()
	w, err := window.New(ncols, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { w.Close() })
	return w
}

func newMemfd(t testing.TB, ncols int, opts ...window.Option) *window.Writer {
	t.Helper()
	w, err := window.Create(ncols, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { w.Close() })
	return w
}

// openSealed seals w and opens its memfd as a reader would.
func openSealed(t testing.TB, w *window.Writer) *window.Window {
	t.Helper()
	require.NoError(t, w.Seal())
	r, err := window.Open(w.File())
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return r
}

func TestRoundTripEveryType(t *testing.T) {
	rows := [][]value{
		{vInt(0), vFloat(0), vStr(""), vBlob(nil), vNull()},
		{vInt(math.MaxInt64), vFloat(math.MaxFloat64), vStr("héllo, 世界"), vBlob([]byte{0, 1, 2, 255}), vNull()},
		{vInt(math.MinInt64), vFloat(math.Inf(-1)), vStr(strings.Repeat("s", 1000)), vBlob(bytes.Repeat([]byte{7}, 5000)), vInt(-1)},
		{vInt(-42), vFloat(math.NaN()), vStr("\x00nul inside\x00"), vBlob([]byte{}), vFloat(math.SmallestNonzeroFloat64)},
	}
	for _, tc := range []struct {
		name string
		open func(t testing.TB, w *window.Writer) *window.Window
		mk   func(t testing.TB, ncols int, opts ...window.Option) *window.Writer
	}{
		{"inline", func(t testing.TB, w *window.Writer) *window.Window {
			require.NoError(t, w.Seal())
			b, err := w.Bytes()
			require.NoError(t, err)
			r, err := window.OpenBytes(b)
			require.NoError(t, err)
			return r
		}, newInline},
		{"inline-appendto", func(t testing.TB, w *window.Writer) *window.Window {
			b, err := w.AppendTo([]byte("prefix"))
			require.NoError(t, err)
			r, err := window.OpenBytes(b[len("prefix"):])
			require.NoError(t, err)
			return r
		}, newInline},
		{"memfd", openSealed, newMemfd},
		{"memfd-reusable", func(t testing.TB, w *window.Writer) *window.Window {
			require.NoError(t, w.SealReusable())
			r, err := window.Open(w.File())
			require.NoError(t, err)
			t.Cleanup(func() { r.Close() })
			return r
		}, newMemfd},
		{"inline-moved-to-memfd", func(t testing.TB, w *window.Writer) *window.Window {
			dst := newMemfd(t, 1, window.WithInitialSize(1024))
			require.NoError(t, w.MoveTo(dst))
			return openSealed(t, dst)
		}, newInline},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkLeaks(t)
			w := tc.mk(t, 5, window.WithStartPos(77))
			writeRows(t, w, rows)
			r := tc.open(t, w)
			assert.Equal(t, int64(77), r.StartPos())
			assert.Equal(t, 5, r.NumColumns())
			assertRows(t, r, rows)
			require.NoError(t, r.Close())
			require.NoError(t, w.Close())
		})
	}
}

func TestMemfdGrowsInPlace(t *testing.T) {
	checkLeaks(t)
	w := newMemfd(t, 5, window.WithInitialSize(256), window.WithName("growth-test"))
	f := w.File()
	require.NotNil(t, f, "a memfd from the start")
	assert.Contains(t, f.Name(), "growth-test")
	link, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
	require.NoError(t, err)
	assert.Equal(t, "/memfd:growth-test (deleted)", link)
	rows := sampleRows(2000)
	writeRows(t, w, rows)
	assert.Same(t, f, w.File(), "grown in place: the same memfd")
	r := openSealed(t, w)
	assertRows(t, r, rows)
	require.NoError(t, r.Close())
	require.NoError(t, w.Close())
}

func TestWindowFullRollsBackRow(t *testing.T) {
	w := newInline(t, 2, window.WithMaxSize(1024))
	var rows [][]value
	var err error
	for i := 0; ; i++ {
		if err = w.AllocRow(); err != nil {
			break
		}
		require.NoError(t, w.PutInt64(0, int64(i)))
		if err = w.PutString(1, strings.Repeat("a", 40)); err != nil {
			break
		}
		rows = append(rows, []value{vInt(int64(i)), vStr(strings.Repeat("a", 40))})
		checkInvariants(t, w)
	}
	require.ErrorIs(t, err, window.ErrWindowFull)
	assert.Equal(t, len(rows), w.NumRows(), "the row that did not fit is gone")
	assert.Greater(t, len(rows), 10)
	checkInvariants(t, w)
	r := view(t, w)
	assertRows(t, r, rows)

	// Whichever call failed, nothing of the row is left, and the next
	// attempt fails the same way without changing the window.
	before, used := w.NumRows(), w.Used()
	if err := w.AllocRow(); err == nil {
		require.ErrorIs(t, w.PutString(1, strings.Repeat("a", 40)), window.ErrWindowFull)
	} else {
		require.ErrorIs(t, err, window.ErrWindowFull)
	}
	assert.Equal(t, before, w.NumRows())
	assert.Equal(t, used, w.Used())
}

func TestWindowExactlyFull(t *testing.T) {
	// One column, one row: header 64, directory entry 48, bitmap 8 (while
	// the window is written) and two offsets 8 = 128 bytes; a string of
	// exactly the remaining bytes fills the window to the last byte. The
	// sealed window needs no bitmap (no NULL).
	const size = 256
	w := newInline(t, 1, window.WithMaxSize(size), window.WithInitialSize(size))
	require.NoError(t, w.AllocRow())
	s := strings.Repeat("z", size-window.HeaderSize-48-8-8)
	require.NoError(t, w.PutString(0, s))
	checkInvariants(t, w)
	assert.Equal(t, size-8, w.Used())
	require.ErrorIs(t, w.AllocRow(), window.ErrWindowFull)
	require.NoError(t, w.Seal())
	b, err := w.Bytes()
	require.NoError(t, err)
	assert.Len(t, b, size-8)
	r, err := window.OpenBytes(b)
	require.NoError(t, err)
	assertRows(t, r, [][]value{{vStr(s)}})
}

func TestRowBiggerThanWindow(t *testing.T) {
	w := newMemfd(t, 2, window.WithMaxSize(64<<10))
	require.NoError(t, w.AllocRow())
	require.NoError(t, w.PutInt64(0, 1))
	err := w.PutBlob(1, make([]byte, 64<<10))
	require.ErrorIs(t, err, window.ErrWindowFull)
	assert.Equal(t, 0, w.NumRows(), "an empty window after the failed row: the caller needs a bigger window")
	checkInvariants(t, w)

	big := newMemfd(t, 2, window.WithMaxSize(256<<10))
	writeRows(t, big, [][]value{{vInt(1), vBlob(make([]byte, 64<<10))}})
}

func TestFreeLastRowReclaimsHeap(t *testing.T) {
	w := newInline(t, 1)
	writeRows(t, w, [][]value{{vStr("keep")}})
	used := w.Used()
	writeRows(t, w, [][]value{{vStr(strings.Repeat("drop", 100))}})
	require.NoError(t, w.FreeLastRow())
	checkInvariants(t, w)
	assert.Equal(t, used, w.Used())
	require.NoError(t, w.FreeLastRow())
	require.ErrorIs(t, w.FreeLastRow(), window.ErrNoRow)
	assert.Equal(t, 0, w.NumRows())
}

func TestWriterErrors(t *testing.T) {
	_, err := window.New(0)
	require.ErrorIs(t, err, window.ErrOutOfRange)
	_, err = window.New(window.MaxColumns + 1)
	require.ErrorIs(t, err, window.ErrOutOfRange)
	_, err = window.New(1, window.WithMaxSize(10))
	require.ErrorIs(t, err, window.ErrTooLarge)

	w := newInline(t, 2)
	require.ErrorIs(t, w.PutInt64(0, 1), window.ErrNoRow)
	require.NoError(t, w.AllocRow())
	require.ErrorIs(t, w.PutInt64(2, 1), window.ErrOutOfRange)
	require.ErrorIs(t, w.PutString(-1, "x"), window.ErrOutOfRange)
	require.NoError(t, w.Seal())
	require.ErrorIs(t, w.AllocRow(), window.ErrSealed)
	require.ErrorIs(t, w.PutInt64(0, 1), window.ErrSealed)
	require.ErrorIs(t, w.Seal(), window.ErrSealed)
	require.ErrorIs(t, w.Reset(0), window.ErrSealed, "an immutable window cannot be refilled")
	require.NoError(t, w.Close())
	require.NoError(t, w.Close(), "double close is harmless")
	require.ErrorIs(t, w.AllocRow(), window.ErrClosed)
	_, err = w.Bytes()
	require.ErrorIs(t, err, window.ErrClosed)
}

func TestSealIsEnforcedByTheKernel(t *testing.T) {
	checkLeaks(t)
	w := newMemfd(t, 1)
	writeRows(t, w, [][]value{{vStr("sealed")}})
	require.NoError(t, w.Seal())
	f := w.File()
	// Nobody, the creator included, can write, shrink, grow or map it
	// writable.
	_, err := f.WriteAt([]byte("x"), 100)
	assert.ErrorIs(t, err, unix.EPERM)
	assert.ErrorIs(t, unix.Ftruncate(int(f.Fd()), 0), unix.EPERM)
	assert.ErrorIs(t, unix.Ftruncate(int(f.Fd()), 1<<20), unix.EPERM)
	_, err = unix.Mmap(int(f.Fd()), 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	assert.ErrorIs(t, err, unix.EPERM)
	b, err := w.Bytes()
	require.NoError(t, err)
	assert.Equal(t, w.Used(), len(b), "compacted to what is used")
	require.NoError(t, w.Close())
}

func TestSealReusableAndReset(t *testing.T) {
	checkLeaks(t)
	w := newMemfd(t, 5, window.WithInitialSize(64<<10), window.WithMaxSize(64<<10))
	rows := sampleRows(100)
	writeRows(t, w, rows)
	require.NoError(t, w.SealReusable())
	f := w.File()
	_, err := f.WriteAt([]byte("x"), 100)
	assert.ErrorIs(t, err, unix.EPERM, "others cannot write")
	_, err = unix.Mmap(int(f.Fd()), 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	assert.ErrorIs(t, err, unix.EPERM, "others cannot map it writable")

	r1, err := window.Open(f)
	require.NoError(t, err)
	assertRows(t, r1, rows)
	require.NoError(t, r1.Close())

	// Refill the same memory with other rows.
	require.NoError(t, w.Reset(100))
	assert.Equal(t, 0, w.NumRows())
	rows2 := sampleRows(150)[50:]
	writeRows(t, w, rows2)
	require.NoError(t, w.SealReusable())
	r2, err := window.Open(f)
	require.NoError(t, err)
	assert.Equal(t, int64(100), r2.StartPos())
	assertRows(t, r2, rows2)
	assert.Equal(t, r1.Identity(), r2.Identity(), "same memfd, recognisable by identity")
	id, err := window.Identify(f)
	require.NoError(t, err)
	assert.Equal(t, r2.Identity(), id)

	// A reader that kept its mapping sees the refill after Reload.
	require.NoError(t, w.Reset(7))
	writeRows(t, w, rows[:3])
	require.NoError(t, w.SealReusable())
	require.NoError(t, r2.Reload())
	assert.Equal(t, int64(7), r2.StartPos())
	assertRows(t, r2, rows[:3])
	assert.NotZero(t, r2.Identity().Ino)
	require.NoError(t, r2.Close())

	// A pooled window can take another shape once empty.
	require.NoError(t, w.Reset(0))
	require.NoError(t, w.SetNumColumns(2))
	writeRows(t, w, [][]value{{vInt(1), vStr("two columns")}})
	require.Error(t, w.SetNumColumns(3), "not with rows in it")
	require.NoError(t, w.Reset(0))
	require.NoError(t, w.SetNumColumns(5))

	// A refilled window cannot grow past the sealed size.
	require.NoError(t, w.Reset(0))
	err = w.AllocRow()
	for err == nil {
		err = w.PutBlob(4, make([]byte, 1000))
		if err == nil {
			err = w.AllocRow()
		}
	}
	require.ErrorIs(t, err, window.ErrWindowFull)
	assert.Equal(t, 64<<10, w.Size())
	require.NoError(t, w.Seal(), "Seal of a pooled window only ends the writing")
	require.NoError(t, w.Close())
}

func TestOpenRefusesUnsealed(t *testing.T) {
	checkLeaks(t)
	// An unsealed memfd.
	w := newMemfd(t, 1)
	writeRows(t, w, [][]value{{vInt(1)}})
	_, err := window.Open(w.File())
	require.ErrorIs(t, err, window.ErrNotSealed)

	// A memfd sealed against resizing but not against writing.
	fd, err := unix.MemfdCreate("partly", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	require.NoError(t, err)
	f := os.NewFile(uintptr(fd), "partly")
	defer f.Close()
	b, err := w.Bytes()
	require.NoError(t, err)
	_, err = f.Write(b)
	require.NoError(t, err)
	_, err = unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW)
	require.NoError(t, err)
	_, err = window.Open(f)
	require.ErrorIs(t, err, window.ErrNotSealed)

	// A regular file.
	path := filepath.Join(t.TempDir(), "window")
	require.NoError(t, os.WriteFile(path, b, 0o600))
	rf, err := os.Open(path)
	require.NoError(t, err)
	defer rf.Close()
	_, err = window.Open(rf)
	require.ErrorIs(t, err, window.ErrNotSealed)

	// A pipe.
	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	defer pr.Close()
	defer pw.Close()
	_, err = window.Open(pr)
	require.ErrorIs(t, err, window.ErrNotSealed)
}

func TestOpenRefusesSizeMismatch(t *testing.T) {
	checkLeaks(t)
	w := newInline(t, 1)
	writeRows(t, w, [][]value{{vStr("abc")}})
	require.NoError(t, w.Seal())
	b, err := w.Bytes()
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"file larger than header says", append(append([]byte{}, b...), make([]byte, 4096)...)},
		{"file smaller than header says", b[:len(b)-16]},
		{"shorter than a header", b[:10]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := sealedMemfd(t, tc.data)
			_, err := window.Open(f)
			require.ErrorIs(t, err, window.ErrCorrupt)
		})
	}
	f := sealedMemfd(t, b)
	r, err := window.Open(f)
	require.NoError(t, err)
	assertRows(t, r, [][]value{{vStr("abc")}})
	require.NoError(t, r.Close())
}

// sealedMemfd returns a memfd holding data, sealed immutable.
func sealedMemfd(t testing.TB, data []byte) *os.File {
	t.Helper()
	fd, err := unix.MemfdCreate("test", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	require.NoError(t, err)
	f := os.NewFile(uintptr(fd), "test")
	t.Cleanup(func() { f.Close() })
	_, err = f.Write(data)
	require.NoError(t, err)
	_, err = unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE|unix.F_SEAL_SEAL)
	require.NoError(t, err)
	return f
}

func TestReopenThroughDup(t *testing.T) {
	checkLeaks(t)
	w := newMemfd(t, 5)
	rows := sampleRows(50)
	writeRows(t, w, rows)
	require.NoError(t, w.Seal())
	fd, err := unix.FcntlInt(w.File().Fd(), unix.F_DUPFD_CLOEXEC, 0)
	require.NoError(t, err)
	dup := os.NewFile(uintptr(fd), "dup")
	r, err := window.Open(dup)
	require.NoError(t, err)
	require.NoError(t, dup.Close(), "the mapping outlives the descriptor")
	require.NoError(t, w.Close(), "and the writer")
	assertRows(t, r, rows)
	require.NoError(t, r.Close())
}

func TestUseAfterClose(t *testing.T) {
	w := newMemfd(t, 5)
	writeRows(t, w, sampleRows(3))
	r := openSealed(t, w)
	require.NoError(t, r.Close())
	require.NoError(t, r.Close())
	_, err := r.Int64(0, 0)
	require.ErrorIs(t, err, window.ErrClosed)
	_, err = r.Bytes(0, 3)
	require.ErrorIs(t, err, window.ErrClosed)
	_, err = r.String(0, 2)
	require.ErrorIs(t, err, window.ErrClosed)
	_, err = r.Type(0, 0)
	require.ErrorIs(t, err, window.ErrClosed)
	assert.Equal(t, 0, r.NumRows())
}

func TestAccessorBoundsAndConversions(t *testing.T) {
	w := newInline(t, 5)
	writeRows(t, w, [][]value{{vInt(42), vFloat(2.75), vStr("17"), vBlob([]byte("b")), vNull()}})
	r := view(t, w)

	for _, rc := range [][2]int{{-1, 0}, {1, 0}, {0, -1}, {0, 5}, {math.MaxInt, 0}} {
		_, err := r.Int64(rc[0], rc[1])
		require.ErrorIs(t, err, window.ErrOutOfRange, "%v", rc)
		var fe *window.FieldError
		require.True(t, errors.As(err, &fe))
		assert.Equal(t, rc[0], fe.Row)
	}

	i, err := r.Int64(0, 1)
	require.NoError(t, err)
	assert.Equal(t, int64(2), i, "float truncates")
	i, err = r.Int64(0, 2)
	require.NoError(t, err)
	assert.Equal(t, int64(17), i, "string parses")
	i, err = r.Int64(0, 4)
	require.NoError(t, err)
	assert.Equal(t, int64(0), i, "null reads as 0")
	_, err = r.Int64(0, 3)
	require.ErrorIs(t, err, window.ErrType)

	f, err := r.Float64(0, 0)
	require.NoError(t, err)
	assert.Equal(t, 42.0, f)
	f, err = r.Float64(0, 2)
	require.NoError(t, err)
	assert.Equal(t, 17.0, f)
	_, err = r.Float64(0, 3)
	require.ErrorIs(t, err, window.ErrType)

	s, err := r.String(0, 0)
	require.NoError(t, err)
	assert.Equal(t, "42", s)
	s, err = r.String(0, 1)
	require.NoError(t, err)
	assert.Equal(t, "2.75", s)
	s, err = r.String(0, 4)
	require.NoError(t, err)
	assert.Equal(t, "", s)
	_, err = r.String(0, 3)
	require.ErrorIs(t, err, window.ErrType)

	b, err := r.Bytes(0, 2)
	require.NoError(t, err)
	assert.Equal(t, []byte("17"), b, "a string reads as bytes")
	b, err = r.Bytes(0, 4)
	require.NoError(t, err)
	assert.Nil(t, b)
	_, err = r.Bytes(0, 0)
	require.ErrorIs(t, err, window.ErrType)
	_, err = r.StringView(0, 3)
	require.ErrorIs(t, err, window.ErrType, "a blob is not a string view")

	null, err := r.IsNull(0, 4)
	require.NoError(t, err)
	assert.True(t, null)

	w2 := newInline(t, 1)
	writeRows(t, w2, [][]value{{vStr("not a number")}})
	r2 := view(t, w2)
	_, err = r2.Int64(0, 0)
	require.ErrorIs(t, err, window.ErrType)
	_, err = r2.Float64(0, 0)
	require.ErrorIs(t, err, window.ErrType)
}

func TestFieldTypeString(t *testing.T) {
	for typ, want := range map[window.FieldType]string{
		window.TypeNull: "NULL", window.TypeInt64: "INT64", window.TypeFloat64: "FLOAT64",
		window.TypeString: "STRING", window.TypeBlob: "BLOB", 9: "FieldType(9)",
	} {
		assert.Equal(t, want, typ.String())
	}
}

func TestLargeWindowGrowsToOneGiB(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 1 GiB")
	}
	checkLeaks(t)
	const max = 1 << 30
	w := newMemfd(t, 2, window.WithMaxSize(max))
	blob := bytes.Repeat([]byte{0xAB}, 32<<20)
	n := 0
	for {
		if err := w.AllocRow(); err != nil {
			require.ErrorIs(t, err, window.ErrWindowFull)
			break
		}
		require.NoError(t, w.PutInt64(0, int64(n)))
		if err := w.PutBlob(1, blob); err != nil {
			require.ErrorIs(t, err, window.ErrWindowFull)
			break
		}
		n++
	}
	assert.Equal(t, max, w.Size(), "grew to the maximum")
	assert.Equal(t, 31, n, "31 blobs of 32 MiB fit, the 32nd needs the header's room too")
	r := openSealed(t, w)
	require.Equal(t, n, r.NumRows())
	last, err := r.Bytes(n-1, 1)
	require.NoError(t, err)
	assert.Len(t, last, 32<<20)
	assert.Equal(t, byte(0xAB), last[len(last)-1])
	v, err := r.Int64(n-1, 0)
	require.NoError(t, err)
	assert.Equal(t, int64(n-1), v)
	require.NoError(t, r.Close())
	require.NoError(t, w.Close())
}
