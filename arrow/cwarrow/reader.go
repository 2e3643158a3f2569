package cwarrow

import (
	"math"
	"sync/atomic"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/window"
)

// Defaults of the options.
const (
	// DefaultBatchRows is the most rows a record batch holds unless
	// WithBatchRows says otherwise.
	DefaultBatchRows = 64 << 10
	// DefaultBatchBytes is the most bytes of values (and offsets) a
	// record batch holds unless WithBatchBytes says otherwise.
	DefaultBatchBytes = 64 << 20
)

// maxExact is the largest magnitude up to which every integer is a
// float64: an INT64 field within it goes into a Float64 column exactly.
const maxExact = 1 << 53

// Option configures a Reader.
type Option func(*config)

type config struct {
	rows  int
	bytes int64
	large bool
	mem   memory.Allocator
}

// WithBatchRows sets the most rows one record batch holds (default
// DefaultBatchRows; at least 1).
func WithBatchRows(n int) Option { return func(c *config) { c.rows = max(n, 1) } }

// WithBatchBytes sets the most bytes one record batch's values take:
// 8 a number, 4 plus the length a STRING or BLOB (default
// DefaultBatchBytes). A batch ends before the row that would pass it,
// unless that row is the batch's first. Flight clients refuse messages
// larger than they were set to accept (gRPC's default is 4 MiB): a
// server keeps its batches below that.
func WithBatchBytes(n int64) Option { return func(c *config) { c.bytes = max(n, 1) } }

// WithLargeTypes reads STRING columns as LargeString and BLOB columns as
// LargeBinary (int64 offsets), so that a batch may hold 2 GiB or more
// of one column's values. Without it a batch ends before one column's
// values would pass 2 GiB - 1 bytes, and a single longer value is an
// error matching ErrTooLarge.
func WithLargeTypes() Option { return func(c *config) { c.large = true } }

// WithAllocator sets the allocator of the record batches' memory
// (default memory.DefaultAllocator).
func WithAllocator(mem memory.Allocator) Option { return func(c *config) { c.mem = mem } }

// Reader is an array.RecordReader over a content.Cursor: each Next
// reads the cursor's next rows into a record batch. See the package
// documentation for the types and the rule for fields that do not fit
// their column.
//
// A Reader is not safe for concurrent use; Retain and Release are.
type Reader struct {
	refs   atomic.Int64
	cur    *content.Cursor
	cfg    config
	schema *arrow.Schema
	decl   []content.ColumnType // the cursor's declared types
	cols   []column
	row    []field           // the row read last
	held   bool              // row is the cursor's current row, in no batch yet
	first  arrow.RecordBatch // the first batch, read to decide the schema
	rec    arrow.RecordBatch // the batch Next made current
	hint   int               // rows of the last batch: what to reserve
	err    error
	done   bool // the cursor is at its end (or failed) and closed
}

var _ array.RecordReader = (*Reader)(nil)

// field is one field of a row, read from the cursor. b is a view of the
// cursor's window, valid while the cursor stays on the row.
type field struct {
	t window.FieldType
	i int64
	f float64
	b []byte
}

// column is one column's type and builder.
type column struct {
	name    string
	typ     window.FieldType // the column's type; TypeNull: only NULLs
	decided bool             // typ is known; else the first batch goes to buf
	notNull bool             // declared NOT NULL
	want    arrow.DataType
	b       array.Builder
	i64     *array.Int64Builder
	f64     *array.Float64Builder
	bin     *array.BinaryBuilder // String, Binary and their Large forms
	data    int64                // bytes of values in the current batch
	buf     *buffered            // the first batch of a column not decided yet
}

