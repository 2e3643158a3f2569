package selection

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cursorwindow/cursorwindow/content"
)

// truth is SQL's three-valued logic: a comparison with NULL is unknown,
// neither true nor false, and so is its NOT.
type truth uint8

const (
	falsy truth = iota
	truthy
	unknown
)

func (t truth) not() truth {
	switch t {
	case truthy:
		return falsy
	case falsy:
		return truthy
	}
	return unknown
}

// Compile binds the selection to a table's columns and a query's
// arguments: the function it returns reports whether a row (the table's
// values in column order, as content.NormalizeValue returns them) is
// selected, by SQLite's rules (see the package documentation). column
// maps a name as written to its index in the rows (ColumnIndex); its
// error is returned as SQL returns resolve's. The arguments are
// normalized with content.NormalizeValue; their number must be NumArgs,
// or the error wraps content.ErrBadRequest.
func (s *Selection) Compile(column func(name string) (int, error), args []any) (func(row []any) bool, error) {
	if len(args) != s.nargs {
		return nil, fmt.Errorf("%w: selection %q has %d placeholders but %d arguments were given",
			content.ErrBadRequest, s.String(), s.nargs, len(args))
	}
	vals := make([]any, len(args))
	for i, a := range args {
		v, err := content.NormalizeValue(a)
		if err != nil {
			return nil, fmt.Errorf("argument %d: %w", i+1, err)
		}
		vals[i] = v
	}
	if s.root == nil {
		return func([]any) bool { return true }, nil
	}
	eval, err := s.root.compile(column, vals)
	if err != nil {
		return nil, err
	}
	return func(row []any) bool { return eval(row) == truthy }, nil
}

func (n *node) compile(column func(string) (int, error), args []any) (func([]any) truth, error) {
	switch n.kind {
	case kindAnd, kindOr:
		kids := make([]func([]any) truth, len(n.kids))
		for i, k := range n.kids {
			f, err := k.compile(column, args)
			if err != nil {
				return nil, err
			}
			kids[i] = f
		}
		// AND: false wins over unknown; OR: true wins over unknown.
		decisive, other := falsy, truthy
		if n.kind == kindOr {
			decisive, other = truthy, falsy
		}
		return func(row []any) truth {
			r := other
			for _, k := range kids {
				switch k(row) {
				case decisive:
					return decisive
				case unknown:
					r = unknown
				}
			}
			return r
		}, nil
	case kindNot:
		k, err := n.kids[0].compile(column, args)
		if err != nil {
			return nil, err
		}
		return func(row []any) truth { return k(row).not() }, nil
	case kindParen:
		return n.kids[0].compile(column, args)
	}
	c, err := resolveIndex(column, n.col)
	if err != nil {
		return nil, err
	}
	cond := n.condition(args[n.arg : n.arg+n.nargs])
	if n.not {
		return func(row []any) truth { return cond(row[c]).not() }, nil
	}
	return func(row []any) truth { return cond(row[c]) }, nil
}

// condition returns the test of a condition (before its NOT) on a value.
func (n *node) condition(args []any) func(v any) truth {
	switch n.op {
	case opIsNull:
		return func(v any) truth { return is(v == nil) }
	case opLike:
		return func(v any) truth {
			if v == nil || args[0] == nil {
				return unknown
			}
			return is(like(text(v), text(args[0])))
		}
	case opBetween:
		return func(v any) truth {
			return and(compareTo(v, args[0], func(c int) bool { return c >= 0 }),
				compareTo(v, args[1], func(c int) bool { return c <= 0 }))
		}
	case opIn:
		return func(v any) truth {
			if v == nil {
				return unknown
			}
			r := falsy
			for _, a := range args {
				if a == nil {
					r = unknown
				} else if Compare(v, a) == 0 {
					return truthy
				}
			}
			return r
		}
	}
	var ok func(int) bool
	switch n.op {
	case "=":
		ok = func(c int) bool { return c == 0 }
	case "!=", "<>":
		ok = func(c int) bool { return c != 0 }
	case "<":
		ok = func(c int) bool { return c < 0 }
	case "<=":
		ok = func(c int) bool { return c <= 0 }
	case ">":
		ok = func(c int) bool { return c > 0 }
	default: // ">=", the last the parser makes
		ok = func(c int) bool { return c >= 0 }
	}
	return func(v any) truth { return compareTo(v, args[0], ok) }
}

