package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
	"github.com/cursorwindow/cursorwindow/examples/internal/exampletest"
	"github.com/cursorwindow/cursorwindow/window"
)

// fakeProvider serves one table of text rows. A query of "slow" waits
// until it is cancelled; other names are not found, with a message that
// repeats the name.
type fakeProvider struct {
	provider.ReadOnly
	tables any // the answer to "tables", if set
	table  string
	cols   []string
	rows   [][]string
}

func (p *fakeProvider) Query(ctx context.Context, q *content.Query) (provider.Rows, error) {
	switch q.URI {
	case p.table:
		return &textRows{cols: p.cols, rows: p.rows, i: -1}, nil
	case "slow":
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return nil, fmt.Errorf("%w: no table %s", content.ErrNotFound, q.URI)
}

func (p *fakeProvider) Call(_ context.Context, method, _ string, _ content.Values) (content.Values, error) {
	switch method {
	case "tables":
		if p.tables != nil {
			return content.Values{"tables": p.tables}, nil
		}
		return content.Values{"tables": []any{p.table}}, nil
	case "columns":
		cols := make([]any, len(p.cols))
		for i, c := range p.cols {
			cols[i] = c
		}
		return content.Values{"columns": cols}, nil
	}
	return nil, content.ErrUnsupported
}

type textRows struct {
	cols []string
	rows [][]string
	i    int
}

func (r *textRows) Columns() []string { return r.cols }
func (r *textRows) Next() bool        { r.i++; return r.i < len(r.rows) }
func (r *textRows) Err() error        { return nil }
func (r *textRows) Close() error      { return nil }
func (r *textRows) Put(w *window.Writer) error {
	for c, v := range r.rows[r.i] {
		if err := w.PutString(c, v); err != nil {
			return err
		}
	}
	return nil
}

// hostile is a provider whose names and values try to take over the
// terminal.
var hostile = &fakeProvider{
	table: "t\x1b]0;pwned\x07",
	cols:  []string{"name\x1b[0m"},
	rows:  [][]string{{"red\x1b[31m\nchanged: forged"}},
}

// serve serves p on a socket in a fresh directory until the test ends.
func serve(t *testing.T, p provider.Provider) (*provider.Server, string) {
	t.Helper()
	sock, srv := contenttest.Serve(t, p, provider.WithShutdownGrace(time.Second))
	return srv, sock
}

// lockedBuffer is a bytes.Buffer a command writes while the test reads.
type lockedBuffer = exampletest.Buffer

// cli runs the consumer's command line in this process.
func cli(args ...string) (stdout, stderr string, code int) {
	var out, errs lockedBuffer
	code = run(context.Background(), args, &out, &errs)
	return out.String(), errs.String(), code
}

// TestHostileProviderEscaped: names, values and error messages from the
// provider reach the terminal escaped.
func TestHostileProviderEscaped(t *testing.T) {
	_, sock := serve(t, hostile)

	out, errs, code := cli("--socket", sock, "query", hostile.table)
	require.Equal(t, exitOK, code, errs)
	assert.Equal(t, `name\x1b[0m
----------------------------
red\x1b[31m\nchanged: forged
(1 row)
`, out)

	out, errs, code = cli("--socket", sock, "tables")
	require.Equal(t, exitOK, code, errs)
	assert.Equal(t, `t\x1b]0;pwned\a  name\x1b[0m`+"\n", out)

	out, errs, code = cli("--socket", sock, "scan", hostile.table)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, `table    t\x1b]0;pwned\a`+"\n")
	assert.Contains(t, out, `name\x1b[0m  STRING`)

	out, errs, code = cli("--socket", sock, "query", "gone\x1b[2J\nconsumer: all is well")
	assert.Equal(t, exitNotFound, code)
	assert.Empty(t, out)
	assert.Equal(t, `consumer: not found: no table gone\x1b[2J\nconsumer: all is well`+"\n", errs)

	for _, s := range []string{out, errs} {
		assert.NotContains(t, s, "\x1b")
		assert.NotContains(t, s, "\a")
	}
}

// TestWatchLineEscaped: a notified URI with a newline cannot forge a
// second "changed:" line.
func TestWatchLineEscaped(t *testing.T) {
	srv, sock := serve(t, hostile)
	var out, errs lockedBuffer
	code := make(chan int, 1)
	go func() {
		code <- run(context.Background(), []string{"--socket", sock, "watch", "trips", "--count", "1"}, &out, &errs)
	}()
	require.Eventually(t, func() bool { return strings.Contains(errs.String(), "watching trips\n") }, 10*time.Second, 5*time.Millisecond, errs.String())
	srv.NotifyChange("trips/x\nchanged: forged\x1b[2J")
	select {
	case c := <-code:
		require.Equal(t, exitOK, c, errs.String())
	case <-time.After(10 * time.Second):
		t.Fatal("watch heard nothing")
	}
	assert.Equal(t, `changed: trips/x\nchanged: forged\x1b[2J`+"\n", out.String())
}

