package sqlparse

import (
	"fmt"

	"github.com/cursorwindow/cursorwindow/content"
)

// Sentinel errors, matched with errors.Is. Each wraps the content sentinel
// of the same meaning, so a caller that maps content errors (to exit
// codes, to Flight SQL status codes) handles a refused statement the same
// way as a provider's refusal.
var (
	// ErrUnsupported reports SQL that is valid but asks for something the
	// provider's query model cannot express (a join, an aggregate, a
	// transaction...). It wraps content.ErrUnsupported.
	ErrUnsupported error = &sentinel{"sqlparse: not supported", content.ErrUnsupported}
	// ErrSyntax reports text that is not a statement of the subset (a
	// missing keyword, an unterminated string, unbalanced parentheses). It
	// wraps content.ErrBadRequest.
	ErrSyntax error = &sentinel{"sqlparse: syntax error", content.ErrBadRequest}
)

// sentinel is a sentinel error that also matches a sentinel of package
// content.
type sentinel struct {
	msg  string
	also error
}

func (s *sentinel) Error() string { return s.msg }
func (s *sentinel) Unwrap() error { return s.also }

// Error is a statement Parse refused: where, and why.
type Error struct {
	Offset int    // byte offset in the statement of the refused part
	What   string // what is refused: "JOIN", "aggregate functions (COUNT)", "want FROM, found WHERE"
	Hint   string // what to do instead; may be empty
	Err    error  // ErrUnsupported or ErrSyntax
}

// Error implements error: "sqlparse: not supported: JOIN at offset 22
// (a statement reads one table)".
func (e *Error) Error() string {
	s := fmt.Sprintf("%v: %s at offset %d", e.Err, e.What, e.Offset)
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// Unwrap returns ErrUnsupported or ErrSyntax.
func (e *Error) Unwrap() error { return e.Err }

func unsupported(at int, what, hint string) error {
	return &Error{Offset: at, What: what, Hint: hint, Err: ErrUnsupported}
}

func syntax(at int, format string, args ...any) error {
	return &Error{Offset: at, What: fmt.Sprintf(format, args...), Err: ErrSyntax}
}
