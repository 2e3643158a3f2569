package sqldriver

import "github.com/cursorwindow/cursorwindow/sqldriver/sqlparse"

// ErrUnsupported reports what the driver refuses because a provider's
// query model cannot express it: SQL outside the subset (the error is a
// *sqlparse.Error naming what), transactions, named arguments. It is
// sqlparse.ErrUnsupported, and wraps content.ErrUnsupported.
var ErrUnsupported = sqlparse.ErrUnsupported

// refusal is an error of the driver's own that wraps ErrUnsupported.
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }
func (r *refusal) Unwrap() error { return ErrUnsupported }

var errTransactions error = &refusal{"sqldriver: transactions are not supported: " +
	"each statement is a request of its own to the provider, applied when it is answered"}
