package parcel_test

import (
	"encoding/binary"
	"errors"
	"sync/atomic"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/cursorwindow/cursorwindow/parcel"
)

// Test message types, one per kind a protocol has: small requests,
// descriptors with many fields, errors, notifications with free-form
// values.
const (
	typePing uint16 = iota + 1
	typeWindow
	typeWindowFast
	typeError
	typeNotify
	typeBlob
	typeFastPing
)

type ping struct {
	Seq uint64 `msgpack:"seq"`
}

func (*ping) ParcelType() uint16 { return typePing }

// window is a representative small struct: a window descriptor as the
// content layer will send it, encoded by reflection.
type window struct {
	QueryID    uint64 `msgpack:"q"`
	StartPos   int64  `msgpack:"s"`
	NumRows    int64  `msgpack:"r"`
	NumColumns int32  `msgpack:"c"`
	Size       int64  `msgpack:"z"`
	Sealed     bool   `msgpack:"l"`
	Name       string `msgpack:"n"`
}

func (*window) ParcelType() uint16 { return typeWindow }

// windowFast is window with hand-written msgpack codecs (an array of 7).
type windowFast window

func (*windowFast) ParcelType() uint16 { return typeWindowFast }

var (
	_ msgpack.CustomEncoder = (*windowFast)(nil)
	_ msgpack.CustomDecoder = (*windowFast)(nil)
)

func (w *windowFast) EncodeMsgpack(e *msgpack.Encoder) error {
	if err := e.EncodeArrayLen(7); err != nil {
		return err
	}
	if err := e.EncodeUint(w.QueryID); err != nil {
		return err
	}
	if err := e.EncodeInt(w.StartPos); err != nil {
		return err
	}
	if err := e.EncodeInt(w.NumRows); err != nil {
		return err
	}
	if err := e.EncodeInt(int64(w.NumColumns)); err != nil {
		return err
	}
	if err := e.EncodeInt(w.Size); err != nil {
		return err
	}
	if err := e.EncodeBool(w.Sealed); err != nil {
		return err
	}
	return e.EncodeString(w.Name)
}

func (w *windowFast) DecodeMsgpack(d *msgpack.Decoder) error {
	n, err := d.DecodeArrayLen()
	if err != nil {
		return err
	}
	if n != 7 {
		return errWindowLen
	}
	if w.QueryID, err = d.DecodeUint64(); err != nil {
		return err
	}
	if w.StartPos, err = d.DecodeInt64(); err != nil {
		return err
	}
	if w.NumRows, err = d.DecodeInt64(); err != nil {
		return err
	}
	if w.NumColumns, err = d.DecodeInt32(); err != nil {
		return err
	}
	if w.Size, err = d.DecodeInt64(); err != nil {
		return err
	}
	if w.Sealed, err = d.DecodeBool(); err != nil {
		return err
	}
	w.Name, err = d.DecodeString()
	return err
}

var errWindowLen = msgpackError("windowFast: want an array of 7")

type msgpackError string

func (e msgpackError) Error() string { return string(e) }

type errorMsg struct {
	Code    int    `msgpack:"code"`
	Message string `msgpack:"msg"`
}

func (*errorMsg) ParcelType() uint16 { return typeError }

type notify struct {
	URI   string         `msgpack:"uri"`
	Tags  []string       `msgpack:"tags"`
	Args  []any          `msgpack:"args"`
	Extra map[string]any `msgpack:"extra"`
}

func (*notify) ParcelType() uint16 { return typeNotify }

type blob struct {
	Data []byte  `msgpack:"d"`
	Nums []int64 `msgpack:"n"`
}

func (*blob) ParcelType() uint16 { return typeBlob }

// fastPing is ping with a BodyDecoder that reads the one form of body
// reflection writes for it, a map of seq as a uint64, and leaves every
// other to msgpack. Its other bodies say what DecodeBody must not do: seq
// 255 panics, and a body DecodeBody refuses leaves refusedSeq behind,
// which the value msgpack decodes into must not have.
type fastPing struct {
	Seq uint64 `msgpack:"seq"`
}

func (*fastPing) ParcelType() uint16 { return typeFastPing }

var (
	_ parcel.BodyDecoder = (*fastPing)(nil)
	_ parcel.BodyEncoder = (*fastPing)(nil)
)

// errUnsendable is fastPing's encoding error, for seq refusedSeq.
var errUnsendable = errors.New("fastPing: unsendable")

// AppendBody writes the body reflection writes; seq refusedSeq fails
// after appending, which Write must not send.
func (p *fastPing) AppendBody(b []byte) ([]byte, error) {
	b = binary.BigEndian.AppendUint64(append(b, "\x81\xa3seq\xcf"...), p.Seq)
	if p.Seq == refusedSeq {
		return b, errUnsendable
	}
	return b, nil
}

// fastDecodes counts the bodies fastPing's DecodeBody decoded.
var fastDecodes atomic.Int64

const refusedSeq = 12345

func (p *fastPing) DecodeBody(body []byte) bool {
	const prefix = "\x81\xa3seq\xcf"
	if len(body) != len(prefix)+8 || string(body[:len(prefix)]) != prefix {
		p.Seq = refusedSeq
		return false
	}
	p.Seq = binary.BigEndian.Uint64(body[len(prefix):])
	if p.Seq == 255 {
		panic("fastPing: 255")
	}
	fastDecodes.Add(1)
	return true
}

func testRegistry() *parcel.Registry {
	r := parcel.NewRegistry()
	r.Register(typePing, func() parcel.Message { return new(ping) })
	r.Register(typeWindow, func() parcel.Message { return new(window) })
	r.Register(typeWindowFast, func() parcel.Message { return new(windowFast) })
	r.Register(typeError, func() parcel.Message { return new(errorMsg) })
	r.Register(typeNotify, func() parcel.Message { return new(notify) })
	r.Register(typeBlob, func() parcel.Message { return new(blob) })
	r.Register(typeFastPing, func() parcel.Message { return new(fastPing) })
	return r
}

var sampleWindow = window{QueryID: 42, StartPos: 1 << 20, NumRows: 4096, NumColumns: 7, Size: 2 << 20, Sealed: true, Name: "cursorwindow:orders"}
