package main

import (
	"fmt"
	"strings"

	"github.com/cursorwindow/cursorwindow/content"
)

// The provider never splices a consumer's text into SQL. A selection is
// parsed against this grammar and rebuilt from the table's own column
// names; values only ever reach SQLite as bound parameters:
//
//	selection = condition { "AND" condition }
//	condition = column op "?" | column "IS" [ "NOT" ] "NULL"
//	op        = "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">=" | "LIKE" | "NOT" "LIKE"
//	column    = name | '"' name '"'
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
			return nil, fmt.Errorf("a value at offset %d: write ? and pass values as arguments", i)
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
var reserved = []string{"AND", "OR", "NOT", "IS", "NULL", "LIKE", "ASC", "DESC"}

// parser walks the tokens of one selection or order.
type parser struct {
	t    *table
	toks []token
	i    int
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
		return "", badRequest("selection %q: %v", selection, err)
	}
	p := &parser{t: t, toks: toks}
	var conds []string
	params := 0
	for {
		col, err := p.column()
		if err != nil {
			return "", badRequest("selection %q: %w", selection, err)
		}
		cond, n, err := p.condition(col)
		if err != nil {
			return "", badRequest("selection %q: %w", selection, err)
		}
		conds = append(conds, cond)
		params += n
		tok, ok := p.next()
		if !ok {
			break
		}
		if !tok.keyword("AND") {
			return "", badRequest("selection %q: want AND or the end, found %q (conditions are joined by AND only)", selection, tok.text)
		}
	}
	if params != nargs {
		return "", badRequest("selection %q has %d placeholders but %d arguments were given", selection, params, nargs)
	}
	return strings.Join(conds, " AND "), nil
}

// condition parses what follows a column in a condition; it returns the
// condition and its number of placeholders.
func (p *parser) condition(col string) (string, int, error) {
	tok, ok := p.next()
	if !ok {
		return "", 0, fmt.Errorf("want an operator after %s", col)
	}
	switch {
	case tok.kind == tokOp:
		return col + " " + tok.text + " ?", 1, p.param()
	case tok.keyword("LIKE"):
		return col + " LIKE ?", 1, p.param()
	case tok.keyword("NOT"):
		if t, ok := p.next(); !ok || !t.keyword("LIKE") {
			return "", 0, fmt.Errorf("want LIKE after NOT")
		}
		return col + " NOT LIKE ?", 1, p.param()
	case tok.keyword("IS"):
		t, ok := p.next()
		not := ok && t.keyword("NOT")
		if not {
			t, ok = p.next()
		}
		if !ok || !t.keyword("NULL") {
			return "", 0, fmt.Errorf("want NULL or NOT NULL after IS (compare values with = ?)")
		}
		if not {
			return col + " IS NOT NULL", 0, nil
		}
		return col + " IS NULL", 0, nil
	}
	return "", 0, fmt.Errorf("want an operator after %s, found %q", col, tok.text)
}

// param reads the ? every comparison ends with: values are never part of
// the selection.
func (p *parser) param() error {
	t, ok := p.next()
	if !ok || t.kind != tokParam {
		return fmt.Errorf("want ? (values are passed as arguments, not in the selection)")
	}
	return nil
}

// orderBy parses an order into an SQL ORDER BY list (without ORDER BY).
func (t *table) orderBy(order string) (string, error) {
	if strings.TrimSpace(order) == "" {
		return "", nil
	}
	toks, err := tokenize(order)
	if err != nil {
		return "", badRequest("order %q: %v", order, err)
	}
	p := &parser{t: t, toks: toks}
	var terms []string
	for {
		col, err := p.column()
		if err != nil {
			return "", badRequest("order %q: %w", order, err)
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

// badRequest returns an error that reaches the consumer as
// content.ErrBadRequest.
func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{content.ErrBadRequest}, args...)...)
}
