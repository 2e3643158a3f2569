package fdpass_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/cursorwindow/cursorwindow/fdpass"
)

func TestSendRecvData(t *testing.T) {
	checkNoLeak(t)
	a, b := socketPair(t, unix.SOCK_STREAM)
	require.NoError(t, fdpass.Send(a, []byte("hello")))
	buf := make([]byte, 16)
	n, files, err := fdpass.Recv(b, buf, 4)
	require.NoError(t, err)
	assert.Empty(t, files)
	assert.Equal(t, "hello", string(buf[:n]))
}

func TestSendRecvFDs(t *testing.T) {
	for _, typ := range []struct {
		name string
		typ  int
	}{{"stream", unix.SOCK_STREAM}, {"seqpacket", unix.SOCK_SEQPACKET}} {
		t.Run(typ.name, func(t *testing.T) {
			checkNoLeak(t)
			a, b := socketPair(t, typ.typ)
			f1, f2, f3 := memfd(t, "one"), memfd(t, "two"), memfd(t, "three")
			require.NoError(t, fdpass.Send(a, []byte("msg"), f1, f2, f3))

			// The sender still owns its files.
			_, err := f1.Stat()
			require.NoError(t, err)

			buf := make([]byte, 16)
			n, files, err := fdpass.Recv(b, buf, 3)
			require.NoError(t, err)
			require.Len(t, files, 3)
			assert.Equal(t, "msg", string(buf[:n]))
			assert.Equal(t, "one", readAll(t, files[0]))
			assert.Equal(t, "two", readAll(t, files[1]))
			assert.Equal(t, "three", readAll(t, files[2]))
		})
	}
}

func TestRecvCloexec(t *testing.T) {
	checkNoLeak(t)
	a, b := socketPair(t, unix.SOCK_STREAM)
	require.NoError(t, fdpass.Send(a, []byte("x"), memfd(t, "")))
	_, files, err := fdpass.Recv(b, make([]byte, 1), 1)
	require.NoError(t, err)
	require.Len(t, files, 1)
	defer closeAll(files)
	flags, err := unix.FcntlInt(files[0].Fd(), unix.F_GETFD, 0)
	require.NoError(t, err)
	assert.NotZero(t, flags&unix.FD_CLOEXEC, "received descriptor must be close-on-exec")
}

// TestLargeSendPartialWrites sends more than the socket buffer holds, so
// Send must finish partial writes; the descriptor must arrive once, with
// the first byte.
func TestLargeSendPartialWrites(t *testing.T) {
	checkNoLeak(t)
	a, b := socketPair(t, unix.SOCK_STREAM)
	payload := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	errc := make(chan error, 1)
	go func() { errc <- fdpass.Send(a, payload, memfd(t, "big")) }()

	fc, err := fdpass.NewConn(b)
	require.NoError(t, err)
	got := make([]byte, 0, len(payload))
	buf := make([]byte, 100_000)
	reads, withFiles := 0, 0
	for len(got) < len(payload) {
		n, files, err := fc.Recv(buf[:min(len(buf), len(payload)-len(got))], 4)
		require.NoError(t, err)
		if len(files) > 0 {
			withFiles++
			assert.Zero(t, len(got), "descriptors must come with the first byte")
			require.Len(t, files, 1)
			assert.Equal(t, "big", readAll(t, files[0]))
		}
		got = append(got, buf[:n]...)
		reads++
	}
	require.NoError(t, <-errc)
	assert.Equal(t, 1, withFiles)
	assert.Greater(t, reads, 1)
	assert.True(t, bytes.Equal(payload, got), "payload corrupted")
}

func TestRecvTruncated(t *testing.T) {
	checkNoLeak(t)
	a, b := socketPair(t, unix.SOCK_STREAM)
	files := []*os.File{memfd(t, "1"), memfd(t, "2"), memfd(t, "3"), memfd(t, "4"), memfd(t, "5")}
	require.NoError(t, fdpass.Send(a, []byte("x"), files...))
	n, got, err := fdpass.Recv(b, make([]byte, 4), 1)
	require.ErrorIs(t, err, fdpass.ErrTruncated)
	assert.Nil(t, got)
	assert.Equal(t, 1, n, "the data byte was consumed")
}

