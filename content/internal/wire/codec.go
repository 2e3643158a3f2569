package wire

import (
	"bytes"
	"encoding/binary"
	"math"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/cursorwindow/cursorwindow/parcel"
)

// The two messages of every query, a query and its window, and the
// release of a shared window (one a handoff), are encoded and decoded by
// hand, exactly as msgpack's reflection does it from their
// struct tags, without its reflection: a small query spent a fifth of its
// CPU there (docs/PERFORMANCE.md, "Small queries"), and reflection's
// omitempty check boxed every field into an interface, fifteen
// allocations a query. Encoding (parcel.BodyEncoder) appends the body to
// the frame's bytes, without msgpack's encoder: the keys of the tags in
// field order, a field marked omitempty left out when it is zero, uint64
// and int64 fields in their 9-byte forms, int fields in the shortest and
// int8 fields in 2 bytes, as msgpack's encoder writes them with its
// default options. Decoding (parcel.BodyDecoder) reads the body's bytes in
// place, without msgpack's decoder: a map key by key, each field in the
// forms reflection accepts for its type (any integer form, nil as zero or
// empty, str and bin alike, unknown keys skipped), the strings copied
// into one buffer rather than one allocation each (reader.go). Any other
// form of body (nil, an array, an unknown key holding an array, a nested
// argument) goes to reflection itself, through parcel. The struct tags
// stay the schema (PROTOCOL.md is checked against them);
// TestCodecMatchesReflection and FuzzCodec check that both ways give the
// same bytes and the same messages, or both fail.

var (
	_ msgpack.CustomEncoder = (*QueryMsg)(nil)
	_ msgpack.CustomEncoder = (*WindowMsg)(nil)
	_ parcel.BodyEncoder    = (*QueryMsg)(nil)
	_ parcel.BodyEncoder    = (*WindowMsg)(nil)
	_ parcel.BodyDecoder    = (*QueryMsg)(nil)
	_ parcel.BodyDecoder    = (*WindowMsg)(nil)
	_ parcel.BodyEncoder    = (*ReleaseMsg)(nil)
	_ parcel.BodyDecoder    = (*ReleaseMsg)(nil)
)

// DecodeBody reads m from body as reflection reads its tags (a window's
// release, one a handoff), and reports false, leaving body to
// reflection, for a form it does not read.
func (m *ReleaseMsg) DecodeBody(body []byte) bool {
	r := reader{b: body}
	for range r.mapLen() {
		switch string(r.key()) {
		case "q":
			m.Query = r.integer()
		case "w":
			m.Win = r.integer()
		default:
			r.skip()
		}
		if r.failed {
			return false
		}
	}
	return r.done()
}

// AppendBody appends m's body, as its tags say, to b.
func (m *ReleaseMsg) AppendBody(b []byte) ([]byte, error) {
	w := appender{b: b}
	w.mapLen(2)
	w.uint64("q", m.Query)
	w.uint64("w", m.Win)
	return w.b, w.err
}

// DecodeBody reads m from body as reflection reads its tags, and reports
// false, leaving body to reflection, for a form it does not read.
func (m *QueryMsg) DecodeBody(body []byte) bool {
	r := reader{b: body}
	for range r.mapLen() {
		switch string(r.key()) {
		case "r":
			m.Req = r.integer()
		case "u":
			m.URI = r.string()
		case "p":
			r.strings(&m.Projection)
		case "s":
			m.Selection = r.string()
		case "a":
			r.args(&m.Args)
		case "o":
			m.Order = r.string()
		case "l":
			m.Limit = int64(r.integer())
		case "i":
			m.Inline = r.bool()
		default:
			r.skip()
		}
		if r.failed {
			return false
		}
	}
	return r.done()
}

// DecodeBody reads m from body as reflection reads its tags, and reports
// false, leaving body to reflection, for a form it does not read.
func (m *WindowMsg) DecodeBody(body []byte) bool {
	r := reader{b: body}
	for range r.mapLen() {
		switch string(r.key()) {
		case "r":
			m.Req = r.integer()
		case "q":
			m.Query = r.integer()
		case "c":
			r.strings(&m.Columns)
		case "t":
			r.strings(&m.Types)
		case "nl":
			m.Nullable = r.int8s()
		case "n":
			m.Count = int64(r.integer())
		case "w":
			m.Win = r.integer()
		case "s":
			m.Start = int64(r.integer())
		case "k":
			m.Rows = int(int64(r.integer()))
		case "e":
			m.Last = r.bool()
		case "b":
			m.Inline = r.bytes()
		case "d":
			m.Done = r.bool()
		case "bk":
			m.Backing = r.string()
		case "bn":
			m.Name = r.string()
		case "bi":
			m.SegID = int(int64(r.integer()))
		case "by":
			m.Key = int(int64(r.integer()))
		default:
			r.skip()
		}
		if r.failed {
			return false
		}
	}
	return r.done()
}