// TestTimeout: a provider that never answers ends a command with status
// 124 after --timeout, whether it is silent from the start or stalls on a
// request; a watch waits for notifications beyond it.
func TestTimeout(t *testing.T) {
	silent := filepath.Join(t.TempDir(), "silent.sock")
	ln, err := net.Listen("unix", silent)
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() { // accept, never answer
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	start := time.Now()
	out, errs, code := cli("--socket", silent, "--timeout", "200ms", "tables")
	assert.Equal(t, exitTimedOut, code)
	assert.Empty(t, out)
	assert.Equal(t, "consumer: timed out after 200ms waiting for the provider at "+silent+" (--timeout)\n", errs)
	assert.Less(t, time.Since(start), 5*time.Second)

	_, sock := serve(t, hostile)
	_, errs, code = cli("--socket", sock, "--timeout=200ms", "query", "slow")
	assert.Equal(t, exitTimedOut, code)
	assert.Equal(t, "consumer: timed out after 200ms waiting for the provider at "+sock+" (--timeout)\n", errs)

	start = time.Now()
	// (The global --timeout leaves the connection and the registration a
	// second, on a loaded machine too; the watch outlasts it.)
	_, errs, code = cli("--socket", sock, "--timeout", "1s", "watch", "trips", "--timeout", "1500ms")
	assert.Equal(t, exitOK, code, errs)
	assert.GreaterOrEqual(t, time.Since(start), 1500*time.Millisecond, "the watch ran for its own --timeout")

	// A watch's own --timeout bounds its connection and registration too,
	// not only its wait for notifications (the silent provider never
	// answers the hello: the global --timeout of 1m would still be waiting).
	start = time.Now()
	_, errs, code = cli("--socket", silent, "--timeout", "1m", "watch", "trips", "--timeout", "200ms")
	assert.Equal(t, exitTimedOut, code)
	assert.Equal(t, "consumer: timed out after 200ms waiting for the provider at "+silent+" (--timeout)\n", errs)
	assert.Less(t, time.Since(start), 30*time.Second, "ended by the watch's --timeout, not the global one")

	_, errs, code = cli("--timeout", "soon", "tables")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errs, `--timeout wants a duration such as 30s or 2m (0: no limit), got "soon"`)
}

// TestExplain: every error gets a message that says what happened, and
// its exit status.
func TestExplain(t *testing.T) {
	e := &env{socket: "/run/p.sock", timeout: time.Second}
	bg := context.Background()
	for _, tc := range []struct {
		err  error
		msg  string
		code int
	}{
		{&content.ProviderError{}, "provider error (the provider sent neither an error code nor a message)", exitFailed},
		{&content.ProviderError{Code: "busy"}, `busy (the provider sent error code "busy" without a message)`, exitFailed},
		{&content.ProviderError{Code: "not_found", Message: "content: not found: no table x"}, "not found: no table x", exitNotFound},
		{&content.ProviderError{Code: "not_found"}, `not found (the provider sent error code "not_found" without a message)`, exitNotFound},
		{&content.ProviderError{Code: "permission"}, `the provider at /run/p.sock refused access: permission denied (the provider sent error code "permission" without a message)`, exitPermission},
		{fmt.Errorf("%w: dial /run/p.sock: %w", content.ErrPermission, syscall.EACCES),
			fmt.Sprintf("cannot connect to /run/p.sock: permission denied by the filesystem: uid %d may not open the socket or search a directory above it (the provider did not refuse: it was never reached)", os.Geteuid()),
			exitFilesystem},
		{&os.PathError{Op: "lstat", Path: "/run", Err: syscall.EACCES}, "", exitFilesystem},
		{fmt.Errorf("%w: dial /run/p.sock: %w", content.ErrNoProvider, syscall.ENOENT),
			"no provider is listening on /run/p.sock (no socket there; start one with: provider)", exitNoProvider},
		{fmt.Errorf("%w: dial /run/p.sock: %w", content.ErrNoProvider, syscall.ECONNREFUSED),
			"no provider is listening on /run/p.sock (a stale socket, left by a provider that did not stop cleanly: it may be removed; start one with: provider)", exitNoProvider},
		{fmt.Errorf("%w at /run/p.sock: it is not a socket: %w", content.ErrNoProvider, syscall.ENOTSOCK),
			"no provider at /run/p.sock: it is not a socket: socket operation on non-socket", exitNoProvider},
		{fmt.Errorf("%w: dial /run/p.sock: %w", content.ErrProviderGone, syscall.EPIPE),
			"the provider at /run/p.sock went away: content: provider gone: dial /run/p.sock: broken pipe", exitNoProvider},
	} {
		msg, code := e.explain(bg, bg, tc.err)
		if tc.msg != "" {
			assert.Equal(t, tc.msg, msg, "%v", tc.err)
		}
		assert.NotEmpty(t, msg)
		assert.Equal(t, tc.code, code, "%v", tc.err)
	}
}

// A "tables" answer that is not a list of names is an error, not an
// empty listing.
func TestMalformedTablesAnswer(t *testing.T) {
	for _, bad := range []any{int64(7), []any{int64(1)}, "trips"} {
		_, sock := serve(t, &fakeProvider{tables: bad, table: "t", cols: []string{"a"}})
		out, errs, code := cli("--socket", sock, "tables")
		assert.Equal(t, exitFailed, code, "%v: %s", bad, errs)
		assert.Contains(t, errs, "malformed answer from the provider")
		assert.Empty(t, out)
	}
}
