package content_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"
	"golang.org/x/sys/unix"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
	"github.com/cursorwindow/cursorwindow/fdpass"
)

// frameHeader builds a parcel frame header (docs/PROTOCOL.md).
func frameHeader(typ uint16, bodyLen uint32, fds uint16) []byte {
	h := make([]byte, 16)
	copy(h, "CWPL")
	h[4] = 1
	binary.LittleEndian.PutUint16(h[6:], typ)
	binary.LittleEndian.PutUint32(h[8:], bodyLen)
	binary.LittleEndian.PutUint16(h[12:], fds)
	return h
}

func rawDial(t testing.TB, path string) *net.UnixConn {
	t.Helper()
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	require.NoError(t, err)
	return c
}

// healthy checks that an ordinary consumer is served.
func healthy(t testing.TB, path string) {
	t.Helper()
	c, err := content.Dial(context.Background(), path)
	require.NoError(t, err)
	defer c.Close()
	rows, _, err := scan(context.Background(), c, &content.Query{URI: "trips", Limit: 5000})
	require.NoError(t, err)
	require.Equal(t, int64(5000), rows)
}

// One piece: the subtests share one server, which must serve a healthy
// consumer after each attack.
func TestHostileConsumers(t *testing.T) {
	p := contenttest.NewMemProvider()
	p.AddTable("trips", []string{"id", "fare", "city", "payload"}, benchTable(50_000))
	path, s := startServer(t, p, provider.WithTimeouts(300*time.Millisecond, 300*time.Millisecond),
		provider.WithWindowSize(256<<10))
	healthy(t, path)
	baseline := func() bool {
		st := s.Stats()
		return st.Conns == 0 && st.WindowsOut == 0
	}
	require.Eventually(t, baseline, 5*time.Second, 10*time.Millisecond)
	fds := countFDs(t) - s.Stats().PoolIdle - s.Stats().CachedIdle

	t.Run("garbage", func(t *testing.T) {
		c := rawDial(t, path)
		junk := make([]byte, 4096)
		rand.Read(junk)
		c.Write(junk)
		c.Close()
		healthy(t, path)
	})
	t.Run("4 GiB length", func(t *testing.T) {
		c := rawDial(t, path)
		c.Write(frameHeader(1, 0xFFFF_FFFF, 0))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := c.Read(make([]byte, 1))
		assert.Error(t, err, "the provider hangs up")
		c.Close()
		healthy(t, path)
	})
	t.Run("253 descriptors", func(t *testing.T) {
		c := rawDial(t, path)
		var files []*os.File
		for range fdpass.MaxFDs {
			fd, err := unix.MemfdCreate("junk", unix.MFD_CLOEXEC)
			require.NoError(t, err)
			files = append(files, os.NewFile(uintptr(fd), "junk"))
		}
		_ = fdpass.Send(c, frameHeader(1, 0, fdpass.MaxFDs), files...)
		for _, f := range files {
			f.Close()
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := c.Read(make([]byte, 1))
		assert.Error(t, err, "the provider hangs up")
		c.Close()
		healthy(t, path)
	})
	t.Run("stops reading mid-reply", func(t *testing.T) {
		// A consumer that says hello, asks for inline windows (copied
		// through the socket) and never reads an answer: the socket
		// buffer fills, the provider's writes time out, it hangs up and
		// releases everything.
		c := rawDial(t, path)
		defer c.Close()
		send := func(typ uint16, body map[string]any) {
			b, err := msgpack.Marshal(body)
			require.NoError(t, err)
			_, err = c.Write(append(frameHeader(typ, uint32(len(b)), 0), b...))
			require.NoError(t, err)
		}
		send(1, map[string]any{"v": wireVersion})
		require.Eventually(t, func() bool { return s.Stats().Conns == 1 }, 5*time.Second, time.Millisecond)
		start := time.Now()
		for i := range 20 {
			send(3, map[string]any{"r": 2 + i, "u": "trips", "i": true})
		}
		require.Eventually(t, func() bool { return s.Stats().Conns == 0 }, 10*time.Second, 20*time.Millisecond,
			"the stuck consumer was dropped: %+v", s.Stats())
		assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond, "dropped for not reading, after the write timeout")
		t.Logf("stuck consumer dropped after %v", time.Since(start))
		healthy(t, path)
	})
	t.Run("1000 half-open connections", func(t *testing.T) {
		var conns []*net.UnixConn
		for range 1000 {
			conns = append(conns, rawDial(t, path))
		}
		healthy(t, path)          // served while they hang around (how many are still held depends on the machine's pace)
		for _, c := range conns { // each is dropped after the hello timeout
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			_, err := c.Read(make([]byte, 1))
			var ne net.Error
			require.False(t, errors.As(err, &ne) && ne.Timeout(), "a silent connection is dropped: %v", err)
			c.Close()
		}
		require.Eventually(t, func() bool { return s.Stats().Conns == 0 }, 10*time.Second, 20*time.Millisecond,
			"silent connections dropped after the hello timeout: %+v", s.Stats())
	})
	require.Eventually(t, func() bool {
		st := s.Stats()
		return baseline() && countFDs(t)-st.PoolIdle-st.CachedIdle <= fds
	}, 10*time.Second, 20*time.Millisecond, "fds back to baseline")
}
