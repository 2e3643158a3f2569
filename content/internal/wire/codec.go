package wire

import (
	"reflect"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// The two messages of every query, a query and its window, are encoded
// and decoded by hand, exactly as msgpack's reflection does it from their
// struct tags, without its reflection: a small query spent a fifth of its
// CPU there (docs/PERFORMANCE.md, "Small queries"), and reflection's
// omitempty check boxed every field into an interface, fifteen
// allocations a query. Encoding writes the keys of the tags in field
// order, leaves out a field marked omitempty when it is zero, and writes
// uint64 and int64 fields in their 9-byte forms and int fields in the
// shortest. Decoding reads a map key by key with the decoder reflection
// uses for each field's type (any integer form, nil as zero, str and bin
// alike, unknown keys skipped); any other form of body (nil, an array)
// goes to reflection itself. The struct tags stay the schema
// (PROTOCOL.md is checked against them); TestCodecMatchesReflection and
// FuzzCodec check that both ways give the same bytes and the same
// messages, or both fail.

var (
	_ msgpack.CustomEncoder = (*QueryMsg)(nil)
	_ msgpack.CustomEncoder = (*WindowMsg)(nil)
	_ msgpack.CustomDecoder = (*QueryMsg)(nil)
	_ msgpack.CustomDecoder = (*WindowMsg)(nil)
)

// The messages without their codecs, for reflection to decode the forms
// the hand-written decoders do not.
type (
	queryFields  QueryMsg
	windowFields WindowMsg
)

// DecodeMsgpack reads m as reflection reads its tags.
func (m *QueryMsg) DecodeMsgpack(d *msgpack.Decoder) error {
	return decodeMap(d, (*queryFields)(m), func(k string) (err error) {
		switch k {
		case "r":
			m.Req, err = d.DecodeUint64()
		case "u":
			m.URI, err = d.DecodeString()
		case "p":
			err = d.Decode(&m.Projection)
		case "s":
			m.Selection, err = d.DecodeString()
		case "a":
			err = field(d, &m.Args)
		case "o":
			m.Order, err = d.DecodeString()
		case "l":
			m.Limit, err = d.DecodeInt64()
		case "i":
			m.Inline, err = d.DecodeBool()
		default:
			err = d.Skip()
		}
		return err
	})
}

// DecodeMsgpack reads m as reflection reads its tags.
func (m *WindowMsg) DecodeMsgpack(d *msgpack.Decoder) error {
	return decodeMap(d, (*windowFields)(m), func(k string) (err error) {
		var i int64
		switch k {
		case "r":
			m.Req, err = d.DecodeUint64()
		case "q":
			m.Query, err = d.DecodeUint64()
		case "c":
			err = d.Decode(&m.Columns)
		case "t":
			err = d.Decode(&m.Types)
		case "nl":
			err = field(d, &m.Nullable)
		case "n":
			m.Count, err = d.DecodeInt64()
		case "w":
			m.Win, err = d.DecodeUint64()
		case "s":
			m.Start, err = d.DecodeInt64()
		case "k":
			i, err = d.DecodeInt64()
			m.Rows = int(i)
		case "e":
			m.Last, err = d.DecodeBool()
		case "b":
			err = d.Decode(&m.Inline)
		case "d":
			m.Done, err = d.DecodeBool()
		case "bk":
			m.Backing, err = d.DecodeString()
		case "bn":
			m.Name, err = d.DecodeString()
		case "bi":
			i, err = d.DecodeInt64()
			m.SegID = int(i)
		case "by":
			i, err = d.DecodeInt64()
			m.Key = int(i)
		default:
			err = d.Skip()
		}
		return err
	})
}

// decodeMap reads a map key by key (keys read as reflection reads them:
// str, bin or nil), each value with set; a body that is not a map goes to
// reflection, into v, the message's fields.
func decodeMap(d *msgpack.Decoder, v any, set func(key string) error) error {
	c, err := d.PeekCode()
	if err != nil {
		return err
	}
	if !msgpcode.IsFixedMap(c) && c != msgpcode.Map16 && c != msgpcode.Map32 {
		return field(d, v)
	}
	n, err := d.DecodeMapLen()
	if err != nil {
		return err
	}
	for range n {
		k, err := d.DecodeString()
		if err != nil {
			return err
		}
		if err := set(k); err != nil {
			return err
		}
	}
	return nil
}

// field decodes into *p with the decoder reflection uses for a struct
// field of p's type: the same forms and results. ([]string and []byte
// fields go through Decode, whose own cases for them call the functions
// reflection's decoders do, without looking a decoder up.)
func field(d *msgpack.Decoder, p any) error {
	return d.DecodeValue(reflect.ValueOf(p).Elem())
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
