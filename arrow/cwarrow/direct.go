package cwarrow

import (
	"encoding/binary"
	"math"
	"sync/atomic"
	"unicode/utf8"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/cursorwindow/cursorwindow/window"
)

// A batch over the window: the arrays' buffers are the window's own
// (docs/FORMAT.md lays a column out as Arrow does), held by the cursor
// (Cursor.HoldBlock) until the last buffer is released. A STRING or BLOB
// column's offsets, which arrow-go slices by without a check, are copied
// and checked, because the provider may rewrite a pooled window it
// shares (it is sealed with F_SEAL_FUTURE_WRITE). Numbers, bitmaps and
// string bytes are not copied, so such a rewrite never makes a read
// outside the window or a panic here; what it can do is give wrong
// values: a bitmap out of step with the null count taken at the batch's
// making (a NULL in a NOT NULL column), invalid UTF-8 in a String array.

// nativeLE reports a little-endian machine: the window's numbers are
// little-endian, an Arrow array's are the machine's.
var nativeLE = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// hold is the memory.Allocator of the buffers over one held window: each
// buffer takes a reference, freeing it drops one, and the last drop
// releases the window. It allocates nothing itself: arrow-go calls
// Allocate and Reallocate only for buffers that grow, and these never do.
type hold struct {
	refs    atomic.Int64
	release func()
}

func (h *hold) Allocate(n int) []byte { return make([]byte, n) }

func (h *hold) Reallocate(n int, b []byte) []byte {
	nb := make([]byte, n)
	copy(nb, b)
	return nb
}

func (h *hold) Free([]byte) { h.drop() }

func (h *hold) drop() {
	if h.refs.Add(-1) == 0 {
		h.release()
	}
}

// buffer returns a buffer over b, a view of the held window.
func (h *hold) buffer(b []byte) *memory.Buffer {
	h.refs.Add(1)
	return memory.NewBufferWithAllocator(b, h)
}

// aligned reports whether b starts on an 8-byte boundary: arrow-go reads
// numbers through a typed slice over the bytes.
func aligned(b []byte) bool {
	return len(b) == 0 || uintptr(unsafe.Pointer(unsafe.SliceData(b)))%8 == 0
}

// direct returns the arrays of rows row..row+k-1 of w over the window's
// buffers, taking references on h, or nil if some column cannot be read
// so: a mixed column, a column whose fields are not of its Arrow type,
// a NULL in a NOT NULL column, a STRING that is not valid UTF-8, a batch
// over the byte limits. The copying read then takes the batch, and
// reports the errors.
func (r *Reader) direct(w *window.Window, row, k int, h *hold) []arrow.Array {
	if !nativeLE || r.schema == nil {
		return nil
	}
	arrs := make([]arrow.Array, 0, len(r.cols))
	size := int64(0)
	for i := range r.cols {
		a, n := r.directColumn(&r.cols[i], i, w, row, k, h)
		if a == nil {
			releaseAll(arrs)
			return nil
		}
		arrs = append(arrs, a)
		size += n
	}
	if size > r.cfg.bytes && k > 1 {
		releaseAll(arrs)
		return nil
	}
	return arrs
}

func releaseAll(arrs []arrow.Array) {
	for _, a := range arrs {
		a.Release()
	}
}

// directColumn returns column col's array over the window and the bytes
// of values it counts against the batch limit (8 a number, 4 plus the
// length a STRING or BLOB), or nil.
func (r *Reader) directColumn(c *column, col int, w *window.Window, row, k int, h *hold) (arrow.Array, int64) {
	if !c.decided {
		return nil, 0
	}
	bs, err := w.Buffers(col)
	if err != nil || bs.Mixed || bs.Type != c.typ {
		return nil, 0 // an all-NULL window of a typed column is copied
	}
	if c.typ == window.TypeNull {
		return array.NewNull(k), 0
	}
	// The array starts at bit off of the bitmap's byte lo, and at row
	// from of the values, so that the bitmap need not be shifted.
	off := row & 7
	from, lo, hi := row-off, row>>3, (row+k+7)>>3
	var validity *memory.Buffer
	nulls := 0
	if bs.Validity != nil {
		if hi > len(bs.Validity) {
			return nil, 0
		}
		bits := bs.Validity[lo:hi]
		nulls = k - bitutil.CountSetBits(bits, off, k)
		if nulls > 0 && c.notNull {
			return nil, 0
		}
		if nulls > 0 {
			validity = h.buffer(bits)
		}
	}
	var (
		bufs = []*memory.Buffer{validity}
		size int64
		ok   bool
	)
	switch c.typ {
	case window.TypeInt64, window.TypeFloat64:
		end := 8 * (row + k)
		if ok = end <= len(bs.Values) && aligned(bs.Values); ok {
			bufs = append(bufs, h.buffer(bs.Values[8*from:end]))
			size = 8 * int64(k)
		}
	default:
		var offs, data *memory.Buffer
		offs, data, size, ok = r.directOffsets(c, bs, from, off+k, h)
		bufs = append(bufs, offs, data)
	}
	defer func() {
		for _, b := range bufs {
			if b != nil {
				b.Release() // the array's data holds its own references
			}
		}
	}()
	if !ok {
		return nil, 0
	}
	d := array.NewData(c.want, k, bufs, nil, nulls, off)
	defer d.Release()
	return array.MakeFromData(d), size
}

