// These are tests of package sqldriver (the library's module) that need
// the example SQLite provider and modernc.org/sqlite: they live in the
// examples module, which requires both, so that the library's go.mod
// does not. `make test` runs them (make examples-module).
package sqldriver_test

import (
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/cursorwindow/cursorwindow/examples/internal/exampletest"
)

// The tests run the real example provider (examples/provider, a SQLite
// provider) as a separate process, built once per test run.

// TestMain removes the provider binary the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	exampletest.Cleanup()
	os.Exit(code)
}

// providerBinary builds examples/provider once per run.
func providerBinary(t testing.TB) string {
	t.Helper()
	return exampletest.Build(t, "github.com/cursorwindow/cursorwindow/examples/provider")[0]
}

// provider is a running provider process.
type provider struct {
	socket string
	args   []string
	env    []string
	cmd    *exec.Cmd
	log    *syncBuffer
	done   chan struct{}
	err    error // the process's exit, once done is closed
}

// syncBuffer collects the provider's log for failure messages.
type syncBuffer = exampletest.Buffer

// startProvider runs the provider on a socket in a fresh directory with
// args (--db FILE, or --rows N for the sample database, whose cache is
// in the test's directory unless env sets XDG_CACHE_HOME), waits until
// it listens, and stops it when the test ends.
func startProvider(t testing.TB, env []string, args ...string) *provider {
	t.Helper()
	dir := t.TempDir()
	p := &provider{
		socket: filepath.Join(dir, "run", "provider.sock"),
		env:    append([]string{"XDG_CACHE_HOME=" + filepath.Join(dir, "cache")}, env...),
		log:    &syncBuffer{},
	}
	p.args = append([]string{"--socket", p.socket, "--log-level", "warn"}, args...)
	p.start(t)
	t.Cleanup(func() { p.stop(t) })
	return p
}

// start starts the process and waits until it listens.
func (p *provider) start(t testing.TB) {
	t.Helper()
	p.cmd = exec.Command(providerBinary(t), p.args...)
	p.cmd.Env = append(os.Environ(), p.env...)
	p.cmd.Stderr = p.log
	p.done = make(chan struct{})
	require.NoError(t, p.cmd.Start())
	go func(cmd *exec.Cmd, done chan struct{}) {
		p.err = cmd.Wait()
		close(done)
	}(p.cmd, p.done)
	deadline := time.Now().Add(60 * time.Second) // the first run may generate a database
	for {
		if c, err := net.Dial("unix", p.socket); err == nil {
			c.Close()
			return
		}
		select {
		case <-p.done:
			t.Fatalf("provider exited: %v\n%s", p.err, p.log)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("provider not listening after 60s\n%s", p.log)
		}
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (p *provider) stop(t testing.TB) {
	t.Helper()
	select {
	case <-p.done:
		return
	default:
	}
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("provider ignored SIGTERM\n%s", p.log)
	}
	require.NoError(t, p.err, "provider exit\n%s", p.log)
}

// restart stops the provider and starts it again on the same socket.
func (p *provider) restart(t testing.TB) {
	t.Helper()
	p.stop(t)
	p.start(t)
}

// sampleDB returns the sample database of rows trips that a provider
// started with env generated.
func sampleDB(p *provider, rows int) string {
	cache := ""
	for _, e := range p.env {
		if v, ok := strings.CutPrefix(e, "XDG_CACHE_HOME="); ok {
			cache = v
		}
	}
	return filepath.Join(cache, "cursorwindow", fmt.Sprintf("sample-v1-%d.db", rows))
}

// openSQLite opens a SQLite file with modernc.org/sqlite's database/sql
// driver, read-only unless rw.
func openSQLite(t testing.TB, path string, rw bool) *sql.DB {
	t.Helper()
	mode := "ro"
	if rw {
		mode = "rwc"
	}
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode="+mode+"&_pragma=busy_timeout(5000)")
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}
