package window_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/window"
)

// putAgain appends every row of src to dst field by field: what a fill
// that outgrew its inline window did before MoveTo (content's copyRows),
// the reference MoveTo must equal.
func putAgain(dst, src *window.Writer) error {
	b, err := src.Bytes()
	if err != nil {
		return err
	}
	r, err := window.OpenBytes(b)
	if err != nil {
		return err
	}
	defer r.Close()
	for row := range r.NumRows() {
		if err := dst.AllocRow(); err != nil {
			return err
		}
		for col := range r.NumColumns() {
			t, err := r.Type(row, col)
			if err != nil {
				return err
			}
			switch t {
			case window.TypeInt64:
				v, _ := r.Int64(row, col)
				err = dst.PutInt64(col, v)
			case window.TypeFloat64:
				v, _ := r.Float64(row, col)
				err = dst.PutFloat64(col, v)
			case window.TypeString:
				v, _ := r.StringView(row, col)
				err = dst.PutString(col, v)
			case window.TypeBlob:
				v, _ := r.Bytes(row, col)
				err = dst.PutBlob(col, v)
			default:
				err = dst.PutNull(col)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// randomRow returns a row of ncols random fields: NULLs, numbers, empty
// and long strings and blobs.
func randomRow(rng *rand.Rand, ncols int) []value {
	row := make([]value, ncols)
	for c := range row {
		n := rng.IntN(40)
		if rng.IntN(10) == 0 {
			n = rng.IntN(3000)
		}
		switch rng.IntN(6) {
		case 0:
			row[c] = vNull()
		case 1:
			row[c] = vInt(int64(rng.Uint64()))
		case 2:
			row[c] = vFloat(math.Float64frombits(rng.Uint64()))
			if math.IsNaN(row[c].f) {
				row[c] = vFloat(rng.NormFloat64())
			}
		case 3:
			row[c] = vStr(strings.Repeat(string(rune('a'+rng.IntN(26))), n))
		case 4:
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			row[c] = vBlob(b)
		default:
			row[c] = vStr("")
		}
	}
	return row
}

// putRow appends row to w, rolled back whole if it does not fit.
func putRow(w *window.Writer, row []value) error {
	if err := w.AllocRow(); err != nil {
		return err
	}
	for c, v := range row {
		if err := put(w, c, v); err != nil {
			return err
		}
	}
	return nil
}

// fillInline fills an inline window (New, at most limit bytes) with
// random rows until one does not fit, and returns the rows written and
// the one that did not fit.
func fillInline(t testing.TB, rng *rand.Rand, ncols int, limit int64) (*window.Writer, [][]value, []value) {
	t.Helper()
	w := newInline(t, ncols, window.WithMaxSize(limit), window.WithInitialSize(1<<10), window.WithStartPos(77))
	var rows [][]value
	for {
		row := randomRow(rng, ncols)
		err := putRow(w, row)
		if err != nil {
			require.ErrorIs(t, err, window.ErrWindowFull)
			checkInvariants(t, w)
			return w, rows, row
		}
		rows = append(rows, row)
	}
}

func TestMoveToEqualsPuttingTheRowsAgain(t *testing.T) {
	const size = 256 << 10
	fixed := []window.Option{window.WithInitialSize(size), window.WithMaxSize(size)}
	for _, tc := range []struct {
		name string
		// dst returns an empty window to continue in; recycled ones were
		// filled with other rows, sealed for reuse and Reset, as a pool's.
		dst func(t testing.TB) *window.Writer
		// same says that both windows end at the same size. (Their
		// layouts differ: each window's follows its own history.)
		same bool
	}{
		{"pooled memfd", func(t testing.TB) *window.Writer { return newMemfd(t, 1, fixed...) }, true},
		{"recycled memfd", func(t testing.TB) *window.Writer { return recycledEmpty(t, fixed...) }, true},
		{"growing memfd", func(t testing.TB) *window.Writer {
			return newMemfd(t, 1, window.WithInitialSize(4<<10), window.WithMaxSize(size))
		}, false},
		{"Go memory", func(t testing.TB) *window.Writer { return newInline(t, 1, fixed...) }, true},
		{"shm", func(t testing.TB) *window.Writer {
			return newMemfd(t, 1, append(fixed, window.WithBacking(window.ShmBacking()), window.WithName(testPrefix))...)
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkLeaks(t)
			for seed := range uint64(8) {
				rng := rand.New(rand.NewPCG(seed, 12))
				ncols := 1 + rng.IntN(6)
				src, rows, pending := fillInline(t, rng, ncols, int64(2<<10+rng.IntN(30<<10)))

				want := tc.dst(t)
				require.NoError(t, want.SetNumColumns(ncols))
				require.NoError(t, want.SetStartPos(src.StartPos()))
				require.NoError(t, putAgain(want, src))

				got := tc.dst(t)
				require.NoError(t, src.MoveTo(got))
				checkInvariants(t, got)
				checkInvariants(t, src)
				assert.Equal(t, 0, src.NumRows(), "the source is left empty")
				assert.Equal(t, ncols, got.NumColumns())
				assert.Equal(t, int64(77), got.StartPos())

				// Both continue with the row that did not fit, and more.
				more := [][]value{pending, randomRow(rng, ncols), randomRow(rng, ncols)}
				for _, row := range more {
					require.NoError(t, putRow(want, row))
					require.NoError(t, putRow(got, row))
					checkInvariants(t, got)
				}
				rows = append(rows, more...)
				require.NoError(t, want.SealReusable())
				require.NoError(t, got.SealReusable())
				wb, err := want.Bytes()
				require.NoError(t, err)
				gb, err := got.Bytes()
				require.NoError(t, err)
				if tc.same {
					require.Equal(t, len(wb), len(gb), "seed %d: region size", seed)
				}
				wc, err := want.AppendTo(nil)
				require.NoError(t, err)
				gc, err := got.AppendTo(nil)
				require.NoError(t, err)
				require.True(t, bytesEqual(wc, gc), "seed %d: the same compact window", seed)
				r, err := window.OpenBytes(gb)
				require.NoError(t, err)
				assertRows(t, r, rows)
			}
		})
	}
}

// bytesEqual is bytes.Equal without testify printing megabytes on failure.
func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

// recycledEmpty returns a memfd window that held other rows (a marker in
// every string), was sealed for reuse and Reset: a pool's next window.
func recycledEmpty(t testing.TB, opts ...window.Option) *window.Writer {
	t.Helper()
	w := newMemfd(t, 3, opts...)
	for i := range 200 {
		require.NoError(t, putRow(w, []value{vStr(strings.Repeat("STALE", 40)), vInt(int64(i)), vBlob([]byte("STALE"))}))
	}
	require.NoError(t, w.SealReusable())
	require.NoError(t, w.Reset(0))
	return w
}

func TestMoveToARecycledWindowShowsNothingStale(t *testing.T) {
	const size = 64 << 10
	fresh := newMemfd(t, 2, window.WithInitialSize(size), window.WithMaxSize(size))
	used := recycledEmpty(t, window.WithInitialSize(size), window.WithMaxSize(size))
	rows := [][]value{{vStr("a"), vInt(1)}, {vNull(), vBlob([]byte{9})}}
	for _, dst := range []*window.Writer{fresh, used} {
		src := newInline(t, 2)
		writeRows(t, src, rows)
		require.NoError(t, src.MoveTo(dst))
		require.NoError(t, dst.SealReusable())
	}
	fb, err := fresh.Bytes()
	require.NoError(t, err)
	ub, err := used.Bytes()
	require.NoError(t, err)
	assert.Equal(t, len(fb), len(ub))
	assert.NotContains(t, string(ub), "STALE")
	fc, err := fresh.AppendTo(nil)
	require.NoError(t, err)
	uc, err := used.AppendTo(nil)
	require.NoError(t, err)
	assert.True(t, bytesEqual(fc, uc), "a recycled window holds what a fresh one holds")
}

func TestMoveToRefuses(t *testing.T) {
	rows := sampleRows(20)
	for _, tc := range []struct {
		name    string
		setup   func(t *testing.T, src, dst *window.Writer) *window.Writer // returns the dst to move to
		want    error
		srcKeep bool
	}{
		{"dst not empty", func(t *testing.T, src, dst *window.Writer) *window.Writer {
			writeRows(t, dst, rows[:1])
			return dst
		}, nil, true},
		{"dst sealed", func(t *testing.T, src, dst *window.Writer) *window.Writer {
			require.NoError(t, dst.SealReusable())
			return dst
		}, window.ErrSealed, true},
		{"dst closed", func(t *testing.T, src, dst *window.Writer) *window.Writer {
			require.NoError(t, dst.Close())
			return dst
		}, window.ErrClosed, true},
		{"src sealed", func(t *testing.T, src, dst *window.Writer) *window.Writer {
			require.NoError(t, src.Seal())
			return dst
		}, window.ErrSealed, true},
		{"itself", func(t *testing.T, src, dst *window.Writer) *window.Writer { return src }, nil, true},
		{"dst too small", func(t *testing.T, src, dst *window.Writer) *window.Writer {
			return newMemfd(t, 5, window.WithInitialSize(512), window.WithMaxSize(512))
		}, window.ErrWindowFull, true},
		{"src closed", func(t *testing.T, src, dst *window.Writer) *window.Writer {
			require.NoError(t, src.Close())
			return dst
		}, window.ErrClosed, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkLeaks(t)
			src := newInline(t, 5)
			writeRows(t, src, rows)
			dst := tc.setup(t, src, newMemfd(t, 5))
			dstRows := dst.NumRows()
			err := src.MoveTo(dst)
			require.Error(t, err)
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
			}
			if !tc.srcKeep {
				return
			}
			r := view(t, src)
			assertRows(t, r, rows) // the source keeps its rows
			if _, err := dst.Bytes(); err == nil && dst != src {
				assert.Equal(t, dstRows, dst.NumRows(), "dst unchanged")
				if !dst.Sealed() {
					checkInvariants(t, dst)
				}
			}
		})
	}
}

func TestMoveToKeepsTheLastRowRemovable(t *testing.T) {
	first := []value{vInt(1), vStr("kept")}
	src := newInline(t, 2)
	writeRows(t, src, [][]value{first, {vInt(2), vStr("removed with its heap")}})
	dst := newMemfd(t, 2)
	require.NoError(t, src.MoveTo(dst))
	require.NoError(t, dst.FreeLastRow())
	checkInvariants(t, dst)
	ref := newInline(t, 2)
	writeRows(t, ref, [][]value{first})
	assert.Equal(t, ref.Used(), dst.Used(), "the row's heap went with it")
	require.NoError(t, putRow(dst, []value{vInt(3), vStr("new")}))
	r := view(t, dst)
	assertRows(t, r, [][]value{first, {vInt(3), vStr("new")}})
}

// TestInlineFillContinuesInAPooledWindow is the provider's path: a fill
// starts in Go memory, outgrows it, and continues in a window of a Pool.
func TestInlineFillContinuesInAPooledWindow(t *testing.T) {
	checkLeaks(t)
	p := newPool(t, 4<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	src, rows, pending := fillInline(t, rng, 4, 16<<10)
	dst, err := p.Get(context.Background(), src.NumColumns(), src.StartPos())
	require.NoError(t, err)
	require.NoError(t, src.MoveTo(dst))
	require.NoError(t, src.Close())
	require.NoError(t, putRow(dst, pending))
	rows = append(rows, pending)
	require.NoError(t, dst.SealReusable())
	r := openReader(t, dst)
	assert.Equal(t, int64(77), r.StartPos())
	assertRows(t, r, rows)
	require.NoError(t, r.Close())
	p.Put(dst)
}

func TestMoveToAllocatesNothing(t *testing.T) {
	src := newInline(t, benchCols, window.WithMaxSize(16<<10))
	fillWindow(t, src)
	dst := newMemfd(t, benchCols, window.WithInitialSize(64<<10), window.WithMaxSize(64<<10))
	allocs := testing.AllocsPerRun(100, func() {
		if err := src.MoveTo(dst); err != nil {
			panic(err)
		}
		if err := dst.MoveTo(src); err != nil {
			panic(err)
		}
	})
	assert.Zero(t, allocs)
}

// BenchmarkMoveTo compares MoveTo with putting the rows again (the
// copyRows it replaces) for an inline window full at rows=N benchmark
// rows, continued in a 2 MiB pooled memfd window. Each op moves the rows
// once; the moveto case moves them there and back, so it reports
// ns/move as well.
func BenchmarkMoveTo(b *testing.B) {
	for _, limit := range []int64{16 << 10, 256 << 10} {
		src := newInline(b, benchCols, window.WithMaxSize(limit))
		n := fillWindow(b, src)
		dst := newMemfd(b, benchCols, window.WithInitialSize(window.DefaultMaxSize))
		b.Run(fmt.Sprintf("rows=%d/moveto", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(src.Used()) * 2)
			for b.Loop() {
				if err := src.MoveTo(dst); err != nil {
					b.Fatal(err)
				}
				if err := dst.MoveTo(src); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N), "ns/move")
		})
		b.Run(fmt.Sprintf("rows=%d/putagain", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(src.Used()))
			for b.Loop() {
				if err := dst.Reset(0); err != nil {
					b.Fatal(err)
				}
				if err := putAgain(dst, src); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/move")
		})
	}
}

// MoveTo a window whose region is too small for the rows' directory grows
// it first; one that cannot grow that far says ErrWindowFull and keeps its
// own shape, still usable.
func TestMoveToAWindowTooSmallForTheDirectory(t *testing.T) {
	src := func() *window.Writer {
		w, err := window.New(200)
		require.NoError(t, err)
		require.NoError(t, w.AllocRow())
		require.NoError(t, w.PutInt64(199, 7))
		return w
	}
	w := src()
	dst, err := window.New(1, window.WithInitialSize(4096), window.WithMaxSize(1<<20))
	require.NoError(t, err)
	require.NoError(t, w.MoveTo(dst))
	require.Equal(t, 200, dst.NumColumns())
	b, err := dst.AppendTo(nil)
	require.NoError(t, err)
	r, err := window.OpenBytes(b)
	require.NoError(t, err)
	v, err := r.Int64(0, 199)
	require.NoError(t, err)
	assert.Equal(t, int64(7), v)

	w = src()
	small, err := window.New(1, window.WithInitialSize(4096), window.WithMaxSize(4096))
	require.NoError(t, err)
	require.ErrorIs(t, w.MoveTo(small), window.ErrWindowFull)
	assert.Equal(t, 1, w.NumRows(), "w keeps its rows")
	assert.Equal(t, 1, small.NumColumns())
	require.NoError(t, small.AllocRow())
	require.NoError(t, small.PutInt64(0, 1))
}
