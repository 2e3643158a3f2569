package exampletest

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Provider is an example provider process a test runs on a socket of its
// own.
type Provider struct {
	Socket string  // where it listens
	Cache  string  // its XDG_CACHE_HOME: where it keeps sample databases
	Log    *Buffer // what it logged
	bin    string
	args   []string
	env    []string
	cmd    *exec.Cmd
	done   chan struct{}
	err    error // the process's exit, once done is closed
}

// StartProvider runs the provider binary bin with args on a socket in a
// fresh directory (its sample databases there too, unless env sets
// XDG_CACHE_HOME), waits until it listens, and stops it when the test
// ends, requiring a clean exit.
func StartProvider(tb testing.TB, bin string, env []string, args ...string) *Provider {
	tb.Helper()
	dir := tb.TempDir()
	p := &Provider{
		Socket: filepath.Join(dir, "run", "provider.sock"),
		Cache:  filepath.Join(dir, "cache"),
		Log:    &Buffer{},
		bin:    bin,
		env:    env,
	}
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "XDG_CACHE_HOME="); ok {
			p.Cache = v
		}
	}
	p.args = append([]string{"--socket", p.Socket}, args...)
	p.start(tb)
	tb.Cleanup(func() { p.Stop(tb) })
	return p
}

// start starts the process and waits until it listens: 60 s at most, as
// its first run may generate a sample database.
func (p *Provider) start(tb testing.TB) {
	tb.Helper()
	p.cmd = exec.Command(p.bin, p.args...)
	p.cmd.Env = append(append(os.Environ(), "XDG_CACHE_HOME="+p.Cache), p.env...)
	p.cmd.Stderr = p.Log
	p.done = make(chan struct{})
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("starting the provider: %v", err)
	}
	go func(cmd *exec.Cmd, done chan struct{}) {
		p.err = cmd.Wait()
		close(done)
	}(p.cmd, p.done)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if c, err := net.Dial("unix", p.Socket); err == nil {
			c.Close()
			return
		}
		select {
		case <-p.done:
			tb.Fatalf("provider exited: %v\n%s", p.err, p.Log)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatalf("provider not listening after 60s\n%s", p.Log)
		}
	}
}

// Stop sends SIGTERM and waits for a clean exit (a no-op once stopped).
func (p *Provider) Stop(tb testing.TB) {
	tb.Helper()
	select {
	case <-p.done:
		return
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		tb.Fatalf("signalling the provider: %v", err)
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		tb.Fatalf("provider ignored SIGTERM\n%s", p.Log)
	}
	if p.err != nil {
		tb.Errorf("provider exit: %v\n%s", p.err, p.Log)
	}
}

// Restart stops the provider and starts it again on the same socket.
func (p *Provider) Restart(tb testing.TB) {
	tb.Helper()
	p.Stop(tb)
	p.start(tb)
}
