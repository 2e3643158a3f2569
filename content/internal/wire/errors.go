package wire

import (
	"errors"

	"github.com/cursorwindow/cursorwindow/window"
)

// The sentinels that have a wire code, re-exported by content (and so
// seen by providers and consumers alike): errors.Is matches them on both
// sides of the socket. Their meanings are documented where users meet
// them, in content's errors.go.
var (
	ErrPermission  = errors.New("content: permission denied")
	ErrNotFound    = errors.New("content: not found")
	ErrBadRequest  = errors.New("content: bad request")
	ErrUnsupported = errors.New("content: unsupported")
	ErrBusy        = errors.New("content: busy")
	ErrClosed      = errors.New("content: closed")
	ErrChanged     = errors.New("content: changed")
	ErrProtocol    = errors.New("content: protocol error")
	ErrInternal    = errors.New("content: provider error")
	ErrShutdown    = errors.New("content: provider shut down")
)

// Error codes on the wire, one per sentinel, in the order CodeOf tries
// them: an error wrapping two sentinels gets the first one's code, the
// same every time.
var codeList = []struct {
	code string
	err  error
}{
	{"permission", ErrPermission},
	{"not_found", ErrNotFound},
	{"bad_request", ErrBadRequest},
	{"unsupported", ErrUnsupported},
	{"busy", ErrBusy},
	{"closed", ErrClosed},
	{"changed", ErrChanged},
	{"protocol", ErrProtocol},
	{"internal", ErrInternal},
	{"shutdown", ErrShutdown},
}

// CodeOf returns the wire code of err: that of the first sentinel it
// wraps, "internal" when it wraps none.
func CodeOf(err error) string {
	for _, c := range codeList {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return "internal"
}

// HasCode reports whether err wraps one of the sentinels, i.e. whether
// the provider chose what it means for the consumer.
func HasCode(err error) bool {
	for _, c := range codeList {
		if errors.Is(err, c.err) {
			return true
		}
	}
	return false
}

// Sentinel returns the sentinel of a wire code; ErrInternal for a code it
// does not know.
func Sentinel(code string) error {
	for _, c := range codeList {
		if c.code == code {
			return c.err
		}
	}
	return ErrInternal
}

// windowCodes name on the wire the checks a provider makes of a window a
// consumer sends, in the order WindowCode tries them.
var windowCodes = []struct {
	code string
	err  error
}{
	{"not_sealed", window.ErrNotSealed},
	{"too_large", window.ErrTooLarge},
	{"corrupt", window.ErrCorrupt},
	{"out_of_range", window.ErrOutOfRange},
	{"type", window.ErrType},
}

// WindowCode returns the wire code of the window check err failed, or "".
func WindowCode(err error) string {
	for _, w := range windowCodes {
		if errors.Is(err, w.err) {
			return w.code
		}
	}
	return ""
}

// WindowSentinel returns the window package's sentinel of a window
// check's wire code, or nil for "" and codes it does not know.
func WindowSentinel(code string) error {
	for _, w := range windowCodes {
		if w.code == code {
			return w.err
		}
	}
	return nil
}
