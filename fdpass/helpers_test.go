package fdpass_test

import (
	"fmt"
	"net"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/cursorwindow/cursorwindow/fdpass"
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
func memfd(tb testing.TB, content string) *os.File {
	tb.Helper()
	fd, err := unix.MemfdCreate("fdpass-test", unix.MFD_CLOEXEC)
	require.NoError(tb, err)
	own(tb, fd, fmt.Sprintf("memfd %q", content))
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

// TestLeakCheck: the check fails on a descriptor still referring to a file
// the test created (a dup here, as a received descriptor would be), and
// ignores descriptors the test did not create.
func TestLeakCheck(t *testing.T) {
	rec := &recordingTB{TB: t}
	checkNoLeak(rec)
	a, b := socketPair(rec, unix.SOCK_STREAM)
	f := memfd(rec, "leaked")
	require.NoError(t, fdpass.Send(a, []byte("x"), f))
	_, files, err := fdpass.Recv(b, make([]byte, 1), 1)
	require.NoError(t, err)
	require.Len(t, files, 1)
	assert.Len(t, openOwned(rec), 4, "both ends, the memfd and the descriptor received for it")
	closeAll(files)
	unrelated, err := os.Open(os.DevNull)
	require.NoError(t, err)
	defer unrelated.Close()

	rec.runCleanups()
	assert.Empty(t, rec.errs, "everything the test created was closed")

	rec = &recordingTB{TB: t}
	checkNoLeak(rec)
	f = memfd(rec, "leaked")
	leaked, err := unix.Dup(int(f.Fd()))
	require.NoError(t, err)
	defer unix.Close(leaked)
	rec.runCleanups()
	require.Len(t, rec.errs, 1)
	assert.Equal(t, fmt.Sprintf(`descriptor leak: fd %d: memfd "leaked" is still open`, leaked), rec.errs[0])
}

// recordingTB records a test's errors and cleanups, to test checkNoLeak.
type recordingTB struct {
	testing.TB
	errs     []string
	cleanups []func()
}

func (r *recordingTB) Helper()          {}
func (r *recordingTB) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *recordingTB) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recordingTB) runCleanups() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}
