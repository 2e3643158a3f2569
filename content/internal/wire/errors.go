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

// CodeShutdown is the code of the goodbye a provider sends every
// connection (request 0) when it shuts down.
const CodeShutdown = "shutdown"

// coded is a sentinel and its wire code.
type coded struct {
	code string
	err  error
}

// Error codes on the wire, one per sentinel, in the order CodeOf tries
// them: an error wrapping two sentinels gets the first one's code, the
// same every time.
var codeList = []coded{
	{"permission", ErrPermission},
	{"not_found", ErrNotFound},
	{"bad_request", ErrBadRequest},
	{"unsupported", ErrUnsupported},
	{"busy", ErrBusy},
	{"closed", ErrClosed},
	{"changed", ErrChanged},
	{"protocol", ErrProtocol},
	{"internal", ErrInternal},
	{CodeShutdown, ErrShutdown},
}

// windowCodes name on the wire the checks a provider makes of a window a
// consumer sends, in the order WindowCode tries them.
var windowCodes = []coded{
	{"not_sealed", window.ErrNotSealed},
	{"too_large", window.ErrTooLarge},
	{"corrupt", window.ErrCorrupt},
	{"out_of_range", window.ErrOutOfRange},
	{"type", window.ErrType},
}

// codeIn returns the code of the first of list that err wraps.
func codeIn(list []coded, err error) (string, bool) {
	for _, c := range list {
		if errors.Is(err, c.err) {
			return c.code, true
		}
	}
	return "", false
}

// errIn returns the error of code in list, or nil.
func errIn(list []coded, code string) error {
	for _, c := range list {
		if c.code == code {
			return c.err
		}
	}
	return nil
}

// CodeOf returns the wire code of err: that of the first sentinel it
// wraps, "internal" when it wraps none.
func CodeOf(err error) string {
	if c, ok := codeIn(codeList, err); ok {
		return c
	}
	return "internal"
}

// HasCode reports whether err wraps one of the sentinels, i.e. whether
// the provider chose what it means for the consumer.
func HasCode(err error) bool {
	_, ok := codeIn(codeList, err)
	return ok
}

// Sentinel returns the sentinel of a wire code; ErrInternal for a code it
// does not know.
func Sentinel(code string) error {
	if err := errIn(codeList, code); err != nil {
		return err
	}
	return ErrInternal
}

// WindowCode returns the wire code of the window check err failed, or "".
func WindowCode(err error) string {
	c, _ := codeIn(windowCodes, err)
	return c
}

// WindowSentinel returns the window package's sentinel of a window
// check's wire code, or nil for "" and codes it does not know.
func WindowSentinel(code string) error { return errIn(windowCodes, code) }
