package provider

import (
	"github.com/cursorwindow/cursorwindow/content/internal/wire"
	"github.com/cursorwindow/cursorwindow/window"
)

// PutValue writes a Go value into column col of w's last row: nil, any
// integer, float32/64, bool (as 0 or 1), string or []byte (nil []byte is
// NULL, as in database/sql).
func PutValue(w *window.Writer, col int, v any) error { return wire.PutValue(w, col, v) }
