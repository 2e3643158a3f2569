package cwarrow

import (
	"math"
	"sync/atomic"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
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
	copy  bool
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

// WithCopiedBatches copies every value into the batches' own buffers
// (the allocator's), as for a window whose columns an Arrow array cannot
// point into. Use it when batches are kept long, or many at once: a batch
// over a window holds that window (see the package's Caveats).
func WithCopiedBatches() Option { return func(c *config) { c.copy = true } }

// WithAllocator sets the allocator of the record batches' own memory
// (default memory.DefaultAllocator): the copied offsets of a batch over
// a window, every buffer of a copied batch.
func WithAllocator(mem memory.Allocator) Option { return func(c *config) { c.mem = mem } }

// Reader is an array.RecordReader over a content.Cursor: each Next
// reads the cursor's next rows into a record batch, a window's rows at
// most. See the package documentation for the types and the rule for
// fields that do not fit their column.
//
// A Reader is not safe for concurrent use; Retain and Release are.
type Reader struct {
	refs   atomic.Int64
	cur    *content.Cursor
	cfg    config
	schema *arrow.Schema
	decl   []content.ColumnType // the cursor's declared types
	cols   []column
	onRow  bool              // the cursor stands on the first row not read yet
	first  arrow.RecordBatch // the first batch, read to decide the schema
	rec    arrow.RecordBatch // the batch Next made current
	err    error
	done   bool // the cursor is at its end (or failed) and closed
	// Scratch of one batch, reused: a window's values are read a column
	// and a run of rows at a time (window.Window's batch reads).
	ints []int64
}

var _ array.RecordReader = (*Reader)(nil)

// column is one column's type, builder and the scratch of one batch.
type column struct {
	name    string
	typ     window.FieldType // the column's type; TypeNull: only NULLs
	decided bool             // typ is known; else the first batch decides it
	notNull bool             // declared NOT NULL
	want    arrow.DataType
	data    int64              // bytes of values in the current batch
	types   []window.FieldType // the batch's field types
	views   [][]byte           // the batch's STRING or BLOB values: views of the window
	nulls   bool               // the batch has a NULL in this column
	ints    bool               // the batch has an INT64 in this Float64 column
}

// NewReader returns a Reader of the rows after the one cur stands on
// (all of them for a cursor before its first row). The
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
	r := &Reader{cur: cur, cfg: cfg, decl: cur.ColumnTypes()}
	r.refs.Store(1)
	// On a row already: the rows after it are left (Move stays in the
	// window, which NextBlock would leave).
	r.onRow = cur.Position() >= 0 && cur.Move(cur.Position()+1)
	names := cur.Columns()
	r.cols = make([]column, len(names))
	undecided := false
	for i, name := range names {
		c := &r.cols[i]
		c.name = name
		if i < len(r.decl) {
			c.typ, c.decided = DeclaredType(r.decl[i].DatabaseType)
			c.notNull = r.decl[i].NullableKnown && !r.decl[i].Nullable
		}
		if c.decided {
			r.setType(c)
		} else {
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

// setType makes a column's type decided.
func (r *Reader) setType(c *column) {
	c.decided = true
	c.want = ArrowType(c.typ, r.cfg.large)
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
// and closes the cursor.
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
	r.finish()
}

// finish closes the cursor: the rows ended, failed, or are not wanted.
func (r *Reader) finish() {
	if !r.done {
		r.done = true
		r.cur.Close()
	}
}

// fail closes the cursor and returns err.
func (r *Reader) fail(err error) (arrow.RecordBatch, error) {
	r.finish()
	return nil, err
}

// batch reads the next batch, from the rows left in the cursor's
// window; nil, nil at the end of the rows. A field that does not fit
// ends the batch before its row, and fails the next one.
func (r *Reader) batch() (arrow.RecordBatch, error) {
	if !r.onRow {
		if !r.cur.NextBlock() {
			return r.fail(r.cur.Err())
		}
		r.onRow = true
	}
	w, row, left := r.cur.Block()
	start := r.cur.Position()
	k := min(left, r.cfg.rows)
	if arrs := r.directBatch(k); arrs != nil {
		return r.emit(arrs, k, left, start)
	}
	r.grow(k)

	// The fields' types, checked against the columns' (or deciding them).
	var bad error
	for i := range r.cols {
		n, err := r.check(i, w, row, k, start)
		if n < k {
			k, bad = n, err
		}
	}
	// The STRING and BLOB values, and the byte limits.
	if n, err := r.readViews(w, row, k, start); n < k {
		k, bad = n, err
	}
	if k == 0 {
		return r.fail(bad)
	}
	if r.schema == nil {
		r.schema = r.makeSchema()
	}
	arrs := make([]arrow.Array, 0, len(r.cols))
	for i := range r.cols {
		a, err := r.build(&r.cols[i], i, w, row, k)
		if err != nil {
			releaseAll(arrs)
			return r.fail(err)
		}
		arrs = append(arrs, a)
	}
	return r.emit(arrs, k, left, start)
}

// directBatch returns the arrays of the next k rows over the window's
// buffers (direct), with a hold on the window for them, or nil.
func (r *Reader) directBatch(k int) []arrow.Array {
	if r.cfg.copy || r.schema == nil {
		return nil
	}
	w, row, _, release := r.cur.HoldBlock()
	h := &hold{release: release}
	h.refs.Store(1) // the batch's own, dropped when its arrays have theirs
	defer h.drop()
	return r.direct(w, row, k, h)
}

// emit returns the record batch of arrs, the k rows from position start,
// and moves the cursor past them (left rows were left in its window).
// The record batch takes its own references of arrs.
func (r *Reader) emit(arrs []arrow.Array, k, left int, start int64) (arrow.RecordBatch, error) {
	defer releaseAll(arrs)
	if k == left {
		r.onRow = false // the next batch starts in the next window
	} else if !r.cur.Move(start + int64(k)) { // within the window: no request
		return r.fail(r.cur.Err())
	}
	return array.NewRecordBatch(r.schema, arrs, int64(k)), nil
}

// grow makes the scratch hold k rows.
func (r *Reader) grow(k int) {
	if len(r.ints) >= k {
		return
	}
	r.ints = make([]int64, k)
	for i := range r.cols {
		c := &r.cols[i]
		c.types = make([]window.FieldType, k)
		c.views = nil
	}
}

// check reads column col's field types of rows row..row+k-1 of w (at
// positions start..) and returns how many of them, from the first, fit
// the column, with the error of the first that does not. A column not
// decided yet is decided here, by the rows up to the first that cannot
// share a type with those before it.
func (r *Reader) check(col int, w *window.Window, row, k int, start int64) (int, error) {
	c := &r.cols[col]
	ts := c.types[:k]
	if _, err := w.Types(col, row, ts); err != nil {
		return 0, err
	}
	if !c.decided {
		c.typ = window.TypeNull
		for i, t := range ts {
			switch {
			case t == window.TypeNull || t == c.typ:
			case c.typ == window.TypeNull:
				c.typ = t
			case c.typ == window.TypeInt64 && t == window.TypeFloat64,
				c.typ == window.TypeFloat64 && t == window.TypeInt64:
				c.typ = window.TypeFloat64
			default:
				k = i // decided by the rows before; this one fails
			}
		}
		r.setType(c)
	}
	c.nulls, c.ints = false, false
	for i, t := range ts {
		switch {
		case t == c.typ:
		case t == window.TypeNull:
			if c.notNull {
				return i, r.fieldErr(start+int64(i), col, t, ErrNotNull, "")
			}
			c.nulls = true
		case t == window.TypeInt64 && c.typ == window.TypeFloat64:
			c.ints = true
		default:
			return i, r.fieldErr(start+int64(i), col, t, ErrMixedTypes, "")
		}
	}
	if !c.ints {
		return k, nil
	}
	// INT64 fields in a Float64 column: exact ones only.
	ints := r.ints[:k]
	if _, err := w.Int64s(col, row, ints); err != nil {
		return 0, err
	}
	for i, t := range ts {
		if v := ints[i]; t == window.TypeInt64 && (v > maxExact || v < -maxExact) {
			return i, r.fieldErr(start+int64(i), col, t, ErrMixedTypes, "an INT64 that a float64 does not hold exactly")
		}
	}
	return k, nil
}

// readViews reads the STRING and BLOB columns' values of the first k rows
// and returns how many rows, from the first, fit in one batch: valid
// UTF-8 in String columns, within the batch's byte limit (the first row
// always), and within 2 GiB - 1 bytes a column without WithLargeTypes.
func (r *Reader) readViews(w *window.Window, row, k int, start int64) (int, error) {
	fixed := int64(0)
	var vars []int
	for i := range r.cols {
		c := &r.cols[i]
		c.data = 0
		if c.typ != window.TypeString && c.typ != window.TypeBlob {
			fixed += 8
			continue
		}
		fixed += 4
		vars = append(vars, i)
		if cap(c.views) < len(c.types) {
			c.views = make([][]byte, len(c.types))
		}
		vs := c.views[:k]
		if _, err := w.Views(i, row, vs); err != nil {
			return 0, err
		}
		if c.typ == window.TypeString {
			for j, v := range vs {
				if !utf8.Valid(v) {
					if j < k {
						k = j
					}
					if j == 0 {
						return 0, r.fieldErr(start, i, window.TypeString, ErrInvalidUTF8, "")
					}
					break
				}
			}
		}
	}
	var size int64
	for j := range k {
		rs := fixed
		for _, i := range vars {
			c := &r.cols[i]
			l := int64(len(c.views[j]))
			rs += l
			if !r.cfg.large && c.data+l > math.MaxInt32 {
				if j == 0 {
					return 0, r.fieldErr(start, i, c.typ, ErrTooLarge, "")
				}
				return j, nil
			}
		}
		if j > 0 && size+rs > r.cfg.bytes {
			return j, nil
		}
		size += rs
		for _, i := range vars {
			r.cols[i].data += int64(len(r.cols[i].views[j]))
		}
	}
	return k, nil
}

// build returns the array of column col's first k rows. Numbers go from
// the window straight into the array's buffer (one batch read); STRING
// and BLOB values are copied once, after their offsets are known.
func (r *Reader) build(c *column, col int, w *window.Window, row, k int) (arrow.Array, error) {
	if c.typ == window.TypeNull {
		return array.NewNull(k), nil
	}
	mem := r.cfg.mem
	var bufs []*memory.Buffer
	defer func() {
		for _, b := range bufs {
			if b != nil {
				b.Release() // the array's data holds its own references
			}
		}
	}()
	alloc := func(n int) *memory.Buffer {
		b := memory.NewResizableBuffer(mem)
		b.Resize(n)
		bufs = append(bufs, b)
		return b
	}
	var (
		validity *memory.Buffer
		nulls    int
	)
	if c.nulls {
		validity = alloc(int(bitutil.BytesForBits(int64(k))))
		bits := validity.Bytes()
		clear(bits)
		for i, t := range c.types[:k] {
			if t == window.TypeNull {
				nulls++
			} else {
				bitutil.SetBit(bits, i)
			}
		}
	} else {
		bufs = append(bufs, nil)
	}
	switch c.typ {
	case window.TypeInt64:
		vals := alloc(k * arrow.Int64SizeBytes)
		if _, err := w.Int64s(col, row, arrow.Int64Traits.CastFromBytes(vals.Bytes())); err != nil {
			return nil, err
		}
	case window.TypeFloat64:
		vals := alloc(k * arrow.Float64SizeBytes)
		if _, err := w.Float64s(col, row, arrow.Float64Traits.CastFromBytes(vals.Bytes())); err != nil { // INT64s converted, exactly (check)
			return nil, err
		}
	default: // STRING, BLOB: offsets, then the values
		vs := c.views[:k]
		var offs *memory.Buffer
		if r.cfg.large {
			offs = alloc((k + 1) * arrow.Int64SizeBytes)
		} else {
			offs = alloc((k + 1) * arrow.Int32SizeBytes)
		}
		// The views stay in the scratch until the next batch overwrites
		// them: they point into a mapping the GC does not follow, and
		// clearing them would cost a write barrier each.
		data := alloc(int(c.data)).Bytes()
		pos := 0
		if r.cfg.large {
			o := arrow.Int64Traits.CastFromBytes(offs.Bytes())
			for i, v := range vs {
				o[i] = int64(pos)
				pos += copy(data[pos:], v)
			}
			o[k] = int64(pos)
		} else {
			o := arrow.Int32Traits.CastFromBytes(offs.Bytes())
			for i, v := range vs {
				o[i] = int32(pos)
				pos += copy(data[pos:], v)
			}
			o[k] = int32(pos)
		}
	}
	d := array.NewData(c.want, k, bufs, nil, nulls, 0)
	defer d.Release()
	return array.MakeFromData(d), nil
}

// fieldErr returns the error for field col of the row at position row.
func (r *Reader) fieldErr(row int64, col int, got window.FieldType, err error, detail string) error {
	c := &r.cols[col]
	want := c.want
	if want == nil {
		want = ArrowType(c.typ, r.cfg.large)
	}
	return &FieldError{Row: row, Column: col, Name: c.name, Got: got, Want: want, Err: err, detail: detail}
}
