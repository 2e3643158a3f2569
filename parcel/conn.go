package parcel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"golang.org/x/sys/unix"

	"github.com/cursorwindow/cursorwindow/fdpass"
)

// Conn reads and writes parcels on a connected SOCK_STREAM unix socket.
//
// Any number of goroutines may call Write concurrently: each parcel is
// written whole, never interleaved with another. Read is meant for one
// reader goroutine (concurrent calls are serialised). Close may be called
// from any goroutine and unblocks pending calls.
type Conn struct {
	uc  *net.UnixConn
	fc  *fdpass.Conn
	reg *Registry
	cfg config

	closeOnce sync.Once
	closed    atomic.Bool
	closeErr  error

	// Writer state, guarded by wsem (a one-slot semaphore, so that waiting
	// for it can honour a context).
	wsem chan struct{}
	wbuf bytes.Buffer
	fbuf []byte // the frames of BodyEncoders
	// owed is what the stream is owed before the next parcel: the rest
	// of a parcel TryWrite began, then the parcels Hold kept, written by
	// the next writer before its own parcel, in the same system call.
	owed []byte
	// owing is len(owed) > 0 as the last writer left it (Owes).
	owing atomic.Bool
	enc   *msgpack.Encoder
	werr  error // sticky: the stream is broken for writing
	// wdeadline is the socket's write deadline as WithWriteTimeout last
	// set it (zero: none set, or a context's watch cleared it).
	wdeadline time.Time

	// Reader state, guarded by rmu. Bytes are read ahead into rbuf: one
	// recvmsg takes as many frames as have arrived, and rbuf[rpos:rend]
	// holds what is not yet parsed. Descriptors that arrived with a
	// recvmsg wait in fdq with the stream range that recvmsg read: they
	// belong to the frame that starts in that range (the kernel ends a
	// recvmsg at the message that carried descriptors, so at most one
	// frame with descriptors starts in it).
	rmu  sync.Mutex
	rbuf []byte
	rpos int
	rend int
	roff int64 // stream offset of rbuf[rpos]
	// frameFDs is the descriptor count the frame being read announces, -1
	// while its header is not read yet.
	frameFDs int
	fdq      []fdBatch
	br       bytes.Reader
	dec      *msgpack.Decoder
	rerr     error // sticky: the stream is broken for reading
}

// fdBatch is the descriptors one recvmsg received, with the stream range
// [from, to) of the bytes it read.
type fdBatch struct {
	from, to int64
	files    []*os.File
}

// readAhead is the least a read asks the kernel for.
const readAhead = 32 << 10

var _ io.Closer = (*Conn)(nil)

// NewConn returns a Conn that reads and writes parcels on c, decoding
// bodies with the types registered in reg. The Conn takes ownership of c:
// Close closes it. c must be a SOCK_STREAM socket (network "unix" or a
// socketpair): on SOCK_SEQPACKET the reads ahead this reader makes would
// truncate messages.
func NewConn(c *net.UnixConn, reg *Registry, opts ...Option) (*Conn, error) {
	if reg == nil {
		return nil, errors.New("parcel: NewConn: nil Registry")
	}
	fc, err := fdpass.NewConn(c)
	if err != nil {
		return nil, fmt.Errorf("parcel: %w", err)
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("parcel: %w", err)
	}
	var (
		typ  int
		terr error
	)
	if err := rc.Control(func(fd uintptr) { typ, terr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TYPE) }); err != nil {
		return nil, fmt.Errorf("parcel: %w", err)
	}
	if terr != nil {
		return nil, fmt.Errorf("parcel: socket type: %w", terr)
	}
	if typ != unix.SOCK_STREAM {
		return nil, fmt.Errorf("parcel: socket type %d, want SOCK_STREAM", typ)
	}
	pc := &Conn{uc: c, fc: fc, reg: reg, cfg: defaultConfig(), wsem: make(chan struct{}, 1)}
	for _, o := range opts {
		o(&pc.cfg)
	}
	pc.enc = msgpack.NewEncoder(&pc.wbuf)
	pc.dec = msgpack.NewDecoder(&pc.br)
	return pc, nil
}

// PeerCred returns the credentials of the process at the other end.
func (c *Conn) PeerCred() (fdpass.Cred, error) { return c.fc.PeerCred() }

