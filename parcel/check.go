package parcel

import (
	"encoding/binary"
	"fmt"
)

// maxNesting is the deepest nesting of msgpack arrays and maps a body may
// have. It bounds the decoder's recursion for values decoded into
// interface{} or recursive types.
const maxNesting = 64

// checkBody walks the msgpack encoding in b without decoding it and
// checks that b holds exactly one value, that no length points past the
// end of b, that no array or map announces more elements than bytes remain
// (every element takes at least one byte), and that nesting stays within
// maxNesting. The msgpack decoder preallocates slices from the announced
// element count, so this check is what bounds its allocations by the body
// size rather than by a peer's claim.
func checkBody(b []byte) error {
	var (
		stack [maxNesting]uint64 // items left at each enclosing level
		depth int
		left  uint64 = 1 // items left at the current level
		i     int
	)
	size := uint64(len(b))
	for {
		for left == 0 {
			if depth == 0 {
				if i != len(b) {
					return fmt.Errorf("%d trailing bytes after the value", len(b)-i)
				}
				return nil
			}
			depth--
			left = stack[depth]
		}
		next, skip, items, err := typeHeader(b, i)
		if err != nil {
			return err
		}
		i = next
		left--
		if skip > size-uint64(i) {
			return fmt.Errorf("length %d at offset %d exceeds the %d bytes left", skip, i, size-uint64(i))
		}
		i += int(skip)
		if items > 0 {
			if items > size-uint64(i) {
				return fmt.Errorf("%d elements at offset %d exceed the %d bytes left", items, i, size-uint64(i))
			}
			if depth == maxNesting {
				return fmt.Errorf("nesting deeper than %d at offset %d", maxNesting, i)
			}
			stack[depth] = left
			depth++
			left = items
		}
	}
}

// typeHeader reads the msgpack type byte at b[i] and the length that
// follows it, if any. It returns the offset after them, the payload bytes
// to skip (of a number, string, binary or extension) and the elements of
// a new array or map (a map's keys and values counted apart). The payload
// and the elements are not checked against what remains of b.
func typeHeader(b []byte, i int) (next int, skip, items uint64, err error) {
	if i >= len(b) {
		return 0, 0, 0, fmt.Errorf("truncated at offset %d", i)
	}
	c := b[i]
	i++
	switch {
	case c <= 0x7f || c >= 0xe0: // positive and negative fixint
		return i, 0, 0, nil
	case c <= 0x8f: // fixmap
		return i, 0, 2 * uint64(c&0x0f), nil
	case c <= 0x9f: // fixarray
		return i, 0, uint64(c & 0x0f), nil
	case c <= 0xbf: // fixstr
		return i, uint64(c & 0x1f), 0, nil
	}
	switch c {
	case 0xc0, 0xc2, 0xc3: // nil, false, true
		return i, 0, 0, nil
	case 0xcc, 0xd0: // uint8, int8
		return i, 1, 0, nil
	case 0xcd, 0xd1: // uint16, int16
		return i, 2, 0, nil
	case 0xca, 0xce, 0xd2: // float32, uint32, int32
		return i, 4, 0, nil
	case 0xcb, 0xcf, 0xd3: // float64, uint64, int64
		return i, 8, 0, nil
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1, 2, 4, 8, 16: type + data
		return i, 1 + 1<<(c-0xd4), 0, nil
	}
	// A big-endian length of width bytes follows: of a payload (plus an
	// extension's type byte), or of an array's elements or a map's pairs
	// (perItem elements each).
	var (
		width   int
		plus    uint64
		perItem uint64
	)
	switch c {
	case 0xc4, 0xd9: // bin8, str8
		width = 1
	case 0xc5, 0xda: // bin16, str16
		width = 2
	case 0xc6, 0xdb: // bin32, str32
		width = 4
	case 0xc7, 0xc8, 0xc9: // ext8, ext16, ext32: length, type
		width, plus = 1<<(c-0xc7), 1
	case 0xdc, 0xdd: // array16, array32
		width, perItem = 2<<(c-0xdc), 1
	case 0xde, 0xdf: // map16, map32
		width, perItem = 2<<(c-0xde), 2
	default: // 0xc1 is never used
		return 0, 0, 0, fmt.Errorf("invalid type byte %#02x at offset %d", c, i-1)
	}
	if uint64(i)+uint64(width) > uint64(len(b)) {
		return 0, 0, 0, fmt.Errorf("truncated at offset %d", i)
	}
	var n uint64
	switch width {
	case 1:
		n = uint64(b[i])
	case 2:
		n = uint64(binary.BigEndian.Uint16(b[i:]))
	case 4:
		n = uint64(binary.BigEndian.Uint32(b[i:]))
	}
	i += width
	if perItem > 0 {
		return i, 0, n * perItem, nil
	}
	return i, n + plus, 0, nil
}
