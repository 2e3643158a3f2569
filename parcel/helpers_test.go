package parcel_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/cursorwindow/cursorwindow/fdpass"
	"github.com/cursorwindow/cursorwindow/internal/fdtest"
	"github.com/cursorwindow/cursorwindow/parcel"
)

// socketPair returns both ends of a unix stream socketpair, closed at
// cleanup.
func socketPair(tb testing.TB) (*net.UnixConn, *net.UnixConn) {
	tb.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(tb, err)
	own(tb, fds[0], "socketpair end")
	own(tb, fds[1], "socketpair end")
	return fileConn(tb, fds[0]), fileConn(tb, fds[1])
}

func fileConn(tb testing.TB, fd int) *net.UnixConn {
	tb.Helper()
	f := os.NewFile(uintptr(fd), "socketpair")
	c, err := net.FileConn(f)
	require.NoError(tb, f.Close())
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = c.Close() })
	return c.(*net.UnixConn)
}

// connPair returns two parcel Conns over a socketpair, closed at cleanup.
func connPair(tb testing.TB, opts ...parcel.Option) (*parcel.Conn, *parcel.Conn) {
	tb.Helper()
	a, b := socketPair(tb)
	return newConn(tb, a, opts...), newConn(tb, b, opts...)
}

func newConn(tb testing.TB, c *net.UnixConn, opts ...parcel.Option) *parcel.Conn {
	tb.Helper()
	pc, err := parcel.NewConn(c, testRegistry(), opts...)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = pc.Close() })
	return pc
}

// rawPair returns a parcel Conn and the raw other end, on which tests
// write hand-made frames.
func rawPair(tb testing.TB, opts ...parcel.Option) (*parcel.Conn, *net.UnixConn) {
	tb.Helper()
	a, b := socketPair(tb)
	return newConn(tb, a, opts...), b
}

// frame builds a frame header by hand.
type frame struct {
	magic    string
	version  byte
	flags    byte
	typ      uint16
	bodyLen  uint32
	fdCount  uint16
	reserved uint16
}

func (f frame) header() []byte {
	b := make([]byte, parcel.HeaderSize)
	copy(b, f.magic)
	b[4], b[5] = f.version, f.flags
	binary.LittleEndian.PutUint16(b[6:], f.typ)
	binary.LittleEndian.PutUint32(b[8:], f.bodyLen)
	binary.LittleEndian.PutUint16(b[12:], f.fdCount)
	binary.LittleEndian.PutUint16(b[14:], f.reserved)
	return b
}

// validFrame returns a well-formed frame of type typ with body.
func validFrame(typ uint16, body []byte, fds int) []byte {
	h := frame{magic: "CWPL", version: parcel.Version, typ: typ, bodyLen: uint32(len(body)), fdCount: uint16(fds)}.header()
	return append(h, body...)
}

// waitConsumed waits until the peer of c has received everything written
// to c (the bytes c has queued, SIOCOUTQ, are down to zero), for at most
// ten seconds.
func waitConsumed(c *net.UnixConn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		var queued int
		cerr := rc.Control(func(fd uintptr) { queued, err = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ) })
		if cerr != nil {
			return cerr
		}
		if err != nil || queued == 0 {
			return err
		}
	}
	return errors.New("the peer did not read within 10s")
}

// memfd returns a memfd holding content, closed at cleanup.
func memfd(tb testing.TB, content string) *os.File {
	tb.Helper()
	fd, err := unix.MemfdCreate("parcel-test", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	require.NoError(tb, err)
	own(tb, fd, fmt.Sprintf("memfd %q", content))
	f := os.NewFile(uintptr(fd), "memfd")
	tb.Cleanup(func() { _ = f.Close() })
	_, err = f.WriteString(content)
	require.NoError(tb, err)
	return f
}

// fileContent reads a received file from offset 0 and closes it.
func fileContent(tb testing.TB, f *os.File) string {
	tb.Helper()
	defer f.Close()
	buf := make([]byte, 4096)
	n, _ := f.ReadAt(buf, 0)
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
	a, b := socketPair(rec)
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
