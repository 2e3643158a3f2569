// Package layoutstudy measures what a column-major window layout would
// read at, against window format version 1's row-major slots: the
// evidence for docs/PERFORMANCE-LOG.md's "A column-major window: the study".
//
// It is a study, not a format: it lays the harness's wide table out the
// way Arrow lays out a record batch (per column a values buffer, for
// strings and blobs an offsets buffer and a heap, and a validity bitmap),
// in one region, behind a directory of buffer offsets. Open checks the
// directory and every offsets buffer once; the reads are then plain Go
// slices over the region, with a per-field range check kept for strings
// and blobs so that a writer rewriting a reusable region can produce
// wrong values but never a read outside it. Nothing in the library uses
// it.
package layoutstudy

import (
	"encoding/binary"
	"errors"
	"unsafe"

	"github.com/cursorwindow/cursorwindow/bench/internal/table"
)

// ErrCorrupt is the error of a region Open refuses.
var ErrCorrupt = errors.New("layoutstudy: corrupt region")

// The region: a 64-byte header (rows, then the directory's 8 offsets),
// then the buffers, each starting on an 8-byte boundary:
//
//	ids      int64 x rows
//	fares    float64 x rows
//	cityOff  uint32 x (rows+1), cityHeap
//	blobOff  uint32 x (rows+1), blobHeap
//	valid    one bit a row per column (all four columns)
const (
	headerSize = 64
	nBuffers   = 7 // ids, fares, cityOff, cityHeap, blobOff, blobHeap, valid
)

var le = binary.LittleEndian

// Encode lays out the first n rows of a wide table in a new region.
func Encode(t *table.Table, n int) []byte {
	sizes := [nBuffers]int{
		8 * n, 8 * n,
		4 * (n + 1), n * table.CityLen,
		4 * (n + 1), n * table.BlobLen,
		4 * ((n + 7) / 8),
	}
	var offs [nBuffers]int
	end := headerSize
	for i, s := range sizes {
		offs[i] = end
		end = (end + s + 7) &^ 7
	}
	b := make([]byte, end)
	le.PutUint64(b[0:], uint64(n))
	for i, o := range offs {
		le.PutUint64(b[8+8*i:], uint64(o))
	}
	var city, blob uint32
	for i := range n {
		le.PutUint64(b[offs[0]+8*i:], uint64(t.IDs[i]))
		le.PutUint64(b[offs[1]+8*i:], *(*uint64)(unsafe.Pointer(&t.Fares[i])))
		le.PutUint32(b[offs[2]+4*i:], city)
		city += uint32(copy(b[offs[3]+int(city):], t.Cities[i]))
		le.PutUint32(b[offs[4]+4*i:], blob)
		blob += uint32(copy(b[offs[5]+int(blob):], t.Blobs[i]))
	}
	le.PutUint32(b[offs[2]+4*n:], city)
	le.PutUint32(b[offs[4]+4*n:], blob)
	for i := range sizes[6] {
		b[offs[6]+i] = 0xff // no NULLs
	}
	return b
}

// Batch is an opened region: its buffers as Go slices over it.
type Batch struct {
	IDs      []int64
	Fares    []float64
	cityOff  []uint32
	city     []byte
	blobOff  []uint32
	blob     []byte
	valid    []byte
	AllValid bool // no NULL anywhere: the scan need not test the bitmap
}

// Open checks a region's directory and offsets once and returns its
// buffers. b must be 8-byte aligned, as a mapping is.
func Open(b []byte) (*Batch, error) {
	if len(b) < headerSize || uintptr(unsafe.Pointer(unsafe.SliceData(b)))%8 != 0 {
		return nil, ErrCorrupt
	}
	n := le.Uint64(b)
	if n > uint64(len(b))/8 {
		return nil, ErrCorrupt
	}
	rows := int(n)
	var offs [nBuffers + 1]uint64
	for i := range nBuffers {
		offs[i] = le.Uint64(b[8+8*i:])
	}
	offs[nBuffers] = uint64(len(b))
	for i := range nBuffers {
		if offs[i] < headerSize || offs[i]%8 != 0 || offs[i] > offs[i+1] {
			return nil, ErrCorrupt
		}
	}
	buf := func(i int) []byte { return b[offs[i]:offs[i+1]] }
	need := [nBuffers]uint64{8 * n, 8 * n, 4 * (n + 1), 0, 4 * (n + 1), 0, 4 * ((n + 7) / 8)}
	for i, s := range need {
		if uint64(len(buf(i))) < s {
			return nil, ErrCorrupt
		}
	}
	bt := &Batch{
		IDs:     unsafe.Slice((*int64)(unsafe.Pointer(unsafe.SliceData(buf(0)))), rows),
		Fares:   unsafe.Slice((*float64)(unsafe.Pointer(unsafe.SliceData(buf(1)))), rows),
		cityOff: unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(buf(2)))), rows+1),
		city:    buf(3),
		blobOff: unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(buf(4)))), rows+1),
		blob:    buf(5),
		valid:   buf(6)[:(rows+7)/8],
	}
	if !monotone(bt.cityOff, len(bt.city)) || !monotone(bt.blobOff, len(bt.blob)) {
		return nil, ErrCorrupt
	}
	bt.AllValid = true
	for _, v := range bt.valid {
		bt.AllValid = bt.AllValid && v == 0xff
	}
	return bt, nil
}

// monotone reports whether offs never falls and ends inside a heap of
// size bytes: the check Open makes once for a sealed region.
func monotone(offs []uint32, size int) bool {
	prev := offs[0]
	for _, o := range offs[1:] {
		if o < prev {
			return false
		}
		prev = o
	}
	return int(prev) <= size
}

// Len returns the rows.
func (bt *Batch) Len() int { return len(bt.IDs) }

// CityLen and BlobLen return the length of row i's string and blob, 0
// for a range a rewriting writer has made impossible (the per-field check
// a reusable region keeps).
func (bt *Batch) CityLen(i int) int { return span(bt.cityOff, len(bt.city), i) }

// BlobLen is CityLen's twin for the blob column.
func (bt *Batch) BlobLen(i int) int { return span(bt.blobOff, len(bt.blob), i) }

// City returns row i's string as a view, nil for an impossible range.
func (bt *Batch) City(i int) []byte {
	lo, hi := bt.cityOff[i], bt.cityOff[i+1]
	if lo <= hi && int(hi) <= len(bt.city) {
		return bt.city[lo:hi:hi]
	}
	return nil
}

func span(offs []uint32, size, i int) int {
	lo, hi := offs[i], offs[i+1]
	if lo <= hi && int(hi) <= size {
		return int(hi - lo)
	}
	return 0
}

// unsafeBytes views words as bytes: an 8-byte aligned buffer.
func unsafeBytes(words []uint64) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), 8*len(words))
}
