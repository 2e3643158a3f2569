package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/examples/internal/progress"
	"github.com/cursorwindow/cursorwindow/window"
)

// scanPrefetch is how many windows ahead a scan asks for: 2, where the
// library's default is 1. A scan is the command's one cursor, so the
// windows it holds ahead take nobody's share of the provider's
// per-connection limit, and asking further ahead measured faster
// (docs/PERFORMANCE.md, "Prefetch").
var scanPrefetch = content.WithPrefetch(2)

func cmdScan(ctx context.Context, e *env, args []string) error {
	fs := e.newFlagSet("scan", "TABLE [--columns a,b] [--where SEL --arg V...] [--order COLS] [--limit N] [--format arrow|parquet]")
	var sel selectFlags
	sel.register(fs)
	format := fs.String("format", "", "arrow or parquet: write the rows as an Arrow IPC stream or a Parquet file on stdout, the summary on stderr")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	table, err := oneTable("scan", pos)
	if err != nil {
		return err
	}
	switch *format {
	case "":
	case "arrow":
		return scanArrow(ctx, e, table, sel.query(table))
	case "parquet":
		return scanParquet(ctx, e, table, sel.query(table))
	default:
		return usagef("unknown --format %q: scan writes a summary, or with --format arrow or parquet the rows as Arrow IPC or a Parquet file", *format)
	}
	c, err := e.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	start := time.Now()
	cur, err := c.Query(ctx, sel.query(table), scanPrefetch)
	if err != nil {
		return err
	}
	defer cur.Close()
	e.wd.kick()
	cols := cur.Columns()
	stats := make([]colStats, len(cols))
	bar := progress.New(e.stderr, "scanning "+escapeControls(table), cur.Count())
	var rows int64
	// Block by block, column by column: a column of one type is read in
	// place, its numbers through the window's views (Int64Values,
	// Float64Values), its strings' and blobs' lengths from their offsets;
	// a mixed one through the Window's accessors.
	for cur.NextBlock() {
		w, row, left := cur.Block()
		for c := range stats {
			if err := stats[c].addColumn(w, c, row, row+left); err != nil {
				bar.Done()
				return scanErr(err, cols, rows)
			}
		}
		rows += int64(left)
		bar.Update(rows)
		e.wd.kick() // the provider keeps answering
	}
	bar.Done()
	if err := cur.Err(); err != nil {
		return err
	}
	elapsed := time.Since(start)
	return printSummary(e.stdout, table, cols, stats, rows, elapsed)
}

// scanErr names the column and the row near which a scan failed.
func scanErr(err error, cols []string, rows int64) error {
	var fe *window.FieldError
	if errors.As(err, &fe) && fe.Col >= 0 && fe.Col < len(cols) {
		return fmt.Errorf("column %s near row %d: %w", cols[fe.Col], rows, err)
	}
	return fmt.Errorf("near row %d: %w", rows, err)
}

// colStats summarises one column of a scan. Integers are summed exactly
// (isum) until the sum would overflow, then in floating point with the
// floats; floats with Neumaier's compensation, so a million cents-rounded
// fares add up to their exact total.
type colStats struct {
	seen   [window.TypeBlob + 1]bool // the field types met
	nulls  int64
	bytes  int64 // 8 per number, the length of text and blobs
	ints   int64 // INT64 values
	floats int64 // FLOAT64 values
	imin   int64
	imax   int64
	isum   int64
	ovf    bool // isum overflowed: integers went into fsum since
	fmin   float64
	fmax   float64
	fsum   float64
	fcomp  float64 // fsum+fcomp is the floating-point sum
}

