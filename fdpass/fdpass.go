package fdpass

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// MaxFDs is the largest number of descriptors Linux accepts in one
// sendmsg call (SCM_MAX_FD).
const MaxFDs = 253

// fileName is the name given to received files (see [os.File.Name]).
const fileName = "fdpass"

// Conn sends and receives data with attached descriptors on one
// *net.UnixConn. It caches the connection's [syscall.RawConn], its
// callbacks and its control buffer, so calls that carry no descriptors do
// not allocate.
//
// A Conn is safe for concurrent use: concurrent Sends are serialised (the
// bytes of one Send are contiguous on the stream) and so are concurrent
// Recvs; a Send and a Recv run in parallel. It does not own the
// *net.UnixConn, and has no Close: the caller closes the UnixConn when it
// is done, which also unblocks a Send or Recv waiting on it.
type Conn struct {
	uc *net.UnixConn
	rc syscall.RawConn

	// Send's state, shared with the RawConn.Write callback sendOnce
	// (bound once to sendFn, so that a Send does not allocate a closure).
	sendMu   sync.Mutex
	sendFn   func(fd uintptr) bool
	noWait   bool   // TrySend's: sendOnce stops where the socket is full
	sendData []byte // data still to send
	sendOOB  []byte // control data; nil once the first chunk went out
	sent     int    // bytes sent so far
	sendErr  error  // error from sendmsg
	sendFDs  []int  // scratch for descriptor numbers
	rights   []byte // scratch for their control message
	sendMsg  msg    // sendmsg's header

	// Recv's state, shared with the RawConn.Read callback recvOnce.
	recvMu     sync.Mutex
	recvFn     func(fd uintptr) bool
	recvBuf    []byte // the caller's buffer
	recvOOB    []byte // control buffer for this call: recvOOBBuf, sized
	recvOOBBuf []byte // reusable control buffer storage
	recvN      int    // data bytes received
	recvOOBN   int    // control bytes received
	recvFlags  int    // recvmsg's flags (MSG_CTRUNC, MSG_TRUNC)
	recvErr    error  // error from recvmsg
	recvFDs    []int  // scratch for parsed descriptor numbers
	recvMsg    msg    // recvmsg's header
}

// NewConn returns a Conn for c. It fails only if c has no usable
// descriptor (for example because it is nil or closed).
func NewConn(c *net.UnixConn) (*Conn, error) {
	if c == nil {
		return nil, errors.New("fdpass: nil connection")
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("fdpass: %w", err)
	}
	fc := &Conn{uc: c, rc: rc}
	fc.sendFn = fc.sendOnce
	fc.recvFn = fc.recvOnce
	return fc, nil
}

// Send writes all of p to the connection, finishing partial writes, with
// files attached exactly once, to the first chunk written (the first byte
// of p, on a stream socket). It returns the number of bytes written; the
// files were sent if and only if n > 0.
//
// Send does not close or otherwise take ownership of files: the caller
// keeps them and may close them as soon as Send returns (the receiver has
// its own descriptors by then, or the send failed). Files must not be
// closed while Send runs; a concurrent Close waits until Send is done.
//
// Sending files needs at least one data byte ([ErrNoData]) and at most
// [MaxFDs] files ([ErrTooManyFDs]). Send waits in the netpoller when the
// socket buffer is full and obeys the connection's write deadline. The
// error wraps the underlying cause (for example os.ErrDeadlineExceeded,
// net.ErrClosed or syscall.EPIPE).
func (c *Conn) Send(p []byte, files ...*os.File) (int, error) {
	if len(files) == 0 {
		if len(p) == 0 {
			return 0, nil
		}
		c.sendMu.Lock()
		defer c.sendMu.Unlock()
		return c.send(p, nil)
	}
	if len(p) == 0 {
		return 0, ErrNoData
	}
	if len(files) > MaxFDs {
		return 0, fmt.Errorf("fdpass: send %d descriptors, limit %d: %w", len(files), MaxFDs, ErrTooManyFDs)
	}
	for i, f := range files {
		if f == nil {
			return 0, fmt.Errorf("fdpass: file %d: %w", i, ErrNilFile)
		}
	}
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	return c.sendFiles(p, files, c.sendFDs[:0])
}

