package main

import (
	"context"
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
	var tile [scanRun]window.Row
	// Block by block, a tile of rows at a time, column by column: the
	// tile's Rows are found once, then each column's fields are read
	// through window.Row's inlined accessors, a stretch of one type at a
	// time, while the tile's slots stay in the L1 cache for the next
	// column.
	for cur.NextBlock() {
		w, row, left := cur.Block()
		for lo, end := row, row+left; lo < end; lo += scanRun {
			hi := min(lo+scanRun, end)
			t := tileRows(w, lo, tile[:hi-lo])
			for c := range stats {
				if err := stats[c].addRows(w, t, c, lo); err != nil {
					bar.Done()
					return scanErr(err, cols, rows+int64(lo-row))
				}
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

// scanRun is how many rows a scan reads at a time: the tile's slots (a
// row of 9 columns is 144 bytes) stay in the L1 cache while each column
// reads them.
const scanRun = 128

// tileRows fills tile with the Rows of w from lo on and returns it: each
// column of a tile reads its fields through them, instead of finding each
// row again for every column.
func tileRows(w *window.Window, lo int, tile []window.Row) []window.Row {
	for k := range tile {
		tile[k], _ = w.Row(lo + k)
	}
	return tile
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

// addRows adds column col of a tile of w's rows to the summary, a stretch
// of fields of one type at a time. rows are the tile's Rows (tileRows),
// the first of them w's row base.
func (s *colStats) addRows(w *window.Window, rows []window.Row, col, base int) error {
	if b, err := w.Buffers(col); err != nil || b.Mixed {
		// A column whose values have several types in this window:
		// Row's accessors say no to its fields, the Window's read them.
		return s.addMixed(w, col, base, len(rows))
	}
	for i := 0; i < len(rows); {
		t := rows[i].Type(col)
		j := i
		switch t {
		case window.TypeInt64:
			j = s.addInts(rows, col, i)
		case window.TypeFloat64:
			j = s.addFloats(rows, col, i)
		case window.TypeString, window.TypeBlob:
			var err error
			if j, err = s.addBytes(w, rows, col, i, base, t); err != nil {
				return err
			}
		case window.TypeNull:
			for ; j < len(rows); j++ {
				if rows[j].Type(col) != window.TypeNull {
					break
				}
			}
			s.nulls += int64(j - i)
		default:
			if _, err := w.Type(base+i, col); err != nil {
				return err // names the damage
			}
		}
		if j == i {
			// The field's type changed between two reads of its slot: a
			// provider rewriting a reusable window while it is read. Skip
			// it; a wrong summary is all such a rewrite may cost.
			j = i + 1
		} else if int(t) < len(s.seen) {
			s.seen[t] = true
		}
		i = j
	}
	return nil
}

// addInts adds the INT64 fields of column col from rows[i] on, up to the
// tile's end or the first field of another type, and returns where it
// stopped.
func (s *colStats) addInts(rows []window.Row, col, i int) int {
	start := i
	if s.ints == 0 {
		s.imin, _ = rows[i].Int64(col)
		s.imax = s.imin
	}
	lo, top, sum := s.imin, s.imax, s.isum
	for ; i < len(rows); i++ {
		v, ok := rows[i].Int64(col)
		if !ok {
			break
		}
		lo, top = min(lo, v), max(top, v)
		sum = s.addInt(sum, v)
	}
	s.imin, s.imax, s.isum = lo, top, sum
	s.ints += int64(i - start)
	s.bytes += 8 * int64(i-start)
	return i
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

// addFloats adds the FLOAT64 fields of column col from rows[i] on, as
// addInts does the integers. The range and the sum are kept in locals for
// the loop (the stores through s would make each value wait on the last).
func (s *colStats) addFloats(rows []window.Row, col, i int) int {
	start := i
	if s.floats == 0 {
		s.fmin, _ = rows[i].Float64(col)
		s.fmax = s.fmin
	}
	lo, top, sum, comp := s.fmin, s.fmax, s.fsum, s.fcomp
	for ; i < len(rows); i++ {
		v, ok := rows[i].Float64(col)
		if !ok {
			break
		}
		if v < lo { // not min: a NaN after the first value leaves the range
			lo = v
		}
		if v > top {
			top = v
		}
		sum, comp = neumaier(sum, comp, v)
	}
	s.fmin, s.fmax, s.fsum, s.fcomp = lo, top, sum, comp
	s.floats += int64(i - start)
	s.bytes += 8 * int64(i-start)
	return i
}

// addBytes adds the lengths of the fields of type t (STRING or BLOB) of
// column col from rows[i] (w's row base+i) on: views, nothing copied. A
// field Row leaves
// (an empty one, a damaged one) goes to the Window's Bytes, which reads
// it or names the damage.
func (s *colStats) addBytes(w *window.Window, rows []window.Row, col, i, base int, t window.FieldType) (int, error) {
	for ; i < len(rows); i++ {
		if rows[i].Type(col) != t { // a STRING after a BLOB is a stretch of its own
			break
		}
		v, ok := rows[i].Bytes(col)
		if !ok {
			var err error
			if v, err = w.Bytes(base+i, col); err != nil {
				return i, err
			}
		}
		s.bytes += int64(len(v))
	}
	return i, nil
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
