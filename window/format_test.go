package window_test

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/window"
)

// formatExample returns the worked example of docs/FORMAT.md, and one
// more window whose STRING is not UTF-8.
func formatExample(t testing.TB) (example, badUTF8 []byte) {
	t.Helper()
	build := func(s string) []byte {
		w, err := window.New(3, window.WithStartPos(10))
		require.NoError(t, err)
		require.NoError(t, w.AllocRow())
		require.NoError(t, w.PutInt64(0, 7))
		require.NoError(t, w.PutString(1, "hi"))
		require.NoError(t, w.PutFloat64(2, 2.5))
		require.NoError(t, w.AllocRow())
		require.NoError(t, w.PutInt64(0, -1))
		require.NoError(t, w.PutString(2, s))
		require.NoError(t, w.Seal())
		b, err := w.AppendTo(nil)
		require.NoError(t, err)
		return b
	}
	return build("cursor"), build("cur\xffsor")
}

// withReservedSet returns a copy of b with every reserved byte and every
// undefined flag bit set.
func withReservedSet(b []byte) []byte {
	b = append([]byte(nil), b...)
	binary.LittleEndian.PutUint16(b[6:], binary.LittleEndian.Uint16(b[6:])|0xfffe)
	for i := 32; i < 40; i++ {
		b[i] = 0xff
	}
	for i := 48; i < 64; i++ {
		b[i] = 0xff
	}
	ncols := int(binary.LittleEndian.Uint32(b[8:]))
	for e := 64; e < 64+48*ncols; e += 48 {
		b[e+1] |= 0xfe
		for i := 2; i < 8; i++ {
			b[e+i] = 0xff
		}
	}
	return b
}

func TestReservedBytesAreIgnored(t *testing.T) {
	example, _ := formatExample(t)
	r, err := window.OpenBytes(withReservedSet(example))
	require.NoError(t, err)
	defer r.Close()
	assertRows(t, r, [][]value{
		{vInt(7), vStr("hi"), vFloat(2.5)},
		{vInt(-1), vNull(), vStr("cursor")},
	})
}