// sendFiles holds a reference on each file (through its RawConn.Control)
// while the message is sent, so that no descriptor number can be closed
// and reused under us. It recurses once per file, at most MaxFDs deep.
func (c *Conn) sendFiles(p []byte, files []*os.File, fds []int) (int, error) {
	if len(files) == 0 {
		c.sendFDs = fds[:0]
		c.rights = appendRights(c.rights[:0], fds)
		return c.send(p, c.rights)
	}
	rc, err := files[0].SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("fdpass: file %s: %w", files[0].Name(), err)
	}
	var (
		n    int
		serr error
	)
	cerr := rc.Control(func(fd uintptr) {
		n, serr = c.sendFiles(p, files[1:], append(fds, int(fd)))
	})
	if cerr != nil {
		// Control fails only for a closed file (poll.ErrFileClosing).
		return 0, fmt.Errorf("fdpass: file %s: %w: %w", files[0].Name(), os.ErrClosed, cerr)
	}
	return n, serr
}

// send writes p with the control data oob; c.sendMu is held.
func (c *Conn) send(p, oob []byte) (int, error) {
	c.sendData, c.sendOOB, c.sent, c.sendErr = p, oob, 0, nil
	err := c.rc.Write(c.sendFn)
	n, serr := c.sent, c.sendErr
	c.sendData, c.sendOOB, c.sendErr = nil, nil, nil
	if err == nil {
		err = serr
	}
	if err != nil {
		return n, fmt.Errorf("fdpass: sendmsg: %w", err)
	}
	return n, nil
}

// TrySend writes as much of p (no descriptors) as the socket takes now,
// without waiting for it to take more: it returns how many bytes went,
// 0 when the socket's buffer is full. A stream socket may take part of
// p; the rest is the caller's to send.
func (c *Conn) TrySend(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	c.noWait = true
	defer func() { c.noWait = false }()
	return c.send(p, nil)
}

// sendOnce is the RawConn.Write callback: it writes as much as the socket
// takes and returns false to wait for writability (true, for TrySend).
func (c *Conn) sendOnce(fd uintptr) bool {
	for c.sent < len(c.sendData) {
		n, err := c.sendMsg.sendmsg(int(fd), c.sendData[c.sent:], c.sendOOB, unix.MSG_NOSIGNAL)
		switch err {
		case nil:
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return c.noWait // TrySend: as far as the socket takes it
		default:
			c.sendErr = err
			return true
		}
		if n <= 0 {
			c.sendErr = io.ErrShortWrite
			return true
		}
		c.sendOOB = nil // the descriptors went with this chunk
		c.sent += n
	}
	return true
}