// NewReader returns a Reader of the rows cur has not read yet. The
// Reader owns cur from then on, in every case: it closes cur when the
// last reference is released, when the rows end or fail, and when
// NewReader returns an error.
//
// The schema comes from the columns' declared types (Cursor.ColumnTypes)
// where they decide one; if any column's does not, NewReader reads the
// first batch to decide it, and reports the errors of that batch.
func NewReader(cur *content.Cursor, opts ...Option) (*Reader, error) {
	cfg := config{rows: DefaultBatchRows, bytes: DefaultBatchBytes, mem: memory.DefaultAllocator}
	for _, o := range opts {
		o(&cfg)
	}
	r := &Reader{cur: cur, cfg: cfg}
	r.refs.Store(1)
	names := cur.Columns()
	declared := cur.ColumnTypes()
	r.decl = declared
	r.cols = make([]column, len(names))
	r.row = make([]field, len(names))
	undecided := false
	for i, name := range names {
		c := &r.cols[i]
		c.name = name
		if i < len(declared) {
			c.typ, c.decided = DeclaredType(declared[i].DatabaseType)
			c.notNull = declared[i].NullableKnown && !declared[i].Nullable
		}
		if c.decided {
			r.setBuilder(c)
		} else {
			c.buf = &buffered{}
			undecided = true
		}
	}
	if !undecided {
		r.schema = r.makeSchema()
		return r, nil
	}
	rec, err := r.batch() // decides the types and sets the schema
	if err != nil {
		r.Release()
		return nil, err
	}
	if r.schema == nil { // no rows: undecided columns are of type Null
		r.schema = r.makeSchema()
	}
	r.first = rec
	return r, nil
}

func (r *Reader) makeSchema() *arrow.Schema {
	names := make([]string, len(r.cols))
	types := make([]window.FieldType, len(r.cols))
	for i := range r.cols {
		names[i], types[i] = r.cols[i].name, r.cols[i].typ
	}
	return Schema(names, types, r.decl, r.cfg.large)
}

// setBuilder gives a decided column its builder.
func (r *Reader) setBuilder(c *column) {
	c.want = ArrowType(c.typ, r.cfg.large)
	c.b = array.NewBuilder(r.cfg.mem, c.want)
	switch b := c.b.(type) {
	case *array.Int64Builder:
		c.i64 = b
	case *array.Float64Builder:
		c.f64 = b
	case *array.StringBuilder:
		c.bin = b.BinaryBuilder
	case *array.LargeStringBuilder:
		c.bin = b.BinaryBuilder
	case *array.BinaryBuilder:
		c.bin = b
	}
}

// Schema returns the schema of the record batches.
func (r *Reader) Schema() *arrow.Schema { return r.schema }

// Next makes the next record batch current, releasing the one before.
// It returns false at the end of the rows or on an error, which Err then
// reports.
func (r *Reader) Next() bool {
	if r.rec != nil {
		r.rec.Release()
		r.rec = nil
	}
	if r.first != nil {
		r.rec, r.first = r.first, nil
		return true
	}
	if r.err != nil || r.done {
		return false
	}
	rec, err := r.batch()
	if err != nil {
		r.err = err
		return false
	}
	r.rec = rec
	return rec != nil
}

// RecordBatch returns the current record batch, valid until the next
// call to Next or the last Release; Retain it to keep it longer.
func (r *Reader) RecordBatch() arrow.RecordBatch { return r.rec }

// Record returns the current record batch.
//
// Deprecated: Use RecordBatch; Record is there for array.RecordReader.
func (r *Reader) Record() arrow.RecordBatch { return r.rec }

// Err returns the error that ended the rows early, if any: the cursor's
// (content.ErrProviderGone, the context's error, ...) or a *FieldError.
func (r *Reader) Err() error { return r.err }

// Retain adds a reference.
func (r *Reader) Retain() { r.refs.Add(1) }

// Release removes a reference; the last one releases the current batch
// and the builders and closes the cursor.
func (r *Reader) Release() {
	if r.refs.Add(-1) != 0 {
		return
	}
	for _, rec := range []arrow.RecordBatch{r.rec, r.first} {
		if rec != nil {
			rec.Release()
		}
	}
	r.rec, r.first = nil, nil
	for i := range r.cols {
		if b := r.cols[i].b; b != nil {
			b.Release()
		}
	}
	r.finish()
}

// finish closes the cursor: the rows ended, failed, or are not wanted.
func (r *Reader) finish() {
	if !r.done {
		r.done = true
		r.cur.Close()
	}
}