func TestRecvMaxFDsZero(t *testing.T) {
	checkNoLeak(t)
	a, b := socketPair(t, unix.SOCK_STREAM)
	require.NoError(t, fdpass.Send(a, []byte("x"), memfd(t, "1")))
	_, got, err := fdpass.Recv(b, make([]byte, 4), 0)
	require.ErrorIs(t, err, fdpass.ErrTruncated)
	assert.Nil(t, got)
}

func TestRecvTooManyFDs(t *testing.T) {
	// CmsgSpace rounds up: with maxFDs=1 the control buffer has room for
	// this many descriptors, so the kernel does not truncate.
	room := (unix.CmsgSpace(4) - unix.CmsgLen(0)) / 4
	if room < 2 {
		t.Skipf("control buffer for one descriptor holds %d", room)
	}
	checkNoLeak(t)
	a, b := socketPair(t, unix.SOCK_STREAM)
	files := make([]*os.File, room)
	for i := range files {
		files[i] = memfd(t, "")
	}
	require.NoError(t, fdpass.Send(a, []byte("x"), files...))
	_, got, err := fdpass.Recv(b, make([]byte, 4), 1)
	require.ErrorIs(t, err, fdpass.ErrTooManyFDs)
	assert.Nil(t, got)
}

func TestSeqpacketBoundaries(t *testing.T) {
	checkNoLeak(t)
	a, b := socketPair(t, unix.SOCK_SEQPACKET)
	require.NoError(t, fdpass.Send(a, []byte("first"), memfd(t, "f")))
	require.NoError(t, fdpass.Send(a, []byte("second")))
	require.NoError(t, fdpass.Send(a, []byte("third message"), memfd(t, "t")))

	buf := make([]byte, 64)
	n, files, err := fdpass.Recv(b, buf, 2)
	require.NoError(t, err)
	assert.Equal(t, "first", string(buf[:n]))
	require.Len(t, files, 1)
	assert.Equal(t, "f", readAll(t, files[0]))

	n, files, err = fdpass.Recv(b, buf, 2)
	require.NoError(t, err)
	assert.Equal(t, "second", string(buf[:n]))
	assert.Empty(t, files)

	// Too small a buffer truncates the message: an error, fds closed.
	n, files, err = fdpass.Recv(b, buf[:5], 2)
	require.ErrorIs(t, err, fdpass.ErrTruncated)
	assert.Equal(t, 5, n)
	assert.Nil(t, files)
}

func TestRecvEOF(t *testing.T) {
	checkNoLeak(t)
	a, b := socketPair(t, unix.SOCK_STREAM)
	require.NoError(t, a.Close())
	_, files, err := fdpass.Recv(b, make([]byte, 4), 1)
	require.ErrorIs(t, err, io.EOF)
	assert.Nil(t, files)
}

func TestSendClosedPeer(t *testing.T) {
	checkNoLeak(t)
	a, b := socketPair(t, unix.SOCK_STREAM)
	require.NoError(t, b.Close())
	err := fdpass.Send(a, []byte("x"), memfd(t, "lost"))
	require.ErrorIs(t, err, syscall.EPIPE)
}

func TestSendErrors(t *testing.T) {
	checkNoLeak(t)
	a, _ := socketPair(t, unix.SOCK_STREAM)
	f := memfd(t, "")

	require.ErrorIs(t, fdpass.Send(a, nil, f), fdpass.ErrNoData)
	require.ErrorIs(t, fdpass.Send(a, []byte("x"), f, nil), fdpass.ErrNilFile)
	many := make([]*os.File, fdpass.MaxFDs+1)
	for i := range many {
		many[i] = f
	}
	require.ErrorIs(t, fdpass.Send(a, []byte("x"), many...), fdpass.ErrTooManyFDs)

	closed := memfd(t, "")
	require.NoError(t, closed.Close())
	require.ErrorIs(t, fdpass.Send(a, []byte("x"), closed), os.ErrClosed)

	_, _, err := fdpass.Recv(a, nil, 1)
	require.ErrorIs(t, err, fdpass.ErrNoData)
	require.NoError(t, fdpass.Send(a, nil), "sending nothing is a no-op")
}

