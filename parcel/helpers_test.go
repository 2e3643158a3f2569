package parcel_test

import (
	"encoding/binary"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

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
func memfd(tb testing.TB, content string) *os.File { return fdtest.Memfd(tb, content) }

// fileContent reads a received file from offset 0 and closes it.
func fileContent(tb testing.TB, f *os.File) string { return fdtest.ReadAll(tb, f) }

// The leak check is fdtest's: it identifies the files a test created
// (own) instead of counting every descriptor in the process.

func own(tb testing.TB, fd int, what string) { fdtest.Own(tb, fd, what) }
func checkNoLeak(tb testing.TB)              { fdtest.Check(tb) }

func closeAll(files []*os.File) {
	for _, f := range files {
		_ = f.Close()
	}
}