// addColumn adds column col of w's rows lo..hi-1 to the summary.
func (s *colStats) addColumn(w *window.Window, col, lo, hi int) error {
	b, err := w.Buffers(col)
	if err != nil {
		return err
	}
	if b.Mixed {
		return s.addMixed(w, col, lo, hi-lo)
	}
	n := hi - lo
	values := 0 // the rows that are not NULL
	switch b.Type {
	case window.TypeInt64:
		vals, ok := w.Int64Values(col)
		if !ok { // bytes not aligned in memory: one value at a time
			return s.addMixed(w, col, lo, n)
		}
		values = validRuns(b.Validity, lo, hi, func(a, z int) { s.addInts(vals[a:z]) })
	case window.TypeFloat64:
		vals, ok := w.Float64Values(col)
		if !ok {
			return s.addMixed(w, col, lo, n)
		}
		values = validRuns(b.Validity, lo, hi, func(a, z int) { s.addFloats(vals[a:z]) })
	case window.TypeString, window.TypeBlob:
		// The lengths add up to the last offset less the first, if no
		// offset is less than the one before or past the data.
		prev, end := binary.LittleEndian.Uint32(b.Values[4*lo:]), uint32(len(b.Data))
		first := prev
		for i := lo; i < hi; i++ {
			next := binary.LittleEndian.Uint32(b.Values[4*i+4:])
			if next < prev || next > end {
				// Offsets out of order (a NULL row's are not read, so
				// this may be a valid window): a field at a time, as the
				// accessors check them, which also names real damage.
				return s.addMixed(w, col, lo, n)
			}
			prev = next
		}
		s.bytes += int64(prev - first)
		values = validRuns(b.Validity, lo, hi, func(int, int) {})
	}
	s.nulls += int64(n - values)
	if values > 0 {
		s.seen[b.Type] = true
	}
	if values < n {
		s.seen[window.TypeNull] = true
	}
	return nil
}

// validRuns calls fn(a, z) for each run a..z-1 of rows lo..hi-1 that
// are not NULL in the bitmap bits (nil: none is), and returns how many
// rows the runs hold.
func validRuns(bits []byte, lo, hi int, fn func(a, z int)) int {
	if bits == nil {
		fn(lo, hi)
		return hi - lo
	}
	valid := func(i int) bool { return bits[i>>3]>>(i&7)&1 != 0 }
	n := 0
	for i := lo; i < hi; {
		for i < hi && !valid(i) {
			i++
		}
		a := i
		for i < hi && valid(i) {
			i++
		}
		if i > a {
			fn(a, i)
			n += i - a
		}
	}
	return n
}

// addInts adds INT64 values to the summary. The range and the sum are
// kept in locals for the loop (the stores through s would make each value
// wait on the last).
func (s *colStats) addInts(vals []int64) {
	if len(vals) == 0 {
		return
	}
	if s.ints == 0 {
		s.imin, s.imax = vals[0], vals[0]
	}
	lo, top, sum := s.imin, s.imax, s.isum
	for _, v := range vals {
		lo, top = min(lo, v), max(top, v)
		sum = s.addInt(sum, v)
	}
	s.imin, s.imax, s.isum = lo, top, sum
	s.ints += int64(len(vals))
	s.bytes += 8 * int64(len(vals))
}

// addInt adds v to the exact integer sum and returns it, or, once the sum
// has overflowed, to the floating-point sum.
func (s *colStats) addInt(sum, v int64) int64 {
	if s.ovf {
		s.addFloat(float64(v))
		return sum
	}
	next := sum + v
	if (v > 0 && next < sum) || (v < 0 && next > sum) {
		s.ovf = true // from now on, in floating point
		s.addFloat(float64(sum))
		s.addFloat(float64(v))
		return 0
	}
	return next
}

// addMixed adds the fields of column col of w's rows base.. base+n-1, one
// at a time through the Window's accessors: a mixed column.
func (s *colStats) addMixed(w *window.Window, col, base, n int) error {
	for r := base; r < base+n; r++ {
		t, err := w.Type(r, col)
		if err != nil {
			return err
		}
		switch t {
		case window.TypeNull:
			s.nulls++
		case window.TypeInt64:
			v, _ := w.Int64(r, col)
			if s.ints == 0 {
				s.imin, s.imax = v, v
			}
			s.imin, s.imax = min(s.imin, v), max(s.imax, v)
			s.isum = s.addInt(s.isum, v)
			s.ints++
			s.bytes += 8
		case window.TypeFloat64:
			v, _ := w.Float64(r, col)
			if s.floats == 0 || v < s.fmin {
				s.fmin = v
			}
			if s.floats == 0 || v > s.fmax {
				s.fmax = v
			}
			s.addFloat(v)
			s.floats++
			s.bytes += 8
		default:
			b, err := w.Bytes(r, col)
			if err != nil {
				return err
			}
			s.bytes += int64(len(b))
		}
		s.seen[t] = true
	}
	return nil
}

