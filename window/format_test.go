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
		require.NoError(t, w.AllocRow())
		require.NoError(t, w.PutInt64(0, -1))
		require.NoError(t, w.PutString(1, s))
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
	for i := 48; i < 64; i++ {
		b[i] = 0xff
	}
	ncols := int(binary.LittleEndian.Uint32(b[8:]))
	nrows := int(binary.LittleEndian.Uint32(b[12:]))
	for s := len(b) - nrows*ncols*window.SlotSize; s < len(b); s += window.SlotSize {
		b[s+13], b[s+14], b[s+15] = 0xff, 0xff, 0xff
	}
	return b
}

func TestReservedBytesAreIgnored(t *testing.T) {
	example, _ := formatExample(t)
	r, err := window.OpenBytes(withReservedSet(example))
	require.NoError(t, err)
	defer r.Close()
	assertRows(t, r, [][]value{
		{vInt(7), vStr("hi"), vNull()},
		{vInt(-1), vStr("cursor"), vNull()},
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
		{"example", example, "(10, [[7, 'hi', None], [-1, 'cursor', None]])"},
		{"reserved set", withReservedSet(example), "(10, [[7, 'hi', None], [-1, 'cursor', None]])"},
		{"invalid UTF-8", badUTF8, "(10, [[7, 'hi', None], [-1, 'cur\\ufffdsor', None]])"},
		{"shorter than a header", example[:40], "CorruptWindow"},
		{"empty", nil, "CorruptWindow"},
		{"truncated", example[:len(example)-16], "CorruptWindow"},
		{"startPos above 2^63-1", damaged(func(b []byte) []byte { le.PutUint64(b[16:], 1<<63); return b }), "CorruptWindow"},
		{"zero columns", damaged(func(b []byte) []byte { le.PutUint32(b[8:], 0); return b }), "CorruptWindow"},
		{"too many rows", damaged(func(b []byte) []byte { le.PutUint32(b[12:], 3); return b }), "CorruptWindow"},
		{"heap range", damaged(func(b []byte) []byte { le.PutUint64(b[0x90:], 0x47); return b }), "CorruptWindow"},
		{"type 5", damaged(func(b []byte) []byte { b[0x8c] = 5; return b }), "CorruptWindow"},
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
