package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/examples/internal/progress"
)

// recordReader reads the rows of a file to load: its columns first, then
// each row's values in their order.
type recordReader interface {
	Columns() []string
	Next() ([]any, error) // io.EOF at the end
}

// csvRecords reads CSV with a header line: an empty field is NULL, a
// field that parses as an integer or a float is one, any other is text.
type csvRecords struct {
	r    *csv.Reader
	cols []string
	line int
}

func newCSVRecords(r io.Reader) (*csvRecords, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("the CSV input is empty: it needs a header line naming the columns")
	}
	if err != nil {
		return nil, err
	}
	return &csvRecords{r: cr, cols: slices.Clone(head), line: 1}, nil
}

func (c *csvRecords) Columns() []string { return c.cols }

func (c *csvRecords) Next() ([]any, error) {
	rec, err := c.r.Read()
	if err != nil {
		return nil, err
	}
	c.line++
	vals := make([]any, len(rec))
	for i, f := range rec {
		if f != "" {
			vals[i] = csvValue(f)
		}
	}
	return vals, nil
}

// csvValue is a CSV field's value: an integer or a float if it parses as
// one, else the text.
func csvValue(f string) any {
	if i, err := strconv.ParseInt(f, 10, 64); err == nil {
		return i
	}
	if strings.ContainsRune("+-.0123456789", rune(f[0])) {
		if x, err := strconv.ParseFloat(f, 64); err == nil {
			return x
		}
	}
	return f
}

// jsonRecords reads JSON lines, one object per row. The first object's
// keys name the columns, in order; a later object may leave a column out
// (NULL) but not add one. Numbers are integers when written as one (no
// fraction or exponent) and within int64, floats otherwise; true and
// false are 1 and 0.
type jsonRecords struct {
	sc   *bufio.Scanner
	cols []string
	idx  map[string]int
	line int
	head []any // the first object's values, returned by the first Next
}

func newJSONRecords(r io.Reader) (*jsonRecords, error) {
	j := &jsonRecords{sc: bufio.NewScanner(r), idx: map[string]int{}}
	j.sc.Buffer(make([]byte, 64<<10), 64<<20)
	first, err := j.object()
	if err == io.EOF {
		return nil, fmt.Errorf("the JSON lines input is empty: its first object names the columns")
	}
	if err != nil {
		return nil, err
	}
	j.head = make([]any, len(first.keys))
	for i, k := range first.keys {
		j.idx[k] = i
		j.cols = append(j.cols, k)
		j.head[i] = first.vals[i]
	}
	return j, nil
}

func (j *jsonRecords) Columns() []string { return j.cols }

func (j *jsonRecords) Next() ([]any, error) {
	if j.head != nil {
		h := j.head
		j.head = nil
		return h, nil
	}
	o, err := j.object()
	if err != nil {
		return nil, err
	}
	vals := make([]any, len(j.cols))
	for i, k := range o.keys {
		c, ok := j.idx[k]
		if !ok {
			return nil, fmt.Errorf("line %d: column %q is not in the first line's", j.line, k)
		}
		vals[c] = o.vals[i]
	}
	return vals, nil
}

// jsonObject is one line's keys and values, in the line's order.
type jsonObject struct {
	keys []string
	vals []any
}

// object reads the next non-empty line as a flat JSON object.
func (j *jsonRecords) object() (jsonObject, error) {
	for j.sc.Scan() {
		j.line++
		line := bytes.TrimSpace(j.sc.Bytes())
		if len(line) == 0 {
			continue
		}
		o, err := parseObject(line)
		if err != nil {
			return o, fmt.Errorf("line %d: %w", j.line, err)
		}
		return o, nil
	}
	if err := j.sc.Err(); err != nil {
		return jsonObject{}, err
	}
	return jsonObject{}, io.EOF
}

// parseObject decodes a flat JSON object keeping its keys' order.
func parseObject(line []byte) (jsonObject, error) {
	var o jsonObject
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return o, fmt.Errorf("want a JSON object")
	}
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return o, err
		}
		key := t.(string)
		if slices.Contains(o.keys, key) {
			return o, fmt.Errorf("key %q twice", key)
		}
		var raw any
		if err := d.Decode(&raw); err != nil {
			return o, err
		}
		v, err := jsonValue(raw)
		if err != nil {
			return o, fmt.Errorf("%q: %w", key, err)
		}
		o.keys = append(o.keys, key)
		o.vals = append(o.vals, v)
	}
	if _, err := d.Token(); err != nil {
		return o, err
	}
	if d.More() {
		return o, fmt.Errorf("more than one value on the line")
	}
	return o, nil
}

// jsonValue converts a decoded JSON value to a field's value.
func jsonValue(v any) (any, error) {
	switch x := v.(type) {
	case nil, string:
		return x, nil
	case bool:
		if x {
			return int64(1), nil
		}
		return int64(0), nil
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		return x.Float64()
	}
	return nil, fmt.Errorf("a %T is not a field value (want null, a number, a string or a boolean)", v)
}

