package parcel

import (
	"math"
	"time"

	"github.com/cursorwindow/cursorwindow/fdpass"
)

// DefaultMaxBodySize is the default limit on a parcel body
// ([WithMaxBodySize]): 1 MiB. Parcels carry requests and window
// descriptors; bulk data travels in windows (shared memory), not in bodies.
const DefaultMaxBodySize = 1 << 20

// defaultMaxFDs is the default limit on descriptors per parcel
// ([WithMaxFDs]).
const defaultMaxFDs = 16

type config struct {
	maxBody      int
	maxFDs       int
	writeTimeout time.Duration
}

func defaultConfig() config {
	return config{maxBody: DefaultMaxBodySize, maxFDs: defaultMaxFDs}
}

// Option configures a [Conn].
type Option func(*config)

// WithMaxBodySize sets the largest body, in bytes, the Conn reads or
// writes (default [DefaultMaxBodySize]). A header announcing more is
// refused with [ErrTooLarge] before anything is allocated. Values below 1
// count as 1; values above 4 GiB-1 (what the header can express) count as
// that. Both ends of a connection should agree on it.
func WithMaxBodySize(n int) Option {
	return func(c *config) { c.maxBody = int(min(max(int64(n), 1), math.MaxUint32)) }
}

// WithMaxFDs sets the largest number of descriptors per parcel the Conn
// reads or writes (default 16). Values below 0 count as 0 (no
// descriptors); values above [fdpass.MaxFDs] (253) count as that.
func WithMaxFDs(n int) Option {
	return func(c *config) { c.maxFDs = min(max(n, 0), fdpass.MaxFDs) }
}

// WithWriteTimeout bounds how long a Write made with a context that is
// never done (context.Background) waits for the peer to take its bytes:
// a peer that stops reading fails the Write with an error matching
// os.ErrDeadlineExceeded (and the stream, if part of the parcel went,
// with [ErrProtocol]) within d, at least d/2, instead of blocking it
// forever. It costs no timer per Write: the connection keeps one write
// deadline, moved d ahead only when less than d/2 of it is left, so a
// stream of writes refreshes it at most once per d/2. A Write made with a
// context that can be done is bounded by that context instead. Default 0:
// no bound.
func WithWriteTimeout(d time.Duration) Option {
	return func(c *config) { c.writeTimeout = max(d, 0) }
}
