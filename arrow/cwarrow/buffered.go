package cwarrow

import (
	"math"
	"unicode/utf8"

	"github.com/cursorwindow/cursorwindow/window"
)

// buffered holds the first batch of a column whose type its values
// decide: every field's type and value, copied (the batch may span
// windows).
type buffered struct {
	types []window.FieldType
	nums  []uint64 // an INT64's value or a FLOAT64's bits; 0 otherwise
	ends  []int    // where each field's bytes end in data
	data  []byte
}

func (b *buffered) add(f *field) {
	var v uint64
	switch f.t {
	case window.TypeInt64:
		v = uint64(f.i)
	case window.TypeFloat64:
		v = math.Float64bits(f.f)
	case window.TypeString, window.TypeBlob:
		b.data = append(b.data, f.b...)
	}
	b.types = append(b.types, f.t)
	b.nums = append(b.nums, v)
	b.ends = append(b.ends, len(b.data))
}

// decide gives each column whose type its values decide that type, and
// builds its first batch (rows start to start+n-1 of the result): the
// type of its first non-NULL field, Float64 if it holds both INT64 and
// FLOAT64 fields, Null if it holds only NULLs. Any other mix is an
// error naming the first field that does not fit the fields before it.
func (r *Reader) decide(start int64, n int) error {
	for i := range r.cols {
		c := &r.cols[i]
		if c.decided {
			continue
		}
		b := c.buf
		c.typ = window.TypeNull
		for j, t := range b.types {
			switch {
			case t == window.TypeNull || t == c.typ:
			case c.typ == window.TypeNull:
				c.typ = t
			case c.typ == window.TypeInt64 && t == window.TypeFloat64,
				c.typ == window.TypeFloat64 && t == window.TypeInt64:
				c.typ = window.TypeFloat64
			default:
				return r.fieldErrAt(start+int64(j), i, t, ErrMixedTypes, "")
			}
		}
		c.decided = true
		r.setBuilder(c)
		if err := r.replay(c, i, start, n); err != nil {
			return err
		}
		c.buf = nil
	}
	return nil
}

// replay appends a column's buffered fields to its builder.
func (r *Reader) replay(c *column, col int, start int64, n int) error {
	b := c.buf
	from := 0
	c.b.Reserve(n)
	for j, t := range b.types {
		v := b.data[from:b.ends[j]]
		from = b.ends[j]
		switch {
		case t == window.TypeNull:
			c.b.AppendNull()
		case c.typ == window.TypeInt64:
			c.i64.Append(int64(b.nums[j]))
		case c.typ == window.TypeFloat64 && t == window.TypeInt64:
			if x := int64(b.nums[j]); x > maxExact || x < -maxExact {
				return r.fieldErrAt(start+int64(j), col, t, ErrMixedTypes, "an INT64 that a float64 does not hold exactly")
			}
			c.f64.Append(float64(int64(b.nums[j])))
		case c.typ == window.TypeFloat64:
			c.f64.Append(math.Float64frombits(b.nums[j]))
		case c.typ == window.TypeString && !utf8.Valid(v):
			return r.fieldErrAt(start+int64(j), col, t, ErrInvalidUTF8, "")
		default: // STRING or BLOB
			c.bin.Append(v)
		}
	}
	return nil
}