// EncodeMsgpack writes m as its tags say, without reflection: the bytes
// AppendBody gives, for a msgpack encoder.
func (m *QueryMsg) EncodeMsgpack(e *msgpack.Encoder) error { return writeBody(e, m) }

// EncodeMsgpack writes m as its tags say, without reflection: the bytes
// AppendBody gives, for a msgpack encoder.
func (m *WindowMsg) EncodeMsgpack(e *msgpack.Encoder) error { return writeBody(e, m) }

func writeBody(e *msgpack.Encoder, m parcel.BodyEncoder) error {
	b, err := m.AppendBody(nil)
	if err == nil {
		_, err = e.Writer().Write(b)
	}
	return err
}

// AppendBody appends m's body, as its tags say, to b.
func (m *QueryMsg) AppendBody(b []byte) ([]byte, error) {
	n := 2 + btoi(len(m.Projection) > 0) + btoi(m.Selection != "") + btoi(len(m.Args) > 0) +
		btoi(m.Order != "") + btoi(m.Limit != 0) + btoi(m.Inline)
	w := appender{b: b}
	w.mapLen(n)
	w.uint64("r", m.Req)
	w.string("u", m.URI)
	if len(m.Projection) > 0 {
		w.strings("p", m.Projection)
	}
	if m.Selection != "" {
		w.string("s", m.Selection)
	}
	if len(m.Args) > 0 {
		w.key("a")
		w.arrayLen(len(m.Args))
		for _, a := range m.Args {
			w.value(a)
		}
	}
	if m.Order != "" {
		w.string("o", m.Order)
	}
	if m.Limit != 0 {
		w.int64("l", m.Limit)
	}
	if m.Inline {
		w.bool("i", m.Inline)
	}
	return w.b, w.err
}

// AppendBody appends m's body, as its tags say, to b.
func (m *WindowMsg) AppendBody(b []byte) ([]byte, error) {
	n := 5 + btoi(len(m.Columns) > 0) + btoi(len(m.Types) > 0) + btoi(len(m.Nullable) > 0) +
		btoi(m.Win != 0) + btoi(m.Last) + btoi(len(m.Inline) > 0) + btoi(m.Done) +
		btoi(m.Backing != "") + btoi(m.Name != "") + btoi(m.SegID != 0) + btoi(m.Key != 0)
	w := appender{b: b}
	w.mapLen(n)
	w.uint64("r", m.Req)
	w.uint64("q", m.Query)
	if len(m.Columns) > 0 {
		w.strings("c", m.Columns)
	}
	if len(m.Types) > 0 {
		w.strings("t", m.Types)
	}
	if len(m.Nullable) > 0 {
		w.key("nl")
		w.arrayLen(len(m.Nullable))
		for _, v := range m.Nullable {
			w.b = append(w.b, msgpcode.Int8, byte(v)) // int8 fields keep their 2-byte form
		}
	}
	w.int64("n", m.Count)
	if m.Win != 0 {
		w.uint64("w", m.Win)
	}
	w.int64("s", m.Start)
	w.int("k", m.Rows)
	if m.Last {
		w.bool("e", m.Last)
	}
	if len(m.Inline) > 0 {
		w.key("b")
		w.bytes(m.Inline)
	}
	if m.Done {
		w.bool("d", m.Done)
	}
	if m.Backing != "" {
		w.string("bk", m.Backing)
	}
	if m.Name != "" {
		w.string("bn", m.Name)
	}
	if m.SegID != 0 {
		w.int("bi", m.SegID)
	}
	if m.Key != 0 {
		w.int("by", m.Key)
	}
	return w.b, w.err
}

// appender appends map entries in the forms msgpack's encoder writes for
// each field type (its default options: no compact ints, no interned
// strings), keeping the first error.
type appender struct {
	b   []byte
	err error
}

// head appends a length in the form of code8 (or the fixed form, below
// fixed), code16 or code32.
func (w *appender) head(n int, fixed int, fixedCode, code8, code16, code32 byte) {
	switch {
	case n < fixed:
		w.b = append(w.b, fixedCode|byte(n))
	case code8 != 0 && n <= math.MaxUint8:
		w.b = append(w.b, code8, byte(n))
	case n <= math.MaxUint16:
		w.b = binary.BigEndian.AppendUint16(append(w.b, code16), uint16(n))
	default:
		w.b = binary.BigEndian.AppendUint32(append(w.b, code32), uint32(n))
	}
}

