package window

import (
	"fmt"
	"math"
)

// RowWriter sets the fields of a writer's last row in column order: the
// whole-row write path. It resolves the row's slots once, when Row returns
// it, so each field costs a few stores (and, for a STRING or BLOB, one
// copy) without a call or a column check: its methods inline. The first
// error sticks: later fields are ignored, and Err reports it.
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
	w   *Writer
	buf []byte // w.buf, where the row's slots are now
	// next is the offset of the next field's slot in buf and end the end
	// of the row's slots; next == end once every column is set or an
	// error stuck. Offsets, not a slice, so that setting a field stores
	// no pointer.
	next, end uint64
	// limit is the offset of the row's slots: the heap may grow up to it.
	limit uint64
	err   error
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
		r.err = w.writable()
	case w.nrows == 0:
		r.err = ErrNoRow
	default:
		r.at(0)
	}
	return r
}

// at points r at column col of the last row, where the slots are now.
func (r *RowWriter) at(col uint64) {
	w := r.w
	r.buf = w.buf
	r.limit = w.size - w.nrows*w.rowSize
	r.next, r.end = r.limit+col*SlotSize, r.limit+w.rowSize
}

// Err returns the first error of the row's fields: nil, ErrWindowFull
// (the row did not fit and has been rolled back, as PutString reports
// it), ErrOutOfRange (more fields than columns), ErrTooLarge, ErrNoRow,
// ErrSealed or ErrClosed.
func (r *RowWriter) Err() error { return r.err }

// Null sets the next field to NULL.
func (r *RowWriter) Null() { r.put(0, uint64(TypeNull)<<32) }

// Int64 sets the next field to v.
func (r *RowWriter) Int64(v int64) { r.put(uint64(v), uint64(TypeInt64)<<32) }

// Float64 sets the next field to v.
func (r *RowWriter) Float64(v float64) { r.put(math.Float64bits(v), uint64(TypeFloat64)<<32) }

// put writes the next slot: its value, then its length and type (the
// u32 length and the type byte, with zero reserved bytes, as one u64).
func (r *RowWriter) put(v, lenType uint64) {
	o := r.next
	if o >= r.end {
		if r.err == nil {
			r.err = errTooManyFields
		}
		return
	}
	s := r.buf[o : o+SlotSize : o+SlotSize]
	le.PutUint64(s, v)
	le.PutUint64(s[offSlotLen:], lenType)
	r.next = o + SlotSize
}

// String sets the next field to the string s (stored as it is; UTF-8 by
// convention). If it does not fit, the row is rolled back and Err reports
// ErrWindowFull.
func (r *RowWriter) String(s string) { putRowHeap(r, s, TypeString) }

// Blob sets the next field to a copy of b. If it does not fit, the row is
// rolled back and Err reports ErrWindowFull.
func (r *RowWriter) Blob(b []byte) { putRowHeap(r, b, TypeBlob) }

// putRowHeap sets the next field to v, of type t (STRING or BLOB): its bytes
// copied to the heap's end, the slot pointed at them.
func putRowHeap[T string | []byte](r *RowWriter, v T, t FieldType) {
	n, at := uint64(len(v)), r.w.dataEnd
	// n-1 >= room: n is 0 (no heap bytes) or more than the free space.
	if r.next >= r.end || n-1 >= r.limit-at {
		var ok bool
		if at, ok = r.heapSlow(len(v), t); !ok {
			return
		}
	}
	copy(r.buf[at:at+n], v)
	r.heapSlot(at, n, t)
}

// heapSlot points the next slot at the n heap bytes just copied to at,
// and moves the heap's end past them.
func (r *RowWriter) heapSlot(at, n uint64, t FieldType) {
	r.w.dataEnd = at + n
	le.PutUint64(r.buf[offDataEnd:], at+n)
	r.put(at, n|uint64(t)<<32)
}

// heapSlow handles a STRING or BLOB of n bytes that the fast path of
// String and Blob cannot: no column left, an empty value (written here), a
// value larger than the format allows, or one that needs the region to
// grow. It returns the heap's end, with ok true, once there is room there
// for the value's n bytes; ok is false when an error stuck or the empty
// value is written.
func (r *RowWriter) heapSlow(n int, t FieldType) (at uint64, ok bool) {
	switch {
	case r.next >= r.end:
		r.put(0, 0) // records errTooManyFields unless an error stuck
	case n == 0:
		r.put(0, uint64(t)<<32)
	case uint64(n) > maxFieldLen:
		r.fail(fmt.Errorf("%w: field of %d bytes", ErrTooLarge, n))
	default:
		w := r.w
		col := (r.next - r.limit) / SlotSize
		if err := w.grow(uint64(n)); err != nil {
			if rerr := w.FreeLastRow(); rerr != nil {
				err = rerr
			}
			r.fail(err)
			return 0, false
		}
		r.at(col) // the slots moved to the region's new end
		return w.dataEnd, true
	}
	return 0, false
}

// errTooManyFields is a RowWriter's error for a field beyond the last
// column.
var errTooManyFields = fmt.Errorf("%w: more fields than columns", ErrOutOfRange)

// fail makes err stick: later fields are ignored.
func (r *RowWriter) fail(err error) {
	r.err, r.next = err, r.end
}
