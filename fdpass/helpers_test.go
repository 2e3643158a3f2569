package fdpass_test

import (
	"net"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/cursorwindow/cursorwindow/internal/fdtest"
)

// socketPair returns the two connected ends of a unix socketpair of the
// given type (unix.SOCK_STREAM or unix.SOCK_SEQPACKET), closed at cleanup.
func socketPair(tb testing.TB, typ int) (*net.UnixConn, *net.UnixConn) {
	tb.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
	require.NoError(tb, err)
	own(tb, fds[0], "socketpair end")
	own(tb, fds[1], "socketpair end")
	a, b := fileConn(tb, fds[0]), fileConn(tb, fds[1])
	return a, b
}

func fileConn(tb testing.TB, fd int) *net.UnixConn {
	tb.Helper()
	f := os.NewFile(uintptr(fd), "socketpair")
	c, err := net.FileConn(f) // dups fd
	require.NoError(tb, f.Close())
	require.NoError(tb, err)
	uc, ok := c.(*net.UnixConn)
	require.True(tb, ok, "FileConn returned %T", c)
	tb.Cleanup(func() { _ = uc.Close() })
	return uc
}

// memfd returns a memfd holding content, closed at cleanup.
func memfd(tb testing.TB, content string) *os.File { return fdtest.Memfd(tb, content) }

// readAll reads a received file from offset 0 and closes it.
func readAll(tb testing.TB, f *os.File) string { return fdtest.ReadAll(tb, f) }

// The leak check is fdtest's: it identifies the files a test created
// (own) instead of counting every descriptor in the process.

func own(tb testing.TB, fd int, what string) { fdtest.Own(tb, fd, what) }
func openOwned(tb testing.TB) []string       { return fdtest.Open(tb) }
func checkNoLeak(tb testing.TB)              { fdtest.Check(tb) }

func closeAll(files []*os.File) {
	for _, f := range files {
		_ = f.Close()
	}
}
