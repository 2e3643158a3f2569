package content

import (
	"errors"
	"strings"
)

// Sentinel errors, matched with errors.Is. Errors a provider returns reach
// the client as a *ProviderError that matches the sentinel of its code.
var (
	// ErrProviderGone reports that the connection to the provider was lost
	// (it exited, closed the connection, or sent garbage). Values of a
	// window already mapped stay readable until the cursor is closed.
	ErrProviderGone = errors.New("content: provider gone")
	// ErrPermission reports a caller the provider's Authorizer refused.
	ErrPermission = errors.New("content: permission denied")
	// ErrNotFound reports an unknown URI or table.
	ErrNotFound = errors.New("content: not found")
	// ErrBadRequest reports a request the provider cannot serve as asked
	// (an unknown column, bad arguments).
	ErrBadRequest = errors.New("content: bad request")
	// ErrUnsupported reports an operation the provider does not implement.
	ErrUnsupported = errors.New("content: unsupported")
	// ErrBusy reports a provider out of window memory or over a
	// per-connection limit; the caller may retry later.
	ErrBusy = errors.New("content: busy")
	// ErrClosed reports use of a closed cursor, client or server.
	ErrClosed = errors.New("content: closed")
	// ErrProtocol reports a message that breaks the protocol.
	ErrProtocol = errors.New("content: protocol error")
	// ErrInternal reports a provider failure with no better description.
	ErrInternal = errors.New("content: provider error")
	// ErrShutdown reports a provider that closed the connection because
	// it is shutting down (gracefully: the replies it had started were
	// finished). It comes wrapped with ErrProviderGone.
	ErrShutdown = errors.New("content: provider shut down")
)

// Error codes on the wire, one per sentinel, in the order codeOf tries
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
	{"protocol", ErrProtocol},
	{"internal", ErrInternal},
	{"shutdown", ErrShutdown},
}

var codes = func() map[string]error {
	m := make(map[string]error, len(codeList))
	for _, c := range codeList {
		m[c.code] = c.err
	}
	return m
}()

// codeOf returns the wire code of err.
func codeOf(err error) string {
	for _, c := range codeList {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return "internal"
}

// shown reports whether the text of err may reach a consumer: only when
// err wraps one of the sentinels, i.e. the provider chose what it means
// for the consumer. Any other error (an SQL error naming paths or
// schema, say) reaches the consumer as ErrInternal without its text; the
// server logs it.
func shown(err error) bool {
	for _, c := range codeList {
		if errors.Is(err, c.err) {
			return true
		}
	}
	return false
}

// ProviderError is an error the provider reported for one request.
type ProviderError struct {
	Code    string // wire code: permission, not_found, bad_request, ...
	Message string // the provider's description
}

// Error implements error.
func (e *ProviderError) Error() string {
	return "content: provider: " + strings.TrimPrefix(e.Message, "content: ")
}

// Unwrap returns the sentinel of the error's code, so that
// errors.Is(err, ErrNotFound) works across the process boundary.
func (e *ProviderError) Unwrap() error {
	if s, ok := codes[e.Code]; ok {
		return s
	}
	return ErrInternal
}
