package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cursorwindow/cursorwindow/content"
)

// The provider never splices a consumer's text into SQL. A selection is
// parsed against this grammar and rebuilt from the table's own column
// names; values only ever reach SQLite as bound parameters:
//
//	selection = term { "OR" term }
//	term      = factor { "AND" factor }
//	factor    = "NOT" factor | "(" selection ")" | column condition
//	condition = op "?" | [ "NOT" ] "LIKE" "?" | "IS" [ "NOT" ] "NULL"
//	          | [ "NOT" ] "IN" "(" "?" { "," "?" } ")" | [ "NOT" ] "BETWEEN" "?" "AND" "?"
//	op        = "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">=")
//	column    = name | '"' name '"'
//
// Valid SQL outside the grammar (functions, values written in the text,
// subqueries, other operators) is refused with content.ErrUnsupported,
// naming it; text that is not SQL with content.ErrBadRequest.
//
// An order is a list of columns, each optionally followed by ASC or DESC:
//
//	order = column [ "ASC" | "DESC" ] { "," column [ "ASC" | "DESC" ] }
//
// Keywords are case-insensitive, as are column names (as in SQLite).

// token kinds.
const (
	tokIdent  = iota // bare name or keyword
	tokQuoted        // "quoted name"
	tokOp            // comparison operator
	tokParam         // ?
	tokComma         // ,
	tokOpen          // (
	tokClose         // )
)

type token struct {
	kind int
	text string // the name (unquoted) or operator
}

