package fdtest_test

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

// TestLeakCheck: the check fails on a descriptor still referring to a file
// the test created (a dup here, as a received descriptor would be), and
// ignores descriptors the test did not create.
func TestLeakCheck(t *testing.T) {
	rec := &recordingTB{TB: t}
	fdtest.Check(rec)
	a, b := socketPair(rec)
	f := memfd(rec, "leaked")
	require.NoError(t, fdpass.Send(a, []byte("x"), f))
	_, files, err := fdpass.Recv(b, make([]byte, 1), 1)
	require.NoError(t, err)
	require.Len(t, files, 1)
	assert.Len(t, fdtest.Open(rec), 4, "both ends, the memfd and the descriptor received for it")
	files[0].Close()
	unrelated, err := os.Open(os.DevNull)
	require.NoError(t, err)
	defer unrelated.Close()

	rec.runCleanups()
	assert.Empty(t, rec.errs, "everything the test created was closed")

	rec = &recordingTB{TB: t}
	fdtest.Check(rec)
	f = memfd(rec, "leaked")
	leaked, err := unix.Dup(int(f.Fd()))
	require.NoError(t, err)
	defer unix.Close(leaked)
	rec.runCleanups()
	require.Len(t, rec.errs, 1)
	assert.Equal(t, fmt.Sprintf(`descriptor leak: fd %d: memfd "leaked" is still open`, leaked), rec.errs[0])
}

func socketPair(tb testing.TB) (*net.UnixConn, *net.UnixConn) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(tb, err)
	var ends [2]*net.UnixConn
	for i, fd := range fds {
		fdtest.Own(tb, fd, "socketpair end")
		f := os.NewFile(uintptr(fd), "socketpair")
		c, err := net.FileConn(f) // dups fd
		f.Close()
		require.NoError(tb, err)
		ends[i] = c.(*net.UnixConn)
		tb.Cleanup(func() { ends[i].Close() })
	}
	return ends[0], ends[1]
}

func memfd(tb testing.TB, content string) *os.File {
	fd, err := unix.MemfdCreate("fdtest", unix.MFD_CLOEXEC)
	require.NoError(tb, err)
	fdtest.Own(tb, fd, fmt.Sprintf("memfd %q", content))
	f := os.NewFile(uintptr(fd), "memfd")
	tb.Cleanup(func() { f.Close() })
	return f
}

// recordingTB records a test's errors and cleanups, to test Check.
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
