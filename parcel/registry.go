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
// msgpack.CustomDecoder to skip reflection on hot paths; see the package
// documentation for the measured difference.
type Message interface {
	ParcelType() uint16
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

// newMessage returns a fresh value for code, or an error matching
// [ErrUnknownType].
func (r *Registry) newMessage(code uint16) (Message, error) {
	r.mu.RLock()
	newFn := r.types[code]
	r.mu.RUnlock()
	if newFn == nil {
		return nil, fmt.Errorf("%w: %d", ErrUnknownType, code)
	}
	return newFn(), nil
}
