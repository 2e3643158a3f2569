package fdpass_test

import (
	"cmp"
	"fmt"
	"maps"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/cursorwindow/cursorwindow/fdpass"
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

// The leak check identifies the files a test created instead of counting
// every descriptor in the process. A count also moves when an earlier
// test's descriptor is closed late (a goroutine still inside a send holds
// the file, and Close then only marks it) or when the runtime opens one of
// its own, and so failed about once in six runs under -race ("10 open
// before, 11 after"). What this package can leak is a socket it was given
// or a descriptor it received; a received descriptor refers to the file
// that was sent, so both are recognised by the file's identity (device and
// inode), whatever their descriptor numbers. A test that starts a
// goroutine using its files waits for it before returning.

// fileID is what a descriptor refers to, whatever its number. Socket and
// memfd inode numbers are not reused while a test runs (the kernel hands
// them out from a counter).
type fileID struct{ dev, ino uint64 }

// owned holds, for each test that called checkNoLeak, the files it created.
var owned = struct {
	sync.Mutex
	m map[testing.TB]map[fileID]string
}{m: map[testing.TB]map[fileID]string{}}

// own records that tb created the file fd refers to, if tb checks for
// leaks. It may be called from any goroutine.
func own(tb testing.TB, fd int, what string) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		tb.Errorf("fstat %s: %v", what, err)
		return
	}
	owned.Lock()
	defer owned.Unlock()
	if files := owned.m[tb]; files != nil {
		files[fileID{uint64(st.Dev), uint64(st.Ino)}] = what
	}
}

// openOwned returns the descriptors open in this process that refer to a
// file tb created, as "fd N: what" lines in descriptor order.
func openOwned(tb testing.TB) []string {
	tb.Helper()
	owned.Lock()
	files := maps.Clone(owned.m[tb])
	owned.Unlock()
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(tb, err)
	type entry struct {
		fd   int
		what string
	}
	var found []entry
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		var st unix.Stat_t
		if unix.Stat("/proc/self/fd/"+e.Name(), &st) != nil {
			continue // closed since the directory was read, like the directory's own
		}
		if what, ok := files[fileID{uint64(st.Dev), uint64(st.Ino)}]; ok {
			found = append(found, entry{fd, what})
		}
	}
	slices.SortFunc(found, func(a, b entry) int { return cmp.Compare(a.fd, b.fd) })
	open := make([]string, len(found))
	for i, e := range found {
		open[i] = fmt.Sprintf("fd %d: %s", e.fd, e.what)
	}
	return open
}

// checkNoLeak fails the test if, once every cleanup registered after it
// has run, a descriptor still refers to a socket or memfd the test created
// with the helpers here (its own, a dup, or one received for it). Other
// tests' descriptors, closing late or not, do not count. Call it first in
// a test.
func checkNoLeak(tb testing.TB) {
	tb.Helper()
	owned.Lock()
	owned.m[tb] = map[fileID]string{}
	owned.Unlock()
	tb.Cleanup(func() {
		open := openOwned(tb)
		owned.Lock()
		delete(owned.m, tb)
		owned.Unlock()
		for _, fd := range open {
			tb.Errorf("descriptor leak: %s is still open", fd)
		}
	})
}

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
