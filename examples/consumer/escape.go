package main

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// escapeControls returns s as it may safely reach a terminal: every text
// the consumer prints for a person (table cells and column names, the
// table list, watch lines, error messages) goes through it, since most of
// it comes from the provider. Control characters (C0 including tab and
// newline, DEL, C1), the Unicode bidirectional controls and line and
// paragraph separators (which reorder or break what a reader sees), and
// bytes that are not UTF-8 are written as Go escapes: \n, \t, \x1b, \u202e,
// \xff. Everything else, printable Unicode and the backslash included, is
// left alone, so ordinary text prints as it is; an escape is therefore
// not told apart from the same characters typed literally, which is for
// the exact formats (CSV, JSON lines) to do.
func escapeControls(s string) string {
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if mustEscape(r, size) {
			break
		}
		i += size
	}
	if i == len(s) {
		return s // the common case: nothing to escape, nothing allocated
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case !mustEscape(r, size):
			b.WriteString(s[i : i+size])
		case r == utf8.RuneError: // a byte that is not UTF-8
			const hex = "0123456789abcdef"
			b.WriteString(`\x`)
			b.WriteByte(hex[s[i]>>4])
			b.WriteByte(hex[s[i]&0xf])
		default:
			q := strconv.QuoteRuneToASCII(r) // '\n', '\x1b', '\u202e'
			b.WriteString(q[1 : len(q)-1])
		}
		i += size
	}
	return b.String()
}

// mustEscape reports whether the rune r, decoded from size bytes, must be
// escaped before it reaches a terminal.
func mustEscape(r rune, size int) bool {
	switch {
	case r < 0x20 || r == 0x7f: // C0 controls, DEL
		return true
	case r < 0x80:
		return false
	case r == utf8.RuneError && size == 1: // not UTF-8
		return true
	case r < 0xa0: // C1 controls
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, // bidi marks
		0x202a <= r && r <= 0x202e, // bidi embeddings and overrides
		0x2066 <= r && r <= 0x2069, // bidi isolates
		r == 0x2028, r == 0x2029:   // line and paragraph separators
		return true
	}
	return false
}
