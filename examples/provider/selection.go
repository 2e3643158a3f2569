package main

import (
	"fmt"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/selection"
)

// The provider never splices a consumer's text into SQL. A selection or
// an order is parsed by the shared grammar (package content/selection)
// and rebuilt from the table's own column names; values only ever reach
// SQLite as bound parameters. Valid SQL outside the grammar is refused
// with content.ErrUnsupported, naming it; text that is not SQL with
// content.ErrBadRequest.

// where parses a selection into an SQL condition (without WHERE) and
// checks that it has exactly nargs placeholders.
func (t *table) where(text string, nargs int) (string, error) {
	s, err := selection.Parse(text)
	if err != nil {
		return "", err
	}
	if s.NumArgs() != nargs {
		if s.String() == "" {
			return "", badRequest("%d arguments for no selection", nargs)
		}
		return "", badRequest("selection %q has %d placeholders but %d arguments were given", text, s.NumArgs(), nargs)
	}
	return s.SQL(t.column)
}

// orderBy parses an order into an SQL ORDER BY list (without ORDER BY).
func (t *table) orderBy(text string) (string, error) {
	o, err := selection.ParseOrder(text)
	if err != nil {
		return "", err
	}
	return o.SQL(t.column)
}

// badRequest returns an error that reaches the consumer as
// content.ErrBadRequest.
func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{content.ErrBadRequest}, args...)...)
}

// quoteIdent quotes a name as an SQL identifier (here, where parameters
// named selection hide the package).
var quoteIdent = selection.QuoteIdent
