package fdpass

import "errors"

// Sentinel errors returned by this package. Match them with [errors.Is]:
// the returned errors wrap them with context.
var (
	// ErrTruncated reports that the kernel truncated a received message
	// (MSG_CTRUNC or MSG_TRUNC): the peer attached more descriptors or
	// control data than the receive buffer had room for, or, on a
	// SOCK_SEQPACKET socket, sent a message longer than the data buffer.
	// Every descriptor that did arrive has been closed. The data bytes
	// reported alongside were consumed from the socket.
	ErrTruncated = errors.New("fdpass: message truncated")

	// ErrTooManyFDs reports that more descriptors arrived than the caller
	// allowed (the control buffer is rounded up to the platform's
	// alignment, so a few more than maxFDs can fit), or that a caller
	// tried to send more than [MaxFDs]. Received descriptors have all been
	// closed.
	ErrTooManyFDs = errors.New("fdpass: too many file descriptors")

	// ErrNoData reports an attempt to send descriptors without data, or to
	// receive into an empty buffer. On a stream socket descriptors ride on
	// data bytes, so at least one byte is needed.
	ErrNoData = errors.New("fdpass: descriptors need at least one data byte")

	// ErrBadControl reports control data from the kernel that could not be
	// parsed. It does not happen with a Linux kernel; it exists so that the
	// case is an error and not a panic.
	ErrBadControl = errors.New("fdpass: malformed control message")

	// ErrNilFile reports a nil *os.File passed to Send.
	ErrNilFile = errors.New("fdpass: nil file")
)
