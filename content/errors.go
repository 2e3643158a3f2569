package content

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cursorwindow/cursorwindow/content/internal/wire"
)

// Sentinel errors, matched with errors.Is. Errors a provider returns reach
// the client as a *ProviderError that matches the sentinel of its code.
var (
	// ErrProviderGone reports that the connection to the provider was lost
	// (it exited, closed the connection, or sent garbage). Values of a
	// window already mapped stay readable until the cursor is closed.
	ErrProviderGone = errors.New("content: provider gone")
	// ErrNoProvider reports a Dial that reached no provider at its path:
	// nothing there, a stale socket, not a socket, a path too long for a
	// socket (Dial says which).
	ErrNoProvider = errors.New("content: no provider")
	// ErrPermission reports a caller the provider's Authorizer refused.
	ErrPermission = wire.ErrPermission
	// ErrNotFound reports an unknown URI or table.
	ErrNotFound = wire.ErrNotFound
	// ErrBadRequest reports a request the provider cannot serve as asked
	// (an unknown column, bad arguments).
	ErrBadRequest = wire.ErrBadRequest
	// ErrUnsupported reports an operation the provider does not implement.
	ErrUnsupported = wire.ErrUnsupported
	// ErrBusy reports a provider out of window memory or over a
	// per-connection limit; the caller may retry later.
	ErrBusy = wire.ErrBusy
	// ErrClosed reports use of a closed cursor, client or server.
	ErrClosed = wire.ErrClosed
	// ErrProtocol reports a message that breaks the protocol.
	ErrProtocol = wire.ErrProtocol
	// ErrInternal reports a provider failure with no better description.
	ErrInternal = wire.ErrInternal
	// ErrChanged reports a query whose data changed during the scan when
	// the rows it needed next were no longer in the provider's hands (a
	// provider without snapshots, or whose snapshot expired): the query
	// ends rather than serve rows of two versions. Run it again.
	ErrChanged = wire.ErrChanged
	// ErrShutdown reports a provider that closed the connection because
	// it is shutting down (gracefully: the replies it had started were
	// finished). It comes wrapped with ErrProviderGone.
	ErrShutdown = wire.ErrShutdown
)

// ProviderError is an error the provider reported for one request.
type ProviderError struct {
	Code    string // wire code: permission, not_found, bad_request, ...
	Message string // the provider's description
	// Window is the wire code of the window check a window the consumer
	// sent (a bulk insert's) failed: not_sealed, too_large, corrupt,
	// out_of_range or type; empty otherwise.
	Window string
}

// Error implements error.
func (e *ProviderError) Error() string {
	return "content: provider: " + strings.TrimPrefix(e.Message, "content: ")
}

// Unwrap returns the sentinel of the error's code, so that
// errors.Is(err, ErrNotFound) works across the process boundary.
func (e *ProviderError) Unwrap() error {
	return wire.Sentinel(e.Code)
}

// Is reports whether target is the window package's sentinel of the
// window check the error names (Window), so that
// errors.Is(err, window.ErrNotSealed) works across the process boundary
// too.
func (e *ProviderError) Is(target error) bool {
	w := wire.WindowSentinel(e.Window)
	return w != nil && w == target
}

// WriteError reports where a bulk insert or a batch failed and what
// became of the rows or operations before that point. A provider's
// BulkInsert may return one to name the failing row itself; the server
// otherwise names the row the provider read last.
type WriteError struct {
	// Index is the failing row of a bulk insert, counted from 0 over the
	// whole load, or the failing operation of a batch; -1 when none in
	// particular failed (a commit, say).
	Index int64
	// Kept is how many rows or operations before Index stay applied: 0
	// for a provider that applies all or nothing.
	Kept int64
	Err  error // why: a *ProviderError on the consumer's side
}

// Error implements error.
func (e *WriteError) Error() string {
	if e.Index < 0 {
		return fmt.Sprintf("%v (%d kept)", e.Err, e.Kept)
	}
	return fmt.Sprintf("at %d: %v (%d before it kept)", e.Index, e.Err, e.Kept)
}

// Unwrap returns the cause.
func (e *WriteError) Unwrap() error { return e.Err }

// replyError turns an error reply into the error a caller sees: a
// *ProviderError, inside a *WriteError when the reply names a row or an
// operation.
func replyError(e *wire.ErrorMsg) error {
	pe := &ProviderError{Code: e.Code, Message: e.Message, Window: e.Window}
	if e.At == nil {
		return pe
	}
	return &WriteError{Index: *e.At, Kept: e.Kept, Err: pe}
}
