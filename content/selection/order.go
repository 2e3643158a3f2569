package selection

import (
	"strings"
)

// An Order is a parsed sort order: the rows ordered by the first term,
// ties by the next, and so on. A nil Order keeps the rows' own order.
type Order []OrderTerm

// OrderTerm is one column of an Order.
type OrderTerm struct {
	Column    string // as written, unquoted
	Direction Direction
}

// Direction is an order's direction for one column.
type Direction uint8

const (
	// Unspecified is ascending, as SQL's default; it renders as nothing.
	Unspecified Direction = iota
	// Ascending is ASC.
	Ascending
	// Descending is DESC.
	Descending
)

// String returns "ASC", "DESC" or "" (Unspecified).
func (d Direction) String() string {
	switch d {
	case Ascending:
		return "ASC"
	case Descending:
		return "DESC"
	}
	return ""
}

// String returns the order as SQL with every column name quoted as
// written: the canonical text, which parses back to the same Order.
func (o Order) String() string {
	sql, _ := o.SQL(func(name string) (string, error) { return name, nil })
	return sql
}

// SQL renders the order as an SQL ORDER BY list (without ORDER BY), each
// column resolved and quoted as Selection.SQL does; nil renders as "".
func (o Order) SQL(resolve func(name string) (string, error)) (string, error) {
	terms := make([]string, len(o))
	for i, t := range o {
		c, err := resolveColumn(resolve, t.Column)
		if err != nil {
			return "", err
		}
		terms[i] = QuoteIdent(c)
		if t.Direction != Unspecified {
			terms[i] += " " + t.Direction.String()
		}
	}
	return strings.Join(terms, ", "), nil
}

// equalRows compares every two rows equal: a nil Order's comparison.
func equalRows(a, b []any) int { return 0 }

// Compile binds the order to a table's columns: the function it returns
// compares two rows (a table's values in column order) as the order
// sorts them, with Compare on each column, for slices.SortStableFunc.
// column maps a name as written to its index in the rows (ColumnIndex);
// its error is returned as SQL returns resolve's. A nil Order compares
// every two rows equal.
func (o Order) Compile(column func(name string) (int, error)) (func(a, b []any) int, error) {
	if len(o) == 0 {
		return equalRows, nil // a query with no order allocates nothing for it
	}
	idx := make([]int, len(o))
	for i, t := range o {
		c, err := resolveIndex(column, t.Column)
		if err != nil {
			return nil, err
		}
		idx[i] = c
	}
	return func(a, b []any) int {
		for i, c := range idx {
			r := Compare(a[c], b[c])
			if o[i].Direction == Descending {
				r = -r
			}
			if r != 0 {
				return r
			}
		}
		return 0
	}, nil
}