func TestSameFileTwice(t *testing.T) {
	checkNoLeak(t)
	a, b := socketPair(t, unix.SOCK_STREAM)
	f := memfd(t, "dup")
	require.NoError(t, fdpass.Send(a, []byte("x"), f, f))
	_, files, err := fdpass.Recv(b, make([]byte, 1), 2)
	require.NoError(t, err)
	require.Len(t, files, 2)
	assert.Equal(t, "dup", readAll(t, files[0]))
	assert.Equal(t, "dup", readAll(t, files[1]))
}

func TestDeadlines(t *testing.T) {
	checkNoLeak(t)
	a, b := socketPair(t, unix.SOCK_STREAM)

	require.NoError(t, b.SetReadDeadline(time.Now().Add(20*time.Millisecond)))
	_, _, err := fdpass.Recv(b, make([]byte, 4), 1)
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)

	// Nobody reads b: the send fills the socket buffer and then times out.
	// If the deadline passed before the first chunk went out (a loaded
	// machine), nothing was sent: try again with more time.
	fc, err := fdpass.NewConn(a)
	require.NoError(t, err)
	f := memfd(t, "")
	for timeout := 50 * time.Millisecond; ; timeout *= 2 {
		require.Less(t, timeout, 30*time.Second, "the first chunk never went out")
		require.NoError(t, a.SetWriteDeadline(time.Now().Add(timeout)))
		n, err := fc.Send(make([]byte, 64<<20), f)
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
		if n > 0 {
			break // the first chunk, with the descriptor, went out
		}
	}
}

func TestCloseUnblocksRecv(t *testing.T) {
	checkNoLeak(t)
	_, b := socketPair(t, unix.SOCK_STREAM)
	errc := make(chan error, 1)
	go func() {
		_, _, err := fdpass.Recv(b, make([]byte, 4), 1)
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, b.Close())
	select {
	case err := <-errc:
		require.ErrorIs(t, err, net.ErrClosed)
	case <-time.After(5 * time.Second):
		t.Fatal("Recv did not return after Close")
	}
}

