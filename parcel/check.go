package parcel

import (
	"encoding/binary"
	"fmt"
)

// MaxNesting is the deepest nesting of msgpack arrays and maps a body may
// have. It bounds the decoder's recursion for values decoded into
// interface{} or recursive types.
const MaxNesting = 64

// checkBody walks the msgpack encoding in b without decoding it and
// checks that b holds exactly one value, that no length points past the
// end of b, that no array or map announces more elements than bytes remain
// (every element takes at least one byte), and that nesting stays within
// MaxNesting. The msgpack decoder preallocates slices from the announced
// element count, so this check is what bounds its allocations by the body
// size rather than by a peer's claim.
func checkBody(b []byte) error {
	var (
		stack [MaxNesting]uint64 // items left at each enclosing level
		depth int
		left  uint64 = 1 // items left at the current level
		i     int
	)
	size := uint64(len(b))
	// need reads an n-byte big-endian length at b[i:].
	need := func(n int) (uint64, error) {
		if uint64(i)+uint64(n) > size {
			return 0, fmt.Errorf("truncated at offset %d", i)
		}
		var v uint64
		switch n {
		case 1:
			v = uint64(b[i])
		case 2:
			v = uint64(binary.BigEndian.Uint16(b[i:]))
		case 4:
			v = uint64(binary.BigEndian.Uint32(b[i:]))
		}
		i += n
		return v, nil
	}
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
		if i >= len(b) {
			return fmt.Errorf("truncated at offset %d", i)
		}
		c := b[i]
		i++
		left--

		var (
			skip  uint64 // payload bytes to skip
			items uint64 // items of a new array or map level
			err   error
		)
		switch {
		case c <= 0x7f || c >= 0xe0: // positive and negative fixint
		case c <= 0x8f: // fixmap
			items = 2 * uint64(c&0x0f)
		case c <= 0x9f: // fixarray
			items = uint64(c & 0x0f)
		case c <= 0xbf: // fixstr
			skip = uint64(c & 0x1f)
		default:
			switch c {
			case 0xc0, 0xc2, 0xc3: // nil, false, true
			case 0xc4, 0xd9: // bin8, str8
				skip, err = need(1)
			case 0xc5, 0xda: // bin16, str16
				skip, err = need(2)
			case 0xc6, 0xdb: // bin32, str32
				skip, err = need(4)
			case 0xc7: // ext8: length, type
				skip, err = need(1)
				skip++
			case 0xc8: // ext16
				skip, err = need(2)
				skip++
			case 0xc9: // ext32
				skip, err = need(4)
				skip++
			case 0xcc, 0xd0: // uint8, int8
				skip = 1
			case 0xcd, 0xd1: // uint16, int16
				skip = 2
			case 0xca, 0xce, 0xd2: // float32, uint32, int32
				skip = 4
			case 0xcb, 0xcf, 0xd3: // float64, uint64, int64
				skip = 8
			case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1, 2, 4, 8, 16: type + data
				skip = 1 + 1<<(c-0xd4)
			case 0xdc: // array16
				items, err = need(2)
			case 0xdd: // array32
				items, err = need(4)
			case 0xde: // map16
				items, err = need(2)
				items *= 2
			case 0xdf: // map32
				items, err = need(4)
				items *= 2
			default: // 0xc1 is never used
				return fmt.Errorf("invalid type byte %#02x at offset %d", c, i-1)
			}
			if err != nil {
				return err
			}
		}
		if skip > size-uint64(i) {
			return fmt.Errorf("length %d at offset %d exceeds the %d bytes left", skip, i, size-uint64(i))
		}
		i += int(skip)
		if items > 0 {
			if items > size-uint64(i) {
				return fmt.Errorf("%d elements at offset %d exceed the %d bytes left", items, i, size-uint64(i))
			}
			if depth == MaxNesting {
				return fmt.Errorf("nesting deeper than %d at offset %d", MaxNesting, i)
			}
			stack[depth] = left
			depth++
			left = items
		}
	}
}
