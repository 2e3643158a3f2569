package window

import (
	"fmt"
	"math"
)

// RowWriter sets the fields of a writer's last row in column order: the
// whole-row write path. Each field costs a few stores (and, for a STRING
// or BLOB, one copy) into its column's buffers while the column has the
// field's type and room for it; its methods inline. The first error
// sticks: later fields are ignored, and Err reports it.
//
//	if err := w.AllocRow(); err != nil { ... }
//	row := w.Row()
//	row.Int64(id)
//	row.String(name)
//	if err := row.Err(); err != nil { ... } // ErrWindowFull: the row was rolled back
//
// Fields not set stay NULL. It writes the same bytes as the Put methods
// called for each column in turn, and may be mixed with them: Put methods
// called after it overwrite fields it set.
type RowWriter struct {
	w *Writer
	// col is the next field's column; it is past the last column once
	// every column is set or an error stuck.
	col int
	err error
}

// Row returns the RowWriter of the last row, positioned at column 0. The
// RowWriter belongs to w: it is valid until the next call of Row,
// AllocRow or any other method of w, and must not be used after them.
// Without a row (ErrNoRow) or on a sealed or closed writer, every field is
// ignored and Err reports why.
func (w *Writer) Row() *RowWriter {
	r := &w.row
	*r = RowWriter{w: w}
	switch {
	case w.state != stateOpen:
		r.fail(w.writable())
	case w.nrows == 0:
		r.fail(ErrNoRow)
	}
	return r
}

// Err returns the first error of the row's fields: nil, ErrWindowFull
// (the row did not fit and has been rolled back, as PutString reports
// it), ErrOutOfRange (more fields than columns), ErrTooLarge, ErrNoRow,
// ErrSealed or ErrClosed.
func (r *RowWriter) Err() error { return r.err }

// Null sets the next field to NULL.
func (r *RowWriter) Null() {
	if r.col >= r.w.ncols {
		r.tooMany()
		return
	}
	r.w.setNull(r.col)
	r.col++
}

// Int64 sets the next field to v.
func (r *RowWriter) Int64(v int64) { r.fixed(TypeInt64, uint64(v)) }

// Float64 sets the next field to v.
func (r *RowWriter) Float64(v float64) { r.fixed(TypeFloat64, math.Float64bits(v)) }

// fixed sets the next field to the 8-byte value v of type t: the fast
// path's store (tryFixed) when the column holds type t, else through the
// Put path, which types, converts and rolls back.
func (r *RowWriter) fixed(t FieldType, v uint64) {
	w, col := r.w, r.col
	if col < len(w.cols) && w.tryFixed(col, t, v) {
		r.col++
		return
	}
	r.slow(func() error { return w.putFixed(col, t, v) })
}

// String sets the next field to the string s (stored as it is; UTF-8 by
// convention). If it does not fit, the row is rolled back and Err reports
// ErrWindowFull.
func (r *RowWriter) String(s string) { putRowData(r, s, TypeString) }

// Blob sets the next field to a copy of b. If it does not fit, the row is
// rolled back and Err reports ErrWindowFull.
func (r *RowWriter) Blob(b []byte) { putRowData(r, b, TypeBlob) }

// putRowData sets the next field to v, of type t (STRING or BLOB): the
// fast path's copy (tryData) when the column holds type t and has room,
// else through the Put path.
func putRowData[T string | []byte](r *RowWriter, v T, t FieldType) {
	w, col := r.w, r.col
	if col < len(w.cols) && tryData(w, col, v, t) {
		r.col++
		return
	}
	r.slow(func() error { return putData(w, col, v, t) })
}

// slow sets the next field with put, a Put method, and records its
// error.
func (r *RowWriter) slow(put func() error) {
	if r.col >= r.w.ncols {
		r.tooMany()
		return
	}
	if err := put(); err != nil {
		r.fail(err)
		return
	}
	r.col++
}

// tooMany records a field beyond the last column, unless an error stuck.
func (r *RowWriter) tooMany() {
	if r.err == nil {
		r.fail(errTooManyFields)
	}
}

// errTooManyFields is a RowWriter's error for a field beyond the last
// column.
var errTooManyFields = fmt.Errorf("%w: more fields than columns", ErrOutOfRange)

// fail makes err stick: later fields are ignored.
func (r *RowWriter) fail(err error) {
	r.err, r.col = err, r.w.ncols
}
