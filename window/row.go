package window

import (
	"math"
	"unsafe"
)

// Row is one row of a window, for the fastest checked reads: Window.Row
// and Row's accessors are small enough for the compiler to inline into
// the caller's loop, so a field costs a few instructions and no call.
//
// An accessor reads its field's slot once and returns the value with ok
// true only when the field has the accessor's type (and, for Bytes, is a
// non-empty STRING or BLOB whose bytes lie inside the heap the window was
// opened with). In every other case (NULL, another type, an empty
// string, a column out of range, a damaged slot, a closed window) ok is
// false: the caller then asks the Window's accessor of the same name,
// which converts what it can, reads NULL as the zero value and reports
// the rest as an error. A window rewritten while it is read yields wrong
// values, never a read outside the region.
//
// A Row and the views it returns are valid until the window is closed;
// the views are the window's memory and must not be modified.
type Row struct {
	// Two fields of four words in all, which the compiler keeps in
	// registers. Every access checks the column against w's column
	// count, which never changes while a reader's window is open and
	// is 0 once it is closed: a Row of a closed window reads nothing.
	w     *Window
	slots []byte // the row's slots
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
	off := w.size - (uint64(i)+1)*w.rowSize
	return Row{w, w.b[off : off+w.rowSize : off+w.rowSize]}, true
}

// at returns the 16 bytes of column col, which the caller has checked:
// col < r.w.ncols.
//
// The pointer arithmetic stays inside r.slots, which Row cut
// (bounds-checked) to the row's w.rowSize = w.ncols*SlotSize bytes. w.ncols
// is the count the slots were cut for: only Close (to 0) changes a
// reader's, and only a cached mapping's own Window (never one handed out)
// is parked or reloaded. Doing it by hand spares each field the slice's
// bounds check and pointer masking.
func (r Row) at(col int) *[SlotSize]byte {
	return (*[SlotSize]byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(r.slots)), uint(col)*SlotSize))
}

// Type returns the type of column col's field: a type byte outside the
// format as it is (the Window's accessors report it as ErrCorrupt), and
// 0xff, no type of the format, if the row has no column col.
func (r Row) Type(col int) FieldType {
	if uint64(uint(col)) < r.w.ncols {
		return FieldType(r.at(col)[offSlotType])
	}
	return 0xff
}

// Int64 returns column col's INT64, with ok false if the field is not one.
func (r Row) Int64(col int) (v int64, ok bool) {
	if uint64(uint(col)) < r.w.ncols {
		if s := r.at(col); s[offSlotType] == byte(TypeInt64) {
			return int64(le.Uint64(s[:])), true
		}
	}
	return 0, false
}

// Float64 returns column col's FLOAT64, with ok false if the field is not
// one.
func (r Row) Float64(col int) (v float64, ok bool) {
	if uint64(uint(col)) < r.w.ncols {
		if s := r.at(col); s[offSlotType] == byte(TypeFloat64) {
			return math.Float64frombits(le.Uint64(s[:])), true
		}
	}
	return 0, false
}

// Bytes returns column col's STRING or BLOB as a view into the window,
// with ok false unless the field is a non-empty STRING or BLOB whose bytes
// lie inside the heap (an empty one is the Window's Bytes to read).
func (r Row) Bytes(col int) (v []byte, ok bool) {
	// Written to the compiler's inlining budget: TestRowInlines fails if
	// a change makes it a call.
	if uint64(uint(col)) < r.w.ncols {
		s := r.at(col)
		// [a, e) is the field's range within the heap, which starts at
		// the header's end; e > a refuses an empty range and a wrap.
		a := le.Uint64(s[:]) - headerSize
		e := a + uint64(le.Uint32(s[offSlotLen:]))
		if s[offSlotType]-byte(TypeString) <= 1 && e > a && e <= uint64(len(r.w.heapb)) {
			v, ok = r.w.heapb[a:e:e], true
		}
	}
	return
}