// Recv reads once from the connection into p, with at most maxFDs
// attached descriptors. It makes one successful recvmsg call (with
// MSG_CMSG_CLOEXEC), waiting in the netpoller until data arrives, and obeys
// the connection's read deadline. Like [io.Reader.Read] it may return fewer
// bytes than len(p).
//
// The returned files are owned by the caller, who must close them. Recv
// never returns files together with an error: on any error every
// descriptor that arrived has already been closed.
//
// Errors: [ErrTruncated] when the kernel truncated the control data (more
// descriptors than fit) or the message (SOCK_SEQPACKET); [ErrTooManyFDs]
// when more than maxFDs arrived; io.EOF when the peer closed the
// connection (a zero-length read); [ErrNoData] for an empty p. With
// ErrTruncated and ErrTooManyFDs, n reports the data bytes consumed.
// A negative maxFDs counts as 0; more than [MaxFDs] counts as MaxFDs.
func (c *Conn) Recv(p []byte, maxFDs int) (n int, files []*os.File, err error) {
	if len(p) == 0 {
		return 0, nil, ErrNoData
	}
	maxFDs = min(max(maxFDs, 0), MaxFDs)
	c.recvMu.Lock()
	defer c.recvMu.Unlock()

	c.recvBuf, c.recvOOB = p, nil
	if maxFDs > 0 {
		size := unix.CmsgSpace(4 * maxFDs)
		if cap(c.recvOOBBuf) < size {
			c.recvOOBBuf = make([]byte, size)
		}
		c.recvOOB = c.recvOOBBuf[:size]
	}
	c.recvN, c.recvOOBN, c.recvFlags, c.recvErr = 0, 0, 0, nil
	err = c.rc.Read(c.recvFn)
	n, oobn, flags, rerr, oob := c.recvN, c.recvOOBN, c.recvFlags, c.recvErr, c.recvOOB
	c.recvBuf, c.recvOOB, c.recvErr = nil, nil, nil
	if err == nil {
		err = rerr
	}
	if err != nil {
		// A failed recvmsg delivers neither data nor descriptors.
		return 0, nil, fmt.Errorf("fdpass: recvmsg: %w", err)
	}

	var fds []int
	if oobn > 0 {
		var perr error
		fds, perr = parseRights(oob[:oobn], c.recvFDs[:0])
		c.recvFDs = fds[:0]
		if perr != nil {
			closeFDs(fds)
			return n, nil, perr
		}
	}
	switch {
	case flags&(unix.MSG_CTRUNC|unix.MSG_TRUNC) != 0:
		closeFDs(fds)
		return n, nil, fmt.Errorf("fdpass: recvmsg (%d descriptors received, limit %d, flags %#x): %w",
			len(fds), maxFDs, flags, ErrTruncated)
	case len(fds) > maxFDs:
		closeFDs(fds)
		return n, nil, fmt.Errorf("fdpass: received %d descriptors, limit %d: %w", len(fds), maxFDs, ErrTooManyFDs)
	case n == 0:
		closeFDs(fds)
		return 0, nil, io.EOF
	}
	if len(fds) > 0 {
		files = make([]*os.File, len(fds))
		for i, fd := range fds {
			files[i] = os.NewFile(uintptr(fd), fileName)
		}
	}
	return n, files, nil
}

// recvOnce is the RawConn.Read callback: one recvmsg, retried on EINTR;
// false (wait for readability) on EAGAIN.
func (c *Conn) recvOnce(fd uintptr) bool {
	for {
		n, oobn, flags, err := c.recvMsg.recvmsg(int(fd), c.recvBuf, c.recvOOB, unix.MSG_CMSG_CLOEXEC)
		switch err {
		case nil:
			c.recvN, c.recvOOBN, c.recvFlags = n, oobn, flags
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		default:
			c.recvErr = err
			return true
		}
	}
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		_ = unix.Close(fd)
	}
}

// Send writes all of p to c with files attached to its first byte; see
// [Conn.Send] for the contract. The caller keeps ownership of files.
// For repeated calls on one connection, a [Conn] avoids per-call
// allocations and reports how many bytes were written.
func Send(c *net.UnixConn, p []byte, files ...*os.File) error {
	fc, err := NewConn(c)
	if err != nil {
		return err
	}
	_, err = fc.Send(p, files...)
	return err
}

// Recv reads once from c into p with at most maxFDs attached descriptors;
// see [Conn.Recv] for the contract. The returned files are owned by the
// caller; on error none are returned and every one that arrived is closed.
func Recv(c *net.UnixConn, p []byte, maxFDs int) (n int, files []*os.File, err error) {
	fc, err := NewConn(c)
	if err != nil {
		return 0, nil, err
	}
	return fc.Recv(p, maxFDs)
}