func (w *appender) mapLen(n int) {
	w.head(n, 16, msgpcode.FixedMapLow, 0, msgpcode.Map16, msgpcode.Map32)
}

func (w *appender) arrayLen(n int) {
	w.head(n, 16, msgpcode.FixedArrayLow, 0, msgpcode.Array16, msgpcode.Array32)
}

func (w *appender) str(s string) {
	w.head(len(s), 32, msgpcode.FixedStrLow, msgpcode.Str8, msgpcode.Str16, msgpcode.Str32)
	w.b = append(w.b, s...)
}

func (w *appender) key(k string) { w.str(k) }

func (w *appender) uint64(k string, v uint64) {
	w.key(k)
	w.b = binary.BigEndian.AppendUint64(append(w.b, msgpcode.Uint64), v)
}

func (w *appender) int64(k string, v int64) {
	w.key(k)
	w.b = binary.BigEndian.AppendUint64(append(w.b, msgpcode.Int64), uint64(v))
}

// int appends an int field in its shortest form, as msgpack's EncodeInt.
func (w *appender) int(k string, v int) {
	w.key(k)
	n := int64(v)
	switch {
	case n >= 0 && n <= math.MaxInt8, n < 0 && n >= -32:
		w.b = append(w.b, byte(n))
	case n >= 0 && n <= math.MaxUint8:
		w.b = append(w.b, msgpcode.Uint8, byte(n))
	case n >= 0 && n <= math.MaxUint16:
		w.b = binary.BigEndian.AppendUint16(append(w.b, msgpcode.Uint16), uint16(n))
	case n >= 0 && n <= math.MaxUint32:
		w.b = binary.BigEndian.AppendUint32(append(w.b, msgpcode.Uint32), uint32(n))
	case n >= 0:
		w.b = binary.BigEndian.AppendUint64(append(w.b, msgpcode.Uint64), uint64(n))
	case n >= math.MinInt8:
		w.b = append(w.b, msgpcode.Int8, byte(n))
	case n >= math.MinInt16:
		w.b = binary.BigEndian.AppendUint16(append(w.b, msgpcode.Int16), uint16(n))
	case n >= math.MinInt32:
		w.b = binary.BigEndian.AppendUint32(append(w.b, msgpcode.Int32), uint32(n))
	default:
		w.b = binary.BigEndian.AppendUint64(append(w.b, msgpcode.Int64), uint64(n))
	}
}

func (w *appender) bool(k string, v bool) {
	w.key(k)
	code := msgpcode.False
	if v {
		code = msgpcode.True
	}
	w.b = append(w.b, code)
}

func (w *appender) string(k, v string) {
	w.key(k)
	w.str(v)
}

func (w *appender) strings(k string, v []string) {
	w.key(k)
	w.arrayLen(len(v))
	for _, s := range v {
		w.str(s)
	}
}

// bytes appends a non-nil []byte as bin.
func (w *appender) bytes(v []byte) {
	w.head(len(v), 0, 0, msgpcode.Bin8, msgpcode.Bin16, msgpcode.Bin32)
	w.b = append(w.b, v...)
}

// value appends v, an element of a query's arguments, as msgpack's
// encoder writes an element of a []any: the scalars a query's arguments
// are here, anything else through the encoder itself, with a map's keys
// sorted (so that its bytes are one order, not Go's random one).
func (w *appender) value(v any) {
	switch v := v.(type) {
	case nil:
		w.b = append(w.b, msgpcode.Nil)
	case bool:
		code := msgpcode.False
		if v {
			code = msgpcode.True
		}
		w.b = append(w.b, code)
	case int64:
		w.b = binary.BigEndian.AppendUint64(append(w.b, msgpcode.Int64), uint64(v))
	case float64:
		w.b = binary.BigEndian.AppendUint64(append(w.b, msgpcode.Double), math.Float64bits(v))
	case string:
		w.str(v)
	case []byte:
		if v == nil {
			w.b = append(w.b, msgpcode.Nil)
			return
		}
		w.bytes(v)
	default:
		if w.err != nil {
			return
		}
		var buf bytes.Buffer
		enc := msgpack.NewEncoder(&buf)
		enc.SetSortMapKeys(true)
		w.err = enc.Encode(v)
		w.b = append(w.b, buf.Bytes()...)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
