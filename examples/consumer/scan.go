package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/cursorwindow/cursorwindow/examples/internal/progress"
	"github.com/cursorwindow/cursorwindow/window"
)

func cmdScan(ctx context.Context, e *env, args []string) error {
	fs := e.newFlagSet("scan", "TABLE [--columns a,b] [--where SEL --arg V...] [--order COLS] [--limit N] [--format arrow]")
	var sel selectFlags
	sel.register(fs)
	format := fs.String("format", "", "arrow: write the rows as an Arrow IPC stream on stdout, the summary on stderr")
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
	default:
		return usagef("unknown --format %q: scan writes a summary, or with --format arrow the rows as Arrow IPC", *format)
	}
	c, err := e.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	start := time.Now()
	cur, err := c.Query(ctx, sel.query(table))
	if err != nil {
		return err
	}
	defer cur.Close()
	e.wd.kick()
	cols := cur.Columns()
	stats := make([]colStats, len(cols))
	bar := progress.New(e.stderr, "scanning "+escapeControls(table), cur.Count())
	var bufs scanBuffers
	var rows int64
	// Block by block, column by column: one batch read per column and
	// run of rows, not one call per field.
	for cur.NextBlock() {
		w, row, left := cur.Block()
		for left > 0 {
			k := min(left, len(bufs.types))
			for i := range stats {
				if err := stats[i].addRun(w, i, row, k, &bufs); err != nil {
					bar.Done()
					return fmt.Errorf("column %s near row %d: %w", cols[i], rows, err)
				}
			}
			row, left, rows = row+k, left-k, rows+int64(k)
		}
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

// scanBuffers hold one run of one column's values.
type scanBuffers struct {
	types  [256]window.FieldType
	ints   [256]int64
	floats [256]float64
	views  [256][]byte
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

// addRun reads column col of rows row..row+k of w into the summary: the
// field types first, then each stretch of fields of one type with one
// batch read (a column with NULLs among its numbers reads in stretches,
// not field by field).
func (s *colStats) addRun(w *window.Window, col, row, k int, b *scanBuffers) error {
	types := b.types[:k]
	if _, err := w.Types(col, row, types); err != nil {
		return err
	}
	for i := 0; i < k; {
		t := types[i]
		j := i + 1
		for j < k && types[j] == t {
			j++
		}
		if int(t) < len(s.seen) {
			s.seen[t] = true
		}
		if err := s.addTyped(w, col, row+i, j-i, t, b); err != nil {
			return err
		}
		i = j
	}
	return nil
}

// addTyped reads n fields of type t, column col, from row on.
func (s *colStats) addTyped(w *window.Window, col, row, n int, t window.FieldType, b *scanBuffers) error {
	switch t {
	case window.TypeNull:
		s.nulls += int64(n)
	case window.TypeInt64:
		if _, err := w.Int64s(col, row, b.ints[:n]); err != nil {
			return err
		}
		s.addInts(b.ints[:n])
	case window.TypeFloat64:
		if _, err := w.Float64s(col, row, b.floats[:n]); err != nil {
			return err
		}
		for _, v := range b.floats[:n] {
			s.floatRange(v)
			s.addFloat(v)
			s.floats++
		}
		s.bytes += 8 * int64(n)
	case window.TypeString, window.TypeBlob:
		if _, err := w.Views(col, row, b.views[:n]); err != nil { // views: nothing is copied
			return err
		}
		for _, v := range b.views[:n] {
			s.bytes += int64(len(v))
		}
	}
	return nil
}

// addInts adds a run of integers.
func (s *colStats) addInts(vs []int64) {
	if s.ints == 0 {
		s.imin, s.imax = vs[0], vs[0]
	}
	lo, hi, sum := s.imin, s.imax, s.isum
	for _, v := range vs {
		lo, hi = min(lo, v), max(hi, v)
		if s.ovf {
			s.addFloat(float64(v))
			continue
		}
		next := sum + v
		if (v > 0 && next < sum) || (v < 0 && next > sum) {
			s.ovf = true // from now on, in floating point
			s.addFloat(float64(sum))
			s.addFloat(float64(v))
			sum = 0
			continue
		}
		sum = next
	}
	s.imin, s.imax, s.isum = lo, hi, sum
	s.ints += int64(len(vs))
	s.bytes += 8 * int64(len(vs))
}

// addFloat adds a value to the floating-point sum (Neumaier), and a float
// to the float range.
func (s *colStats) addFloat(v float64) {
	t := s.fsum + v
	if math.Abs(s.fsum) >= math.Abs(v) {
		s.fcomp += (s.fsum - t) + v
	} else {
		s.fcomp += (v - t) + s.fsum
	}
	s.fsum = t
}

// floatRange records a FLOAT64 field's range.
func (s *colStats) floatRange(v float64) {
	if s.floats == 0 || v < s.fmin {
		s.fmin = v
	}
	if s.floats == 0 || v > s.fmax {
		s.fmax = v
	}
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