// directOffsets copies and checks the offsets of n rows from row from of
// a STRING or BLOB column, rebased to its data's first byte, and returns
// them with a buffer over that data and the bytes the rows count against
// the batch limit; ok false if an offset decreases or passes the data, a
// value is too large for the column's offsets, or a STRING is not valid
// UTF-8.
func (r *Reader) directOffsets(c *column, bs window.Buffers, from, n int, h *hold) (offs, data *memory.Buffer, size int64, ok bool) {
	if 4*(from+n+1) > len(bs.Values) {
		return nil, nil, 0, false
	}
	src := bs.Values[4*from : 4*(from+n+1)]
	first := binary.LittleEndian.Uint32(src)
	last := binary.LittleEndian.Uint32(src[4*n:])
	if first > last || uint64(last) > uint64(len(bs.Data)) || (!r.cfg.large && last-first > math.MaxInt32) {
		return nil, nil, 0, false
	}
	span := bs.Data[first:last]
	// A STRING's values must each be valid UTF-8: the span valid, and
	// cut at the first byte of a character (in ASCII, every byte is).
	runes := false
	if c.typ == window.TypeString && !isASCII(span) {
		if !utf8.Valid(span) {
			return nil, nil, 0, false
		}
		runes = true
	}
	width := arrow.Int32SizeBytes
	if r.cfg.large {
		width = arrow.Int64SizeBytes
	}
	offs = memory.NewResizableBuffer(r.cfg.mem)
	offs.Resize((n + 1) * width)
	// Each offset is read once, into the copy, and checked there: none
	// less than the one before nor past the span's end, so every one lies
	// in the span (shorter than 2 GiB: none is negative as an int32).
	var bad bool
	if r.cfg.large {
		bad = copyOffsets(arrow.Int64Traits.CastFromBytes(offs.Bytes()), src, first, last)
	} else {
		bad = copyOffsets(arrow.Int32Traits.CastFromBytes(offs.Bytes()), src, first, last)
	}
	if bad || (runes && !cutAtRunes(offs, r.cfg.large, span)) {
		offs.Release()
		return nil, nil, 0, false
	}
	return offs, h.buffer(span), 4*int64(n) + int64(last-first), true
}

// copyOffsets copies the u32 offsets src into dst, less base, and
// reports whether one is less than the one before it (or than base) or
// more than last.
func copyOffsets[T int32 | int64](dst []T, src []byte, base, last uint32) (bad bool) {
	prev := base
	for i := range dst {
		v := binary.LittleEndian.Uint32(src[4*i:])
		bad = bad || v < prev || v > last
		dst[i], prev = T(v-base), v
	}
	return bad
}

// cutAtRunes reports whether every copied offset (checked to lie in
// span) falls on the first byte of a character of span.
func cutAtRunes(offs *memory.Buffer, large bool, span []byte) bool {
	if large {
		for _, o := range arrow.Int64Traits.CastFromBytes(offs.Bytes()) {
			if o < int64(len(span)) && !utf8.RuneStart(span[o]) {
				return false
			}
		}
		return true
	}
	for _, o := range arrow.Int32Traits.CastFromBytes(offs.Bytes()) {
		if int(o) < len(span) && !utf8.RuneStart(span[o]) {
			return false
		}
	}
	return true
}

// isASCII reports whether b holds no byte of 0x80 or more.
func isASCII(b []byte) bool {
	var acc uint64
	for len(b) >= 32 {
		acc |= binary.LittleEndian.Uint64(b) | binary.LittleEndian.Uint64(b[8:]) |
			binary.LittleEndian.Uint64(b[16:]) | binary.LittleEndian.Uint64(b[24:])
		b = b[32:]
	}
	for len(b) >= 8 {
		acc |= binary.LittleEndian.Uint64(b)
		b = b[8:]
	}
	for _, c := range b {
		acc |= uint64(c)
	}
	return acc&0x8080808080808080 == 0
}