func is(b bool) truth {
	if b {
		return truthy
	}
	return falsy
}

func and(a, b truth) truth {
	switch {
	case a == falsy || b == falsy:
		return falsy
	case a == unknown || b == unknown:
		return unknown
	}
	return truthy
}

// compareTo applies ok to Compare(v, arg), unknown if either is NULL.
func compareTo(v, arg any, ok func(int) bool) truth {
	if v == nil || arg == nil {
		return unknown
	}
	return is(ok(Compare(v, arg)))
}

// resolveIndex calls column, keeping the kinds of errors a consumer is
// told, as resolveColumn.
func resolveIndex(column func(string) (int, error), name string) (int, error) {
	var i int
	_, err := resolveColumn(func(n string) (string, error) {
		var err error
		i, err = column(n)
		return n, err
	}, name)
	return i, err
}

// Compare orders two values as SQLite does: NULL before numbers
// (int64 and float64, compared numerically), numbers before strings
// (compared bytewise, SQLite's BINARY collation), strings before []byte.
// Values of other kinds sort last, equal to each other. NaN, which
// SQLite stores as NULL, sorts before every other number.
func Compare(a, b any) int {
	if ra, rb := rank(a), rank(b); ra != rb {
		return cmp.Compare(ra, rb)
	}
	switch x := a.(type) {
	case int64:
		if y, ok := b.(int64); ok {
			return cmp.Compare(x, y)
		}
		return compareIntFloat(x, b.(float64))
	case float64:
		if y, ok := b.(int64); ok {
			return -compareIntFloat(y, x)
		}
		return cmp.Compare(x, b.(float64))
	case string:
		return strings.Compare(x, b.(string))
	case []byte:
		return bytes.Compare(x, b.([]byte))
	}
	return 0
}

func rank(v any) int {
	switch v.(type) {
	case nil:
		return 0
	case int64, float64:
		return 1
	case string:
		return 2
	case []byte:
		return 3
	}
	return 4
}

// compareIntFloat compares an integer with a float exactly, also where
// converting the integer to a float would round (beyond 2^53).
func compareIntFloat(i int64, f float64) int {
	switch {
	case math.IsNaN(f):
		return 1
	case f >= 0x1p63:
		return -1
	case f < -0x1p63:
		return 1
	}
	t := math.Trunc(f)
	if c := cmp.Compare(i, int64(t)); c != 0 {
		return c
	}
	return cmp.Compare(0, f-t) // same integer part: the fraction decides
}

// text returns a value as LIKE reads it: integers in decimal, floats
// with 15 significant digits and ".0" when integral, as SQLite prints
// them (SQLite writes an exponent as "1.0e+20" where this writes
// "1e+20").
func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		s := strconv.FormatFloat(x, 'g', 15, 64)
		if !strings.ContainsAny(s, ".eIN") {
			s += ".0"
		}
		return s
	}
	return fmt.Sprint(v)
}

// like reports whether s matches the LIKE pattern p: % any run of
// characters, _ one character, ASCII letters matched whatever their
// case. It backtracks only to the last %, so it takes at most
// len(s)*len(p) steps.
func like(s, p string) bool {
	si, pi := 0, 0
	star, mark := -1, 0 // the last % in p, and where s stood when it was met
	for si < len(s) {
		if pi < len(p) {
			switch p[pi] {
			case '%':
				star, mark = pi, si
				pi++
				continue
			case '_':
				_, n := utf8.DecodeRuneInString(s[si:])
				si += n
				pi++
				continue
			default:
				if foldASCII(p[pi]) == foldASCII(s[si]) {
					si++
					pi++
					continue
				}
			}
		}
		if star < 0 {
			return false
		}
		_, n := utf8.DecodeRuneInString(s[mark:])
		mark += n
		si, pi = mark, star+1
	}
	for pi < len(p) && p[pi] == '%' {
		pi++
	}
	return pi == len(p)
}

func foldASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
