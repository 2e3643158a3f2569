package sqlparse

import (
	"encoding/hex"
	"math"
	"strconv"
	"strings"
)

// Literals become arguments. A value written in the statement ('Paris',
// 7, -1.5, X'00ff', NULL in VALUES and SET) is bound as an argument of
// its own, in its place among the ? placeholders, and never spliced into
// what the provider gets: the provider sees ? and the value travels as a
// value, as if the caller had passed it.

// slot is one value place of a statement: a ? (the caller's next
// argument) or a literal's value.
type slot struct {
	lit bool
	v   any // the literal's value: int64, float64, string, []byte or nil
}

// literal reads a literal value at the parser's position, if there is
// one: a string, a number (with a sign), a blob X'…', NULL, TRUE or
// FALSE. ok is false, and nothing is read, when there is none.
func (p *parser) literal() (v any, ok bool, err error) {
	t := p.peek()
	switch {
	case t.kind == tString:
		p.next()
		return unquote(t.text), true, nil
	case t.kind == tNumber:
		p.next()
		v, err := number(t, false)
		return v, true, err
	case (t.punct("-") || t.punct("+")) && p.ahead(1).kind == tNumber:
		p.next()
		n := p.next()
		v, err := number(n, t.punct("-"))
		return v, true, err
	case (t.is("X")) && p.ahead(1).kind == tString && p.ahead(1).pos == t.end:
		p.next()
		s := p.next()
		b, err := hex.DecodeString(unquote(s.text))
		if err != nil {
			return nil, true, syntax(s.pos, "malformed blob literal X%s", s.text)
		}
		return b, true, nil
	case t.is("NULL"):
		p.next()
		return nil, true, nil
	case t.is("TRUE"), t.is("FALSE"):
		p.next()
		return int64(btoi(t.is("TRUE"))), true, nil
	}
	return nil, false, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// unquote returns the text of a string literal: without its quotes, a
// doubled quote inside standing for one.
func unquote(s string) string {
	return strings.ReplaceAll(s[1:len(s)-1], "''", "'")
}

// number returns a number literal's value: int64 for a whole number
// (decimal, or hexadecimal as SQLite reads it: 64 bits, two's
// complement), else float64 (a whole number too large for int64, as
// SQLite does).
func number(t token, neg bool) (any, error) {
	s := t.text
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		u, err := strconv.ParseUint(s[2:], 16, 64)
		if err != nil {
			return nil, syntax(t.pos, "hexadecimal literal %s: more than 64 bits", s)
		}
		n := int64(u)
		if neg {
			n = -n
		}
		return n, nil
	}
	if !strings.ContainsAny(s, ".eE") {
		if neg {
			s = "-" + s
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, syntax(t.pos, "number %s: out of a 64-bit real's range", s)
	}
	if neg && !strings.HasPrefix(s, "-") {
		f = -f
	}
	return f, nil
}

// render writes a literal's value back as SQL that literal reads as the
// same value.
func render(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("NULL")
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		s := strconv.FormatFloat(x, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eEIN") {
			s += ".0" // a real stays a real
		}
		b.WriteString(s)
	case string:
		b.WriteString("'" + strings.ReplaceAll(x, "'", "''") + "'")
	case []byte:
		b.WriteString("X'" + hex.EncodeToString(x) + "'")
	}
}

// bind merges the caller's arguments into slots: each ? takes the next
// argument, each literal its value. It returns the merged values and the
// arguments left after the slots.
func bind(slots []slot, args []any) (vals, rest []any) {
	vals = make([]any, len(slots))
	for i, s := range slots {
		if s.lit {
			vals[i] = s.v
			continue
		}
		vals[i], args = args[0], args[1:]
	}
	return vals, args
}

// params counts the ? among slots.
func params(slots []slot) int {
	n := 0
	for _, s := range slots {
		if !s.lit {
			n++
		}
	}
	return n
}
