package parcel

import (
	"fmt"
	"reflect"
	"sync"
)

// Message is a parcel body: a Go value, normally a pointer to a struct with
// msgpack tags, that knows its own type code. Type codes are chosen by the
// protocol built on this package; 0 is reserved and never valid.
//
// A Message type may implement msgpack.CustomEncoder and
// msgpack.CustomDecoder to skip reflection on hot paths, or [BodyEncoder]
// and [BodyDecoder] to skip msgpack's encoder and decoder too; see the package documentation for the
// measured difference.
type Message interface {
	ParcelType() uint16
}

// BodyDecoder is a [Message] that reads its own body from the bytes,
// without msgpack's decoder: for the hottest messages, whose decoding
// costs less than the decoder's setup, the structure check and
// msgpack's allocation of every string.
//
// DecodeBody is given a fresh value from the type's constructor and the
// whole body. It returns true only if it decoded the body to exactly the
// message msgpack would, from a body msgpack and the structure checks
// (see Limits in the package documentation) would accept: one value, no
// bytes left over, every length within the body, allocations bounded by
// the body's size. For any other body, one that is not valid or holds a
// form DecodeBody leaves to msgpack, it returns false, and the body is
// decoded as any other message's, into a new value: checked, then decoded
// by msgpack, with the same errors. So DecodeBody changes how fast a body
// decodes, never what it decodes to or whether it does.
//
// DecodeBody must not keep body or any part of it: a Conn reuses its
// buffer for the next parcel. A panic in it is recovered and reported as
// [ErrDecode], as one in a DecodeMsgpack method is.
type BodyDecoder interface {
	Message
	DecodeBody(body []byte) bool
}

// BodyEncoder is a [Message] that writes its own body, without msgpack's
// encoder: for the hottest messages, whose encoding costs less than the
// encoder's dispatch and its calls per value. AppendBody appends the body,
// one msgpack value, to b and returns the extended slice; an error sends
// nothing. Write puts the frame's header before it.
type BodyEncoder interface {
	Message
	AppendBody(b []byte) ([]byte, error)
}

// Registry maps type codes to constructors, so that a reader can decode a
// body into the right Go type. Register every type before the first Read
// that may receive it. A Registry is safe for concurrent use, and one
// Registry can serve any number of Conns.
type Registry struct {
	mu    sync.RWMutex
	types map[uint16]func() Message
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry {
	return &Registry{types: make(map[uint16]func() Message)}
}

// Register makes code decode into the value newFn returns, which must be a
// non-nil pointer whose ParcelType is code.
//
// Register panics if code is 0, already registered, or inconsistent with
// newFn: these are programming errors, found the first time the program
// runs, like registering an HTTP pattern twice.
func (r *Registry) Register(code uint16, newFn func() Message) {
	if code == 0 {
		panic("parcel: Register: type code 0 is reserved")
	}
	if newFn == nil {
		panic(fmt.Sprintf("parcel: Register(%d): nil constructor", code))
	}
	m := newFn()
	if m == nil {
		panic(fmt.Sprintf("parcel: Register(%d): constructor returned nil", code))
	}
	if v := reflect.ValueOf(m); v.Kind() != reflect.Pointer || v.IsNil() {
		panic(fmt.Sprintf("parcel: Register(%d): constructor returned %T, want a non-nil pointer", code, m))
	}
	if got := m.ParcelType(); got != code {
		panic(fmt.Sprintf("parcel: Register(%d): %T.ParcelType() is %d", code, m, got))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.types[code]; dup {
		panic(fmt.Sprintf("parcel: Register(%d): type code already registered", code))
	}
	r.types[code] = newFn
}

// constructor returns the constructor registered for code, or an error
// matching [ErrUnknownType].
func (r *Registry) constructor(code uint16) (func() Message, error) {
	r.mu.RLock()
	newFn := r.types[code]
	r.mu.RUnlock()
	if newFn == nil {
		return nil, fmt.Errorf("%w: %d", ErrUnknownType, code)
	}
	return newFn, nil
}