// addFloats adds FLOAT64 values to the summary, as addInts does the
// integers.
func (s *colStats) addFloats(vals []float64) {
	if len(vals) == 0 {
		return
	}
	if s.floats == 0 {
		s.fmin, s.fmax = vals[0], vals[0]
	}
	lo, top, sum, comp := s.fmin, s.fmax, s.fsum, s.fcomp
	for _, v := range vals {
		if v < lo { // not min: a NaN after the first value leaves the range
			lo = v
		}
		if v > top {
			top = v
		}
		sum, comp = neumaier(sum, comp, v)
	}
	s.fmin, s.fmax, s.fsum, s.fcomp = lo, top, sum, comp
	s.floats += int64(len(vals))
	s.bytes += 8 * int64(len(vals))
}

// addFloat adds a value to the floating-point sum.
func (s *colStats) addFloat(v float64) { s.fsum, s.fcomp = neumaier(s.fsum, s.fcomp, v) }

// neumaier adds v to the sum with compensation comp (Neumaier's
// summation) and returns the new pair.
func neumaier(sum, comp, v float64) (float64, float64) {
	t := sum + v
	if math.Abs(sum) >= math.Abs(v) {
		comp += (sum - t) + v
	} else {
		comp += (v - t) + sum
	}
	return t, comp
}

// kind names the field types the column held.
func (s *colStats) kind() string {
	var ks []string
	for t, ok := range s.seen {
		if ok && window.FieldType(t) != window.TypeNull {
			ks = append(ks, window.FieldType(t).String())
		}
	}
	if len(ks) == 0 {
		return window.TypeNull.String()
	}
	return strings.Join(ks, "+")
}

// cells returns min, max and sum as text, or dashes for a column without
// numbers.
func (s *colStats) cells() (lo, hi, sum string) {
	switch {
	case s.ints == 0 && s.floats == 0:
		return "-", "-", "-"
	case s.floats == 0 && !s.ovf:
		return strconv.FormatInt(s.imin, 10), strconv.FormatInt(s.imax, 10), strconv.FormatInt(s.isum, 10)
	}
	total := *s
	total.addFloat(float64(s.isum)) // the exact integer part joins the float sum
	flo, fhi := s.fmin, s.fmax
	if s.ints > 0 && (s.floats == 0 || float64(s.imin) < flo) {
		flo = float64(s.imin)
	}
	if s.ints > 0 && (s.floats == 0 || float64(s.imax) > fhi) {
		fhi = float64(s.imax)
	}
	if s.floats == 0 {
		return strconv.FormatInt(s.imin, 10), strconv.FormatInt(s.imax, 10), strconv.FormatFloat(total.fsum+total.fcomp, 'g', 12, 64)
	}
	return formatFloat(flo), formatFloat(fhi), strconv.FormatFloat(total.fsum+total.fcomp, 'g', 12, 64)
}

func formatFloat(f float64) string {
	if math.Abs(f) >= 1e15 {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// printSummary prints the scan's figures, then one line per column.
func printSummary(w io.Writer, table string, cols []string, stats []colStats, rows int64, elapsed time.Duration) error {
	var bytes int64
	for i := range stats {
		bytes += stats[i].bytes
	}
	rate := float64(rows) / elapsed.Seconds()
	if _, err := fmt.Fprintf(w, "table    %s\nrows     %d\ncolumns  %d\nbytes    %d (%.1f MiB read in place)\nelapsed  %s\nrows/s   %.0f\n\n",
		escapeControls(table), rows, len(cols), bytes, float64(bytes)/(1<<20), elapsed.Round(time.Millisecond), rate); err != nil {
		return err
	}
	t := &tableWriter{w: w}
	t.header([]string{"column", "type", "nulls", "bytes", "min", "max", "sum"})
	t.numeric = []bool{false, false, true, true, true, true, true}
	for i, c := range cols {
		s := &stats[i]
		lo, hi, sum := s.cells()
		if err := t.add([]string{c, s.kind(), strconv.FormatInt(s.nulls, 10), strconv.FormatInt(s.bytes, 10), lo, hi, sum}); err != nil {
			return err
		}
	}
	return t.flush()
}