// Close closes the connection. Pending and later Reads and Writes fail with
// an error matching [ErrClosed]. Close is idempotent.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		c.closeErr = c.uc.Close()
		if c.rmu.TryLock() { // else the reader drops them as it returns
			c.dropFDs()
			c.rmu.Unlock()
		}
	})
	return c.closeErr
}

// dropFDs closes the descriptors read ahead; the caller holds rmu.
func (c *Conn) dropFDs() {
	for _, b := range c.fdq {
		closeFiles(b.files)
	}
	c.fdq = nil
}

// Write encodes msg with msgpack and sends it as one parcel, with files
// attached. Write does not take ownership of files: the caller may close
// them when Write returns (the peer holds its own descriptors by then).
// Files must not be closed while Write runs.
//
// ctx bounds the wait for the writer's turn and for socket buffer space;
// if it is done first, Write returns an error wrapping ctx.Err(). A parcel
// cut off part-way (by ctx, a deadline or an I/O error) leaves the stream
// unusable: later Writes return an error matching [ErrProtocol]. An
// encoding error, a body over the limit ([ErrTooLarge]) or too many files
// ([ErrTooManyFDs]) send nothing and leave the Conn usable.
func (c *Conn) Write(ctx context.Context, msg Message, files ...*os.File) error {
	typ, err := c.checkMessage(msg, len(files))
	if err != nil {
		return err
	}
	if done := ctx.Done(); done != nil {
		select {
		case c.wsem <- struct{}{}:
		case <-done:
			return fmt.Errorf("parcel: write type %d: %w", typ, ctx.Err())
		}
	} else {
		c.wsem <- struct{}{}
	}
	defer c.endWrite()
	if err := c.writable(ctx, typ); err != nil {
		return err
	}
	frame, err := c.frame(typ, msg, len(files))
	if err != nil {
		return err
	}
	// Descriptors go with their parcel's bytes alone, and a large parcel
	// is not copied behind what is owed: both after a send of their own.
	if len(files) > 0 || len(frame) > maxOwed {
		if err := c.sendRest(ctx); err != nil {
			return err
		}
	}
	owed := len(c.owed)
	if owed > 0 {
		c.owed = append(c.owed, frame...)
		frame = c.owed
	}
	n, err, ctxErr := c.send(ctx, frame, files)
	c.owed = c.owed[:copy(c.owed, c.owed[min(n, owed):owed])] // what is owed still
	if err == nil {
		return nil
	}
	err = c.writeError(typ, err, ctxErr)
	if n > owed || (n > 0 && ctxErr == nil) { // the parcel begun, or the socket failed mid-way
		c.werr = fmt.Errorf("%w: stream broken by an incomplete write (%d of %d bytes, what was owed before the parcel included): %w", ErrProtocol, n, len(frame), err)
	}
	return err
}

// TryResult is what TryWrite did.
type TryResult int

const (
	// Unsent: nothing was written (another write was under way, the
	// socket's buffer is full, or a parcel over 64 KiB would wait behind
	// what is owed: Write sends it).
	Unsent TryResult = iota
	// Sent: the whole parcel was written.
	Sent
	// Begun: the socket took part of the parcel, or of what was owed
	// before it (Hold); the rest is kept and written first by the next
	// Write or Flush, and until then the stream may hold half a frame:
	// call Flush.
	Begun
)

// TryWrite writes msg (without descriptors), after what the stream is
// owed, if it can without waiting: for the writer's turn, or for the
// socket to take a byte. It is for a writer that must never wait on a
// peer that stopped reading, and otherwise queues msg for a writer that
// may wait. Unsent without an error leaves the Conn as it was; an error
// is Write's, and may have broken the stream (a send that failed
// part-way).
func (c *Conn) TryWrite(msg Message) (TryResult, error) {
	typ, ok, err := c.tryTurn(msg)
	if !ok {
		return Unsent, err
	}
	defer c.endWrite()
	frame, err := c.frame(typ, msg, 0)
	if err != nil {
		return Unsent, err
	}
	owed := len(c.owed)
	if owed > 0 {
		if len(frame) > maxOwed {
			return Unsent, nil // not copied behind what is owed: a Write sends it alone
		}
		c.owed = append(c.owed, frame...)
		frame = c.owed
	}
	c.refreshWriteDeadline()
	n, err := c.fc.TrySend(frame)
	switch {
	case err != nil && n > 0:
		err = c.writeError(typ, err, nil)
		c.werr = fmt.Errorf("%w: stream broken by an incomplete write (%d of %d bytes, what was owed before the parcel included): %w", ErrProtocol, n, len(frame), err)
		return Unsent, err
	case err != nil:
		c.owed = c.owed[:owed]
		return Unsent, c.writeError(typ, err, nil)
	case n == 0:
		c.owed = c.owed[:owed]
		return Unsent, nil
	case n < len(frame):
		c.owed = append(c.owed[:0], frame[n:]...) // frame may be c.owed: append copies forward
		return Begun, nil
	}
	c.owed = c.owed[:0]
	return Sent, nil
}

