package window

import (
	"math"
	"math/bits"
	"unsafe"
)

// Row is one row of a window, for the fastest checked reads: Window.Row
// and Row's accessors are small enough for the compiler to inline into
// the caller's loop, so a field costs a few instructions and no call.
//
// An accessor reads its field once and returns the value with ok true
// only when the field has the accessor's type in a column of that type
// (and, for Bytes, is a non-empty STRING or BLOB whose offsets lie inside
// the column's data). In every other case (NULL, another type, a field of
// a mixed column, whose values have several types, an empty string, a
// column out of range, damaged offsets, a closed window) ok is false: the
// caller then asks the Window's accessor of the same name, which reads
// mixed columns, converts what it can, reads NULL as the zero value and
// reports the rest as an error. Row.Type reads the type of any field. A window rewritten while it is read yields wrong
// values, never a read outside the region.
//
// A Row and the views it returns are valid until the window is closed;
// the views are the window's memory and must not be modified.
type Row struct {
	// Two words, which the compiler keeps in registers. Every access
	// checks the column against w's column count, which never changes
	// while a reader's window is open and is 0 once it is closed: a Row
	// of a closed window reads nothing.
	w *Window
	i uint64
}

// noWindow is the window of the Row that Row returns with ok false: no
// columns, so every accessor says no.
var noWindow Window

// Row returns row i, with ok false if the window has no row i (or is
// closed, or w is nil); that Row's accessors all say no. (The zero Row
// has no window: take Rows from Row, never declare one.)
func (w *Window) Row(i int) (r Row, ok bool) {
	if w == nil || uint64(uint(i)) >= w.nrows {
		return Row{w: &noWindow}, false
	}
	return Row{w, uint64(i)}, true
}

// Type returns the type of the field in column col, or 0xff for a column
// out of range.
func (r Row) Type(col int) FieldType {
	if uint64(uint(col)) < r.w.ncols {
		c := &r.w.cols[col]
		switch {
		case c.form == formMixed:
			return FieldType(c.types[r.i])
		case c.isValid(r.i):
			return FieldType(c.form)
		}
		return TypeNull
	}
	return 0xff
}

// Int64 returns the INT64 in column col, with ok false if the field is
// not an INT64 of a column of INT64s (see Row).
func (r Row) Int64(col int) (v int64, ok bool) {
	u, ok := r.w.fixed(r.i, col, TypeInt64)
	return int64(u), ok
}

// Float64 returns the FLOAT64 in column col, with ok false if the field
// is not a FLOAT64 of a column of FLOAT64s (see Row).
func (r Row) Float64(col int) (v float64, ok bool) {
	u, ok := r.w.fixed(r.i, col, TypeFloat64)
	return math.Float64frombits(u), ok
}

// fixed returns the value of row i (a row of the window) of column col,
// with ok true if the column holds values of type t only and this one is
// not NULL. The column's buffers were checked at open to hold every row,
// so it addresses them by hand.
func (w *Window) fixed(i uint64, col int, t FieldType) (v uint64, ok bool) {
	if uint64(uint(col)) < w.ncols {
		c := w.col(col)
		if c.form == uint8(t) && *(*byte)(unsafe.Add(c.vp, i>>3&c.vmask))>>(i&7)&1 != 0 {
			return le.Uint64((*[8]byte)(unsafe.Add(c.xp, i*8))[:]), true
		}
	}
	return 0, false
}

// col returns column col, which must be in range, without a bounds check.
func (w *Window) col(col int) *rcol {
	return (*rcol)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(w.cols)), uintptr(col)*unsafe.Sizeof(rcol{})))
}

// Bytes returns the bytes of the non-empty STRING or BLOB in column col
// without copying them, with ok false otherwise (see Row); a field of a
// mixed column says no too. They are valid until the window is closed.
//
// It reads no bitmap: a NULL's two offsets are equal (docs/FORMAT.md), as
// an empty value's are, and both say no.
func (r Row) Bytes(col int) (v []byte, ok bool) {
	if uint64(uint(col)) < r.w.ncols {
		if c := r.w.col(col); c.loadOffsets {
			x := (*[2]uint32)(unsafe.Add(c.xp, r.i*4))
			lo, hi := x[0], x[1]
			if bigEndian {
				lo, hi = bits.ReverseBytes32(lo), bits.ReverseBytes32(hi)
			}
			if lo < hi && uint64(hi) <= c.dn {
				return unsafe.Slice((*byte)(unsafe.Add(c.dp, lo)), hi-lo), true
			}
		}
	}
	return nil, false
}
