package window

import "strconv"

// MaxColumns is the largest column count a window accepts.
const MaxColumns = 1 << 16

// The layout of a window, format version 2, documented byte by byte in
// docs/FORMAT.md. All integers are little-endian; all offsets are relative
// to the start of the region.
//
//	[0, 64)                    header
//	[64, 64+48*numColumns)     directory: one entry per column
//	then, per column in order  its buffers, each on an 8-byte boundary:
//	                           validity bitmap, values, types, data
const (
	// magic is the first four bytes of every window: "CWIN".
	magic uint32 = 'C' | 'W'<<8 | 'I'<<16 | 'N'<<24
	// version is the format version this package writes and reads.
	version uint16 = 2

	// headerSize is the size of the fixed header in bytes.
	headerSize = 64

	offMagic      = 0  // u32
	offVersion    = 4  // u16
	offFlags      = 6  // u16
	offNumColumns = 8  // u32
	offNumRows    = 12 // u32
	offStartPos   = 16 // u64
	offSize       = 24 // u64
	offChecksum   = 40 // u64: CRC-32C when flagChecksum is set, else 0
	// bytes 32..39 and 48..63 are reserved and written as zero.

	// entrySize is the size of a directory entry.
	entrySize = 48

	// Within a directory entry.
	offEntryForm   = 0  // u8: the column's form
	offEntryFlags  = 1  // u8: entryValidity
	offEntryValid  = 8  // u64: offset of the validity bitmap, 0 if none
	offEntryValues = 16 // u64: offset of the values (or string offsets)
	offEntryTypes  = 24 // u64: offset of the type bytes of a mixed column
	offEntryData   = 32 // u64: offset of the data buffer
	offEntryLen    = 40 // u64: length of the data buffer
	// bytes 2..7 of an entry are reserved and written as zero.

	// entryValidity, a bit of an entry's flags, says the column has a
	// validity bitmap (some of its values are NULL).
	entryValidity uint8 = 1 << 0

	// formMixed is the form of a column whose values have several types:
	// a type byte and an 8-byte value a row. Forms 0 to 4 are the
	// FieldType every non-NULL value of the column has (0: every value is
	// NULL, no buffers).
	formMixed uint8 = 5

	// align is the alignment of every buffer and of the region's size.
	align = 8

	// maxFieldLen is the largest string or blob a field can hold, and
	// maxDataLen the largest data buffer of a column: offsets are u32.
	maxFieldLen = 1<<32 - 1
	maxDataLen  = 1<<32 - 1

	// flagChecksum, a bit of the header's flags (the u16 at offset 6),
	// says the header's checksum field holds the CRC-32C (Castagnoli) of
	// the whole region, computed with the field itself read as zero. File
	// windows (FileBacking) carry it, and their reader requires it. Other
	// readers ignore it.
	flagChecksum uint16 = 1 << 0
)

// FieldType is the type of the value stored in a field.
type FieldType uint8

// Field types.
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

// directoryEnd is the offset of the first buffer of a window of ncols
// columns.
func directoryEnd(ncols int) uint64 { return headerSize + uint64(ncols)*entrySize }

// MinSize returns the smallest window, in bytes, that holds a row of
// numColumns columns: its header, its directory entries, and a bitmap and
// an 8-byte value a column (a row of strings also needs their bytes). A
// writer whose maximum size is below it cannot be made for that many
// columns (ErrTooLarge): a result this wide needs a larger window.
func MinSize(numColumns int) int64 {
	return int64(directoryEnd(numColumns)) + int64(numColumns)*16
}

// isVar reports whether a form stores strings or blobs: offsets and data.
func isVar(form uint8) bool { return form == uint8(TypeString) || form == uint8(TypeBlob) }
