package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/window"
)

func TestEscapeControls(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"plain text, 42", "plain text, 42"},
		{"naïve 東京 🙂 👨\u200d👩\u200d👧", "naïve 東京 🙂 👨\u200d👩\u200d👧"}, // ZWJ sequences stay whole
		{`C:\path\n`, `C:\path\n`}, // a backslash is left alone
		{"\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"one\ntwo\r\n", `one\ntwo\r\n`},
		{"a\tb\x00c\x07", `a\tb\x00c\a`},
		{"del\x7f", `del\x7f`},
		{"c1 \u0085 \u009b2J", `c1 \u0085 \u009b2J`},
		{"bad \xff\xfe utf-8 \xe2\x82", `bad \xff\xfe utf-8 \xe2\x82`},
		{"abc\u202edcba", `abc\u202edcba`}, // right-to-left override
		{"\u2066isolated\u2069 \u200f", `\u2066isolated\u2069 \u200f`},
		{"line\u2028sep\u2029", `line\u2028sep\u2029`},
	} {
		assert.Equal(t, tc.want, escapeControls(tc.in), "%q", tc.in)
	}
	plain := "an ordinary value: Zürich, 12.50"
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = escapeControls(plain) }), "nothing to escape, nothing allocated")
}

// TestTableWriterEscapes: a value and a column name with a colour change
// and a newline print as escapes, on one line, aligned by their escaped
// width.
func TestTableWriterEscapes(t *testing.T) {
	var out bytes.Buffer
	tw := &tableWriter{w: &out}
	require.NoError(t, tw.header([]string{"name\x1b[0m", "n"}))
	require.NoError(t, tw.row([]value{{t: window.TypeString, b: []byte("red\x1b[31m\nchanged: forged")}, {t: window.TypeInt64, i: 7}}))
	require.NoError(t, tw.row([]value{{t: window.TypeString, b: []byte("ok")}, {t: window.TypeInt64, i: 10}}))
	require.NoError(t, tw.end(2))
	want := `name\x1b[0m                    n
----------------------------  --
red\x1b[31m\nchanged: forged   7
ok                            10
(2 rows)
`
	assert.Equal(t, want, out.String())
	assert.NotContains(t, out.String(), "\x1b")
}

// TestCSVAndJSONLinesKeepData: the exact formats carry control characters
// through, quoted as their formats require, and read back unchanged.
func TestCSVAndJSONLinesKeepData(t *testing.T) {
	cols := []string{"name\x1b[0m", "note"}
	vals := []value{{t: window.TypeString, b: []byte("red\x1b[31m\nchanged: forged")}, {t: window.TypeString, b: []byte("a,\"b\"\r\x7f\u202e")}}

	var out bytes.Buffer
	cw := &csvWriter{w: csv.NewWriter(&out)}
	require.NoError(t, cw.header(cols))
	require.NoError(t, cw.row(vals))
	require.NoError(t, cw.end(1))
	recs, err := csv.NewReader(&out).ReadAll()
	require.NoError(t, err)
	assert.Equal(t, [][]string{cols, {string(vals[0].b), string(vals[1].b)}}, recs)

	out.Reset()
	jw := &jsonWriter{w: &out}
	require.NoError(t, jw.header(cols))
	require.NoError(t, jw.row(vals))
	require.Equal(t, 1, strings.Count(out.String(), "\n"), "one line per row: %q", out.String())
	var got map[string]string
	require.NoError(t, json.Unmarshal(out.Bytes(), &got))
	assert.Equal(t, map[string]string{cols[0]: string(vals[0].b), cols[1]: string(vals[1].b)}, got)
	assert.NotContains(t, out.String(), "\x1b", "JSON escapes control characters itself")
}
