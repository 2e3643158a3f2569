package fdpass_test

import (
	"net"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// socketPair returns the two connected ends of a unix socketpair of the
// given type (unix.SOCK_STREAM or unix.SOCK_SEQPACKET), closed at cleanup.
func socketPair(tb testing.TB, typ int) (*net.UnixConn, *net.UnixConn) {
	tb.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
	require.NoError(tb, err)
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
func memfd(tb testing.TB, content string) *os.File {
	tb.Helper()
	fd, err := unix.MemfdCreate("fdpass-test", unix.MFD_CLOEXEC)
	require.NoError(tb, err)
	f := os.NewFile(uintptr(fd), "memfd")
	tb.Cleanup(func() { _ = f.Close() })
	_, err = f.WriteString(content)
	require.NoError(tb, err)
	return f
}

// readAll reads a received file from offset 0 and closes it.
func readAll(tb testing.TB, f *os.File) string {
	tb.Helper()
	defer f.Close()
	buf := make([]byte, 4096)
	n, err := f.ReadAt(buf, 0)
	if n == 0 {
		require.NoError(tb, err)
	}
	return string(buf[:n])
}

// openFDs counts the entries of /proc/self/fd.
func openFDs(tb testing.TB) int {
	tb.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(tb, err)
	return len(ents) // includes the directory's own descriptor, consistently
}

// checkNoLeak fails the test at cleanup if more descriptors are open than
// when it was called. Call it before creating the test's own sockets so
// that their cleanups (which run first) have closed them.
func checkNoLeak(tb testing.TB) {
	tb.Helper()
	before := openFDs(tb)
	tb.Cleanup(func() {
		if after := openFDs(tb); after != before {
			tb.Errorf("descriptor leak: %d open before, %d after", before, after)
		}
	})
}

func closeAll(files []*os.File) {
	for _, f := range files {
		_ = f.Close()
	}
}
