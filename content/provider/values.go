package provider

import (
	"github.com/cursorwindow/cursorwindow/content/internal/wire"
	"github.com/cursorwindow/cursorwindow/window"
)

// NormalizeValue maps a value as a peer's msgpack decodes it onto one of
// the five kinds a window stores: nil, int64 (from any Go integer type,
// and bool as 0 or 1), float64 (also from float32), string or []byte.
// Anything else, and an unsigned integer above math.MaxInt64, is an error
// wrapping content.ErrBadRequest: a provider passes a consumer's arguments and
// values through it before using them.
func NormalizeValue(v any) (any, error) { return wire.NormalizeValue(v) }

// PutValue writes a Go value into column col of w's last row: nil, any
// integer, float32/64, bool (as 0 or 1), string or []byte (nil []byte is
// NULL, as in database/sql).
func PutValue(w *window.Writer, col int, v any) error { return wire.PutValue(w, col, v) }