// TestConcurrentSends checks that concurrent Sends on one Conn never
// interleave their bytes.
func TestConcurrentSends(t *testing.T) {
	checkNoLeak(t)
	a, b := socketPair(t, unix.SOCK_STREAM)
	fa, err := fdpass.NewConn(a)
	require.NoError(t, err)
	const writers, perWriter, size = 4, 20, 200_000
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := bytes.Repeat([]byte{byte('a' + w)}, size)
			for range perWriter {
				if _, err := fa.Send(msg); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	fb, err := fdpass.NewConn(b)
	require.NoError(t, err)
	msg := make([]byte, size)
	for i := range writers * perWriter {
		for got := 0; got < size; {
			n, _, err := fb.Recv(msg[got:], 0)
			require.NoError(t, err)
			got += n
		}
		require.Equal(t, size, bytes.Count(msg, msg[:1]), "message %d interleaved", i)
	}
	wg.Wait()
}

func TestPeerCred(t *testing.T) {
	a, b := socketPair(t, unix.SOCK_STREAM)
	fa, err := fdpass.NewConn(a)
	require.NoError(t, err)
	cred, err := fa.PeerCred()
	require.NoError(t, err)
	assert.Equal(t, fdpass.Cred{PID: int32(os.Getpid()), UID: uint32(os.Getuid()), GID: uint32(os.Getgid())}, cred)

	fb, err := fdpass.NewConn(b)
	require.NoError(t, err)
	cred2, err := fb.PeerCred()
	require.NoError(t, err)
	assert.Equal(t, cred, cred2)

	require.NoError(t, a.Close())
	_, err = fa.PeerCred()
	require.Error(t, err)
}

// TestAllocsWithoutFDs guards the allocation-free data path: neither Send
// nor Recv allocates (their raw calls' header lives in the Conn, msg.go).
func TestAllocsWithoutFDs(t *testing.T) {
	a, b := socketPair(t, unix.SOCK_STREAM)
	fa, err := fdpass.NewConn(a)
	require.NoError(t, err)
	fb, err := fdpass.NewConn(b)
	require.NoError(t, err)
	out, in := []byte("ping"), make([]byte, 4)
	sendAllocs := testing.AllocsPerRun(1000, func() {
		if _, err := fa.Send(out); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(b, in); err != nil {
			t.Fatal(err)
		}
	})
	recvAllocs := testing.AllocsPerRun(1000, func() {
		if _, err := a.Write(out); err != nil {
			t.Fatal(err)
		}
		if _, _, err := fb.Recv(in, 4); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, sendAllocs, "Send")
	assert.Zero(t, recvAllocs, "Recv")
}

// TestNoLeak10000 makes 10,000 transfers, a fifth of them failing in each
// of the ways a receive or send can fail, and checks that the process has
// exactly as many descriptors open afterwards as before.
func TestNoLeak10000(t *testing.T) {
	n := 10_000
	if testing.Short() {
		n = 1000
	}
	checkNoLeak(t) // runs after the cleanups below close the sockets and memfds
	func() {
		a, b := socketPair(t, unix.SOCK_STREAM)
		fa, err := fdpass.NewConn(a)
		require.NoError(t, err)
		fb, err := fdpass.NewConn(b)
		require.NoError(t, err)
		f1, f2, f3 := memfd(t, "1"), memfd(t, "2"), memfd(t, "3")
		buf := make([]byte, 8)
		counts := map[string]int{}
		for i := range n {
			var (
				maxFDs = 3
				send   = []*os.File{f1, f2}
				want   error
				kind   string
			)
			switch i % 5 {
			case 0:
				kind = "ok"
			case 1:
				kind, maxFDs, want = "truncated", 1, fdpass.ErrTruncated
				send = []*os.File{f1, f2, f3, f1, f2}
			case 2:
				kind, maxFDs, want = "maxFDs=0", 0, fdpass.ErrTruncated
			case 3:
				kind, maxFDs, want = "too-many", 1, fdpass.ErrTooManyFDs
				room := (unix.CmsgSpace(4) - unix.CmsgLen(0)) / 4
				if room < 2 {
					want = fdpass.ErrTruncated
				}
				send = []*os.File{f1, f2, f3}[:max(room, 2)]
			case 4:
				kind = "closed-peer"
				c1, c2 := socketPair(t, unix.SOCK_STREAM)
				require.NoError(t, c2.Close())
				require.ErrorIs(t, fdpass.Send(c1, []byte("x"), f1, f2), syscall.EPIPE)
				_, _, err := fdpass.Recv(c1, buf, 2)
				require.ErrorIs(t, err, io.EOF)
				require.NoError(t, c1.Close())
				counts[kind]++
				continue
			}
			_, err := fa.Send([]byte("x"), send...)
			require.NoError(t, err)
			_, files, err := fb.Recv(buf[:1], maxFDs)
			if want != nil {
				require.ErrorIs(t, err, want, "transfer %d (%s)", i, kind)
				require.Nil(t, files)
			} else {
				require.NoError(t, err)
				require.Len(t, files, len(send))
				closeAll(files)
			}
			counts[kind]++
		}
		t.Log(fmt.Sprint(counts))
	}()
	// Still open until cleanup: a, b and the three memfds, and nothing
	// else the test created (c1, c2, received descriptors).
	assert.Len(t, openOwned(t), 5, "descriptors leaked")
}
