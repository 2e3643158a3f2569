// Package exampletest builds the example programs once per test run and
// collects what they print: the helpers the examples' end-to-end tests
// share.
package exampletest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var built = struct {
	sync.Mutex
	dir  string
	bins map[string]string // package path -> binary
}{bins: map[string]string{}}

// Build compiles each package (an import path, e.g.
// "github.com/cursorwindow/cursorwindow/examples/provider") once per test
// run, with the go command that runs the tests, and returns the binaries'
// paths in the same order. Cleanup removes them.
func Build(tb testing.TB, pkgs ...string) []string {
	tb.Helper()
	built.Lock()
	defer built.Unlock()
	if built.dir == "" {
		dir, err := os.MkdirTemp("", "cursorwindow-examples-")
		if err != nil {
			tb.Fatal(err)
		}
		built.dir = dir
	}
	var missing []string
	for _, p := range pkgs {
		if built.bins[p] == "" {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		cmd := exec.Command("go", append([]string{"build", "-o", built.dir + string(filepath.Separator)}, missing...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			tb.Fatalf("go build %s: %v\n%s", strings.Join(missing, " "), err, out)
		}
		for _, p := range missing {
			built.bins[p] = filepath.Join(built.dir, path.Base(p))
		}
	}
	out := make([]string, len(pkgs))
	for i, p := range pkgs {
		out[i] = built.bins[p]
	}
	return out
}

// Cleanup removes the binaries Build made; call it from TestMain after
// the tests ran.
func Cleanup() {
	built.Lock()
	defer built.Unlock()
	if built.dir != "" {
		os.RemoveAll(built.dir)
		built.dir, built.bins = "", map[string]string{}
	}
}

// Buffer is a bytes.Buffer safe for a writing goroutine (a process's
// output) and the test's reads.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write implements io.Writer.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var _ fmt.Stringer = (*Buffer)(nil)
