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
	cur, err := c.Query(ctx, sel.query(table), scanPrefetch)
	if err != nil {
		return err
	}
	defer cur.Close()
	e.wd.kick()
	cols := cur.Columns()
	stats := make([]colStats, len(cols))
	bar := progress.New(e.stderr, "scanning "+escapeControls(table), cur.Count())
	bufs := newScanBuffers(len(cols))
	var rows int64
	// Block by block, a run of rows at a time: one ReadRows reads every
	// column of the run (each field into the slice of its type), then
	// each column's summary takes its run.
	for cur.NextBlock() {
		w, row, left := cur.Block()
		for left > 0 {
			k, err := w.ReadRows(row, bufs)
			if err != nil {
				bar.Done()
				return scanErr(err, cols, rows)
			}
			k = min(k, left)
			for i := range stats {
				stats[i].addRun(&bufs[i], k)
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

// scanRun is how many rows a scan reads at a time: every column's run
// of values stays in the L1 cache while the summaries take it.
const scanRun = 128

// newScanBuffers returns a run's buffers for ncols columns: each field
// read into the slice of its type (window.Column with Types set).
func newScanBuffers(ncols int) []window.Column {
	cols := make([]window.Column, ncols)
	for i := range cols {
		cols[i] = window.Column{
			Types:    make([]window.FieldType, scanRun),
			Int64s:   make([]int64, scanRun),
			Float64s: make([]float64, scanRun),
			Views:    make([][]byte, scanRun),
		}
	}
	return cols
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

// addRun adds the first k values of a column's run (read with its
// types) to the summary, each stretch of fields of one type at once.
func (s *colStats) addRun(c *window.Column, k int) {
	types := c.Types[:k]
	for i := 0; i < k; {
		t := types[i]
		j := i + 1
		for j < k && types[j] == t {
			j++
		}
		if int(t) < len(s.seen) {
			s.seen[t] = true
		}
		s.addTyped(c, i, j, t)
		i = j
	}
}

// addTyped adds fields i to j-1 of a column's run, all of type t.
func (s *colStats) addTyped(c *window.Column, i, j int, t window.FieldType) {
	switch t {
	case window.TypeNull:
		s.nulls += int64(j - i)
	case window.TypeInt64:
		s.addInts(c.Int64s[i:j])
	case window.TypeFloat64:
		for _, v := range c.Float64s[i:j] {
			s.floatRange(v)
			s.addFloat(v)
			s.floats++
		}
		s.bytes += 8 * int64(j-i)
	case window.TypeString, window.TypeBlob:
		for _, v := range c.Views[i:j] { // views: nothing is copied
			s.bytes += int64(len(v))
		}
	}
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