// tryTurn takes the writer's turn for msg (without descriptors) if no
// other write is under way and the Conn is writable: ok false, with the
// error that refused msg if any, otherwise. With ok, the caller gives
// the turn back with endWrite.
func (c *Conn) tryTurn(msg Message) (typ uint16, ok bool, err error) {
	if typ, err = c.checkMessage(msg, 0); err != nil {
		return 0, false, err
	}
	select {
	case c.wsem <- struct{}{}:
	default:
		return typ, false, nil
	}
	if err := c.writable(context.Background(), typ); err != nil {
		c.endWrite()
		return typ, false, err
	}
	return typ, true, nil
}

// endWrite gives the writer's turn back, noting whether the stream is
// owed bytes. The caller holds wsem.
func (c *Conn) endWrite() {
	if len(c.owed) == 0 && cap(c.owed) > 4*maxOwed {
		c.owed = nil // the rest of a large begun parcel: not kept for the Conn's life
	}
	c.owing.Store(len(c.owed) > 0)
	<-c.wsem
}

// Owes reports whether bytes are owed to the stream (parcels Hold kept,
// the rest of a parcel TryWrite began) as the last writer left it: a
// hint, read without waiting for a writer, for whoever flushes held
// parcels to skip a Flush with nothing to write.
func (c *Conn) Owes() bool { return c.owing.Load() }

// maxOwed bounds what Hold keeps unwritten.
const maxOwed = 64 << 10

// Hold keeps msg (without descriptors) for the next writer, without
// writing: the next Write, TryWrite or Flush writes it before its own
// parcel, in the same system call. It is for a message that may wait a
// little (a release), so that it costs neither a system call of its own
// nor its peer a wake-up of its own; whoever holds one must see that a
// Flush follows within the time it may wait. It never waits: false,
// without an error, when another write is under way or 64 KiB are held
// already (msg is not held). Held parcels are written in order; Close
// drops them. An error is Write's before sending (the Conn is broken or
// closed, or msg cannot be encoded).
func (c *Conn) Hold(msg Message) (bool, error) {
	typ, ok, err := c.tryTurn(msg)
	if !ok {
		return false, err
	}
	defer c.endWrite()
	if len(c.owed) >= maxOwed {
		return false, nil
	}
	frame, err := c.frame(typ, msg, 0)
	if err != nil {
		return false, err
	}
	c.owed = append(c.owed, frame...)
	return true, nil
}

// Flush writes what the stream is owed (the rest of a parcel TryWrite
// began, the parcels Hold kept), if anything, waiting as Write does.
func (c *Conn) Flush(ctx context.Context) error {
	select {
	case c.wsem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("parcel: flush: %w", ctx.Err())
	}
	defer c.endWrite()
	if err := c.writable(ctx, 0); err != nil {
		return err
	}
	return c.sendRest(ctx)
}

// checkMessage checks what Write can refuse before its turn.
func (c *Conn) checkMessage(msg Message, files int) (uint16, error) {
	if msg == nil {
		return 0, errors.New("parcel: write: nil message")
	}
	typ := msg.ParcelType()
	if typ == 0 {
		return 0, fmt.Errorf("parcel: write %T: %w: type code 0 is reserved", msg, ErrUnknownType)
	}
	if files > c.cfg.maxFDs {
		return 0, fmt.Errorf("parcel: write type %d: %w: %d descriptors exceed limit %d", typ, ErrTooManyFDs, files, c.cfg.maxFDs)
	}
	return typ, nil
}

