package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/window"
)

// tableRows reads a table back as Go values.
func tableRows(t *testing.T, sock, table string) [][]any {
	t.Helper()
	c, err := content.Dial(context.Background(), sock)
	require.NoError(t, err)
	defer c.Close()
	cur, err := c.Query(context.Background(), &content.Query{URI: table})
	require.NoError(t, err)
	defer cur.Close()
	var out [][]any
	for cur.Next() {
		row := make([]any, len(cur.Columns()))
		for col := range row {
			typ, err := cur.Type(col)
			require.NoError(t, err)
			switch typ {
			case window.TypeInt64:
				row[col], _ = cur.Int64(col)
			case window.TypeFloat64:
				row[col], _ = cur.Float64(col)
			case window.TypeString:
				row[col], _ = cur.String(col)
			}
		}
		out = append(out, row)
	}
	require.NoError(t, cur.Err())
	return out
}

func writeFile(t *testing.T, name, text string) string {
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
	return p
}

func TestInsertFromCSVAndJSONLines(t *testing.T) {
	p := contenttest.NewMemProvider()
	p.AddTable("t", []string{"a", "b", "c"}, nil)
	_, sock := serve(t, p)

	csv := writeFile(t, "rows.csv", "a,b,c\n1,2.5,plain\n,-7,\"quoted, \"\"with\"\" comma\nand newline\"\n9223372036854775807,,x\n")
	out, errs, code := cli("--socket", sock, "insert", "t", "--from", csv)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "inserted 3 rows into t")

	jsonl := writeFile(t, "rows.jsonl", `{"c": "first", "a": 10, "b": 0.5}`+"\n\n"+`{"a": true}`+"\n"+`{"b": 1e3, "c": "日本"}`+"\n")
	out, errs, code = cli("--socket", sock, "insert", "t", "--from", jsonl)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "inserted 3 rows into t")

	stdin = strings.NewReader("c,a\nfrom stdin,42\n")
	defer func() { stdin = os.Stdin }()
	out, errs, code = cli("--socket", sock, "insert", "t", "--from", "-", "--format", "csv")
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "inserted 1 row into t")

	assert.Equal(t, [][]any{
		{int64(1), 2.5, "plain"},
		{nil, int64(-7), "quoted, \"with\" comma\nand newline"},
		{int64(9223372036854775807), nil, "x"},
		{int64(10), 0.5, "first"},
		{int64(1), nil, nil},
		{nil, 1000.0, "日本"}, // written with an exponent: a float
		{int64(42), nil, "from stdin"},
	}, tableRows(t, sock, "t"))
}

func TestInsertFromRefusals(t *testing.T) {
	p := contenttest.NewMemProvider()
	p.AddTable("t", []string{"a", "b"}, nil)
	_, sock := serve(t, p)
	for name, tc := range map[string]struct {
		file, text string
		code       int
		msg        string
	}{
		"no such column":      {"x.csv", "a,nope\n1,2\n", exitFailed, "row 1 of the input"},
		"a row too long":      {"x.csv", "a,b\n1,2,3\n", exitFailed, "wrong number of fields"},
		"a nested value":      {"x.jsonl", `{"a": {"x": 1}}` + "\n", exitFailed, "not a field value"},
		"a new key":           {"x.jsonl", `{"a": 1}` + "\n" + `{"b": 1}` + "\n", exitFailed, `column "b" is not in the first line's`},
		"empty":               {"x.csv", "", exitFailed, "needs a header line"},
		"an unknown format":   {"x.txt", "a\n1\n", exitUsage, "--format csv or jsonl"},
		"no table":            {"x.csv", "a\n1\n", exitNotFound, ""},
		"not a JSON object":   {"x.jsonl", "[1, 2]\n", exitFailed, "want a JSON object"},
		"two values per line": {"x.jsonl", `{"a": 1} {"a": 2}` + "\n", exitFailed, "more than one value"},
	} {
		table := "t"
		if name == "no table" {
			table = "nope"
		}
		_, errs, code := cli("--socket", sock, "insert", table, "--from", writeFile(t, tc.file, tc.text))
		assert.Equal(t, tc.code, code, "%s: %s", name, errs)
		assert.Contains(t, errs, tc.msg, name)
	}
	assert.Empty(t, tableRows(t, sock, "t"), "nothing was inserted")
}

func TestBatchCommand(t *testing.T) {
	p := contenttest.NewMemProvider()
	p.AddTable("orders", []string{"id", "customer"}, [][]any{{0, "ann"}})
	p.AddTable("items", []string{"order_id", "sku"}, nil)
	_, sock := serve(t, p)
	ok := writeFile(t, "ok.jsonl", strings.Join([]string{
		`{"op": "insert", "uri": "orders", "values": {"id": 1, "customer": "bob"}}`,
		`{"op": "insert", "uri": "items", "values": {"sku": "A"}, "valueRefs": {"order_id": 0}}`,
		`{"op": "update", "uri": "orders", "values": {"customer": "Bob"}, "where": "id = ?", "args": [null], "argRefs": {"0": 0}}`,
	}, "\n"))
	out, errs, code := cli("--socket", sock, "batch", ok)
	require.Equal(t, exitOK, code, errs)
	assert.Equal(t, "0 insert orders: row id 1\n1 insert items: row id 0\n2 update orders: rows 1\napplied 3 operations\n", out)
	assert.Equal(t, [][]any{{int64(0), "ann"}, {int64(1), "Bob"}}, tableRows(t, sock, "orders"))

	bad := writeFile(t, "bad.jsonl", strings.Join([]string{
		`{"op": "insert", "uri": "orders", "values": {"id": 2, "customer": "cy"}}`,
		`{"op": "delete", "uri": "items"}`,
		`{"op": "insert", "uri": "orders", "values": {"nope": 1}}`,
	}, "\n"))
	_, errs, code = cli("--socket", sock, "batch", bad)
	assert.Equal(t, exitFailed, code, errs)
	assert.Contains(t, errs, "line 3 (insert orders)")
	assert.Contains(t, errs, "nothing was applied")
	assert.Equal(t, [][]any{{int64(0), "ann"}, {int64(1), "Bob"}}, tableRows(t, sock, "orders"))
	assert.Len(t, tableRows(t, sock, "items"), 1)

	for _, line := range []string{`{"op": "select", "uri": "x"}`, `{"op": "insert"}`, `{"op": "insert", "uri": "x", "surprise": 1}`, `not json`} {
		_, errs, code = cli("--socket", sock, "batch", writeFile(t, "x.jsonl", line))
		assert.Equal(t, exitUsage, code, fmt.Sprintf("%s: %s", line, errs))
	}
}

// An interrupted load stops at once, whatever its input is doing (a pipe
// that sends nothing more, here).
func TestInsertFromStopsWhenInterrupted(t *testing.T) {
	p := contenttest.NewMemProvider()
	p.AddTable("t", []string{"a", "b"}, nil)
	_, sock := serve(t, p)
	r, w := io.Pipe()
	defer w.Close()
	stdin = r
	defer func() { stdin = os.Stdin }()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errs lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--socket", sock, "insert", "t", "--from", "-", "--format", "csv"}, &out, &errs)
	}()
	_, err := w.Write([]byte("a,b\n1,2\n")) // returns once the command has read it
	require.NoError(t, err)
	cancel()
	select {
	case code := <-done:
		assert.Equal(t, exitInterrupted, code, errs.String())
	case <-time.After(20 * time.Second):
		t.Fatal("the command did not stop when interrupted")
	}
}
