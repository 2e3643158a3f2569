package window

import (
	"cmp"
	"slices"
)

// column is the writer's state of one column: its form, where its
// buffers' areas are in the region, and what they hold. An area may be
// larger than its buffer (room for more rows, or more data); a buffer
// starts at the start of its area.
type column struct {
	// form is the FieldType of every non-NULL value so far (TypeNull
	// while there is none), or formMixed.
	form uint8
	// nonNull counts the rows whose field is not NULL.
	nonNull uint64
	// valid, values, types and data are the offsets of the column's
	// areas in the region, in this order. The validity area holds a bit
	// a row; the values area 8 bytes a row (4 a row and one more for the
	// offsets of a STRING or BLOB column); the types area, of a mixed
	// column only, a byte a row.
	valid, values, types, data uint64
	// dataCap is the size of the data area, dataLen the bytes used.
	dataCap, dataLen uint64
	// mark is dataLen when the last row was allocated: where a value put
	// again into the last row starts.
	mark uint64
	// hint is an estimate of the data bytes a row takes, carried from
	// fill to fill by Reset, so a refill is laid out from its start.
	hint float64
}

// fixedEighths returns the bytes a row takes in the column's validity,
// values and types areas, in eighths of a byte.
func (c *column) fixedEighths() uint64 {
	switch {
	case c.form == formMixed:
		return 1 + 8*8 + 8
	case isVar(c.form):
		return 1 + 4*8
	}
	return 1 + 8*8
}

// valuesLen returns the bytes of a values buffer of n rows in form f.
func valuesLen(f uint8, n uint64) uint64 {
	if isVar(f) {
		return 4 * (n + 1)
	}
	return 8 * n
}

// validLen returns the bytes of a bitmap of n rows.
func validLen(n uint64) uint64 { return (n + 7) / 8 }

// place lays the columns' areas out one after another from the end of
// the directory, for capacity rows a column, with each column's data area
// of dataCap bytes, and returns the end of the last area.
func place(cols []column, capacity uint64) uint64 {
	off := directoryEnd(len(cols))
	for i := range cols {
		c := &cols[i]
		c.valid = off
		off += alignUp(validLen(capacity))
		c.values = off
		off += alignUp(valuesLen(c.form, capacity))
		c.types = off
		if c.form == formMixed {
			off += alignUp(capacity)
		}
		c.data = off
		off += alignUp(c.dataCap)
	}
	return off
}

// placeExact lays out the buffers of n rows as a sealed window holds
// them: no room to spare, no bitmap for a column without NULLs, only a
// bitmap for a column of NULLs only. It returns the end.
func placeExact(cols []column, n uint64) uint64 {
	off := directoryEnd(len(cols))
	for i := range cols {
		c := &cols[i]
		c.valid = off
		if c.hasValidity(n) {
			off += alignUp(validLen(n))
		}
		c.values = off
		if c.form != uint8(TypeNull) {
			off += alignUp(valuesLen(c.form, n))
		}
		c.types = off
		if c.form == formMixed {
			off += alignUp(n)
		}
		c.data = off
		c.dataCap = c.dataLen
		off += alignUp(c.dataLen)
	}
	return off
}

// hasValidity reports whether a column of n rows has a bitmap: a typed
// column some of whose fields are NULL, or a column of NULLs only (whose
// bitmap of zeros makes every row cost a bit: a window cannot claim more
// rows than its bytes can hold).
func (c *column) hasValidity(n uint64) bool {
	return c.form != formMixed && c.nonNull < n || c.form == uint8(TypeNull)
}

// span is one buffer to move: its used bytes at from, to go to to.
type span struct{ from, to, n uint64 }

// spans appends the buffers of n rows of the columns, as they lie in old
// and are to lie in cur, to dst. A column converted to the mixed form
// (conv) moves only its data: its other buffers are rewritten.
func spans(dst []span, old, cur []column, n uint64, conv int) []span {
	for i := range cur {
		o, c := &old[i], &cur[i]
		if i != conv {
			dst = append(dst,
				span{o.valid, c.valid, validLen(n)},
				span{o.values, c.values, valuesLen(o.form, n)},
				span{o.types, c.types, 0})
			if o.form == formMixed {
				dst[len(dst)-1].n = n
			}
		}
		dst = append(dst, span{o.data, c.data, o.dataLen})
	}
	return dst
}

