package window

import "strconv"

// Sizes and limits of the format that a caller sizing or shaping a window
// needs.
const (
	// SlotSize is the size of one field slot in bytes: r rows of c
	// columns take r*c*SlotSize bytes of slots, besides their strings and
	// blobs.
	SlotSize = 16
	// MaxColumns is the largest column count a window accepts.
	MaxColumns = 1 << 16
)

// The layout of a window, documented byte by byte in docs/FORMAT.md. All
// integers are little-endian; all offsets are relative to the start of the
// region.
//
//	[0, headerSize)            header
//	[headerSize, dataEnd)      heap: string and blob bytes, growing up
//	[dataEnd, slotsStart)      free space
//	[slotsStart, size)         field slots, growing down: row r, column c at
//	                           size - (r+1)*rowSize + c*SlotSize
const (
	// magic is the first four bytes of every window: "CWIN".
	magic uint32 = 'C' | 'W'<<8 | 'I'<<16 | 'N'<<24
	// version is the format version this package writes and reads.
	version uint16 = 1

	// headerSize is the size of the fixed header in bytes.
	headerSize = 64

	offMagic      = 0  // u32
	offVersion    = 4  // u16
	offFlags      = 6  // u16
	offNumColumns = 8  // u32
	offNumRows    = 12 // u32
	offStartPos   = 16 // u64
	offSize       = 24 // u64
	offDataEnd    = 32 // u64
	offChecksum   = 40 // u64: CRC-32C when flagChecksum is set, else 0
	// bytes 48..63 are reserved and written as zero.

	// Within a slot.
	offSlotValue = 0  // u64: int64, float64 bits, or heap offset
	offSlotLen   = 8  // u32: byte length of a string or blob
	offSlotType  = 12 // u8: FieldType
	// bytes 13..15 of a slot are reserved and written as zero.

	// align is the alignment of the region size and of the slot area.
	align = SlotSize

	// maxFieldLen is the largest string or blob a field can hold.
	maxFieldLen = 1<<32 - 1

	// flagChecksum, a bit of the header's flags (the u16 at offset 6),
	// says the header's checksum field holds the CRC-32C (Castagnoli) of
	// the whole region, computed with the field itself read as zero. File
	// windows (FileBacking) carry it, and their reader requires it. Other
	// readers ignore it.
	flagChecksum uint16 = 1 << 0
)

// FieldType is the type of the value stored in a field.
type FieldType uint8

// Field types. A zeroed slot reads as TypeNull.
const (
	TypeNull    FieldType = 0
	TypeInt64   FieldType = 1
	TypeFloat64 FieldType = 2
	TypeString  FieldType = 3
	TypeBlob    FieldType = 4
)

// String returns the type's name: NULL, INT64, FLOAT64, STRING or BLOB.
func (t FieldType) String() string {
	switch t {
	case TypeNull:
		return "NULL"
	case TypeInt64:
		return "INT64"
	case TypeFloat64:
		return "FLOAT64"
	case TypeString:
		return "STRING"
	case TypeBlob:
		return "BLOB"
	}
	return "FieldType(" + strconv.Itoa(int(t)) + ")"
}

// alignUp rounds n up to a multiple of align.
func alignUp(n uint64) uint64 { return (n + align - 1) &^ (align - 1) }
