package sqldriver

import "github.com/cursorwindow/cursorwindow/sqldriver/sqlparse"

// ErrUnsupported reports what the driver refuses because a provider's
// query model cannot express it: SQL outside the subset (the error is a
// *sqlparse.Error naming what), named arguments, queries inside a
// transaction, read-only transactions. It is
// sqlparse.ErrUnsupported, and wraps content.ErrUnsupported.
var ErrUnsupported = sqlparse.ErrUnsupported

// refusal is an error of the driver's own that wraps ErrUnsupported.
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }
func (r *refusal) Unwrap() error { return ErrUnsupported }
