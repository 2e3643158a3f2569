package window_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/window"
)

// The benchmark row: int64, float64, a 24-byte string and a 64-byte blob,
// 112 bytes of window per row (two 8-byte values, two 4-byte offsets and
// 88 bytes of data).
var (
	benchStr  = strings.Repeat("s", 24)
	benchBlob = bytes.Repeat([]byte{0xb}, 64)
)

const benchCols = 4

func putBenchRow(w *window.Writer, i int) error {
	if err := w.AllocRow(); err != nil {
		return err
	}
	if err := w.PutInt64(0, int64(i)); err != nil {
		return err
	}
	if err := w.PutFloat64(1, float64(i)*0.5); err != nil {
		return err
	}
	if err := w.PutString(2, benchStr); err != nil {
		return err
	}
	return w.PutBlob(3, benchBlob)
}

// fillWindow appends benchmark rows until the window is full.
func fillWindow(tb testing.TB, w *window.Writer) int {
	n := 0
	for ; ; n++ {
		if err := putBenchRow(w, n); err != nil {
			require.ErrorIs(tb, err, window.ErrWindowFull)
			return n
		}
	}
}

func TestPutAllocatesNothing(t *testing.T) {
	w := newMemfd(t, benchCols, window.WithInitialSize(4<<20), window.WithMaxSize(4<<20))
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		if err := putBenchRow(w, i); err != nil {
			require.NoError(t, w.Reset(0))
		}
		i++
	})
	assert.Zero(t, allocs, "allocations per row written")
}

func TestScanAllocatesNothing(t *testing.T) {
	w := newMemfd(t, benchCols)
	fillWindow(t, w)
	r := openSealed(t, w)
	allocs := testing.AllocsPerRun(10, func() { scanWindow(r) })
	assert.Zero(t, allocs, "allocations per scan")
}