// mergeSpans sorts ss by their from and merges those that overlap or
// touch, in place: the same bytes in as few spans as can hold them.
func mergeSpans(ss []span) []span {
	slices.SortFunc(ss, func(a, b span) int { return cmp.Compare(a.from, b.from) })
	out := ss[:0]
	for _, s := range ss {
		if s.n == 0 {
			continue
		}
		if k := len(out) - 1; k >= 0 && s.from <= out[k].from+out[k].n {
			out[k].n = max(out[k].n, s.from+s.n-out[k].from)
			continue
		}
		out = append(out, s)
	}
	return out
}

// moveSpans moves the spans within b. The spans are in the same order in
// their old and new places and do not overlap in either, so moving those
// that go down in ascending order and then those that go up in descending
// order never overwrites a span not yet moved.
func moveSpans(b []byte, ss []span) {
	for _, s := range ss {
		if s.to < s.from && s.n > 0 {
			copy(b[s.to:s.to+s.n], b[s.from:s.from+s.n])
		}
	}
	for _, s := range slices.Backward(ss) {
		if s.to > s.from && s.n > 0 {
			copy(b[s.to:s.to+s.n], b[s.from:s.from+s.n])
		}
	}
}

// copySpans copies the spans from src to dst, another region.
func copySpans(dst, src []byte, ss []span) {
	for _, s := range ss {
		copy(dst[s.to:s.to+s.n], src[s.from:s.from+s.n])
	}
}

// toMixed writes the values and types of column c, converted to the mixed
// form, from the buffers of its typed form o kept in saved: its bitmap
// (validLen(n) bytes) then its values.
func toMixed(b []byte, o, c *column, saved []byte, n uint64) {
	bits, vals := saved[:validLen(n)], saved[alignUp(validLen(n)):]
	for r := range n {
		t, v := uint8(0), uint64(0)
		if bits[r>>3]>>(r&7)&1 != 0 {
			t = o.form
			if isVar(o.form) {
				lo, hi := le.Uint32(vals[4*r:]), le.Uint32(vals[4*r+4:])
				v = uint64(lo) | uint64(hi-lo)<<32
			} else {
				v = le.Uint64(vals[8*r:])
			}
		}
		b[c.types+r] = t
		le.PutUint64(b[c.values+8*r:], v)
	}
}

// putDirectory writes the header's row count and size and the directory
// entries of the columns, whose buffers hold n rows.
func putDirectory(b []byte, cols []column, n, size uint64) {
	le.PutUint32(b[offNumRows:], uint32(n))
	le.PutUint64(b[offSize:], size)
	for i := range cols {
		c := &cols[i]
		e := b[headerSize+uint64(i)*entrySize:][:entrySize:entrySize]
		clear(e)
		e[offEntryForm] = c.form
		if c.hasValidity(n) {
			e[offEntryFlags] = entryValidity
			le.PutUint64(e[offEntryValid:], c.valid)
			if r := n & 7; r != 0 {
				b[c.valid+n/8] &= 1<<r - 1 // no stale bits past the last row
			}
		}
		if c.form == uint8(TypeNull) {
			continue
		}
		le.PutUint64(e[offEntryValues:], c.values)
		if c.form == formMixed {
			le.PutUint64(e[offEntryTypes:], c.types)
		}
		if isVar(c.form) || c.form == formMixed {
			le.PutUint64(e[offEntryData:], c.data)
			le.PutUint64(e[offEntryLen:], c.dataLen)
		}
	}
}

// liveBuffers appends the buffers the directory of n rows shows, in
// order, to dst: what a reader may read.
func liveBuffers(dst []span, cols []column, n uint64) []span {
	for i := range cols {
		c := &cols[i]
		if c.hasValidity(n) {
			dst = append(dst, span{c.valid, c.valid, validLen(n)})
		}
		if c.form == uint8(TypeNull) {
			continue
		}
		dst = append(dst, span{c.values, c.values, valuesLen(c.form, n)})
		if c.form == formMixed {
			dst = append(dst, span{c.types, c.types, n})
		}
		if c.dataLen > 0 {
			dst = append(dst, span{c.data, c.data, c.dataLen})
		}
	}
	return dst
}

// exactLengths trims spans made by spans (with no converted column) to
// the buffers the exact layout cur holds: no bitmap for a column without
// NULLs, no values for a column of NULLs only.
func exactLengths(ss []span, cur []column, n uint64) []span {
	for i := range cur {
		c, s := &cur[i], ss[4*i:4*i+4]
		if !c.hasValidity(n) {
			s[0].n = 0
		}
		if c.form == uint8(TypeNull) {
			s[1].n = 0
		}
	}
	return ss
}
