package sqlparse_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/cursorwindow/cursorwindow/sqldriver/sqlparse"
)

// FuzzParse parses any text: an error is fine (an *Error wrapping
// ErrUnsupported or ErrSyntax, at an offset inside the text), a panic is
// not, and whatever parses renders with String and parses back into the
// same Statement, which renders the same again. Seeds are in
// testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, sql string) {
		st, err := sqlparse.Parse(sql)
		if err != nil {
			var pe *sqlparse.Error
			if !errors.As(err, &pe) || (!errors.Is(err, sqlparse.ErrUnsupported) && !errors.Is(err, sqlparse.ErrSyntax)) {
				t.Fatalf("Parse(%q): error %v is not an *Error of a sentinel", sql, err)
			}
			if pe.Offset < 0 || pe.Offset > len(sql) {
				t.Fatalf("Parse(%q): offset %d outside the text", sql, pe.Offset)
			}
			return
		}
		text := st.String()
		again, err := sqlparse.Parse(text)
		if err != nil {
			t.Fatalf("Parse(%q) = %+v renders as %q, which does not parse: %v", sql, st, text, err)
		}
		if !equal(st, again) {
			t.Fatalf("Parse(%q) = %+v renders as %q, which parses as %+v", sql, st, text, again)
		}
		if again.String() != text {
			t.Fatalf("%q renders as %q", text, again.String())
		}
		if st.Selection() != again.Selection() || fmt.Sprintf("%#v", bound(st)) != fmt.Sprintf("%#v", bound(again)) {
			t.Fatalf("Parse(%q) binds %q %#v, its rendering %q %#v", sql, st.Selection(), bound(st), again.Selection(), bound(again))
		}
		if n := st.NumParams(); n < 0 || n > len(sql) {
			t.Fatalf("Parse(%q): %d params", sql, n)
		}
	})
}

// bound returns what st asks the provider for with an argument of 1 for
// each placeholder: the statement's literals in their places.
func bound(st *sqlparse.Statement) []any {
	args := make([]any, st.NumParams())
	for i := range args {
		args[i] = int64(1)
	}
	if st.Kind == sqlparse.Select {
		q, _, err := st.Query(args)
		if err != nil {
			return []any{err.Error()}
		}
		return q.Args
	}
	values, where, err := st.Write(args)
	if err != nil {
		return []any{err.Error()}
	}
	return []any{values, where}
}

func equal(a, b *sqlparse.Statement) bool {
	if len(a.Columns) != len(b.Columns) || (a.Columns == nil) != (b.Columns == nil) {
		return false
	}
	for i := range a.Columns {
		if a.Columns[i] != b.Columns[i] {
			return false
		}
	}
	return a.Kind == b.Kind && a.Table == b.Table && a.Where == b.Where && a.WhereParams == b.WhereParams &&
		a.Order == b.Order && a.Limit == b.Limit && a.LimitParam == b.LimitParam
}
