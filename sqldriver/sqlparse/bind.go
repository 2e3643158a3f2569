package sqlparse

import (
	"fmt"

	"github.com/cursorwindow/cursorwindow/content"
)

// Query returns the content.Query a SELECT asks for, with args (one per
// placeholder, in order) bound: the WHERE's to the selection, the last
// to the limit if the statement has LIMIT ?.
//
// q.Args shares args' array: leave args alone while q is in use. A
// LIMIT of 0 asks for no rows, which a content.Query cannot say (its
// Limit 0 means no limit): Query then sets Limit to 1 and reports noRows,
// and the caller takes the columns from the answer and no row.
func (s *Statement) Query(args []any) (q *content.Query, noRows bool, err error) {
	if s.Kind != Select {
		return nil, false, fmt.Errorf("%w: %v is not a query", content.ErrBadRequest, s.Kind)
	}
	if err := s.checkArgs(args); err != nil {
		return nil, false, err
	}
	q = &content.Query{URI: s.Table, Projection: s.Columns, Selection: s.Selection(), Order: s.Order}
	q.Args = s.whereArgs(args[:s.WhereParams:s.WhereParams])
	limit := s.Limit
	if s.LimitParam {
		v, err := content.NormalizeValue(args[len(args)-1])
		n, ok := v.(int64)
		if err != nil || !ok || n < 0 {
			return nil, false, fmt.Errorf("%w: LIMIT ?: want a whole number of at least 0, got %T %v", content.ErrBadRequest, args[len(args)-1], args[len(args)-1])
		}
		limit = n
	}
	switch {
	case limit == 0:
		q.Limit, noRows = 1, true
	case limit > 0:
		q.Limit = limit
	}
	return q, noRows, nil
}

// Write returns what an INSERT, UPDATE or DELETE writes: the values by
// column (INSERT, UPDATE) and the arguments of the selection (Selection),
// from args (one per placeholder, in order) and the statement's
// literals; whereArgs may share args' array.
func (s *Statement) Write(args []any) (values content.Values, whereArgs []any, err error) {
	if s.Kind != Insert && s.Kind != Update && s.Kind != Delete {
		return nil, nil, fmt.Errorf("%w: %v is not a write", content.ErrBadRequest, s.Kind)
	}
	if err := s.checkArgs(args); err != nil {
		return nil, nil, err
	}
	if s.Kind != Delete {
		var set []any
		if s.sets != nil {
			set, args = bind(s.sets, args)
		} else {
			set, args = args[:len(s.Columns)], args[len(s.Columns):]
		}
		values = make(content.Values, len(s.Columns))
		for i, c := range s.Columns {
			values[c] = set[i]
		}
	}
	return values, s.whereArgs(args), nil
}

// whereArgs returns the arguments of Selection: the caller's (one per ?
// of Where) with the values of Where's literals in their places; nil for
// none.
func (s *Statement) whereArgs(args []any) []any {
	if s.whereSlots != nil {
		args, _ = bind(s.whereSlots, args)
	}
	if len(args) == 0 {
		return nil
	}
	return args
}

func (s *Statement) checkArgs(args []any) error {
	if n := s.NumParams(); len(args) != n {
		return fmt.Errorf("%w: %d arguments for %d placeholders", content.ErrBadRequest, len(args), n)
	}
	return nil
}