// writable refuses a write on a broken or closed Conn, or under a done
// ctx. The caller holds wsem.
func (c *Conn) writable(ctx context.Context, typ uint16) error {
	if c.werr != nil {
		return c.werr
	}
	if c.closed.Load() {
		return fmt.Errorf("parcel: write type %d: %w", typ, ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("parcel: write type %d: %w", typ, err)
	}
	return nil
}

// frame encodes msg into its frame, header included. The caller holds
// wsem.
func (c *Conn) frame(typ uint16, msg Message, files int) ([]byte, error) {
	frame, err := c.encode(msg)
	if err != nil {
		return nil, fmt.Errorf("parcel: encode type %d (%T): %w", typ, msg, err)
	}
	bodyLen := len(frame) - HeaderSize
	if bodyLen > c.cfg.maxBody {
		return nil, fmt.Errorf("parcel: write type %d: %w: length %d exceeds limit %d", typ, ErrTooLarge, bodyLen, c.cfg.maxBody)
	}
	putHeader(frame, header{typ: typ, bodyLen: uint32(bodyLen), fdCount: uint16(files)})
	return frame, nil
}

// sendRest writes what the stream is owed. A write cut by ctx keeps what
// is still unsent for the next writer; any other failure breaks the
// stream. The caller holds wsem.
func (c *Conn) sendRest(ctx context.Context) error {
	if len(c.owed) == 0 {
		return nil
	}
	n, err, ctxErr := c.send(ctx, c.owed, nil)
	c.owed = c.owed[:copy(c.owed, c.owed[n:])]
	switch {
	case err == nil:
		return nil
	case ctxErr != nil:
		return fmt.Errorf("parcel: write the rest of a parcel: %w (%v)", ctxErr, err)
	}
	c.werr = fmt.Errorf("%w: stream broken by an incomplete write (the rest of a parcel): %w", ErrProtocol, err)
	return c.werr
}

// send writes b, with files, under the write timeout and ctx; ctxErr is
// ctx's error if ctx cut the write. The caller holds wsem.
func (c *Conn) send(ctx context.Context, b []byte, files []*os.File) (n int, err, ctxErr error) {
	c.refreshWriteDeadline()
	stop := watch(ctx, c.uc, false)
	n, err = c.fc.Send(b, files...)
	ctxErr = stop.done(err)
	if stop.fired() {
		c.wdeadline = time.Time{} // stop.done cleared the socket's
	}
	return n, err, ctxErr
}

// writeError restates a failed send of a parcel of type typ.
func (c *Conn) writeError(typ uint16, err, ctxErr error) error {
	switch {
	case ctxErr != nil:
		return fmt.Errorf("parcel: write type %d: %w (%v)", typ, ctxErr, err)
	case errors.Is(err, net.ErrClosed) && c.closed.Load():
		return fmt.Errorf("parcel: write type %d: %w", typ, ErrClosed)
	}
	return fmt.Errorf("parcel: write type %d: %w", typ, err)
}

var zeroHeader [HeaderSize]byte

// encode returns msg's frame with room for its header, in a buffer
// reused by the next Write. The caller holds wsem.
func (c *Conn) encode(msg Message) ([]byte, error) {
	if be, ok := msg.(BodyEncoder); ok {
		frame, err := be.AppendBody(append(c.fbuf[:0], zeroHeader[:]...))
		c.fbuf = frame[:0]
		return frame, err
	}
	c.wbuf.Reset()
	c.wbuf.Write(zeroHeader[:])
	if err := c.enc.Encode(msg); err != nil {
		return nil, err
	}
	return c.wbuf.Bytes(), nil
}

// refreshWriteDeadline keeps the socket's write deadline between half and
// all of the write timeout ahead (WithWriteTimeout): it moves it only when
// less than half is left, so most Writes set no deadline and arm no
// timer. The caller holds wsem.
func (c *Conn) refreshWriteDeadline() {
	d := c.cfg.writeTimeout
	if d == 0 {
		return
	}
	now := time.Now()
	if c.wdeadline.Sub(now) >= d/2 {
		return
	}
	c.wdeadline = now.Add(d)
	_ = c.uc.SetWriteDeadline(c.wdeadline)
}

// Read reads the next parcel and decodes its body into a new value of the
// type registered for its code. The returned files are owned by the
// caller, who must close them; Read never returns files with an error (it
// closes whatever arrived).
//
// At a frame boundary, a peer that closed the connection yields io.EOF; in
// the middle of a frame, an error matching io.ErrUnexpectedEOF.
// [ErrUnknownType] and [ErrDecode] skip one parcel and leave the Conn
// usable; errors matching [ErrProtocol] or io.ErrUnexpectedEOF are sticky.
//
// ctx bounds the wait; if it is done first, Read returns an error
// wrapping ctx.Err() and the Conn stays usable, even if part of a parcel
// had arrived (it stays buffered for the next Read).
//
// Read decodes in place from a buffer it reuses: the returned message
// never aliases it.
func (c *Conn) Read(ctx context.Context) (Message, []*os.File, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.rerr != nil {
		return nil, nil, c.rerr
	}
	if c.closed.Load() {
		return nil, nil, fmt.Errorf("parcel: read: %w", ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("parcel: read: %w", err)
	}
	stop := watch(ctx, c.uc, true)
	h, body, files, err := c.readFrame()
	ctxErr := stop.done(err)
	if err != nil {
		err = c.readError(err, ctxErr)
		if c.rerr != nil || c.closed.Load() {
			c.dropFDs()
		}
		return nil, nil, err
	}
	msg, err := c.decode(h, body)
	if err != nil {
		closeFiles(files)
		return nil, nil, err
	}
	return msg, files, nil
}

// Readable reports, without waiting, whether a Read would find bytes or
// the end of the stream already there (or fail at once: a Conn closed or
// broken). It is for a peer that reads only while it expects an answer, to
// notice in between that the other end spoke or left. Descriptors are not
// received: a Read that follows takes them with their frame.
func (c *Conn) Readable() bool {
	if !c.rmu.TryLock() {
		return false // a Read is under way: it will see what comes
	}
	defer c.rmu.Unlock()
	if c.rend > c.rpos || len(c.fdq) > 0 || c.rerr != nil || c.closed.Load() {
		return true
	}
	rc, err := c.uc.SyscallConn()
	if err != nil {
		return true
	}
	ready := false
	if err := rc.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN | unix.POLLRDHUP}}
		n, err := unix.Poll(fds, 0)
		ready = err != nil || (n > 0 && fds[0].Revents != 0)
	}); err != nil {
		return true
	}
	return ready
}