// tokenize splits a selection or order into tokens; anything outside the
// grammar's alphabet is an error.
func tokenize(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '?':
			toks = append(toks, token{tokParam, "?"})
			i++
		case c == ',':
			toks = append(toks, token{tokComma, ","})
			i++
		case c == '(':
			toks = append(toks, token{tokOpen, "("})
			i++
		case c == ')':
			toks = append(toks, token{tokClose, ")"})
			i++
		case isIdentStart(c):
			j := i + 1
			for j < len(s) && isIdentPart(s[j]) {
				j++
			}
			toks = append(toks, token{tokIdent, s[i:j]})
			i = j
		case c == '"':
			var name strings.Builder
			j := i + 1
			for {
				if j >= len(s) {
					return nil, fmt.Errorf("unterminated quoted name at offset %d", i)
				}
				if s[j] == '"' {
					if j+1 < len(s) && s[j+1] == '"' {
						name.WriteByte('"')
						j += 2
						continue
					}
					j++
					break
				}
				name.WriteByte(s[j])
				j++
			}
			toks = append(toks, token{tokQuoted, name.String()})
			i = j
		case strings.ContainsRune("=!<>", rune(c)):
			n := 1
			if i+1 < len(s) && (s[i+1] == '=' || c == '<' && s[i+1] == '>') {
				n = 2
			}
			op := s[i : i+n]
			switch op {
			case "==":
				op = "="
			case "=", "!=", "<>", "<", "<=", ">", ">=":
			default:
				return nil, fmt.Errorf("unknown operator %q at offset %d", op, i)
			}
			toks = append(toks, token{tokOp, op})
			i += n
		case c == '\'' || c >= '0' && c <= '9' || c == '-' || c == '.':
			return nil, unsupported("a value written in the text at offset %d: write ? and pass values as arguments", i)
		case strings.ContainsRune("+*/%|&~", rune(c)):
			return nil, unsupported("the operator %q at offset %d (compare a column with ?)", c, i)
		default:
			return nil, fmt.Errorf("unexpected %q at offset %d", c, i)
		}
	}
	return toks, nil
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isIdentPart(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

// keyword reports whether t is the bare keyword kw.
func (t token) keyword(kw string) bool { return t.kind == tokIdent && strings.EqualFold(t.text, kw) }

// reserved are the keywords that cannot be bare column names in a
// selection or order; quote such a column ("order").
var reserved = []string{"AND", "OR", "NOT", "IS", "NULL", "LIKE", "IN", "BETWEEN", "ASC", "DESC", "SELECT"}

// parser walks the tokens of one selection or order.
type parser struct {
	t      *table
	toks   []token
	i      int
	params int // the ? read
}

func (p *parser) peek() (token, bool) {
	if p.i < len(p.toks) {
		return p.toks[p.i], true
	}
	return token{}, false
}

func (p *parser) next() (token, bool) {
	t, ok := p.peek()
	if ok {
		p.i++
	}
	return t, ok
}

// column reads a column name and returns it quoted for SQL.
func (p *parser) column() (string, error) {
	t, ok := p.next()
	if !ok {
		return "", fmt.Errorf("want a column name, found the end")
	}
	switch t.kind {
	case tokIdent:
		if n, ok := p.peek(); ok && n.kind == tokOpen {
			return "", unsupported("functions (%s)", strings.ToUpper(t.text))
		}
		for _, kw := range reserved {
			if t.keyword(kw) {
				return "", fmt.Errorf("want a column name, found %s", t.text)
			}
		}
	case tokQuoted:
	default:
		return "", fmt.Errorf("want a column name, found %q", t.text)
	}
	c, err := p.t.column(t.text)
	if err != nil {
		return "", err
	}
	return quoteIdent(c), nil
}

// where parses a selection into an SQL condition (without WHERE) and
// checks that it has exactly nargs placeholders.
func (t *table) where(selection string, nargs int) (string, error) {
	if strings.TrimSpace(selection) == "" {
		if nargs != 0 {
			return "", badRequest("%d arguments for no selection", nargs)
		}
		return "", nil
	}
	toks, err := tokenize(selection)
	if err != nil {
		return "", refused("selection", selection, err)
	}
	p := &parser{t: t, toks: toks}
	sql, err := p.expr(0)
	if err == nil {
		if tok, ok := p.next(); ok {
			err = fmt.Errorf("want AND, OR or the end, found %q", tok.text)
		}
	}
	if err != nil {
		return "", refused("selection", selection, err)
	}
	if p.params != nargs {
		return "", badRequest("selection %q has %d placeholders but %d arguments were given", selection, p.params, nargs)
	}
	return sql, nil
}

// maxDepth bounds the nesting of a selection (parentheses and NOT), far
// below SQLite's own expression depth limit.
const maxDepth = 100

// expr reads terms joined by OR.
func (p *parser) expr(depth int) (string, error) {
	return p.joined("OR", depth, p.term)
}

// term reads factors joined by AND.
func (p *parser) term(depth int) (string, error) {
	return p.joined("AND", depth, p.factor)
}

// joined reads what read reads, one or more, joined by the keyword sep.
func (p *parser) joined(sep string, depth int, read func(int) (string, error)) (string, error) {
	var parts []string
	for {
		s, err := read(depth)
		if err != nil {
			return "", err
		}
		parts = append(parts, s)
		if n, ok := p.peek(); !ok || !n.keyword(sep) {
			return strings.Join(parts, " "+sep+" "), nil
		}
		p.next()
	}
}

// factor reads NOT factor, a parenthesised selection, or a condition.
func (p *parser) factor(depth int) (string, error) {
	if depth > maxDepth {
		return "", fmt.Errorf("nested more than %d deep", maxDepth)
	}
	t, ok := p.peek()
	switch {
	case !ok:
		return "", fmt.Errorf("want a condition, found the end")
	case t.keyword("NOT"):
		p.next()
		f, err := p.factor(depth + 1)
		return "NOT " + f, err
	case t.kind == tokOpen:
		p.next()
		if n, ok := p.peek(); ok && n.keyword("SELECT") {
			return "", unsupported("subqueries: a selection reads one table")
		}
		e, err := p.expr(depth + 1)
		if err != nil {
			return "", err
		}
		if c, ok := p.next(); !ok || c.kind != tokClose {
			return "", fmt.Errorf("want ) to close (")
		}
		return "(" + e + ")", nil
	}
	col, err := p.column()
	if err != nil {
		return "", err
	}
	return p.condition(col)
}

// condition parses what follows a column in a condition and returns the
// condition, counting its placeholders in p.params.
func (p *parser) condition(col string) (string, error) {
	tok, ok := p.next()
	if !ok {
		return "", fmt.Errorf("want an operator after %s", col)
	}
	not := ""
	if tok.keyword("NOT") {
		not = "NOT "
		if tok, ok = p.next(); !ok || !(tok.keyword("LIKE") || tok.keyword("IN") || tok.keyword("BETWEEN")) {
			return "", fmt.Errorf("want LIKE, IN or BETWEEN after NOT")
		}
	}
	switch {
	case tok.kind == tokOp && not == "":
		return col + " " + tok.text + " ?", p.param()
	case tok.keyword("LIKE"):
		return col + " " + not + "LIKE ?", p.param()
	case tok.keyword("IN"):
		if t, ok := p.next(); !ok || t.kind != tokOpen {
			return "", fmt.Errorf("want ( after IN")
		}
		if t, ok := p.peek(); ok && t.keyword("SELECT") {
			return "", unsupported("subqueries: a selection reads one table")
		}
		n := 0
		for {
			if err := p.param(); err != nil {
				return "", err
			}
			n++
			t, ok := p.next()
			if ok && t.kind == tokClose {
				break
			}
			if !ok || t.kind != tokComma {
				return "", fmt.Errorf("want , or ) in IN (…)")
			}
		}
		return col + " " + not + "IN (" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")", nil
	case tok.keyword("BETWEEN"):
		if err := p.param(); err != nil {
			return "", err
		}
		if t, ok := p.next(); !ok || !t.keyword("AND") {
			return "", fmt.Errorf("want AND in BETWEEN ? AND ?")
		}
		return col + " " + not + "BETWEEN ? AND ?", p.param()
	case tok.keyword("IS") && not == "":
		t, ok := p.next()
		isNot := ok && t.keyword("NOT")
		if isNot {
			t, ok = p.next()
		}
		if !ok || !t.keyword("NULL") {
			return "", fmt.Errorf("want NULL or NOT NULL after IS (compare values with = ?)")
		}
		if isNot {
			return col + " IS NOT NULL", nil
		}
		return col + " IS NULL", nil
	case tok.keyword("GLOB"), tok.keyword("REGEXP"), tok.keyword("MATCH"), tok.keyword("COLLATE"), tok.keyword("ESCAPE"):
		return "", unsupported("%s (compare a column with =, <, LIKE, IN or BETWEEN)", strings.ToUpper(tok.text))
	}
	return "", fmt.Errorf("want an operator after %s, found %q", col, tok.text)
}

// param reads the ? a comparison takes: values are never part of the
// selection.
func (p *parser) param() error {
	t, ok := p.next()
	switch {
	case ok && t.kind == tokParam:
		p.params++
		return nil
	case ok && t.kind == tokOpen:
		return unsupported("subqueries and expressions where a value goes: compare a column with ?")
	case ok && (t.kind == tokQuoted || t.kind == tokIdent && !t.keyword("AND") && !t.keyword("OR")):
		return unsupported("comparing %s: compare a column with ?, a value passed as an argument", t.text)
	}
	return fmt.Errorf("want ? (values are passed as arguments, not in the selection)")
}

// orderBy parses an order into an SQL ORDER BY list (without ORDER BY).
func (t *table) orderBy(order string) (string, error) {
	if strings.TrimSpace(order) == "" {
		return "", nil
	}
	toks, err := tokenize(order)
	if err != nil {
		return "", refused("order", order, err)
	}
	p := &parser{t: t, toks: toks}
	var terms []string
	for {
		col, err := p.column()
		if err != nil {
			return "", refused("order", order, err)
		}
		tok, ok := p.next()
		if ok && (tok.keyword("ASC") || tok.keyword("DESC")) {
			col += " " + strings.ToUpper(tok.text)
			tok, ok = p.next()
		}
		terms = append(terms, col)
		if !ok {
			break
		}
		if tok.kind != tokComma {
			return "", badRequest("order %q: want ASC, DESC, a comma or the end, found %q", order, tok.text)
		}
	}
	return strings.Join(terms, ", "), nil
}

// quoteIdent quotes a name as an SQL identifier.
func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// errUnsupported marks a refusal of valid SQL outside the grammar.
type errUnsupported struct{ msg string }

func (e *errUnsupported) Error() string { return e.msg }

// unsupported returns a refusal of valid SQL the grammar does not take.
func unsupported(format string, args ...any) error {
	return &errUnsupported{fmt.Sprintf(format, args...)}
}

// refused returns why a selection or order was refused, as the consumer
// sees it: content.ErrUnsupported for valid SQL outside the grammar,
// content.ErrBadRequest for anything else.
func refused(what, text string, err error) error {
	var u *errUnsupported
	if errors.As(err, &u) {
		return fmt.Errorf("%w: %s %q: %v", content.ErrUnsupported, what, text, err)
	}
	if errors.Is(err, content.ErrBadRequest) || errors.Is(err, content.ErrUnsupported) {
		return err // a column the table does not have, say: already says so
	}
	return badRequest("%s %q: %v", what, text, err)
}

// badRequest returns an error that reaches the consumer as
// content.ErrBadRequest.
func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{content.ErrBadRequest}, args...)...)
}
