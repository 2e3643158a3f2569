package parcel

import (
	"encoding/binary"
	"fmt"
)

// Frame header layout, little-endian; docs/PROTOCOL.md describes it byte by
// byte.
const (
	offMagic    = 0  // [4]byte "CWPL"
	offVersion  = 4  // uint8
	offFlags    = 5  // uint8, no flags defined in version 1
	offType     = 6  // uint16 message type code
	offBodyLen  = 8  // uint32 body length in bytes
	offFDCount  = 12 // uint16 number of attached descriptors
	offReserved = 14 // uint16, zero in version 1

	// HeaderSize is the size in bytes of the fixed frame header.
	HeaderSize = 16

	// version is the frame format version this package writes and reads.
	version = 1
)

// magic starts every frame.
var magic = [4]byte{'C', 'W', 'P', 'L'}

// header is a decoded frame header.
type header struct {
	typ     uint16
	bodyLen uint32
	fdCount uint16
}

func putHeader(b []byte, h header) {
	_ = b[HeaderSize-1]
	copy(b[offMagic:], magic[:])
	b[offVersion] = version
	b[offFlags] = 0
	binary.LittleEndian.PutUint16(b[offType:], h.typ)
	binary.LittleEndian.PutUint32(b[offBodyLen:], h.bodyLen)
	binary.LittleEndian.PutUint16(b[offFDCount:], h.fdCount)
	binary.LittleEndian.PutUint16(b[offReserved:], 0)
}

// parseHeader decodes and checks b[:HeaderSize] against the limits. Every
// error it returns breaks the framing of the stream.
func parseHeader(b []byte, maxBody, maxFDs int) (header, error) {
	_ = b[HeaderSize-1]
	if [4]byte(b[offMagic:offMagic+4]) != magic {
		return header{}, fmt.Errorf("%w: %w: % x", ErrProtocol, ErrBadMagic, b[offMagic:offMagic+4])
	}
	if v := b[offVersion]; v != version {
		return header{}, fmt.Errorf("%w: %w: version %d, want %d", ErrProtocol, ErrVersion, v, version)
	}
	if f, r := b[offFlags], binary.LittleEndian.Uint16(b[offReserved:]); f != 0 || r != 0 {
		return header{}, fmt.Errorf("%w: %w: flags %#x, reserved %#x in a version %d frame", ErrProtocol, ErrVersion, f, r, version)
	}
	h := header{
		typ:     binary.LittleEndian.Uint16(b[offType:]),
		bodyLen: binary.LittleEndian.Uint32(b[offBodyLen:]),
		fdCount: binary.LittleEndian.Uint16(b[offFDCount:]),
	}
	if uint64(h.bodyLen) > uint64(maxBody) {
		return header{}, fmt.Errorf("%w: %w: length %d exceeds limit %d", ErrProtocol, ErrTooLarge, h.bodyLen, maxBody)
	}
	if int(h.fdCount) > maxFDs {
		return header{}, fmt.Errorf("%w: %w: %d descriptors exceed limit %d", ErrProtocol, ErrTooManyFDs, h.fdCount, maxFDs)
	}
	return h, nil
}
