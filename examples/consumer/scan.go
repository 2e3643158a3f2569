package main

import (
	"context"
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

func cmdScan(ctx context.Context, e *env, args []string) error {
	fs := e.newFlagSet("scan", "TABLE [--columns a,b] [--where SEL --arg V...] [--order COLS] [--limit N]")
	var sel selectFlags
	sel.register(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	table, err := oneTable("scan", pos)
	if err != nil {
		return err
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
	var rows int64
	for cur.Next() {
		for i := range stats {
			if err := stats[i].add(cur, i); err != nil {
				bar.Done()
				return fmt.Errorf("row %d, column %s: %w", rows, cols[i], err)
			}
		}
		rows++
		if rows&0xfff == 0 {
			bar.Update(rows)
			e.wd.kick() // the provider keeps answering
		}
	}
	bar.Done()
	if err := cur.Err(); err != nil {
		return err
	}
	elapsed := time.Since(start)
	return printSummary(e.stdout, table, cols, stats, rows, elapsed)
}

// colStats summarises one column of a scan.
type colStats struct {
	seen   [window.TypeBlob + 1]bool // the field types met
	nulls  int64
	bytes  int64 // 8 per number, the length of text and blobs
	nums   int64 // number values
	floats bool
	imin   int64
	imax   int64
	isum   int64
	ovf    bool // isum overflowed: use fsum
	fmin   float64
	fmax   float64
	fsum   float64 // sum of every number, integers included
	fcomp  float64 // Neumaier compensation: fsum+fcomp is the sum
}

// add reads column col of the cursor's current row into the summary.
func (s *colStats) add(cur *content.Cursor, col int) error {
	t, err := cur.Type(col)
	if err != nil {
		return err
	}
	if int(t) < len(s.seen) {
		s.seen[t] = true
	}
	switch t {
	case window.TypeNull:
		s.nulls++
	case window.TypeInt64:
		v, err := cur.Int64(col)
		if err != nil {
			return err
		}
		s.bytes += 8
		if s.nums == 0 || v < s.imin {
			s.imin = v
		}
		if s.nums == 0 || v > s.imax {
			s.imax = v
		}
		sum := s.isum + v
		if (v > 0 && sum < s.isum) || (v < 0 && sum > s.isum) {
			s.ovf = true
		}
		s.isum = sum
		s.addFloat(float64(v))
	case window.TypeFloat64:
		v, err := cur.Float64(col)
		if err != nil {
			return err
		}
		s.bytes += 8
		s.floats = true
		s.addFloat(v)
	case window.TypeString, window.TypeBlob:
		b, err := cur.Bytes(col) // a view: nothing is copied
		if err != nil {
			return err
		}
		s.bytes += int64(len(b))
	}
	return nil
}

func (s *colStats) addFloat(v float64) {
	if s.nums == 0 || v < s.fmin {
		s.fmin = v
	}
	if s.nums == 0 || v > s.fmax {
		s.fmax = v
	}
	// Neumaier's compensated summation: a million cents-rounded fares add
	// up to their exact total, not one off in the fifth decimal.
	t := s.fsum + v
	if math.Abs(s.fsum) >= math.Abs(v) {
		s.fcomp += (s.fsum - t) + v
	} else {
		s.fcomp += (v - t) + s.fsum
	}
	s.fsum = t
	s.nums++
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
	case s.nums == 0:
		return "-", "-", "-"
	case !s.floats && !s.ovf:
		return strconv.FormatInt(s.imin, 10), strconv.FormatInt(s.imax, 10), strconv.FormatInt(s.isum, 10)
	case !s.floats:
		return strconv.FormatInt(s.imin, 10), strconv.FormatInt(s.imax, 10), strconv.FormatFloat(s.fsum+s.fcomp, 'g', 12, 64)
	}
	return formatFloat(s.fmin), formatFloat(s.fmax), strconv.FormatFloat(s.fsum+s.fcomp, 'g', 12, 64)
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