// openRecords opens the file to load ("-" for standard input) in the
// format given, or the one its name ends in.
func openRecords(e *env, name, format string) (recordReader, io.Closer, int64, *countingReader, error) {
	if format == "" {
		switch strings.ToLower(filepath.Ext(name)) {
		case ".csv":
			format = "csv"
		case ".jsonl", ".ndjson", ".json":
			format = "jsonl"
		default:
			return nil, nil, 0, nil, usagef("--format csv or jsonl: %q does not end in .csv or .jsonl", name)
		}
	}
	var f io.ReadCloser = io.NopCloser(e.stdin)
	var size int64
	if name != "-" {
		file, err := os.Open(name)
		if err != nil {
			return nil, nil, 0, nil, err
		}
		if fi, err := file.Stat(); err == nil && fi.Mode().IsRegular() {
			size = fi.Size()
		}
		f = file
	}
	cr := &countingReader{r: bufio.NewReaderSize(f, 1<<16)}
	var rr recordReader
	var err error
	switch format {
	case "csv":
		rr, err = newCSVRecords(cr)
	case "jsonl":
		rr, err = newJSONRecords(cr)
	default:
		err = usagef("--format csv or jsonl, not %q", format)
	}
	if err != nil {
		f.Close()
		return nil, nil, 0, nil, err
	}
	return rr, f, size, cr, nil
}

// countingReader counts the bytes read through it, for the progress bar.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// loadBatch is a run of rows read from the input, or why reading ended.
type loadBatch struct {
	rows  [][]any
	bytes int64 // input read so far
	err   error // io.EOF at the end
}

// readBatches reads the input on its own goroutine, so that the load can
// flush what it has while the input is slow (a pipe): the provider waits
// for a load's next window only so long.
func readBatches(ctx context.Context, rr recordReader, cr *countingReader, out chan<- loadBatch) {
	defer close(out)
	for {
		var b loadBatch
		for len(b.rows) < 1024 {
			vals, err := rr.Next()
			if err != nil {
				b.err = err
				break
			}
			b.rows = append(b.rows, vals)
		}
		b.bytes = cr.n
		select {
		case out <- b:
		case <-ctx.Done():
			return
		}
		if b.err != nil {
			return
		}
	}
}

// flushEvery is how often a load sends the rows it has, however few.
const flushEvery = time.Second

// cmdLoad inserts the rows of a CSV or JSON lines file into a table with
// one bulk insert: all of them or, if one fails, none (with the example
// provider), the failing row named by its line.
func cmdLoad(ctx context.Context, e *env, table, from, format string) error {
	rr, f, size, cr, err := openRecords(e, from, format)
	if err != nil {
		return err
	}
	defer f.Close()
	c, err := e.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	start := time.Now()
	b, err := c.BulkInsert(ctx, table, rr.Columns())
	if err != nil {
		return err
	}
	defer b.Abort()
	e.wd.kick()
	bar := progress.New(e.stderr, "inserting into "+escapeControls(table), size)
	defer bar.Done()
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	batches := make(chan loadBatch, 4)
	go readBatches(rctx, rr, cr, batches)
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case batch, ok := <-batches:
			if !ok { // the reader stopped: the command's context ended
				return context.Cause(ctx)
			}
			for _, row := range batch.rows {
				if len(row) != len(rr.Columns()) {
					return fmt.Errorf("row %d has %d values for %d columns", b.Rows()+1, len(row), len(rr.Columns()))
				}
				if err := b.Append(row...); err != nil {
					return loadError(err)
				}
			}
			e.wd.kick()
			bar.Update(batch.bytes)
			if batch.err == nil {
				continue
			}
			if batch.err != io.EOF {
				return fmt.Errorf("reading %s: %w", from, batch.err)
			}
			n, err := b.Close()
			if err != nil {
				return loadError(err)
			}
			bar.Done()
			_, err = fmt.Fprintf(e.stdout, "inserted %d %s into %s (%.0f rows/s)\n", n, plural(n, "row"),
				escapeControls(table), float64(n)/time.Since(start).Seconds())
			return err
		case <-tick.C:
			if err := b.Flush(); err != nil {
				return loadError(err)
			}
		}
	}
}

// loadError says which input row a failed load failed at (counted from
// 1, as a person counts the data lines of a file) and what became of the
// rows before it.
func loadError(err error) error {
	var we *content.WriteError
	if !errors.As(err, &we) || we.Index < 0 {
		return err
	}
	kept := "nothing was inserted"
	if we.Kept > 0 {
		kept = fmt.Sprintf("the %d %s before it were inserted", we.Kept, plural(we.Kept, "row"))
	}
	return &explained{msg: fmt.Sprintf("row %d of the input: %s; %s", we.Index+1, providerMessage(we.Err), kept), err: err}
}

// explained is an error whose message is written for the user already;
// it unwraps to its cause for the exit status.
type explained struct {
	msg string
	err error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.err }
