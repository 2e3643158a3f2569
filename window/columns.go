package window

import (
	"math"
	"unsafe"
)

// Batch reads copy one column of a run of rows into a caller's slice: one
// call and one bounds check per run instead of per field, for scans that
// aggregate or hand a column on (database/sql, Arrow). Each reads rows
// from, from+1, ... into dst, as many as dst holds and the window has,
// and returns how many it read. Every field is read once from the mapping
// and checked like a single-field read, so a window rewritten while it is
// read yields wrong values, never a read outside the region.

// Int64s reads column col of rows from.. into dst, converting as Int64
// does (NULL reads as 0). It stops at the first field that Int64 would
// refuse and returns its error with the count read before it.
func (w *Window) Int64s(col, from int, dst []int64) (int, error) {
	n, c, err := w.run(col, from, len(dst))
	if err != nil {
		return 0, err
	}
	if c.form == uint8(TypeInt64) && c.valid == nil {
		vals := c.values[8*from:][:8*n]
		for i := range dst[:n] {
			dst[i] = int64(le.Uint64(vals[8*i:]))
		}
		return n, nil
	}
	for i := range dst[:n] {
		v, err := w.Int64(from+i, col)
		if err != nil {
			return i, err
		}
		dst[i] = v
	}
	return n, nil
}

// Float64s reads column col of rows from.. into dst, converting as
// Float64 does (NULL reads as 0).
func (w *Window) Float64s(col, from int, dst []float64) (int, error) {
	n, c, err := w.run(col, from, len(dst))
	if err != nil {
		return 0, err
	}
	if c.form == uint8(TypeFloat64) && c.valid == nil {
		vals := c.values[8*from:][:8*n]
		for i := range dst[:n] {
			dst[i] = math.Float64frombits(le.Uint64(vals[8*i:]))
		}
		return n, nil
	}
	for i := range dst[:n] {
		v, err := w.Float64(from+i, col)
		if err != nil {
			return i, err
		}
		dst[i] = v
	}
	return n, nil
}

// Int64Values returns column col's values as a slice over the window,
// one a row, when col is an INT64 column: a scan reads them in place,
// with no call and no check per row. A NULL's value is what its writer
// put there (0 from a conforming writer): IsNull, or the Validity of
// Buffers, tells NULLs apart. The slice is a view of the window, valid
// only until Close; it must not be modified.
//
// ok is false when the column is not an INT64 column (mixed, or of
// another type), for a window of no rows or one closed, and where the
// window's little-endian values cannot be
// viewed as []int64 (a big-endian machine, or the bytes of an inline
// window not 8-byte aligned in memory): read it with Int64s then.
func (w *Window) Int64Values(col int) (vals []int64, ok bool) {
	p, n, ok := w.fixedView(col, TypeInt64)
	if !ok {
		return nil, false
	}
	return unsafe.Slice((*int64)(p), n), true
}

// Float64Values is Int64Values for a FLOAT64 column.
func (w *Window) Float64Values(col int) (vals []float64, ok bool) {
	p, n, ok := w.fixedView(col, TypeFloat64)
	if !ok {
		return nil, false
	}
	return unsafe.Slice((*float64)(p), n), true
}

// fixedView returns the first byte and the row count of column col's
// values if it is a column of type t whose values can be viewed as
// native 8-byte numbers. The values buffer holds 8 bytes a row (checked
// at open), so a slice of n numbers from p stays inside it.
func (w *Window) fixedView(col int, t FieldType) (unsafe.Pointer, int, bool) {
	if bigEndian || uint64(uint(col)) >= w.ncols || w.nrows == 0 {
		return nil, 0, false
	}
	c := &w.cols[col]
	if c.form != uint8(t) || uintptr(c.xp)%8 != 0 {
		return nil, 0, false
	}
	return c.xp, int(w.nrows), true
}

// Views reads the STRING and BLOB fields of column col of rows from..
// into dst without copying them: views into the window, valid only until
// Close, must not be modified. NULL and empty fields read as nil; INT64
// and FLOAT64 are ErrType (use Types to tell fields apart first).
func (w *Window) Views(col, from int, dst [][]byte) (int, error) {
	n, c, err := w.run(col, from, len(dst))
	if err != nil {
		return 0, err
	}
	typed := isVar(c.form)
	for i := range dst[:n] {
		r := uint64(from + i)
		if typed && !c.isValid(r) {
			dst[i] = nil // NULL
			continue
		}
		if typed {
			if b, err := c.span(r); err == nil {
				dst[i] = nil
				if len(b) > 0 {
					dst[i] = b
				}
				continue
			}
		}
		b, err := w.view(from+i, col, TypeBlob)
		if err != nil {
			return i, err
		}
		dst[i] = nil
		if len(b) > 0 {
			dst[i] = b
		}
	}
	return n, nil
}

// Types reads the field types of column col of rows from.. into dst. A
// type byte outside the format is ErrCorrupt.
func (w *Window) Types(col, from int, dst []FieldType) (int, error) {
	n, _, err := w.run(col, from, len(dst))
	if err != nil {
		return 0, err
	}
	for i := range dst[:n] {
		t, err := w.Type(from+i, col)
		if err != nil {
			return i, err
		}
		dst[i] = t
	}
	return n, nil
}

// run returns how many rows from `from` a batch read of up to max rows
// takes, and the column, or the error of a column or start out of range.
func (w *Window) run(col, from, max int) (int, *rcol, error) {
	if uint64(uint(col)) >= w.ncols || uint64(uint(from)) > w.nrows || max < 0 {
		return 0, nil, w.accessErr(from, col)
	}
	return int(min(uint64(max), w.nrows-uint64(from))), &w.cols[col], nil
}

// Buffers is one column of a window as the buffers docs/FORMAT.md
// describes, for a reader that hands them on whole (Arrow arrays over the
// window's memory, say). Every slice is a view of the window, valid until
// Close, and must not be modified.
type Buffers struct {
	// Type is the type of every non-NULL value of the column; TypeNull
	// when every value is NULL (and the only buffer is Validity, all
	// zeros).
	Type FieldType
	// Mixed reports a column whose values have several types: it has no
	// buffers here; read it with the accessors.
	Mixed bool
	// Validity is the bitmap, a bit a row, least significant bit first,
	// 1 for a value and 0 for NULL; nil when no value is NULL.
	Validity []byte
	// Values holds 8 bytes a row, little-endian, for INT64 and FLOAT64;
	// for STRING and BLOB, numRows+1 little-endian uint32 offsets into
	// Data. Offsets are checked by every accessor, not here: a caller
	// reading them itself must check that they do not decrease and do
	// not pass len(Data).
	Values []byte
	// Data holds the bytes of a STRING or BLOB column.
	Data []byte
}

// Buffers returns column col's buffers.
func (w *Window) Buffers(col int) (Buffers, error) {
	if uint64(uint(col)) >= w.ncols {
		return Buffers{}, w.accessErr(0, col)
	}
	c := &w.cols[col]
	if c.form == formMixed {
		return Buffers{Mixed: true}, nil
	}
	return Buffers{Type: FieldType(c.form), Validity: c.valid, Values: c.values, Data: c.data}, nil
}