// batch reads the next batch; nil, nil at the end of the rows.
func (r *Reader) batch() (arrow.RecordBatch, error) {
	for i := range r.cols {
		c := &r.cols[i]
		c.data = 0
		if c.b != nil && r.hint > 0 {
			c.b.Reserve(r.hint)
		}
	}
	var (
		n     int
		size  int64
		start = r.cur.Position() + 1 // the batch's first row, if the cursor moves on
	)
	if r.held {
		start = r.cur.Position()
	}
	for n < r.cfg.rows {
		if !r.held {
			if !r.cur.Next() {
				err := r.cur.Err()
				r.finish()
				if err != nil {
					return nil, err
				}
				break
			}
			if err := r.read(); err != nil {
				r.finish()
				return nil, err
			}
		}
		rowSize, fits, err := r.fits(n)
		if err != nil {
			r.finish()
			return nil, err
		}
		if n > 0 && (!fits || size+rowSize > r.cfg.bytes) {
			r.held = true // the next batch's first row
			break
		}
		r.held = false
		r.appendRow()
		size += rowSize
		n++
	}
	if n == 0 {
		return nil, nil
	}
	r.hint = n
	if r.schema == nil {
		if err := r.decide(start, n); err != nil {
			r.finish()
			return nil, err
		}
		r.schema = r.makeSchema()
	}
	arrs := make([]arrow.Array, len(r.cols))
	for i := range r.cols {
		arrs[i] = r.cols[i].b.NewArray()
	}
	rec := array.NewRecordBatch(r.schema, arrs, int64(n))
	for _, a := range arrs {
		a.Release()
	}
	return rec, nil
}

// read reads the cursor's current row into r.row, checking each field
// against its column (if decided).
func (r *Reader) read() error {
	cur := r.cur
	for i := range r.cols {
		c := &r.cols[i]
		f := &r.row[i]
		t, err := cur.Type(i)
		if err != nil {
			return err
		}
		f.t = t
		switch t {
		case window.TypeNull:
			if c.notNull {
				return r.fieldErr(i, ErrNotNull, "")
			}
			continue
		case window.TypeInt64:
			f.i, err = cur.Int64(i)
		case window.TypeFloat64:
			f.f, err = cur.Float64(i)
		case window.TypeString, window.TypeBlob:
			f.b, err = cur.Bytes(i)
		}
		if err != nil {
			return err
		}
		if c.decided && t != c.typ {
			if c.typ != window.TypeFloat64 || t != window.TypeInt64 {
				return r.fieldErr(i, ErrMixedTypes, "")
			}
			if f.i > maxExact || f.i < -maxExact {
				return r.fieldErr(i, ErrMixedTypes, "an INT64 that a float64 does not hold exactly")
			}
		}
		if c.decided && t == window.TypeString && !utf8.Valid(f.b) {
			return r.fieldErr(i, ErrInvalidUTF8, "")
		}
	}
	return nil
}

// fits returns the bytes the row takes in a batch and whether it fits in
// the current one of n rows (a String or Binary column's values stay
// below 2 GiB).
func (r *Reader) fits(n int) (int64, bool, error) {
	var size int64
	fits := true
	for i := range r.cols {
		f := &r.row[i]
		if f.t != window.TypeString && f.t != window.TypeBlob {
			size += 8
			continue
		}
		l := int64(len(f.b))
		size += 4 + l
		if r.cfg.large {
			continue
		}
		if l > math.MaxInt32 {
			return 0, false, r.fieldErr(i, ErrTooLarge, "")
		}
		if r.cols[i].data+l > math.MaxInt32 && n > 0 {
			fits = false
		}
	}
	return size, fits, nil
}

// appendRow appends r.row to the columns.
func (r *Reader) appendRow() {
	for i := range r.cols {
		c := &r.cols[i]
		f := &r.row[i]
		if !c.decided {
			c.buf.add(f)
			c.data += int64(len(f.b))
			continue
		}
		if f.t == window.TypeNull {
			c.b.AppendNull()
			continue
		}
		switch c.typ {
		case window.TypeInt64:
			c.i64.Append(f.i)
		case window.TypeFloat64:
			if f.t == window.TypeInt64 {
				c.f64.Append(float64(f.i))
			} else {
				c.f64.Append(f.f)
			}
		case window.TypeString, window.TypeBlob:
			c.bin.Append(f.b)
			c.data += int64(len(f.b))
		}
	}
}

// fieldErr returns the error for field col of the current row.
func (r *Reader) fieldErr(col int, err error, detail string) error {
	return r.fieldErrAt(r.cur.Position(), col, r.row[col].t, err, detail)
}

func (r *Reader) fieldErrAt(row int64, col int, got window.FieldType, err error, detail string) error {
	c := &r.cols[col]
	want := c.want
	if want == nil {
		want = ArrowType(c.typ, r.cfg.large)
	}
	return &FieldError{Row: row, Column: col, Name: c.name, Got: got, Want: want, Err: err, detail: detail}
}
