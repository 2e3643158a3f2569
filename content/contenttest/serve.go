package contenttest

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

// Serve serves p on a socket in a fresh temporary directory until the
// test ends, as net/http/httptest.NewServer serves a handler, and returns
// the socket's path and the server. opts are the server's, after a logger
// that discards (pass provider.WithLogger to see it). At the end of the
// test the server is stopped and its Serve must return nil within 10 s;
// past that the test fails with every goroutine's stack.
//
// The directory is made under os.TempDir, not t.TempDir: a socket's path
// has at most 107 bytes, which a long test name would pass.
func Serve(tb testing.TB, p provider.Provider, opts ...provider.ServerOption) (string, *provider.Server) {
	tb.Helper()
	dir, err := os.MkdirTemp("", "cw")
	if err != nil {
		tb.Fatalf("contenttest: %v", err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "run", "provider.sock")
	ln, err := provider.Listen(path, 0o600)
	if err != nil {
		tb.Fatalf("contenttest: %v", err)
	}
	srv := provider.NewServer(p, append([]provider.ServerOption{provider.WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	tb.Cleanup(func() {
		stop()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("contenttest: Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			var stacks strings.Builder
			pprof.Lookup("goroutine").WriteTo(&stacks, 1)
			tb.Errorf("contenttest: the server did not stop within 10s; goroutines:\n%s", stacks.String())
			<-done // a hang shows as the test binary's timeout, with every stack
		}
	})
	return path, srv
}

// Dial dials the provider at path (Serve's) and closes the client when the
// test ends; a failure to dial fails the test.
func Dial(tb testing.TB, path string, opts ...content.DialOption) *content.Client {
	tb.Helper()
	c, err := content.Dial(context.Background(), path, opts...)
	if err != nil {
		tb.Fatalf("contenttest: %v", err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}
