package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/window"
)

// selectFlags are the flags that shape a query.
// whereFlags are --where and its --arg values, shared by the commands that
// select rows.
type whereFlags struct {
	where string
	args  argList
}

func (w *whereFlags) register(fs *flag.FlagSet, def string) {
	fs.StringVar(&w.where, "where", "", "selection with ? placeholders, e.g. 'fare > ? AND city = ?'"+def)
	fs.Var(&w.args, "arg", "value for the next placeholder of --where (repeat as needed)")
}

type selectFlags struct {
	columns string
	whereFlags
	order string
	limit int64
}

func (s *selectFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.columns, "columns", "", "comma-separated columns to read (default all)")
	s.whereFlags.register(fs, "")
	fs.StringVar(&s.order, "order", "", "sort order, e.g. 'fare DESC' or 'city, fare'")
	fs.Int64Var(&s.limit, "limit", 0, "at most this many rows (0: all)")
}

func (s *selectFlags) query(table string) *content.Query {
	q := &content.Query{URI: table, Selection: s.where, Args: s.args, Order: s.order, Limit: s.limit}
	for c := range strings.SplitSeq(s.columns, ",") {
		if c = strings.TrimSpace(c); c != "" {
			q.Projection = append(q.Projection, c)
		}
	}
	return q
}

func oneTable(cmd string, pos []string) (string, error) {
	if len(pos) != 1 {
		return "", usagef("%s wants one table, got %d arguments (consumer %s --help)", cmd, len(pos), cmd)
	}
	return pos[0], nil
}

