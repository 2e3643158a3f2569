package layoutstudy

import (
	"testing"

	"github.com/cursorwindow/cursorwindow/bench/internal/table"
	"github.com/cursorwindow/cursorwindow/window"
	"github.com/stretchr/testify/require"
)

// studyRows is the number of wide rows each layout holds: the harness's
// 1,000,000-row table would need a 153 MB version 1 window; this many
// keep both layouts well past the caches, so each benchmark reads memory.
const studyRows = 400_000

// v1 writes the rows into a format version 1 window of ncols columns
// (put sets row i's fields), sealed and opened as a consumer opens one.
func v1(tb testing.TB, ncols int, size int64, put func(r *window.RowWriter, i int)) *window.Window {
	w, err := window.Create(ncols, window.WithMaxSize(size), window.WithInitialSize(size))
	require.NoError(tb, err)
	tb.Cleanup(func() { w.Close() })
	for i := range studyRows {
		require.NoError(tb, w.AllocRow())
		r := w.Row()
		put(r, i)
		require.NoError(tb, r.Err())
	}
	require.NoError(tb, w.Seal())
	r, err := window.Open(w.File())
	require.NoError(tb, err)
	tb.Cleanup(func() { r.Close() })
	return r
}

// v1Wide holds the wide rows; v1Narrow their ids alone, as the harness's
// narrow table.
func v1Wide(tb testing.TB, t *table.Table) *window.Window {
	return v1(tb, 4, 128<<20, func(r *window.RowWriter, i int) {
		r.Int64(t.IDs[i])
		r.Float64(t.Fares[i])
		r.String(t.Cities[i])
		r.Blob(t.Blobs[i])
	})
}

func v1Narrow(tb testing.TB, t *table.Table) *window.Window {
	return v1(tb, 1, 16<<20, func(r *window.RowWriter, i int) { r.Int64(t.IDs[i]) })
}

// region copies an encoded region to an 8-byte aligned buffer.
func region(t *table.Table) []byte {
	b := Encode(t, studyRows)
	words := make([]uint64, (len(b)+7)/8)
	a := unsafeBytes(words)[:len(b)]
	copy(a, b)
	return a
}

// The four scans fold every value as the harness's wide readers do.

func scanV1(w *window.Window) float64 {
	_, sum, _ := table.ReadWide(w, 0, w.NumRows())
	return sum
}

func scanStudy(bt *Batch) float64 {
	var sum float64
	ids, fares := bt.IDs, bt.Fares[:len(bt.IDs)]
	for i, id := range ids {
		sum += float64(id) + fares[i] + float64(bt.CityLen(i)+bt.BlobLen(i))
	}
	return sum
}

func scanSlices(t *table.Table) float64 {
	var sum float64
	ids, fares, cities, blobs := t.IDs[:studyRows], t.Fares[:studyRows], t.Cities[:studyRows], t.Blobs[:studyRows]
	for i := range ids {
		sum += float64(ids[i]) + fares[i] + float64(len(cities[i])+len(blobs[i]))
	}
	return sum
}

func sumV1IDs(w *window.Window, buf []int64) float64 {
	var sum float64
	for i := 0; i < w.NumRows(); {
		n, _ := w.Int64s(0, i, buf)
		sum += table.SumIDs(buf[:n])
		i += n
	}
	return sum
}

func wide(tb testing.TB) *table.Table {
	t, err := table.New(table.Wide, studyRows)
	require.NoError(tb, err)
	return t
}

func TestLayoutsAgree(t *testing.T) {
	tbl := wide(t)
	bt, err := Open(region(tbl))
	require.NoError(t, err)
	require.True(t, bt.AllValid)
	want := scanSlices(tbl)
	require.Equal(t, want, scanV1(v1Wide(t, tbl)))
	require.Equal(t, want, scanStudy(bt))
	require.Equal(t, tbl.Cities[7], string(bt.City(7)))
}

func TestOpenRefusesDamage(t *testing.T) {
	tbl := wide(t)
	for name, damage := range map[string]func(b []byte){
		"rows beyond the region": func(b []byte) { le.PutUint64(b, 1<<40) },
		"a buffer out of order":  func(b []byte) { le.PutUint64(b[16:], 8) },
		"a falling offset":       func(b []byte) { le.PutUint32(b[le.Uint64(b[24:])+8:], 1<<31) },
	} {
		b := region(tbl)
		damage(b)
		_, err := Open(b)
		require.ErrorIs(t, err, ErrCorrupt, name)
	}
	// A rewrite after Open: wrong lengths, never a read outside the heap.
	b := region(tbl)
	bt, err := Open(b)
	require.NoError(t, err)
	le.PutUint32(b[le.Uint64(b[24:])+4*5:], 1<<31)
	require.Zero(t, bt.CityLen(5))
	require.Nil(t, bt.City(5))
}

// BenchmarkRead reads every value of the same rows in each layout, side
// by side: run it with -count to pair them.
func BenchmarkRead(b *testing.B) {
	tbl := wide(b)
	w := v1Wide(b, tbl)
	bt, err := Open(region(tbl))
	require.NoError(b, err)
	per := func(b *testing.B) {
		b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N)/studyRows, "ns/row")
	}
	var sink float64
	b.Run("v1-row", func(b *testing.B) {
		for b.Loop() {
			sink += scanV1(w)
		}
		per(b)
	})
	b.Run("columns", func(b *testing.B) {
		for b.Loop() {
			sink += scanStudy(bt)
		}
		per(b)
	})
	b.Run("goslices", func(b *testing.B) {
		for b.Loop() {
			sink += scanSlices(tbl)
		}
		per(b)
	})
	ids := make([]int64, 512)
	narrow := v1Narrow(b, tbl)
	b.Run("narrow/v1-int64s", func(b *testing.B) {
		for b.Loop() {
			sink += sumV1IDs(narrow, ids)
		}
		per(b)
	})
	b.Run("narrow/columns", func(b *testing.B) {
		for b.Loop() {
			sink += table.SumIDs(bt.IDs)
		}
		per(b)
	})
	b.Run("open/columns", func(b *testing.B) {
		r := region(tbl)
		for b.Loop() {
			if _, err := Open(r); err != nil {
				b.Fatal(err)
			}
		}
		per(b)
	})
	b.Logf("bytes a row: version 1 %.1f, columns %.1f", float64(w.Size())/studyRows, float64(len(region(tbl)))/studyRows)
	_ = sink
}
