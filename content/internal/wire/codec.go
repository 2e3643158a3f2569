package wire

import (
	"github.com/vmihailenco/msgpack/v5"
)

// The two messages of every query, a query and its window, are encoded
// by hand: the bytes msgpack's reflection writes for them (the keys of
// their tags in field order, a field marked omitempty left out when
// zero, uint64 and int64 fields in their 9-byte forms, int fields in
// the shortest), without its reflection. Reflection's omitempty check
// boxes every field into an interface, which cost a small query fifteen
// allocations (docs/PERFORMANCE.md, "Small queries"). The struct tags stay
// the schema (PROTOCOL.md is checked against them) and decoding still
// goes through them; TestCodecMatchesReflection and FuzzCodec check that
// both encodings are the same bytes.

var (
	_ msgpack.CustomEncoder = (*QueryMsg)(nil)
	_ msgpack.CustomEncoder = (*WindowMsg)(nil)
)

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
