package parcel

import "errors"

// Sentinel errors returned by this package; match them with [errors.Is].
//
// Errors that leave the byte stream out of step with the frames (a bad
// header, a length over the limit, descriptors that do not match the
// header, a connection closed mid-frame) also match [ErrProtocol] or
// io.ErrUnexpectedEOF, are sticky (every later Read returns the same error)
// and mean the connection must be closed. Errors about one well-framed
// parcel ([ErrUnknownType], [ErrDecode]) consume that parcel, close its
// descriptors and leave the connection usable.
var (
	// ErrProtocol is matched by every error that breaks the framing of the
	// stream, alongside a more specific sentinel.
	ErrProtocol = errors.New("parcel: protocol error")

	// ErrBadMagic reports a frame that does not start with the magic bytes.
	ErrBadMagic = errors.New("parcel: bad magic")

	// ErrVersion reports a frame of a protocol version this package does
	// not speak, or one with flag or reserved bits it does not know.
	ErrVersion = errors.New("parcel: unsupported version")

	// ErrTooLarge reports a body longer than the configured maximum
	// ([WithMaxBodySize]); nothing was allocated for it.
	ErrTooLarge = errors.New("parcel: body too large")

	// ErrTooManyFDs reports a parcel with more descriptors than the
	// configured maximum ([WithMaxFDs]), on either side.
	ErrTooManyFDs = errors.New("parcel: too many file descriptors")

	// ErrFDMismatch reports descriptors that do not match the header: a
	// count other than the header's, or descriptors arriving after the
	// first byte of a frame. All of them have been closed.
	ErrFDMismatch = errors.New("parcel: descriptors do not match the frame")

	// ErrUnknownType reports a well-formed parcel whose type code has not
	// been registered. The parcel was skipped and its descriptors closed.
	ErrUnknownType = errors.New("parcel: unknown message type")

	// ErrDecode reports a body that is not valid msgpack, exceeds the
	// nesting or length limits, or does not decode into the registered
	// type. The parcel was skipped and its descriptors closed.
	ErrDecode = errors.New("parcel: cannot decode body")

	// ErrClosed reports use of a Conn after Close.
	ErrClosed = errors.New("parcel: connection closed")
)

// DecodeError is the error of a parcel whose body did not decode: it
// matches [ErrDecode] and names the parcel's type code, so that a
// protocol can tell which message a peer sent (one it must never send,
// say) even when its body was garbage.
type DecodeError struct {
	Type uint16 // the parcel's type code
	Err  error  // why, wrapping ErrDecode
}

// Error implements error.
func (e *DecodeError) Error() string { return e.Err.Error() }

// Unwrap returns the cause, which wraps [ErrDecode].
func (e *DecodeError) Unwrap() error { return e.Err }
