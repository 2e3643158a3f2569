package wire

import (
	"encoding/binary"
	"math"
	"strings"

	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// reader reads msgpack values from a body in place, each in the forms
// msgpack's decoder accepts for the Go type it is read into, with the
// same results. It reads the forms the Go peer writes and the plain
// variants of them; any other form (an array where a scalar may go, an
// extension, a nested array among a query's arguments) and anything
// invalid or out of bounds fails it, and the body goes to msgpack, which
// accepts it or says why not. Every length is checked against the bytes
// left before anything is read or allocated, so what it accepts passes
// parcel's structure check: one value, nesting two deep, every length
// within the body.
//
// Failure is sticky: once failed, every read returns a zero value, and
// the caller checks failed after each field.
type reader struct {
	b      []byte
	off    int
	failed bool
	// strs holds the message's strings, copied out of the body (which
	// parcel reuses) into one buffer instead of one allocation each. A
	// string or list that does not fit starts a new buffer; the strings
	// already copied keep the old one.
	strs strings.Builder
}

// stringSpare is how much room a new string buffer keeps, beyond the
// string or list at hand, for the strings that follow it: small, since
// the buffer lives as long as any of its strings (a result's column
// names, for the whole cursor).
const stringSpare = 64

func (r *reader) fail() { r.failed = true }

// left is the number of bytes not yet read.
func (r *reader) left() int { return len(r.b) - r.off }

// done reports whether the body was read whole, without failing.
func (r *reader) done() bool { return !r.failed && r.off == len(r.b) }

// code reads a type byte.
func (r *reader) code() byte {
	if r.failed || r.off >= len(r.b) {
		r.fail()
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

// take returns the next n bytes, in place.
func (r *reader) take(n uint64) []byte {
	if r.failed || n > uint64(r.left()) {
		r.fail()
		return nil
	}
	p := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return p
}

// uint reads a big-endian unsigned integer of width 1, 2, 4 or 8 bytes.
func (r *reader) uint(width int) uint64 {
	p := r.take(uint64(width))
	switch {
	case r.failed:
		return 0
	case width == 1:
		return uint64(p[0])
	case width == 2:
		return uint64(binary.BigEndian.Uint16(p))
	case width == 4:
		return uint64(binary.BigEndian.Uint32(p))
	}
	return binary.BigEndian.Uint64(p)
}

// mapLen reads the header of a map (not nil): its number of pairs, each
// at least two bytes.
func (r *reader) mapLen() int {
	c := r.code()
	var n uint64
	switch {
	case msgpcode.IsFixedMap(c):
		n = uint64(c & msgpcode.FixedMapMask)
	case c == msgpcode.Map16:
		n = r.uint(2)
	case c == msgpcode.Map32:
		n = r.uint(4)
	default:
		r.fail()
	}
	if r.failed || n > uint64(r.left())/2 {
		r.fail()
		return 0
	}
	return int(n)
}

// arrayLen reads the header of an array, or nil (-1), as DecodeArrayLen
// does: its number of elements, each at least one byte.
func (r *reader) arrayLen() int {
	c := r.code()
	var n uint64
	switch {
	case c == msgpcode.Nil:
		return -1
	case msgpcode.IsFixedArray(c):
		n = uint64(c & msgpcode.FixedArrayMask)
	case c == msgpcode.Array16:
		n = r.uint(2)
	case c == msgpcode.Array32:
		n = r.uint(4)
	default:
		r.fail()
	}
	if r.failed || n > uint64(r.left()) {
		r.fail()
		return 0
	}
	return int(n)
}

// integer reads an integer as DecodeUint64 and DecodeInt64 do: any
// integer form, nil as 0, the signed forms sign-extended to 64 bits (the
// two decoders differ only in the type they give those bits).
func (r *reader) integer() uint64 {
	c := r.code()
	switch {
	case msgpcode.IsFixedNum(c):
		return uint64(int8(c))
	case c == msgpcode.Nil:
		return 0
	case c == msgpcode.Uint8, c == msgpcode.Uint16, c == msgpcode.Uint32, c == msgpcode.Uint64:
		return r.uint(1 << (c - msgpcode.Uint8))
	case c == msgpcode.Int8:
		return uint64(int8(r.uint(1)))
	case c == msgpcode.Int16:
		return uint64(int16(r.uint(2)))
	case c == msgpcode.Int32:
		return uint64(int32(r.uint(4)))
	case c == msgpcode.Int64:
		return r.uint(8)
	}
	r.fail()
	return 0
}

// bool reads a bool as DecodeBool does: nil is false.
func (r *reader) bool() bool {
	switch r.code() {
	case msgpcode.True:
		return true
	case msgpcode.False, msgpcode.Nil:
		return false
	}
	r.fail()
	return false
}

// raw reads a str or a bin, or nil, as msgpack reads a string or a []byte
// (each accepts either): its bytes, in place, and whether it was nil.
func (r *reader) raw() (p []byte, isNil bool) {
	c := r.code()
	n, isNil := r.rawLen(c)
	return r.take(n), isNil
}

// rawLen reads the length that follows the type byte c of a str, a bin
// or nil.
func (r *reader) rawLen(c byte) (n uint64, isNil bool) {
	switch {
	case msgpcode.IsFixedString(c):
		return uint64(c & msgpcode.FixedStrMask), false
	case c == msgpcode.Str8, c == msgpcode.Bin8:
		return r.uint(1), false
	case c == msgpcode.Str16, c == msgpcode.Bin16:
		return r.uint(2), false
	case c == msgpcode.Str32, c == msgpcode.Bin32:
		return r.uint(4), false
	case c == msgpcode.Nil:
		return 0, true
	}
	r.fail()
	return 0, false
}

// key reads a map key as the decoder reads a struct's keys (a str, a bin
// or nil, which names no field): its bytes, in place.
func (r *reader) key() []byte {
	p, _ := r.raw()
	return p
}

// string reads a string as DecodeString does: a str, a bin or nil ("").
func (r *reader) string() string {
	p, _ := r.raw()
	return r.str(p)
}

// str copies p, just read, out of the body as a string.
func (r *reader) str(p []byte) string {
	if r.strs.Cap()-r.strs.Len() < len(p) {
		r.newStrings(len(p), r.left())
	}
	return r.copyString(p)
}

// strings reads a list of strings into *p as msgpack's decoder reads a
// []string: nil leaves *p as it was, an array replaces it, with a str, a
// bin or nil ("") for each string. The strings share one buffer.
func (r *reader) strings(p *[]string) {
	n := r.arrayLen()
	if r.failed || n < 0 {
		return
	}
	total, end := r.stringsLen(n)
	if r.strs.Cap()-r.strs.Len() < total {
		r.newStrings(total, len(r.b)-end)
	}
	s := make([]string, n)
	for i := range s {
		q, _ := r.raw()
		s[i] = r.copyString(q)
	}
	*p = s
}

// stringsLen returns how many bytes the n strings ahead hold, and where
// they end, without reading them.
func (r *reader) stringsLen(n int) (total, end int) {
	at := r.off
	for range n {
		size, _ := r.rawLen(r.code())
		r.take(size)
		total += int(size) // at most the body's length
	}
	if r.failed {
		return 0, 0
	}
	end, r.off = r.off, at
	return total, end
}

// newStrings starts a string buffer with room for need bytes and up to
// stringSpare more, never more than the after bytes left in the body
// after them can hold. The strings already copied keep the old one.
func (r *reader) newStrings(need, after int) {
	if r.failed {
		return
	}
	r.strs = strings.Builder{}
	r.strs.Grow(need + min(after, stringSpare))
}

// copyString copies p out of the body into the string buffer, which has
// room for it.
func (r *reader) copyString(p []byte) string {
	if len(p) == 0 || r.failed {
		return ""
	}
	// Bytes written to a Builder are never changed, and String returns
	// them without a copy: each string stays valid as the buffer fills.
	start := r.strs.Len()
	r.strs.Write(p)
	return r.strs.String()[start:]
}

// bytes reads a []byte as msgpack's decoder does: a bin or a str, copied,
// or nil.
func (r *reader) bytes() []byte {
	p, isNil := r.raw()
	if r.failed || isNil {
		return nil
	}
	return append(make([]byte, 0, len(p)), p...)
}

// int8s reads a []int8 as msgpack's reflection does: nil, or an array of
// integers in any form, each truncated to 8 bits.
func (r *reader) int8s() []int8 {
	n := r.arrayLen()
	if r.failed || n < 0 {
		return nil
	}
	s := make([]int8, n)
	for i := range s {
		s[i] = int8(r.integer())
	}
	return s
}

// args reads a query's arguments into *p as msgpack's reflection reads a
// []any, for arguments that are scalars: nil, or an array whose elements
// are what DecodeInterface makes of each form. A nested array or map, an
// extension, or a second list of arguments (which msgpack decodes into
// the first's elements) fails the reader.
func (r *reader) args(p *[]any) {
	n := r.arrayLen()
	switch {
	case r.failed:
		return
	case n < 0:
		*p = nil
		return
	case *p != nil:
		r.fail()
		return
	}
	s := make([]any, n)
	for i := range s {
		s[i] = r.arg()
	}
	*p = s
}

// arg reads a scalar as DecodeInterface does.
func (r *reader) arg() any {
	c := r.code()
	switch {
	case r.failed:
		return nil
	case msgpcode.IsFixedNum(c):
		return int8(c)
	case msgpcode.IsFixedString(c), c == msgpcode.Str8, c == msgpcode.Str16, c == msgpcode.Str32:
		n, _ := r.rawLen(c)
		return r.str(r.take(n))
	}
	switch c {
	case msgpcode.Nil:
		return nil
	case msgpcode.False:
		return false
	case msgpcode.True:
		return true
	case msgpcode.Float:
		return math.Float32frombits(uint32(r.uint(4)))
	case msgpcode.Double:
		return math.Float64frombits(r.uint(8))
	case msgpcode.Uint8:
		return uint8(r.uint(1))
	case msgpcode.Uint16:
		return uint16(r.uint(2))
	case msgpcode.Uint32:
		return uint32(r.uint(4))
	case msgpcode.Uint64:
		return r.uint(8)
	case msgpcode.Int8:
		return int8(r.uint(1))
	case msgpcode.Int16:
		return int16(r.uint(2))
	case msgpcode.Int32:
		return int32(r.uint(4))
	case msgpcode.Int64:
		return int64(r.uint(8))
	case msgpcode.Bin8, msgpcode.Bin16, msgpcode.Bin32:
		n, _ := r.rawLen(c)
		p := r.take(n)
		return append(make([]byte, 0, len(p)), p...)
	}
	r.fail()
	return nil
}

// skip skips the value of a key no field has, as Skip does, when it is a
// scalar (nil, a bool, a number, a str or a bin).
func (r *reader) skip() {
	c := r.code()
	switch {
	case msgpcode.IsFixedNum(c):
		return
	case msgpcode.IsFixedString(c):
		r.take(uint64(c & msgpcode.FixedStrMask))
		return
	}
	switch c {
	case msgpcode.Nil, msgpcode.False, msgpcode.True:
	case msgpcode.Uint8, msgpcode.Int8:
		r.take(1)
	case msgpcode.Uint16, msgpcode.Int16:
		r.take(2)
	case msgpcode.Uint32, msgpcode.Int32, msgpcode.Float:
		r.take(4)
	case msgpcode.Uint64, msgpcode.Int64, msgpcode.Double:
		r.take(8)
	case msgpcode.Str8, msgpcode.Str16, msgpcode.Str32, msgpcode.Bin8, msgpcode.Bin16, msgpcode.Bin32:
		n, _ := r.rawLen(c)
		r.take(n)
	default:
		r.fail()
	}
}
