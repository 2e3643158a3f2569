package selection

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cursorwindow/cursorwindow/content"
)

// MaxDepth bounds the nesting of a selection (parentheses and NOT), far
// below SQLite's own expression depth limit and Go's stack.
const MaxDepth = 100

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
		case strings.IndexByte("=!<>", c) >= 0:
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
		case strings.IndexByte("+*/%|&~", c) >= 0:
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

// everyRow is the empty selection's parse, one for every caller: a
// Selection is never changed once parsed.
var everyRow = &Selection{}

// Parse parses a selection. The empty (or all blank) selection selects
// every row and takes no arguments. Errors wrap content.ErrBadRequest or
// content.ErrUnsupported, as the package documentation says.
func Parse(text string) (*Selection, error) {
	if strings.TrimSpace(text) == "" {
		return everyRow, nil
	}
	toks, err := tokenize(text)
	if err != nil {
		return nil, refused("selection", text, err)
	}
	p := &parser{toks: toks}
	root, err := p.expr(0)
	if err == nil {
		if tok, ok := p.next(); ok {
			err = fmt.Errorf("want AND, OR or the end, found %q", tok.text)
		}
	}
	if err != nil {
		return nil, refused("selection", text, err)
	}
	return &Selection{root: root, nargs: p.params}, nil
}

// column reads a column name.
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
	return t.text, nil
}

// expr reads terms joined by OR.
func (p *parser) expr(depth int) (*node, error) {
	return p.joined(kindOr, depth, p.term)
}

// term reads factors joined by AND.
func (p *parser) term(depth int) (*node, error) {
	return p.joined(kindAnd, depth, p.factor)
}

// joined reads what read reads, one or more, joined by the keyword of
// kind (AND or OR); one alone is returned as it is.
func (p *parser) joined(kind nodeKind, depth int, read func(int) (*node, error)) (*node, error) {
	var kids []*node
	for {
		n, err := read(depth)
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
		if t, ok := p.peek(); !ok || !t.keyword(kind.String()) {
			break
		}
		p.next()
	}
	if len(kids) == 1 {
		return kids[0], nil
	}
	return &node{kind: kind, kids: kids}, nil
}

// factor reads NOT factor, a parenthesised selection, or a condition.
func (p *parser) factor(depth int) (*node, error) {
	if depth > MaxDepth {
		return nil, fmt.Errorf("nested more than %d deep", MaxDepth)
	}
	t, ok := p.peek()
	switch {
	case !ok:
		return nil, fmt.Errorf("want a condition, found the end")
	case t.keyword("NOT"):
		p.next()
		f, err := p.factor(depth + 1)
		if err != nil {
			return nil, err
		}
		return &node{kind: kindNot, kids: []*node{f}}, nil
	case t.kind == tokOpen:
		p.next()
		if n, ok := p.peek(); ok && n.keyword("SELECT") {
			return nil, unsupported("subqueries: a selection reads one table")
		}
		e, err := p.expr(depth + 1)
		if err != nil {
			return nil, err
		}
		if c, ok := p.next(); !ok || c.kind != tokClose {
			return nil, fmt.Errorf("want ) to close (")
		}
		return &node{kind: kindParen, kids: []*node{e}}, nil
	}
	col, err := p.column()
	if err != nil {
		return nil, err
	}
	return p.condition(col)
}

// condition parses what follows a column in a condition, counting its
// placeholders in p.params.
func (p *parser) condition(col string) (*node, error) {
	n := &node{kind: kindCond, col: col, arg: p.params}
	tok, ok := p.next()
	if !ok {
		return nil, fmt.Errorf("want an operator after %s", col)
	}
	if tok.keyword("NOT") {
		n.not = true
		if tok, ok = p.next(); !ok || !(tok.keyword("LIKE") || tok.keyword("IN") || tok.keyword("BETWEEN")) {
			return nil, fmt.Errorf("want LIKE, IN or BETWEEN after NOT")
		}
	}
	switch {
	case tok.kind == tokOp && !n.not:
		n.op, n.nargs = tok.text, 1
		return n, p.param()
	case tok.keyword("LIKE"):
		n.op, n.nargs = opLike, 1
		return n, p.param()
	case tok.keyword("IN"):
		n.op = opIn
		if t, ok := p.next(); !ok || t.kind != tokOpen {
			return nil, fmt.Errorf("want ( after IN")
		}
		if t, ok := p.peek(); ok && t.keyword("SELECT") {
			return nil, unsupported("subqueries: a selection reads one table")
		}
		for {
			if err := p.param(); err != nil {
				return nil, err
			}
			n.nargs++
			t, ok := p.next()
			if ok && t.kind == tokClose {
				return n, nil
			}
			if !ok || t.kind != tokComma {
				return nil, fmt.Errorf("want , or ) in IN (…)")
			}
		}
	case tok.keyword("BETWEEN"):
		n.op, n.nargs = opBetween, 2
		if err := p.param(); err != nil {
			return nil, err
		}
		if t, ok := p.next(); !ok || !t.keyword("AND") {
			return nil, fmt.Errorf("want AND in BETWEEN ? AND ?")
		}
		return n, p.param()
	case tok.keyword("IS") && !n.not:
		t, ok := p.next()
		if ok && t.keyword("NOT") {
			n.not = true
			t, ok = p.next()
		}
		if !ok || !t.keyword("NULL") {
			return nil, fmt.Errorf("want NULL or NOT NULL after IS (compare values with = ?)")
		}
		n.op = opIsNull
		return n, nil
	case tok.keyword("GLOB"), tok.keyword("REGEXP"), tok.keyword("MATCH"), tok.keyword("COLLATE"), tok.keyword("ESCAPE"):
		return nil, unsupported("%s (compare a column with =, <, LIKE, IN or BETWEEN)", strings.ToUpper(tok.text))
	}
	return nil, fmt.Errorf("want an operator after %s, found %q", col, tok.text)
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

// ParseOrder parses an order: columns, each optionally followed by ASC or
// DESC. The empty (or all blank) order is nil: the rows' own order.
// Errors wrap content.ErrBadRequest or content.ErrUnsupported.
func ParseOrder(text string) (Order, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	toks, err := tokenize(text)
	if err != nil {
		return nil, refused("order", text, err)
	}
	p := &parser{toks: toks}
	var o Order
	for {
		col, err := p.column()
		if err != nil {
			return nil, refused("order", text, err)
		}
		term := OrderTerm{Column: col}
		tok, ok := p.next()
		if ok && tok.keyword("ASC") {
			term.Direction = Ascending
			tok, ok = p.next()
		} else if ok && tok.keyword("DESC") {
			term.Direction = Descending
			tok, ok = p.next()
		}
		o = append(o, term)
		if !ok {
			return o, nil
		}
		if tok.kind != tokComma {
			return nil, badRequest("order %q: want ASC, DESC, a comma or the end, found %q", text, tok.text)
		}
	}
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
	if u := (*errUnsupported)(nil); errors.As(err, &u) {
		return fmt.Errorf("%w: %s %q: %v", content.ErrUnsupported, what, text, err)
	}
	return badRequest("%s %q: %v", what, text, err)
}

// badRequest returns an error wrapping content.ErrBadRequest.
func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{content.ErrBadRequest}, args...)...)
}