// readFrame returns the next frame's header, body (valid until the next
// read) and descriptors, reading ahead as far as the kernel has bytes.
// An interrupted read loses nothing: what arrived stays buffered.
func (c *Conn) readFrame() (h header, body []byte, files []*os.File, err error) {
	c.frameFDs = -1 // until the header says
	if err := c.fill(HeaderSize); err != nil {
		return header{}, nil, nil, err
	}
	h, err = parseHeader(c.rbuf[c.rpos:c.rpos+HeaderSize], c.cfg.maxBody, c.cfg.maxFDs)
	if err != nil {
		return header{}, nil, nil, err
	}
	size := HeaderSize + int(h.bodyLen)
	c.frameFDs = int(h.fdCount)
	for _, b := range c.fdq {
		if err := c.claimable(b, size); err != nil {
			return header{}, nil, nil, err
		}
	}
	if err := c.fill(size); err != nil {
		return header{}, nil, nil, err
	}
	files, err = c.takeFDs(h)
	if err != nil {
		return header{}, nil, nil, err
	}
	body = c.rbuf[c.rpos+HeaderSize : c.rpos+size]
	c.rpos += size
	c.roff += int64(size)
	return h, body, files, nil
}

// fill reads until n bytes are buffered.
func (c *Conn) fill(n int) error {
	for c.rend-c.rpos < n {
		if cap(c.rbuf)-c.rpos < n || c.rend == cap(c.rbuf) {
			c.compact(n)
		}
		from := c.roff + int64(c.rend-c.rpos)
		got, fs, err := c.fc.Recv(c.rbuf[c.rend:cap(c.rbuf)], c.cfg.maxFDs)
		c.rend += got
		if len(fs) > 0 {
			c.fdq = append(c.fdq, fdBatch{from: from, to: from + int64(got), files: fs})
			if err := c.claimable(c.fdq[len(c.fdq)-1], n); err != nil {
				return err
			}
		}
		if err != nil {
			switch {
			case errors.Is(err, io.EOF) && c.rend == c.rpos && len(c.fdq) == 0:
				return io.EOF
			case errors.Is(err, io.EOF):
				return fmt.Errorf("parcel: connection closed mid-frame: %w", io.ErrUnexpectedEOF)
			case errors.Is(err, fdpass.ErrTruncated), errors.Is(err, fdpass.ErrTooManyFDs):
				return fmt.Errorf("%w: %w: %w", ErrProtocol, ErrTooManyFDs, err)
			}
			return err
		}
	}
	return nil
}

