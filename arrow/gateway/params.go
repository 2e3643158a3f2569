package gateway

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"

	"github.com/cursorwindow/cursorwindow/content"
)

// A statement handle carries everything the gateway needs to run the
// statement: its text and, once bound, its arguments, so the gateway
// keeps no state between a client's calls (a client that never closes
// its prepared statements costs nothing). A client can forge one, which
// gives it no more than sending the statement itself would: the text is
// parsed, and the arguments checked, every time a handle is used.
//
// The encoding, little-endian, every length checked against what is left
// before anything is allocated:
//
//	"cw1" uvarint(len(sql)) sql uvarint(nargs) arg...
//	arg: 0 (NULL) | 1 int64 | 2 float64 bits | 3 uvarint(len) text | 4 uvarint(len) blob
type handle struct {
	SQL  string
	Args []any
}

// handleMagic starts every handle: its format, for a later change.
const handleMagic = "cw1"

const (
	argNull byte = iota
	argInt
	argFloat
	argText
	argBlob
)

func encodeHandle(sql string, args []any) ([]byte, error) {
	b := binary.AppendUvarint([]byte(handleMagic), uint64(len(sql)))
	b = append(b, sql...)
	b = binary.AppendUvarint(b, uint64(len(args)))
	for i, a := range args {
		v, err := content.NormalizeValue(a)
		if err != nil {
			return nil, fmt.Errorf("argument %d: %w", i+1, err)
		}
		switch x := v.(type) {
		case nil:
			b = append(b, argNull)
		case int64:
			b = binary.LittleEndian.AppendUint64(append(b, argInt), uint64(x))
		case float64:
			b = binary.LittleEndian.AppendUint64(append(b, argFloat), math.Float64bits(x))
		case string:
			b = append(binary.AppendUvarint(append(b, argText), uint64(len(x))), x...)
		case []byte:
			b = append(binary.AppendUvarint(append(b, argBlob), uint64(len(x))), x...)
		}
	}
	return b, nil
}

// errHandle reports a handle this gateway did not make.
var errHandle = fmt.Errorf("%w: not a statement handle of this gateway", content.ErrBadRequest)

func decodeHandle(b []byte) (*handle, error) {
	rest, ok := bytes.CutPrefix(b, []byte(handleMagic))
	if !ok {
		return nil, errHandle
	}
	d := handleDecoder{b: rest}
	h := &handle{SQL: string(d.bytes())}
	n := d.uvarint()
	if n > uint64(len(d.b)) { // every argument takes a byte at least
		return nil, errHandle
	}
	for range n {
		switch d.byte() {
		case argNull:
			h.Args = append(h.Args, nil)
		case argInt:
			h.Args = append(h.Args, int64(d.uint64()))
		case argFloat:
			h.Args = append(h.Args, math.Float64frombits(d.uint64()))
		case argText:
			h.Args = append(h.Args, string(d.bytes()))
		case argBlob:
			h.Args = append(h.Args, bytes.Clone(d.bytes()))
		default:
			d.bad = true
		}
	}
	if d.bad || len(d.b) != 0 {
		return nil, errHandle
	}
	return h, nil
}

// handleDecoder reads a handle; a read past its end sets bad.
type handleDecoder struct {
	b   []byte
	bad bool
}

func (d *handleDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 || n != (bits.Len64(v|1)+6)/7 { // overlong forms are not ours
		d.bad, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *handleDecoder) byte() byte {
	if len(d.b) < 1 {
		d.bad = true
		return 0xff
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *handleDecoder) uint64() uint64 {
	if len(d.b) < 8 {
		d.bad, d.b = true, nil
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

// bytes returns the next length-prefixed bytes, a view of the handle.
func (d *handleDecoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.bad, d.b = true, nil
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

// readParams reads the parameter batches a client sent with DoPut: one
// []any per row, one value per column.
func readParams(rdr flight.MessageReader) ([][]any, error) {
	var rows [][]any
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for i := range int(rec.NumRows()) {
			row := make([]any, rec.NumCols())
			for j, col := range rec.Columns() {
				v, err := paramValue(col, i)
				if err != nil {
					return nil, fmt.Errorf("%w: parameter %d (%s): %w", content.ErrBadRequest, j+1, rec.ColumnName(j), err)
				}
				row[j] = v
			}
			rows = append(rows, row)
		}
	}
	if err := rdr.Err(); err != nil {
		return nil, fmt.Errorf("%w: reading parameters: %w", content.ErrBadRequest, err)
	}
	return rows, nil
}

// paramValue returns value i of col as one of the values a provider
// takes (nil, int64, float64, string, []byte), converting as sqldriver
// does: booleans as 0 or 1, timestamps and dates as RFC 3339 text.
func paramValue(col arrow.Array, i int) (any, error) {
	if col.IsNull(i) {
		return nil, nil
	}
	switch a := col.(type) {
	case *array.Null:
		return nil, nil
	case *array.Boolean:
		if a.Value(i) {
			return int64(1), nil
		}
		return int64(0), nil
	case *array.Int8:
		return int64(a.Value(i)), nil
	case *array.Int16:
		return int64(a.Value(i)), nil
	case *array.Int32:
		return int64(a.Value(i)), nil
	case *array.Int64:
		return a.Value(i), nil
	case *array.Uint8:
		return int64(a.Value(i)), nil
	case *array.Uint16:
		return int64(a.Value(i)), nil
	case *array.Uint32:
		return int64(a.Value(i)), nil
	case *array.Uint64:
		return content.NormalizeValue(a.Value(i))
	case *array.Float32:
		return float64(a.Value(i)), nil
	case *array.Float64:
		return a.Value(i), nil
	case *array.String:
		return a.Value(i), nil
	case *array.LargeString:
		return a.Value(i), nil
	case *array.StringView:
		return a.Value(i), nil
	case *array.Binary:
		return bytes.Clone(a.Value(i)), nil
	case *array.LargeBinary:
		return bytes.Clone(a.Value(i)), nil
	case *array.BinaryView:
		return bytes.Clone(a.Value(i)), nil
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return a.Value(i).ToTime(unit).UTC().Format(time.RFC3339Nano), nil
	case *array.Date32:
		return a.Value(i).ToTime().Format(time.DateOnly), nil
	case *array.Date64:
		return a.Value(i).ToTime().Format(time.DateOnly), nil
	case *array.DenseUnion:
		child := a.Field(a.ChildID(i))
		return paramValue(child, int(a.ValueOffset(i)))
	case *array.SparseUnion:
		return paramValue(a.Field(a.ChildID(i)), i)
	}
	return nil, fmt.Errorf("a parameter of type %s (a provider takes integers, reals, text, blobs and NULL)", col.DataType())
}
