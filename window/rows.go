package window

import (
	"fmt"
	"math"
)

// Column receives one column of the rows a ReadRows call reads. Set the
// slices the column needs, each at least as long as the run to read;
// leave the others nil. A column with every slice nil is not read.
//
// With Types nil, set one value slice: the column reads as the batch read
// of that name does (Int64s and Float64s convert as Int64 and Float64 do,
// NULL reading as 0; Views refuses numbers with ErrType).
//
// With Types set, each field goes, unconverted, to the slice of its type
// if it is set: INT64 to Int64s, FLOAT64 to Float64s, STRING and BLOB to
// Views; NULL sets the row's element of each value slice set to its zero
// value. A field whose type's slice is nil is left to the caller, who
// knows its type from Types: a column of mixed types is read in one call.
//
// Views are views into the window: valid only until Close; must not be
// modified. An empty STRING or BLOB reads as an empty view, not nil:
// only NULL reads as nil.
type Column struct {
	Types    []FieldType
	Int64s   []int64
	Float64s []float64
	Views    [][]byte

	set uint8 // which slices are set (setTypes, ...), as ReadRows found them
}

// What a Column has set, in its set field.
const (
	setTypes = 1 << iota
	setInt64s
	setFloat64s
	setViews
)

// tileBytes bounds the slot bytes ReadRows reads per tile, so that a
// tile's cache lines, fetched from memory by its first column, are still
// in the L1 cache for the others.
const tileBytes = 16 << 10

// ReadRows reads columns 0 to len(cols)-1 of rows from, from+1, ... into
// cols (see Column for what goes where) and returns how many rows it
// read: as many as the window has from `from` and every slice set in cols
// holds. It reads the rows a tile at a time, every column of a tile
// before the next tile, so each row's slots (a cache line or two) are
// fetched from memory once for all the columns, and each column's loop
// over a tile is specialised for what it reads. It stops at the first
// field it cannot read (a type outside the format, a heap range outside
// the heap, a field its column cannot hold) and returns its error with
// the count of rows read whole before it.
//
// Every slot is read once from the mapping and checked against the values
// read when the window was opened, like a single-field read, so a window
// rewritten while it is read yields wrong values, never a read outside the
// region.
func (w *Window) ReadRows(from int, cols []Column) (int, error) {
	if uint64(len(cols)) > w.ncols || uint64(uint(from)) > w.nrows {
		return 0, w.runErr(len(cols)-1, from)
	}
	n := int(w.nrows - uint64(from))
	for c := range cols {
		k, err := cols[c].prepare(n)
		if err != nil {
			return 0, fieldErr(from, c, err)
		}
		n = k
	}
	tile := int(max(1, tileBytes/w.rowSize))
	for lo := 0; lo < n; lo += tile {
		hi := min(lo+tile, n)
		var first error
		for c := range cols {
			// After a field fails, the later columns read only the rows
			// before it: one of them may fail on an earlier row.
			if k, err := cols[c].read(w, c, from, lo, hi); err != nil {
				hi, first = k, err
			}
		}
		if first != nil {
			return hi, first
		}
	}
	return n, nil
}

// prepare records which slices c has set and returns n, or less if one of
// them is shorter.
func (c *Column) prepare(n int) (int, error) {
	c.set = 0
	for _, s := range []struct {
		bit uint8
		len int
		set bool
	}{
		{setTypes, len(c.Types), c.Types != nil},
		{setInt64s, len(c.Int64s), c.Int64s != nil},
		{setFloat64s, len(c.Float64s), c.Float64s != nil},
		{setViews, len(c.Views), c.Views != nil},
	} {
		if s.set {
			c.set |= s.bit
			n = min(n, s.len)
		}
	}
	switch c.set {
	case 0, setTypes, setInt64s, setFloat64s, setViews:
	default:
		if c.set&setTypes == 0 {
			return 0, fmt.Errorf("%w: a column of several value slices needs Types", ErrOutOfRange)
		}
	}
	return n, nil
}

// read reads rows lo to hi-1 of the run from `from` of column col into c,
// and returns the error of the first field it cannot read with the count
// of the run's rows read whole before it.
func (c *Column) read(w *Window, col, from, lo, hi int) (int, error) {
	var k int
	var err error
	switch c.set {
	case 0:
		return hi, nil
	case setTypes:
		k, err = w.Types(col, from+lo, c.Types[lo:hi])
	case setInt64s:
		k, err = w.Int64s(col, from+lo, c.Int64s[lo:hi])
	case setFloat64s:
		k, err = w.Float64s(col, from+lo, c.Float64s[lo:hi])
	case setViews:
		k, err = w.Views(col, from+lo, c.Views[lo:hi])
	default:
		k, err = c.readTyped(w, col, from, lo, hi)
	}
	return lo + k, err
}

// readTyped reads rows lo to hi-1 of column col, each field into the
// slice of its type (Types set). The window and the slices are held in
// locals: the stores into the slices cannot change them.
func (c *Column) readTyped(w *Window, col, from, lo, hi int) (int, error) {
	n, base, stride, ok := w.run(col, from+lo, hi-lo)
	if !ok || n != hi-lo {
		return 0, w.runErr(col, from+lo)
	}
	b, off, dataEnd := w.b, base, w.dataEnd
	types := c.Types[lo:hi]
	var ints []int64
	var floats []float64
	var views [][]byte
	if c.set&setInt64s != 0 {
		ints = c.Int64s[lo:hi]
	}
	if c.set&setFloat64s != 0 {
		floats = c.Float64s[lo:hi]
	}
	if c.set&setViews != 0 {
		views = c.Views[lo:hi]
	}
	for i := range types {
		s := b[off : off+SlotSize : off+SlotSize]
		off -= stride
		t, v := FieldType(s[offSlotType]), le.Uint64(s)
		types[i] = t
		switch t {
		case TypeInt64:
			if ints != nil {
				ints[i] = int64(v)
			}
		case TypeFloat64:
			if floats != nil {
				floats[i] = math.Float64frombits(v)
			}
		case TypeString, TypeBlob:
			if views == nil {
				continue
			}
			// k-1 < dataEnd-v: a non-empty range inside the heap.
			if k := uint64(le.Uint32(s[offSlotLen:])); v >= headerSize && v <= dataEnd && k-1 < dataEnd-v {
				views[i] = b[v : v+k : v+k]
			} else if k == 0 {
				views[i] = b[:0:0] // empty, not NULL: not nil
			} else {
				return i, fieldErr(from+lo+i, col, corruptf("heap range [%d, +%d) outside [%d, %d)", v, k, headerSize, dataEnd))
			}
		case TypeNull:
			c.null(lo + i)
		default:
			return i, fieldErr(from+lo+i, col, corruptf("field type %d", t))
		}
	}
	return n, nil
}

// null sets element i of each value slice set in c to its zero value.
func (c *Column) null(i int) {
	if c.set&setInt64s != 0 {
		c.Int64s[i] = 0
	}
	if c.set&setFloat64s != 0 {
		c.Float64s[i] = 0
	}
	if c.set&setViews != 0 {
		c.Views[i] = nil
	}
}