// claimable refuses, as soon as they arrive, descriptors no frame can
// claim: those that came with bytes lying wholly inside the frame being
// read (n bytes of it are known to be its own), unless they came with its
// first byte and it announces descriptors. Refusing them then, not once
// the frame is whole, keeps a peer from piling up descriptors a byte at a
// time.
func (c *Conn) claimable(b fdBatch, n int) error {
	if b.to > c.roff+int64(n) || (b.from <= c.roff && c.frameFDs != 0) {
		return nil
	}
	return fmt.Errorf("%w: %w: %d descriptors arrived inside a frame that cannot claim them",
		ErrProtocol, ErrFDMismatch, len(b.files))
}

// compact moves the unread bytes to the front of a buffer with room for
// at least n of them (n is at most a header and the body limit, checked
// before the body is read). A buffer grown for a large frame shrinks back
// once it is no longer needed.
func (c *Conn) compact(n int) {
	need := max(n, c.rend-c.rpos)
	buf := c.rbuf
	if cap(buf) < need || (cap(buf) > readAhead && need <= readAhead) {
		buf = make([]byte, max(readAhead, need))
	}
	buf = buf[:cap(buf)]
	c.rend = copy(buf, c.rbuf[c.rpos:c.rend])
	c.rbuf, c.rpos = buf, 0
}

// takeFDs returns the descriptors of the frame at the read position,
// announced in h: those of the batch whose range holds its first byte.
// Descriptors with no frame to announce them, or a count that disagrees,
// break the stream.
func (c *Conn) takeFDs(h header) ([]*os.File, error) {
	at := c.roff
	if len(c.fdq) > 0 && c.fdq[0].to <= at {
		return nil, fmt.Errorf("%w: %w: %d descriptors arrived with no frame announcing them",
			ErrProtocol, ErrFDMismatch, len(c.fdq[0].files))
	}
	var files []*os.File
	if len(c.fdq) > 0 && c.fdq[0].from <= at && h.fdCount > 0 {
		files = c.fdq[0].files
		c.fdq = c.fdq[1:]
	}
	if int(h.fdCount) != len(files) {
		closeFiles(files)
		return nil, fmt.Errorf("%w: %w: header of type %d announces %d descriptors, %d arrived",
			ErrProtocol, ErrFDMismatch, h.typ, h.fdCount, len(files))
	}
	if end := at + HeaderSize + int64(h.bodyLen); len(c.fdq) > 0 && c.fdq[0].to <= end {
		// No later frame can start where these arrived.
		closeFiles(files)
		return nil, fmt.Errorf("%w: %w: %d descriptors arrived inside a frame of type %d that announces %d",
			ErrProtocol, ErrFDMismatch, len(c.fdq[0].files), h.typ, h.fdCount)
	}
	return files, nil
}

// readError classifies a readFrame error and records it if it is sticky.
// A read interrupted by its context, a deadline or Close loses nothing:
// what arrived is buffered, so the stream stays usable.
func (c *Conn) readError(err error, ctxErr error) error {
	switch {
	case err == io.EOF:
		c.rerr = io.EOF
		return io.EOF
	case errors.Is(err, ErrProtocol), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, ErrTooLarge):
		c.rerr = fmt.Errorf("parcel: read: %w", err)
		return c.rerr
	case ctxErr != nil:
		return fmt.Errorf("parcel: read: %w (%v)", ctxErr, err)
	case errors.Is(err, net.ErrClosed) && c.closed.Load():
		return fmt.Errorf("parcel: read: %w", ErrClosed)
	}
	return fmt.Errorf("parcel: read: %w", err)
}

// decode checks and decodes one body. Its errors are not sticky: the
// frame has been consumed whole.
func (c *Conn) decode(h header, body []byte) (msg Message, err error) {
	return decodeBody(c.reg, h.typ, body, &c.br, c.dec)
}

// Decode decodes body as the message type registered for code, with the
// same checks a Conn's Read applies to a peer's bytes (the structure
// checked before decoding, panics recovered, no bytes left over), and
// returns the same errors ([ErrUnknownType], [ErrDecode]). It is the
// decoding half of Read without a socket: a protocol built on this
// package fuzzes its messages with it (content's FuzzMessages), every
// input costing a decode rather than a send and a receive, and a peer
// that frames parcels itself decodes their bodies with it. A Conn reuses
// its decoder instead.
func (r *Registry) Decode(code uint16, body []byte) (Message, error) {
	var br bytes.Reader
	return decodeBody(r, code, body, &br, nil)
}

