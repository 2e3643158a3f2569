package cwarrow

import (
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/cursorwindow/cursorwindow/window"
)

// Sentinel errors, matched with errors.Is; a *FieldError wraps one of them.
var (
	// ErrMixedTypes reports a field whose type does not fit its column's
	// Arrow type: a STRING in an Int64 column, say, which SQLite allows.
	// The reader stops there rather than convert it; see the package
	// documentation for the rule that decides each column's type.
	ErrMixedTypes = errors.New("cwarrow: field type does not fit the column")
	// ErrInvalidUTF8 reports a STRING that is not valid UTF-8, which an
	// Arrow String must be. Declare such a column BLOB to read it as
	// Binary.
	ErrInvalidUTF8 = errors.New("cwarrow: STRING not valid UTF-8")
	// ErrTooLarge reports a STRING or BLOB longer than a String or Binary
	// array holds (2 GiB - 1 bytes: its offsets are int32). WithLargeTypes
	// reads such values as LargeString and LargeBinary.
	ErrTooLarge = errors.New("cwarrow: value too large for its column")
	// ErrNotNull reports a NULL in a column the provider declared NOT
	// NULL.
	ErrNotNull = errors.New("cwarrow: NULL in a column declared NOT NULL")
)

// FieldError is the error for one field of the result: where it is,
// what it held, and what its column is.
type FieldError struct {
	Row    int64            // the row's position in the result (0-based)
	Column int              // the column's index
	Name   string           // the column's name
	Got    window.FieldType // the field's type
	Want   arrow.DataType   // the column's Arrow type
	Err    error            // ErrMixedTypes, ErrInvalidUTF8, ErrTooLarge or ErrNotNull
	detail string           // what is wrong, if more than the sentinel says
}

func (e *FieldError) Error() string {
	d := e.detail
	if d == "" {
		switch e.Err {
		case ErrInvalidUTF8:
			d = "a STRING that is not valid UTF-8"
		case ErrTooLarge:
			d = fmt.Sprintf("a %s longer than 2 GiB - 1 bytes (WithLargeTypes reads it)", e.Got)
		case ErrNotNull:
			d = "a NULL in a column declared NOT NULL"
		case ErrMixedTypes:
			d = article(e.Got) + " " + e.Got.String()
		default:
			d = e.Err.Error()
		}
	}
	return fmt.Sprintf("cwarrow: row %d, column %d (%s): %s in a column of %s", e.Row, e.Column, e.Name, d, e.Want)
}

// Unwrap returns the sentinel.
func (e *FieldError) Unwrap() error { return e.Err }

func article(t window.FieldType) string {
	if t == window.TypeInt64 {
		return "an"
	}
	return "a"
}