// TestFormatPythonReader runs the sample reader of docs/FORMAT.md on the
// worked example and on damaged copies of it: the document's own code
// must accept what the Go writer writes and refuse what the Go reader
// refuses, without assert and without failing on invalid UTF-8.
func TestFormatPythonReader(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed: the sample reader is not run")
	}
	doc, err := os.ReadFile("../docs/FORMAT.md")
	require.NoError(t, err)
	_, code, ok := strings.Cut(string(doc), "```python\n")
	require.True(t, ok, "FORMAT.md has a Python block")
	code, _, ok = strings.Cut(code, "```")
	require.True(t, ok)
	dir := t.TempDir()
	driver := code + `
import sys
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        data = f.read()
    try:
        print(ascii(read_window(data)))
    except CorruptWindow:
        print("CorruptWindow")
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "reader.py"), []byte(driver), 0o600))

	example, badUTF8 := formatExample(t)
	damaged := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), example...)) }
	le := binary.LittleEndian
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"example", example, "(10, [[7, 'hi', 2.5], [-1, None, 'cursor']])"},
		{"reserved set", withReservedSet(example), "(10, [[7, 'hi', 2.5], [-1, None, 'cursor']])"},
		{"invalid UTF-8", badUTF8, "(10, [[7, 'hi', 2.5], [-1, None, 'cur\\ufffdsor']])"},
		{"shorter than a header", example[:40], "CorruptWindow"},
		{"empty", nil, "CorruptWindow"},
		{"truncated", example[:len(example)-8], "CorruptWindow"},
		{"version 1", damaged(func(b []byte) []byte { le.PutUint16(b[4:], 1); return b }), "CorruptWindow"},
		{"startPos above 2^63-1", damaged(func(b []byte) []byte { le.PutUint64(b[16:], 1<<63); return b }), "CorruptWindow"},
		{"zero columns", damaged(func(b []byte) []byte { le.PutUint32(b[8:], 0); return b }), "CorruptWindow"},
		{"too many rows", damaged(func(b []byte) []byte { le.PutUint32(b[12:], 3); return b }), "CorruptWindow"},
		{"form 6", damaged(func(b []byte) []byte { b[0x40] = 6; return b }), "CorruptWindow"},
		{"unaligned buffer", damaged(func(b []byte) []byte { le.PutUint64(b[0x50:], 0xd1); return b }), "CorruptWindow"},
		{"overlapping buffers", damaged(func(b []byte) []byte { le.PutUint64(b[0x78:], 0xd8); return b }), "CorruptWindow"},
		{"buffer outside", damaged(func(b []byte) []byte { le.PutUint64(b[0xc8:], 9); return b }), "CorruptWindow"},
		{"offsets past the data", damaged(func(b []byte) []byte { le.PutUint32(b[0xec:], 0x47); return b }), "CorruptWindow"},
		{"decreasing offsets", damaged(func(b []byte) []byte { le.PutUint32(b[0xe8:], 2); le.PutUint32(b[0xec:], 1); return b }), "CorruptWindow"},
		{"mixed data range", damaged(func(b []byte) []byte { le.PutUint32(b[0x108:], 3); return b }), "CorruptWindow"},
		{"mixed type 9", damaged(func(b []byte) []byte { b[0x111] = 9; return b }), "CorruptWindow"},
	}
	var args []string
	for i, c := range cases {
		p := filepath.Join(dir, "w"+string(rune('a'+i)))
		require.NoError(t, os.WriteFile(p, c.b, 0o600))
		args = append(args, p)
		// The Go reader agrees on what is corrupt.
		if r, err := window.OpenBytes(c.b); err == nil {
			if c.want == "CorruptWindow" {
				_, err = checksum(r) // reads every value
				assert.Error(t, err, "Go reader, %s", c.name)
			}
			r.Close()
		} else {
			assert.Equal(t, "CorruptWindow", c.want, "Go reader refused %s: %v", c.name, err)
		}
	}
	// -O removes assert statements: the reader must not depend on them.
	out, err := exec.Command(python, append([]string{"-O", filepath.Join(dir, "reader.py")}, args...)...).CombinedOutput()
	if err != nil && strings.Contains(string(out), "pyenv") {
		t.Skipf("python3 cannot run here: %s", out)
	}
	require.NoError(t, err, "%s", out)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.Len(t, lines, len(cases), "%s", out)
	for i, c := range cases {
		assert.Equal(t, c.want, lines[i], c.name)
	}
}

// A column of NULLs only keeps its bitmap, so a window cannot claim more
// rows than its bytes hold: a few hundred bytes announcing four billion
// NULL rows are refused at open, not read row by row.
func TestNullColumnRowsAreBounded(t *testing.T) {
	w, err := window.New(1)
	require.NoError(t, err)
	for range 3 {
		require.NoError(t, w.AllocRow())
	}
	require.NoError(t, w.Seal())
	b, err := w.AppendTo(nil)
	require.NoError(t, err)
	r, err := window.OpenBytes(b)
	require.NoError(t, err)
	assert.Equal(t, 3, r.NumRows())
	typ, err := r.Type(2, 0)
	require.NoError(t, err)
	assert.Equal(t, window.TypeNull, typ)

	le := binary.LittleEndian
	many := append([]byte(nil), b...)
	le.PutUint32(many[12:], 1<<32-1)
	_, err = window.OpenBytes(many)
	assert.ErrorIs(t, err, window.ErrCorrupt, "four billion rows in %d bytes", len(b))
	noBitmap := append([]byte(nil), b...)
	noBitmap[64+1] = 0 // the entry's flags
	_, err = window.OpenBytes(noBitmap)
	assert.ErrorIs(t, err, window.ErrCorrupt, "a column of NULLs without its bitmap")
}
