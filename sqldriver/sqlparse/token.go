package sqlparse

import (
	"strings"
)

// tokKind is the kind of a token.
type tokKind uint8

const (
	tEOF    tokKind = iota
	tWord           // a bare word: a keyword or a name
	tQuoted         // a quoted name: "x", `x` or [x]
	tString         // 'text'
	tNumber         // 12, 1.5e3, 0x1F
	tParam          // ?
	tNamed          // ?1, :name, @name, $name
	tPunct          // ( ) , ; . * and operators
)

// token is one token of a statement.
type token struct {
	kind tokKind
	text string // the source text; for tQuoted, the name without quotes
	pos  int    // byte offset of the first byte
	end  int    // byte offset after the last byte
}

// is reports whether t is the bare keyword kw (upper case).
func (t token) is(kw string) bool { return t.kind == tWord && strings.EqualFold(t.text, kw) }

// punct reports whether t is the punctuation p.
func (t token) punct(p string) bool { return t.kind == tPunct && t.text == p }

// describe names t for an error message.
func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "the end"
	case tWord:
		return strings.ToUpper(t.text)
	}
	return t.text
}

// operators are the punctuation tokens, longest first.
var operators = []string{"||", "<<", ">>", "<=", ">=", "<>", "!=", "==", "(", ")", ",", ";", ".", "*", "=", "<", ">", "+", "-", "/", "%", "&", "|", "~"}

// tokenize splits a statement into tokens, ending with a tEOF token.
// Whitespace and comments separate tokens and are dropped.
func tokenize(s string) ([]token, error) {
	var toks []token
	i := 0
	for {
		i = skipSpace(s, i)
		if i < 0 {
			return nil, syntax(len(s), "unterminated /* comment")
		}
		if i >= len(s) {
			return append(toks, token{kind: tEOF, pos: len(s), end: len(s)}), nil
		}
		t, err := lex(s, i)
		if err != nil {
			return nil, err
		}
		toks = append(toks, t)
		i = t.end
	}
}

// skipSpace returns the offset of the next token at or after i, or -1 if
// a block comment does not end.
func skipSpace(s string, i int) int {
	for i < len(s) {
		switch {
		case s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == '\f' || s[i] == '\v':
			i++
		case strings.HasPrefix(s[i:], "--"):
			n := strings.IndexByte(s[i:], '\n')
			if n < 0 {
				return len(s)
			}
			i += n + 1
		case strings.HasPrefix(s[i:], "/*"):
			n := strings.Index(s[i+2:], "*/")
			if n < 0 {
				return -1
			}
			i += 2 + n + 2
		default:
			return i
		}
	}
	return i
}

// lex reads the token at s[i], which is not a space.
func lex(s string, i int) (token, error) {
	c := s[i]
	switch {
	case isWordStart(c):
		j := i + 1
		for j < len(s) && isWordPart(s[j]) {
			j++
		}
		return token{kind: tWord, text: s[i:j], pos: i, end: j}, nil
	case c == '"' || c == '`':
		return lexQuoted(s, i, c, c)
	case c == '[':
		return lexQuoted(s, i, '[', ']')
	case c == '\'':
		j := i + 1
		for {
			n := strings.IndexByte(s[j:], '\'')
			if n < 0 {
				return token{}, syntax(i, "unterminated string")
			}
			j += n + 1
			if j < len(s) && s[j] == '\'' { // '' is a quote inside
				j++
				continue
			}
			return token{kind: tString, text: s[i:j], pos: i, end: j}, nil
		}
	case isDigit(c) || c == '.' && i+1 < len(s) && isDigit(s[i+1]):
		return lexNumber(s, i)
	case c == '?':
		j := i + 1
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if j > i+1 {
			return token{kind: tNamed, text: s[i:j], pos: i, end: j}, nil
		}
		return token{kind: tParam, text: "?", pos: i, end: j}, nil
	case c == ':' || c == '@' || c == '$':
		j := i + 1
		for j < len(s) && isWordPart(s[j]) {
			j++
		}
		if j == i+1 {
			return token{}, syntax(i, "unexpected %q", c)
		}
		return token{kind: tNamed, text: s[i:j], pos: i, end: j}, nil
	}
	for _, op := range operators {
		if strings.HasPrefix(s[i:], op) {
			return token{kind: tPunct, text: op, pos: i, end: i + len(op)}, nil
		}
	}
	return token{}, syntax(i, "unexpected %q", c)
}

// lexQuoted reads a quoted name; a doubled closing quote stands for
// itself ("a""b" is a"b).
func lexQuoted(s string, i int, open, closing byte) (token, error) {
	var b strings.Builder
	j := i + 1
	for {
		n := strings.IndexByte(s[j:], closing)
		if n < 0 {
			return token{}, syntax(i, "unterminated quoted name %c…%c", open, closing)
		}
		b.WriteString(s[j : j+n])
		j += n + 1
		if open != '[' && j < len(s) && s[j] == closing {
			b.WriteByte(closing)
			j++
			continue
		}
		break
	}
	if b.Len() == 0 {
		return token{}, syntax(i, "empty quoted name")
	}
	return token{kind: tQuoted, text: b.String(), pos: i, end: j}, nil
}

// lexNumber reads a decimal or hexadecimal number. A number running into
// a word (12ab) is an error, so that tokens never depend on what follows
// them.
func lexNumber(s string, i int) (token, error) {
	j := i
	if strings.HasPrefix(s[i:], "0x") || strings.HasPrefix(s[i:], "0X") {
		j += 2
		for j < len(s) && isHex(s[j]) {
			j++
		}
		if j == i+2 {
			return token{}, syntax(i, "malformed number")
		}
	} else {
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if j < len(s) && s[j] == '.' {
			j++
			for j < len(s) && isDigit(s[j]) {
				j++
			}
		}
		if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
			k := j + 1
			if k < len(s) && (s[k] == '+' || s[k] == '-') {
				k++
			}
			if k >= len(s) || !isDigit(s[k]) {
				return token{}, syntax(i, "malformed number")
			}
			for k < len(s) && isDigit(s[k]) {
				k++
			}
			j = k
		}
	}
	if j < len(s) && (isWordPart(s[j]) || s[j] == '.') {
		return token{}, syntax(i, "malformed number")
	}
	return token{kind: tNumber, text: s[i:j], pos: i, end: j}, nil
}

// Words are ASCII letters, digits, _ and $ (not first), and every byte of
// a non-ASCII UTF-8 character, as in SQLite.
func isWordStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isWordPart(c byte) bool { return isWordStart(c) || isDigit(c) || c == '$' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
