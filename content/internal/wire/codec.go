package wire

import (
	"github.com/vmihailenco/msgpack/v5"

	"github.com/cursorwindow/cursorwindow/parcel"
)

// The two messages of every query, a query and its window, are encoded
// and decoded by hand, exactly as msgpack's reflection does it from their
// struct tags, without its reflection: a small query spent a fifth of its
// CPU there (docs/PERFORMANCE.md, "Small queries"), and reflection's
// omitempty check boxed every field into an interface, fifteen
// allocations a query. Encoding writes the keys of the tags in field
// order, leaves out a field marked omitempty when it is zero, and writes
// uint64 and int64 fields in their 9-byte forms and int fields in the
// shortest. Decoding (parcel.BodyDecoder) reads the body's bytes in
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
	_ parcel.BodyDecoder    = (*QueryMsg)(nil)
	_ parcel.BodyDecoder    = (*WindowMsg)(nil)
)

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

// EncodeMsgpack writes m as its tags say, without reflection.
func (m *QueryMsg) EncodeMsgpack(e *msgpack.Encoder) error {
	n := 2 + btoi(len(m.Projection) > 0) + btoi(m.Selection != "") + btoi(len(m.Args) > 0) +
		btoi(m.Order != "") + btoi(m.Limit != 0) + btoi(m.Inline)
	w := encoder{e: e}
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
		w.value(m.Args)
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
	return w.err
}

// EncodeMsgpack writes m as its tags say, without reflection.
func (m *WindowMsg) EncodeMsgpack(e *msgpack.Encoder) error {
	n := 5 + btoi(len(m.Columns) > 0) + btoi(len(m.Types) > 0) + btoi(len(m.Nullable) > 0) +
		btoi(m.Win != 0) + btoi(m.Last) + btoi(len(m.Inline) > 0) + btoi(m.Done) +
		btoi(m.Backing != "") + btoi(m.Name != "") + btoi(m.SegID != 0) + btoi(m.Key != 0)
	w := encoder{e: e}
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
			if w.err == nil {
				w.err = e.EncodeInt8(v)
			}
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
		if w.err == nil {
			w.err = e.EncodeBytes(m.Inline)
		}
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
	return w.err
}

// encoder writes map entries in the forms msgpack's reflection uses for
// each field type, keeping the first error.
type encoder struct {
	e   *msgpack.Encoder
	err error
}

func (w *encoder) mapLen(n int) {
	if w.err == nil {
		w.err = w.e.EncodeMapLen(n)
	}
}

func (w *encoder) arrayLen(n int) {
	if w.err == nil {
		w.err = w.e.EncodeArrayLen(n)
	}
}

func (w *encoder) key(k string) {
	if w.err == nil {
		w.err = w.e.EncodeString(k)
	}
}

func (w *encoder) uint64(k string, v uint64) {
	w.key(k)
	if w.err == nil {
		w.err = w.e.EncodeUint64(v)
	}
}

func (w *encoder) int64(k string, v int64) {
	w.key(k)
	if w.err == nil {
		w.err = w.e.EncodeInt64(v)
	}
}

func (w *encoder) int(k string, v int) {
	w.key(k)
	if w.err == nil {
		w.err = w.e.EncodeInt(int64(v))
	}
}

func (w *encoder) bool(k string, v bool) {
	w.key(k)
	if w.err == nil {
		w.err = w.e.EncodeBool(v)
	}
}

func (w *encoder) string(k, v string) {
	w.key(k)
	if w.err == nil {
		w.err = w.e.EncodeString(v)
	}
}

func (w *encoder) strings(k string, v []string) {
	w.key(k)
	w.arrayLen(len(v))
	for _, s := range v {
		if w.err == nil {
			w.err = w.e.EncodeString(s)
		}
	}
}

// value writes v by reflection, as a field of its type is written.
func (w *encoder) value(v any) {
	if w.err == nil {
		w.err = w.e.Encode(v)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
