package window

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrWindowFull reports that a row does not fit in the window at its
	// maximum size. The row has been rolled back; start the next window
	// with it. If the window is empty, the row needs a window with a larger
	// maximum size.
	ErrWindowFull = errors.New("window: full")
	// ErrCorrupt reports a window whose header, directory, offsets or
	// type bytes are inconsistent. Wrapped errors say what was wrong.
	ErrCorrupt = errors.New("window: corrupt")
	// ErrNotSealed reports a file offered to Open that is not a memfd
	// sealed against shrinking, growing and writing.
	ErrNotSealed = errors.New("window: not a sealed memfd")
	// ErrSealed reports a write to a sealed window.
	ErrSealed = errors.New("window: sealed")
	// ErrClosed reports use of a closed window or writer.
	ErrClosed = errors.New("window: closed")
	// ErrOutOfRange reports a row or column outside the window.
	ErrOutOfRange = errors.New("window: row or column out of range")
	// ErrType reports a field whose type cannot be converted to the one
	// asked for (a BLOB read as a number, say).
	ErrType = errors.New("window: type mismatch")
	// ErrNoRow reports a Put before any AllocRow.
	ErrNoRow = errors.New("window: no row allocated")
	// ErrPermission reports a POSIX shm object, System V segment or file
	// that OpenLocation (or Mappings.CopyLocation) refuses for its owner
	// or mode.
	ErrPermission = errors.New("window: owner or mode refused")
	// ErrTooLarge reports a size or count beyond what the format or the
	// configuration allows.
	ErrTooLarge = errors.New("window: too large")
	// ErrPoolExhausted reports that Pool.Get found the memory budget
	// spent and no window came back within the pool's wait: the provider
	// is busy.
	ErrPoolExhausted = errors.New("window: pool budget spent")
)

// FieldError describes a failed access to one field.
type FieldError struct {
	Row, Col int
	Err      error
}

// Error implements error.
func (e *FieldError) Error() string {
	return fmt.Sprintf("window: field (%d, %d): %s", e.Row, e.Col, strings.TrimPrefix(e.Err.Error(), "window: "))
}

// Unwrap returns the underlying error.
func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(row, col int, err error) error {
	return &FieldError{Row: row, Col: col, Err: err}
}

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}