// BenchmarkPut writes rows of four fields into a recycled window, field
// by field (fields) and with a RowWriter (row).
func BenchmarkPut(b *testing.B) {
	for _, bc := range []struct {
		name string
		put  func(*window.Writer, int) error
	}{{"fields", putBenchRow}, {"row", putBenchRowWhole}} {
		b.Run(bc.name, func(b *testing.B) {
			w, err := window.Create(benchCols, window.WithInitialSize(window.DefaultMaxSize), window.WithMaxSize(window.DefaultMaxSize))
			require.NoError(b, err)
			defer w.Close()
			b.ReportAllocs()
			b.SetBytes(152)
			i := 0
			for b.Loop() {
				if err := bc.put(w, i); err != nil {
					if err := w.Reset(0); err != nil {
						b.Fatal(err)
					}
				}
				i++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/row")
		})
	}
	// The floor: the same 112 bytes a row (two values, two offsets, the
	// string and the blob) stored into column buffers in a 2 MiB Go
	// slice, with no check a window needs.
	b.Run("copy", func(b *testing.B) {
		const rows = window.DefaultMaxSize / 112
		buf := make([]byte, 112*rows+8)
		ids, floats := buf[:8*rows], buf[8*rows:16*rows]
		strs, blobs := buf[16*rows:20*rows+4], buf[20*rows+4:24*rows+8]
		data := buf[24*rows+8:]
		b.ReportAllocs()
		b.SetBytes(112)
		i, at := 0, 0
		for b.Loop() {
			r := i % rows
			if r == 0 {
				at = 0
			}
			binary.LittleEndian.PutUint64(ids[8*r:], uint64(i))
			binary.LittleEndian.PutUint64(floats[8*r:], math.Float64bits(float64(i)*0.5))
			at += copy(data[at:], benchStr)
			binary.LittleEndian.PutUint32(strs[4*r+4:], uint32(at))
			at += copy(data[at:], benchBlob)
			binary.LittleEndian.PutUint32(blobs[4*r+4:], uint32(at))
			i++
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/row")
	})
}

// BenchmarkFill compares filling a 2 MiB window in a fresh memfd (every
// page faulted in for the first time) with refilling a recycled one.
func BenchmarkFill(b *testing.B) {
	opts := []window.Option{window.WithInitialSize(window.DefaultMaxSize)}
	b.Run("fresh", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(window.DefaultMaxSize)
		for b.Loop() {
			w, err := window.Create(benchCols, opts...)
			if err != nil {
				b.Fatal(err)
			}
			fillWindow(b, w)
			if err := w.SealReusable(); err != nil {
				b.Fatal(err)
			}
			w.Close()
		}
	})
	b.Run("recycled", func(b *testing.B) {
		w, err := window.Create(benchCols, opts...)
		require.NoError(b, err)
		defer w.Close()
		fillWindow(b, w)
		require.NoError(b, w.SealReusable())
		b.ReportAllocs()
		b.SetBytes(window.DefaultMaxSize)
		for b.Loop() {
			if err := w.Reset(0); err != nil {
				b.Fatal(err)
			}
			fillWindow(b, w)
			if err := w.SealReusable(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRefill measures the zeroing of what an earlier fill left in a
// recycled window (scrub, at SealReusable). Each op refills a 2 MiB pooled
// window, just filled full, with rows=N rows and seals it: the timed part
// is that Reset, the N rows and SealReusable, which zeroes the earlier
// fill's bytes the N rows did not cover. rows=full refills it full:
// nothing is stale. scrub=off is the same without the zeroing.
func BenchmarkRefill(b *testing.B) {
	for _, rows := range []int{-1, 1000, 10} {
		for _, scrub := range []string{"on", "off"} {
			name := fmt.Sprintf("rows=%d/scrub=%s", rows, scrub)
			if rows < 0 {
				name = "rows=full/scrub=" + scrub
			}
			b.Run(name, func(b *testing.B) {
				defer window.SetScrub(window.SetScrub(scrub == "on"))
				w, err := window.Create(benchCols, window.WithInitialSize(window.DefaultMaxSize))
				require.NoError(b, err)
				defer w.Close()
				b.ReportAllocs()
				for b.Loop() {
					b.StopTimer()
					if err := w.Reset(0); err != nil {
						b.Fatal(err)
					}
					fillWindow(b, w)
					if err := w.SealReusable(); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					if err := w.Reset(0); err != nil {
						b.Fatal(err)
					}
					if rows < 0 {
						fillWindow(b, w)
					} else {
						for i := range rows {
							if err := putBenchRow(w, i); err != nil {
								b.Fatal(err)
							}
						}
					}
					if err := w.SealReusable(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

var sink int64

// scanWindow reads every value of the window in place and folds them.
func scanWindow(r *window.Window) int64 {
	var s int64
	var f float64
	for row := range r.NumRows() {
		i, _ := r.Int64(row, 0)
		v, _ := r.Float64(row, 1)
		str, _ := r.StringView(row, 2)
		blob, _ := r.Bytes(row, 3)
		s += i + int64(len(str)) + int64(len(blob))
		f += v
	}
	return s + int64(f)
}

// scanColumns reads every value of the window a column at a time, in
// place: the numbers through Int64Values and Float64Values, the string's
// and the blob's lengths from their offsets (Buffers), checked as
// docs/FORMAT.md requires.
func scanColumns(tb testing.TB, r *window.Window) int64 {
	ints, ok1 := r.Int64Values(0)
	floats, ok2 := r.Float64Values(1)
	strs, err1 := r.Buffers(2)
	blobs, err2 := r.Buffers(3)
	require.True(tb, ok1 && ok2 && err1 == nil && err2 == nil)
	so, bo := strs.Values[:4*len(ints)+4], blobs.Values[:4*len(ints)+4]
	sn, bn := uint32(len(strs.Data)), uint32(len(blobs.Data))
	s0, b0 := binary.LittleEndian.Uint32(so), binary.LittleEndian.Uint32(bo)
	var s int64
	var f float64
	for i, v := range ints {
		s1, b1 := binary.LittleEndian.Uint32(so[4*i+4:]), binary.LittleEndian.Uint32(bo[4*i+4:])
		if s1 < s0 || s1 > sn || b1 < b0 || b1 > bn {
			tb.Fatalf("row %d: offsets out of order", i)
		}
		s += v + int64(s1-s0) + int64(b1-b0)
		f += floats[i]
		s0, b0 = s1, b1
	}
	return s + int64(f)
}

// goRows holds the benchmark values in plain Go slices: the in-process
// limit a window is compared with.
type goRows struct {
	ints   []int64
	floats []float64
	strs   []string
	blobs  [][]byte
}

func (g *goRows) scan() int64 {
	var s int64
	var f float64
	for i := range g.ints {
		s += g.ints[i] + int64(len(g.strs[i])) + int64(len(g.blobs[i]))
		f += g.floats[i]
	}
	return s + int64(f)
}

// BenchmarkScan reads every value of a large window whose pages are
// already mapped and faulted in, and, in the same run, the same values
// from Go slices.
func BenchmarkScan(b *testing.B) {
	const size = 64 << 20
	w, err := window.Create(benchCols, window.WithMaxSize(size), window.WithInitialSize(size))
	require.NoError(b, err)
	defer w.Close()
	rows := fillWindow(b, w)
	require.NoError(b, w.Seal())
	r, err := window.Open(w.File())
	require.NoError(b, err)
	defer r.Close()
	g := &goRows{}
	for i := range rows {
		g.ints = append(g.ints, int64(i))
		g.floats = append(g.floats, float64(i)*0.5)
		g.strs = append(g.strs, strings.Clone(benchStr))
		g.blobs = append(g.blobs, bytes.Clone(benchBlob))
	}
	sink = scanWindow(r) // fault the mapping in
	require.Equal(b, g.scan(), scanWindow(r))
	report := func(b *testing.B) {
		sec := b.Elapsed().Seconds() / float64(b.N)
		b.ReportMetric(float64(rows)/sec, "rows/s")
		b.ReportMetric(sec*1e9/float64(rows), "ns/row")
	}
	b.Run(fmt.Sprintf("window/rows=%d", rows), func(b *testing.B) {
		b.SetBytes(int64(r.Size()))
		for b.Loop() {
			sink = scanWindow(r)
		}
		report(b)
	})
	b.Run(fmt.Sprintf("row/rows=%d", rows), func(b *testing.B) {
		require.Equal(b, g.scan(), scanRowViews(r))
		b.SetBytes(int64(r.Size()))
		for b.Loop() {
			sink = scanRowViews(r)
		}
		report(b)
	})
	b.Run(fmt.Sprintf("columns/rows=%d", rows), func(b *testing.B) {
		require.Equal(b, g.scan(), scanColumns(b, r))
		b.SetBytes(int64(r.Size()))
		for b.Loop() {
			sink = scanColumns(b, r)
		}
		report(b)
	})
	b.Run(fmt.Sprintf("goslices/rows=%d", rows), func(b *testing.B) {
		b.SetBytes(int64(r.Size()))
		for b.Loop() {
			sink = g.scan()
		}
		report(b)
	})
}

// BenchmarkOpenScan maps a filled 2 MiB window afresh and scans it once:
// the cold path, with and without MAP_POPULATE.
func BenchmarkOpenScan(b *testing.B) {
	w, err := window.Create(benchCols, window.WithInitialSize(window.DefaultMaxSize))
	require.NoError(b, err)
	defer w.Close()
	fillWindow(b, w)
	require.NoError(b, w.SealReusable())
	for _, tc := range []struct {
		name string
		open func(*os.File) (*window.Window, error)
	}{{"mmap", func(f *os.File) (*window.Window, error) { return window.Open(f) }}, {"mmap-populate", window.OpenPopulate}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(window.DefaultMaxSize)
			for b.Loop() {
				r, err := tc.open(w.File())
				if err != nil {
					b.Fatal(err)
				}
				sink = scanWindow(r)
				r.Close()
			}
		})
	}
}

// BenchmarkBackings creates a 2 MiB window in each backing, fills it,
// seals it, maps it as a reader would (by descriptor, name, segment id or
// path) and reads every value, all in one run so the figures compare. The
// phases are reported apart: create+fill, seal (for a file: checksum,
// msync, fsync, rename), map+read (for a file: the checksum check too).
func BenchmarkBackings(b *testing.B) {
	dir := b.TempDir()
	for _, name := range []string{"memfd", "shm", "sysv", "file"} {
		opts := backings(b)[name]
		if name == "file" {
			opts = []window.Option{window.WithBacking(window.FileBacking(filepath.Join(dir, "bench.cw")))}
		}
		opts = append(opts, window.WithInitialSize(window.DefaultMaxSize))
		b.Run(name, func(b *testing.B) {
			b.SetBytes(window.DefaultMaxSize)
			var fill, seal, read time.Duration
			for b.Loop() {
				t0 := time.Now()
				w, err := window.Create(benchCols, opts...)
				if err != nil {
					b.Fatal(err)
				}
				fillWindow(b, w)
				t1 := time.Now()
				if err := w.Seal(); err != nil {
					b.Fatal(err)
				}
				t2 := time.Now()
				var r *window.Window
				if name == "memfd" {
					r, err = window.Open(w.File())
				} else {
					r, err = window.MapLocation(w.Location()) // in place, as measured in docs/BACKINGS.md
				}
				if err != nil {
					b.Fatal(err)
				}
				if err := r.Guard(func() error { sink = scanWindow(r); return nil }); err != nil {
					b.Fatal(err)
				}
				r.Close()
				t3 := time.Now()
				w.Close()
				fill += t1.Sub(t0)
				seal += t2.Sub(t1)
				read += t3.Sub(t2)
			}
			n := float64(b.N)
			b.ReportMetric(float64(fill.Microseconds())/n, "create+fill-µs")
			b.ReportMetric(float64(seal.Microseconds())/n, "seal-µs")
			b.ReportMetric(float64(read.Microseconds())/n, "map+read-µs")
		})
	}
}

// scanRowViews reads every value through Row's accessors, and a row any
// of them says no to through the Window's: one test of the four oks a
// row keeps the fallback out of the loop's way.
func scanRowViews(r *window.Window) int64 {
	var s int64
	var f float64
	for i := range r.NumRows() {
		row, _ := r.Row(i)
		id, ok1 := row.Int64(0)
		v, ok2 := row.Float64(1)
		str, ok3 := row.Bytes(2)
		blob, ok4 := row.Bytes(3)
		if !(ok1 && ok2 && ok3 && ok4) {
			id, v, str, blob = readSlow(r, i)
		}
		s += id + int64(len(str)) + int64(len(blob))
		f += v
	}
	return s + int64(f)
}

func readSlow(r *window.Window, i int) (int64, float64, []byte, []byte) {
	id, _ := r.Int64(i, 0)
	v, _ := r.Float64(i, 1)
	str, _ := r.Bytes(i, 2)
	blob, _ := r.Bytes(i, 3)
	return id, v, str, blob
}