func cmdQuery(ctx context.Context, e *env, args []string) error {
	fs := e.newFlagSet("query", "TABLE [--columns a,b] [--where SEL --arg V...] [--order COLS] [--limit N] [--format table|csv|jsonl|arrow|parquet]")
	var sel selectFlags
	sel.register(fs)
	format := fs.String("format", "table", "output format: table, csv, jsonl, arrow (an Arrow IPC stream) or parquet (a Parquet file)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	table, err := oneTable("query", pos)
	if err != nil {
		return err
	}
	var out rowWriter
	bw := bufio.NewWriterSize(e.stdout, 64<<10)
	defer bw.Flush() // on error paths; success flushes and checks below
	switch *format {
	case "table":
		out = &tableWriter{w: bw}
	case "csv":
		out = &csvWriter{w: csv.NewWriter(bw)}
	case "jsonl", "json":
		out = &jsonWriter{w: bw}
	case "arrow":
		_, err := queryArrow(ctx, e, sel.query(table), bw)
		return err
	case "parquet":
		_, _, err := queryParquet(ctx, e, table, sel.query(table))
		return err
	default:
		return usagef("unknown --format %q: want table, csv, jsonl, arrow or parquet", *format)
	}
	c, err := e.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	cur, err := c.Query(ctx, sel.query(table))
	if err != nil {
		return err
	}
	defer cur.Close()
	cols := cur.Columns()
	if err := out.header(cols); err != nil {
		return err
	}
	e.wd.kick()
	vals := make([]value, len(cols))
	for rows := 1; cur.Next(); rows++ {
		if rows&0xfff == 0 {
			e.wd.kick() // the provider keeps answering
		}
		for i := range cols {
			if vals[i], err = readValue(cur, i); err != nil {
				return err
			}
		}
		if err := out.row(vals); err != nil {
			return err
		}
	}
	if err := cur.Err(); err != nil {
		return err
	}
	if err := out.end(cur.Position()); err != nil {
		return err
	}
	return bw.Flush()
}

// value is one field of the current row. Text and blob bytes are views
// into the cursor's window: valid until the cursor moves on.
type value struct {
	t window.FieldType
	i int64
	f float64
	b []byte
}

func readValue(cur *content.Cursor, col int) (value, error) {
	t, err := cur.Type(col)
	if err != nil {
		return value{}, err
	}
	v := value{t: t}
	switch t {
	case window.TypeInt64:
		v.i, err = cur.Int64(col)
	case window.TypeFloat64:
		v.f, err = cur.Float64(col)
	case window.TypeString, window.TypeBlob:
		v.b, err = cur.Bytes(col)
	}
	return v, err
}

// numeric reports whether the value is a number.
func (v value) numeric() bool { return v.t == window.TypeInt64 || v.t == window.TypeFloat64 }

// text formats the value for a person or a CSV field; null is what NULL
// becomes.
func (v value) text(null string) string {
	switch v.t {
	case window.TypeInt64:
		return strconv.FormatInt(v.i, 10)
	case window.TypeFloat64:
		return strconv.FormatFloat(v.f, 'f', -1, 64)
	case window.TypeString:
		return string(v.b)
	case window.TypeBlob:
		return hex.EncodeToString(v.b)
	}
	return null
}

// rowWriter prints a result in one format.
type rowWriter interface {
	header(cols []string) error
	row(vals []value) error
	end(rows int64) error
}

// tableWriter prints an aligned table: numbers right-aligned, the widths
// taken from the first rows (later, wider values push their row out of
// line rather than making the whole result wait in memory). Column names
// and cells are shown with escapeControls.
type tableWriter struct {
	w        io.Writer
	cols     []string
	buf      [][]string
	numeric  []bool // per column: every value so far is a number or NULL
	widths   []int
	started  bool // the header is printed, rows are streamed
	noHeader bool // print the rows only
}

// tableSample is how many rows fix the column widths.
const tableSample = 1000

func (t *tableWriter) header(cols []string) error {
	t.cols = make([]string, len(cols))
	for i, c := range cols {
		t.cols[i] = escapeControls(c)
	}
	t.numeric = make([]bool, len(cols))
	for i := range t.numeric {
		t.numeric[i] = true
	}
	return nil
}

func (t *tableWriter) row(vals []value) error {
	cells := make([]string, len(vals))
	for i, v := range vals {
		cells[i] = v.text("NULL")
		if !t.started && !v.numeric() && v.t != window.TypeNull {
			t.numeric[i] = false
		}
	}
	return t.add(cells)
}

// add prints a row of cells, or holds it while the widths are not fixed.
func (t *tableWriter) add(cells []string) error {
	for i, c := range cells {
		cells[i] = escapeControls(c)
	}
	if t.started {
		return t.line(cells)
	}
	t.buf = append(t.buf, cells)
	if len(t.buf) >= tableSample {
		return t.flush()
	}
	return nil
}

// flush fixes the widths, prints the header and the buffered rows.
func (t *tableWriter) flush() error {
	t.started = true
	t.widths = make([]int, len(t.cols))
	for i, c := range t.cols {
		if !t.noHeader {
			t.widths[i] = utf8.RuneCountInString(c)
		}
	}
	for _, r := range t.buf {
		for i, c := range r {
			t.widths[i] = max(t.widths[i], utf8.RuneCountInString(c))
		}
	}
	if !t.noHeader {
		if err := t.line(t.cols); err != nil {
			return err
		}
		dashes := make([]string, len(t.cols))
		for i, w := range t.widths {
			dashes[i] = strings.Repeat("-", w)
		}
		if err := t.line(dashes); err != nil {
			return err
		}
	}
	for _, r := range t.buf {
		if err := t.line(r); err != nil {
			return err
		}
	}
	t.buf = nil
	return nil
}

func (t *tableWriter) line(cells []string) error {
	var b strings.Builder
	for i, c := range cells {
		pad := strings.Repeat(" ", max(t.widths[i]-utf8.RuneCountInString(c), 0))
		if i > 0 {
			b.WriteString("  ")
		}
		if t.numeric[i] {
			b.WriteString(pad + c)
		} else if i < len(cells)-1 {
			b.WriteString(c + pad)
		} else {
			b.WriteString(c)
		}
	}
	b.WriteByte('\n')
	_, err := io.WriteString(t.w, b.String())
	return err
}

func (t *tableWriter) end(rows int64) error {
	if !t.started {
		if err := t.flush(); err != nil {
			return err
		}
	}
	noun := "rows"
	if rows == 1 {
		noun = "row"
	}
	_, err := fmt.Fprintf(t.w, "(%d %s)\n", rows, noun)
	return err
}

// csvWriter prints RFC 4180 CSV with a header line; NULL is an empty
// field, blobs are hex.
type csvWriter struct {
	w      *csv.Writer
	fields []string
}

func (c *csvWriter) header(cols []string) error {
	c.fields = make([]string, len(cols))
	return c.w.Write(cols)
}

func (c *csvWriter) row(vals []value) error {
	for i, v := range vals {
		c.fields[i] = v.text("")
	}
	return c.w.Write(c.fields)
}

func (c *csvWriter) end(int64) error {
	c.w.Flush()
	return c.w.Error()
}

// jsonWriter prints one JSON object per row, keys in column order; blobs
// are hex strings, NaN and infinities null.
type jsonWriter struct {
	w    io.Writer
	keys [][]byte // quoted column names
	buf  []byte
}

func (j *jsonWriter) header(cols []string) error {
	for _, c := range cols {
		k, err := json.Marshal(c)
		if err != nil {
			return err
		}
		j.keys = append(j.keys, k)
	}
	return nil
}

func (j *jsonWriter) row(vals []value) error {
	b := append(j.buf[:0], '{')
	for i, v := range vals {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(append(b, j.keys[i]...), ':')
		switch v.t {
		case window.TypeInt64:
			b = strconv.AppendInt(b, v.i, 10)
		case window.TypeFloat64:
			if math.IsNaN(v.f) || math.IsInf(v.f, 0) {
				b = append(b, "null"...)
			} else {
				b = strconv.AppendFloat(b, v.f, 'f', -1, 64)
			}
		case window.TypeString, window.TypeBlob:
			s := v.text("")
			q, err := json.Marshal(s)
			if err != nil {
				return err
			}
			b = append(b, q...)
		default:
			b = append(b, "null"...)
		}
	}
	b = append(b, '}', '\n')
	j.buf = b
	_, err := j.w.Write(b)
	return err
}

func (j *jsonWriter) end(int64) error { return nil }