// decodeBody decodes body into a new message of type code; dec reads br
// (nil: one is made if the message needs msgpack's decoder). A body that
// does not decode is a *DecodeError naming code.
func decodeBody(reg *Registry, code uint16, body []byte, br *bytes.Reader, dec *msgpack.Decoder) (Message, error) {
	msg, err := decodeMessage(reg, code, body, br, dec)
	if err != nil && errors.Is(err, ErrDecode) {
		return nil, &DecodeError{Type: code, Err: err}
	}
	return msg, err
}

// decodeMessage is decodeBody without the *DecodeError. A [BodyDecoder]
// reads the body first; what it does not read is checked and decoded by
// msgpack, into a fresh value.
func decodeMessage(reg *Registry, code uint16, body []byte, br *bytes.Reader, dec *msgpack.Decoder) (msg Message, err error) {
	newFn, err := reg.constructor(code)
	if err != nil {
		return nil, err
	}
	defer func() {
		// msgpack should not panic on a body checkBody passed, but a
		// panic in a type's own decoder must not crash a server.
		if r := recover(); r != nil {
			msg, err = nil, fmt.Errorf("parcel: read type %d: %w: panic: %v", code, ErrDecode, r)
		}
	}()
	msg = newFn()
	if bd, ok := msg.(BodyDecoder); ok {
		if bd.DecodeBody(body) {
			return msg, nil
		}
		msg = newFn() // not what DecodeBody left half-decoded
	}
	if err := checkBody(body); err != nil {
		return nil, fmt.Errorf("parcel: read type %d: %w: %v", code, ErrDecode, err)
	}
	br.Reset(body)
	if dec == nil {
		dec = msgpack.NewDecoder(br)
	} else {
		dec.ResetReader(br)
	}
	if err := dec.Decode(msg); err != nil {
		return nil, fmt.Errorf("parcel: read type %d (%T): %w: %w", code, msg, ErrDecode, err)
	}
	if br.Len() != 0 {
		return nil, fmt.Errorf("parcel: read type %d (%T): %w: %d bytes left after the value", code, msg, ErrDecode, br.Len())
	}
	return msg, nil
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		_ = f.Close()
	}
}

// aLongTimeAgo is a deadline in the past: setting it interrupts pending I/O.
var aLongTimeAgo = time.Unix(1, 0)

// ctxWatch ties a context to the read or write deadline of a connection
// for one I/O call.
type ctxWatch struct {
	ctx    context.Context
	uc     *net.UnixConn
	read   bool
	stop   func() bool
	cut    chan struct{} // closed once the context cut the I/O call
	didCut bool          // done saw cut closed
}

func (w *ctxWatch) setDeadline(t time.Time) {
	if w.read {
		_ = w.uc.SetReadDeadline(t)
	} else {
		_ = w.uc.SetWriteDeadline(t)
	}
}

// watch makes ctx's end interrupt pending I/O: when ctx is done (by its
// deadline too: a context's Done closes when its deadline passes), the
// connection's read (or write) deadline is set in the past. Until then
// the socket's deadline is left alone, so an I/O call that ctx does not
// cut costs no timer: two per call (its deadline set, then cleared) woke
// a thread each. A context that can never be done costs nothing.
func watch(ctx context.Context, uc *net.UnixConn, read bool) *ctxWatch {
	if ctx.Done() == nil {
		return nil
	}
	w := &ctxWatch{ctx: ctx, uc: uc, read: read, cut: make(chan struct{})}
	w.stop = context.AfterFunc(ctx, func() {
		w.setDeadline(aLongTimeAgo)
		close(w.cut)
	})
	return w
}

// done undoes watch and returns the context's error if the context ended
// the I/O call that returned ioErr. If ctx cut the call, the socket's
// deadline is cleared.
func (w *ctxWatch) done(ioErr error) error {
	if w == nil {
		return nil
	}
	if !w.stop() {
		<-w.cut
		w.didCut = true
		w.setDeadline(time.Time{})
	}
	if ioErr == nil {
		return nil
	}
	return w.ctx.Err()
}

// fired reports whether the context cut the I/O call (done has run).
func (w *ctxWatch) fired() bool { return w != nil && w.didCut }
