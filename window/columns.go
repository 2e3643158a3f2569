package window

import (
	"math"
	"unsafe"
)

// Batch reads copy one column of a run of rows into a caller's slice: one
// call and one bounds check per run instead of per field, for scans that
// aggregate or hand a column on (database/sql, Arrow). Each reads rows
// from, from+1, ... into dst, as many as dst holds and the window has,
// and returns how many it read. Every slot is read once from the mapping
// and checked like a single-field read, so a window rewritten while it is
// read yields wrong values, never a read outside the region.

// Int64s reads column col of rows from.. into dst, converting as Int64
// does (NULL reads as 0). It stops at the first field that Int64 would
// refuse and returns its error with the count read before it.
func (w *Window) Int64s(col, from int, dst []int64) (int, error) {
	n, base, stride, ok := w.run(col, from, len(dst))
	if !ok {
		return 0, w.runErr(col, from)
	}
	p := w.runStart(base) // a local: stores into dst cannot change it
	for i := range dst[:n] {
		s := (*[SlotSize]byte)(unsafe.Add(p, -i*int(stride)))
		if s[offSlotType] == byte(TypeInt64) {
			dst[i] = int64(le.Uint64(s[:]))
			continue
		}
		v, err := w.int64Slow(from+i, col)
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
	n, base, stride, ok := w.run(col, from, len(dst))
	if !ok {
		return 0, w.runErr(col, from)
	}
	p := w.runStart(base)
	for i := range dst[:n] {
		s := (*[SlotSize]byte)(unsafe.Add(p, -i*int(stride)))
		if s[offSlotType] == byte(TypeFloat64) {
			dst[i] = math.Float64frombits(le.Uint64(s[:]))
			continue
		}
		v, err := w.float64Slow(from+i, col)
		if err != nil {
			return i, err
		}
		dst[i] = v
	}
	return n, nil
}

// Views reads the STRING and BLOB fields of column col of rows from..
// into dst without copying them: views into the window, valid only until
// Close, must not be modified. NULL and empty fields read as nil; INT64
// and FLOAT64 are ErrType (use Types to tell fields apart first).
func (w *Window) Views(col, from int, dst [][]byte) (int, error) {
	n, base, stride, ok := w.run(col, from, len(dst))
	if !ok {
		return 0, w.runErr(col, from)
	}
	b, p, dataEnd := w.b, w.runStart(base), w.dataEnd
	for i := range dst[:n] {
		s := (*[SlotSize]byte)(unsafe.Add(p, -i*int(stride)))
		if s[offSlotType]-byte(TypeString) <= 1 {
			// A non-empty range inside the heap: k-1 < dataEnd-v is
			// 0 < k <= dataEnd-v.
			v, k := le.Uint64(s[:]), uint64(le.Uint32(s[offSlotLen:]))
			if v >= headerSize && v <= dataEnd && k-1 < dataEnd-v {
				dst[i] = b[v : v+k : v+k]
				continue
			}
		}
		b, err := w.view(from+i, col, TypeBlob)
		if err != nil {
			return i, err
		}
		dst[i] = b
	}
	return n, nil
}

// Types reads the field types of column col of rows from.. into dst. A
// type byte outside the format is ErrCorrupt.
func (w *Window) Types(col, from int, dst []FieldType) (int, error) {
	n, base, stride, ok := w.run(col, from, len(dst))
	if !ok {
		return 0, w.runErr(col, from)
	}
	p := w.runStart(base)
	for i := range dst[:n] {
		t := FieldType((*[SlotSize]byte)(unsafe.Add(p, -i*int(stride)))[offSlotType])
		if t > TypeBlob {
			return i, w.typeErr(from+i, col, t, "a field")
		}
		dst[i] = t
	}
	return n, nil
}

// run returns how many rows from `from` a batch read of up to max rows
// takes, the offset of the first row's slot of col, and the distance
// between rows (slots grow down: row r+1 is stride bytes below row r). ok
// is false for a column or start out of range.
func (w *Window) run(col, from, max int) (n int, base, stride uint64, ok bool) {
	if uint64(uint(col)) >= w.ncols || uint64(uint(from)) > w.nrows || max < 0 {
		return 0, 0, 0, false
	}
	n = int(min(uint64(max), w.nrows-uint64(from)))
	if n == 0 {
		return 0, 0, w.rowSize, true
	}
	return n, w.size - (uint64(from)+1)*w.rowSize + uint64(col)*SlotSize, w.rowSize, true
}

// runStart returns the address of the first slot of a run that run
// found, base. Every slot of the run, base - i*stride for i < n, lies
// inside the region: run checked the rows and the column against the
// window's, so a batch read addresses them by hand, sparing each field
// the slice's bounds check and masking.
func (w *Window) runStart(base uint64) unsafe.Pointer {
	return unsafe.Pointer(&w.b[base : base+SlotSize][0])
}

// runErr is the error of a batch read whose column or start is out of
// range.
func (w *Window) runErr(col, from int) error {
	if w.closed || w.parked {
		return ErrClosed
	}
	return fieldErr(from, col, ErrOutOfRange)
}
