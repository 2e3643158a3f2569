package selection

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cursorwindow/cursorwindow/content"
)

// A Selection is a parsed selection: which rows a query, an update or a
// delete reads, with ? for each of its arguments. The zero Selection (and
// the one Parse returns for "") selects every row.
type Selection struct {
	root  *node // nil: every row
	nargs int
}

// nodeKind is what a node of a parsed selection is.
type nodeKind uint8

const (
	kindCond  nodeKind = iota // column op ?
	kindAnd                   // kids joined by AND
	kindOr                    // kids joined by OR
	kindNot                   // NOT kids[0]
	kindParen                 // (kids[0])
)

// String returns the keyword of AND and OR nodes.
func (k nodeKind) String() string {
	switch k {
	case kindAnd:
		return "AND"
	case kindOr:
		return "OR"
	case kindNot:
		return "NOT"
	case kindParen:
		return "()"
	}
	return "condition"
}

// Operators of a condition beyond the comparisons, which keep their text
// ("=", "!=", "<>", "<", "<=", ">", ">=").
const (
	opLike    = "LIKE"
	opIn      = "IN"
	opBetween = "BETWEEN"
	opIsNull  = "IS NULL"
)

// node is one node of a parsed selection: parentheses are kept, so that
// the SQL rendered reads as the selection was written.
type node struct {
	kind nodeKind
	kids []*node
	// A condition's column (as written, unquoted), operator, NOT (NOT
	// LIKE, NOT IN, NOT BETWEEN, IS NOT NULL), its first argument's index
	// and its number of arguments.
	col   string
	op    string
	not   bool
	arg   int
	nargs int
}

// NumArgs returns the number of ? in the selection: the number of
// arguments it takes.
func (s *Selection) NumArgs() int { return s.nargs }

// String returns the selection as SQL with every column name quoted as
// written: the canonical text, which parses back to the same Selection.
func (s *Selection) String() string {
	sql, _ := s.SQL(func(name string) (string, error) { return name, nil })
	return sql
}

// SQL renders the selection as an SQL condition (without WHERE) with a ?
// for each argument, in order. resolve maps each column name as the
// consumer wrote it to the table's column name, which SQL quotes as an
// identifier; an error from resolve (say, a column the table does not
// have) is returned as it is if it wraps content.ErrBadRequest,
// content.ErrNotFound, content.ErrPermission or content.ErrUnsupported,
// wrapped in content.ErrBadRequest otherwise. The empty selection renders
// as "".
func (s *Selection) SQL(resolve func(name string) (string, error)) (string, error) {
	if s.root == nil {
		return "", nil
	}
	var b strings.Builder
	if err := s.root.sql(&b, resolve); err != nil {
		return "", err
	}
	return b.String(), nil
}

func (n *node) sql(b *strings.Builder, resolve func(string) (string, error)) error {
	switch n.kind {
	case kindAnd, kindOr:
		for i, k := range n.kids {
			if i > 0 {
				b.WriteString(" " + n.kind.String() + " ")
			}
			if err := k.sql(b, resolve); err != nil {
				return err
			}
		}
		return nil
	case kindNot:
		b.WriteString("NOT ")
		return n.kids[0].sql(b, resolve)
	case kindParen:
		b.WriteByte('(')
		if err := n.kids[0].sql(b, resolve); err != nil {
			return err
		}
		b.WriteByte(')')
		return nil
	}
	col, err := resolveColumn(resolve, n.col)
	if err != nil {
		return err
	}
	b.WriteString(QuoteIdent(col))
	not := ""
	if n.not {
		not = "NOT "
	}
	switch n.op {
	case opIsNull:
		b.WriteString(" IS " + not + "NULL")
	case opLike:
		b.WriteString(" " + not + "LIKE ?")
	case opBetween:
		b.WriteString(" " + not + "BETWEEN ? AND ?")
	case opIn:
		b.WriteString(" " + not + "IN (" + strings.Repeat("?, ", n.nargs-1) + "?)")
	default:
		b.WriteString(" " + n.op + " ?")
	}
	return nil
}

// resolveColumn calls resolve, keeping the kinds of errors a consumer
// is told and making any other a bad request.
func resolveColumn(resolve func(string) (string, error), name string) (string, error) {
	c, err := resolve(name)
	if err != nil {
		for _, kind := range []error{content.ErrBadRequest, content.ErrNotFound, content.ErrPermission, content.ErrUnsupported} {
			if errors.Is(err, kind) {
				return "", err
			}
		}
		return "", fmt.Errorf("%w: column %q: %w", content.ErrBadRequest, name, err)
	}
	return c, nil
}

// QuoteIdent quotes a name as an SQL identifier: in double quotes, each
// double quote in it doubled.
func QuoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// ColumnIndex returns a resolver of column names to their index in
// columns, matched case-insensitively as SQLite matches them (an exact
// match first), for Compile; an unknown name is an error wrapping
// content.ErrBadRequest that lists the columns.
func ColumnIndex(columns []string) func(name string) (int, error) {
	exact := make(map[string]int, len(columns))
	folded := make(map[string]int, len(columns))
	for i, c := range slices.Backward(columns) { // the first of equal names wins
		exact[c] = i
		folded[FoldName(c)] = i
	}
	return func(name string) (int, error) {
		if i, ok := exact[name]; ok {
			return i, nil
		}
		if i, ok := folded[FoldName(name)]; ok {
			return i, nil
		}
		return 0, fmt.Errorf("%w: no column %q (columns: %s)", content.ErrBadRequest, name, strings.Join(columns, ", "))
	}
}

// FoldName returns the key under which names equal but for case (as
// strings.EqualFold says: "ID", "id", "Id") are one: a map of FoldName
// keys finds a column by any spelling in one lookup.
func FoldName(name string) string { return strings.ToLower(strings.ToUpper(name)) }
