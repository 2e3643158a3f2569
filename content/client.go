package content

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cursorwindow/cursorwindow/content/internal/wire"
	"github.com/cursorwindow/cursorwindow/parcel"
	"github.com/cursorwindow/cursorwindow/window"
)

// Client is a consumer's connection to a provider: Android's
// ContentResolver. It is safe for concurrent use.
//
// A caller whose request is the only one that needs reading reads its
// reply itself: no goroutine wakes another for it. While other requests
// wait, or a Watch is registered, one background goroutine reads the
// connection instead and hands each reply to the caller waiting for it;
// it ends once nothing needs reading. A reply that cannot be decoded or
// routed (an unknown request id, a type the request cannot be answered
// with) ends the connection with ErrProtocol for every pending request,
// since the stream can no longer be trusted. Messages that need no answer
// (releases, closes, unregistrations) are queued and written by a second
// goroutine, so neither a reader nor Cursor.Close nor Watch.Close ever
// waits on a provider that stopped reading. Both goroutines end when Close
// returns.
type Client struct {
	pc    *parcel.Conn
	hello wire.HelloReplyMsg
	maps  *window.Mappings // nil until the handshake is done
	done  chan struct{}    // closed when the connection has ended (finish)
	ctl   outbox
	fin   sync.Once

	stacks   bool          // record where each cursor was opened
	leaked   atomic.Int64  // cursors collected without Close
	busyWait time.Duration // WithBusyWait

	waiting       atomic.Int64 // cursors waiting for a window (callForWindow)
	replyHandoffs atomic.Int64 // replies handed from the background reader to their caller (TestSmallQueryCosts)
	freedMu       sync.Mutex
	freed         chan struct{} // closed (and replaced) when a cursor gives back a window or a query

	mu         sync.Mutex
	nextReq    uint64
	pending    map[uint64]call
	spare      []chan reply        // reply channels whose reply was taken, for reuse (start)
	abandoned  map[uint64]struct{} // requests given up on: their answers are disposed of
	watches    map[string][]*Watch
	registered map[string]bool // every URI registered on this connection -> with descendants
	err        error           // why the connection ended
	closed     bool            // Close was called
	aborted    error           // why the client itself ended the connection
	// reading: a caller (wait) or the background reader (readLoop) holds
	// the connection's read side; only the holder reads.
	reading bool
}

// call is a request waiting for its reply.
type call struct {
	ch   chan reply
	want uint16 // the type code of a good answer (an error always is one)
}

type reply struct {
	msg   parcel.Message
	files []*os.File
}

// DialOption configures Dial.
type DialOption func(*dialConfig)

type dialConfig struct {
	checked  bool
	stacks   bool
	busyWait time.Duration
	linger   time.Duration // how long a held release waits for a request (defaultLinger)
}

// defaultBusyWait is how long a cursor waits for a window by default
// (WithBusyWait).
const defaultBusyWait = 10 * time.Second

// WithBusyWait sets how long a cursor waits for a window when the
// provider answers busy (its limits on the windows a connection or a uid
// holds, its window memory): 10 s by default, and the
// query's context bounds it too. A program that shares one Client between
// many goroutines, as it shares a sql.DB, then has its cursors take turns
// instead of failing: a cursor that must wait gives back the window it
// holds (it is moving on from it anyway) and asks again as soon as
// another cursor of the client releases one. Past the wait the error is
// ErrBusy, naming the limit. 0 fails at once, as the provider answered.
func WithBusyWait(d time.Duration) DialOption { return func(c *dialConfig) { c.busyWait = max(d, 0) } }

// WithCheckedViews makes every view a cursor returned fault (a crash, or
// a panic under runtime/debug.SetPanicOnFault) if it is used after the
// cursor left its window: the client's mappings are kept with
// window.WithQuarantine, so a released window's mapping, kept for reuse,
// is inaccessible until the provider sends it again, and closed mappings
// stay reserved, inaccessible.
// Without it, a view kept past its window is a bug that may read the
// provider's later contents, as with database/sql.RawBytes. It costs two
// mprotect calls per window (measured at 8–20 µs a handoff on a 2-core
// machine) and address space; for debugging and for callers that cannot
// rule out stale views.
func WithCheckedViews() DialOption { return func(c *dialConfig) { c.checked = true } }

// maxSocketPath is the longest path a unix socket's address holds
// (sun_path, less its terminating NUL).
const maxSocketPath = 107

// dialError says why connecting to path failed (see Dial).
func dialError(path string, err error) error {
	var kind error
	var why string
	switch {
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("%w: the filesystem does not let this process reach %s (the provider did not refuse: it was never reached): %w", ErrPermission, path, err)
	case len(path) > maxSocketPath:
		kind, why = syscall.ENAMETOOLONG, fmt.Sprintf("the socket path is %d bytes long; a unix socket's path has at most %d (use a shorter directory)", len(path), maxSocketPath)
	case errors.Is(err, syscall.ENOENT):
		kind, why = syscall.ENOENT, "no socket there: start the provider, or check the path"
	case errors.Is(err, syscall.ECONNREFUSED) && !isSocket(path):
		kind, why = syscall.ENOTSOCK, "it is not a socket"
	case errors.Is(err, syscall.ECONNREFUSED) && path[0] == '@':
		kind, why = syscall.ECONNREFUSED, "nothing listens on that abstract name: start the provider"
	case errors.Is(err, syscall.ECONNREFUSED):
		kind, why = syscall.ECONNREFUSED, "a stale socket: no provider listens on it (one left it behind; it may be removed)"
	default:
		return fmt.Errorf("%w: dial %s: %w", ErrNoProvider, path, err)
	}
	return fmt.Errorf("%w at %s: %s: %w", ErrNoProvider, path, why, kind)
}

// isSocket reports whether path names a socket in the filesystem (an
// abstract name, "@...", is one if anything listened).
func isSocket(path string) bool {
	if len(path) > 0 && path[0] == '@' {
		return true
	}
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().Type() == os.ModeSocket
}

// Dial connects to the provider listening at path (a filesystem path, or
// "@name" for an abstract socket) and performs the handshake. Where it
// reaches no provider, the error says why, in words that say what to do
// and in errors.Is kinds:
//
//	nothing at the path (or no such directory)   ErrNoProvider, syscall.ENOENT: start the provider
//	a socket no provider listens on (stale)      ErrNoProvider, syscall.ECONNREFUSED: a provider left it; it may be removed
//	a file or directory that is not a socket     ErrNoProvider, syscall.ENOTSOCK
//	a path longer than a socket's (107 bytes)    ErrNoProvider, syscall.ENAMETOOLONG
//	the filesystem refuses this process          ErrPermission, os.ErrPermission (not the provider's refusal, a *ProviderError)
//
// ErrProviderGone is kept for a provider that was reached and then left
// (during the handshake, or later).
func Dial(ctx context.Context, path string, opts ...DialOption) (*Client, error) {
	cfg := dialConfig{busyWait: defaultBusyWait, linger: defaultLinger}
	for _, o := range opts {
		o(&cfg)
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, dialError(path, err)
	}
	pc, err := parcel.NewConn(nc.(*net.UnixConn), wire.Registry)
	if err != nil {
		nc.Close()
		return nil, err
	}
	c := &Client{
		pc: pc, done: make(chan struct{}),
		nextReq: 1, pending: map[uint64]call{}, abandoned: map[uint64]struct{}{},
		watches: map[string][]*Watch{}, registered: map[string]bool{},
		stacks: cfg.stacks || envStacks, busyWait: cfg.busyWait, freed: make(chan struct{}),
	}
	cl := call{ch: make(chan reply, 1), want: wire.CodeHelloReply}
	c.pending[1] = cl
	c.ctl.start(pc, c.abort, cfg.linger)
	// A provider that refuses the caller says why and hangs up, perhaps
	// before the hello is written: its answer counts, not the write error.
	werr := pc.Write(ctx, &wire.HelloMsg{Version: wire.Version})
	r, err := c.wait(ctx, 1, cl.ch)
	if err != nil {
		c.Close()
		var pe *ProviderError
		if werr != nil && !errors.As(err, &pe) {
			return nil, fmt.Errorf("%w: %w", ErrProviderGone, werr)
		}
		return nil, err
	}
	h := r.msg.(*wire.HelloReplyMsg) // the reader checked the type
	if h.Version != wire.Version {
		c.Close()
		return nil, fmt.Errorf("%w: the provider speaks protocol version %d, this client %d", ErrProtocol, h.Version, wire.Version)
	}
	c.hello = *h
	c.maps = window.NewMappings(mappingLimit(h), mapOptions(cfg.checked, h)...)
	return c, nil
}

// Err returns nil while the connection is open, and why it ended once it
// has (ErrProviderGone, ErrShutdown, ErrProtocol, ErrClosed after Close).
// It never waits: a pool can ask it before reusing a client.
//
// While nothing needs reading, nobody reads the connection: Err then looks
// whether the provider said goodbye or left (a poll that does not wait)
// and reads what arrived (waiting at most 10 ms for the rest of a message
// that has begun to arrive).
func (c *Client) Err() error {
	if c.takeRead() {
		c.readArrived()
	}
	select {
	case <-c.done:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.err
	default:
		return nil
	}
}

// arrivedWait bounds Err's read of a message that has begun to arrive.
const arrivedWait = 10 * time.Millisecond

// readArrived reads what has arrived while nobody read, then gives the
// read side back; the caller holds it.
func (c *Client) readArrived() {
	for c.pc.Readable() {
		ctx, cancel := context.WithTimeout(context.Background(), arrivedWait)
		ok, ended := c.readOne(ctx)
		cancel()
		if ended {
			return
		}
		if !ok {
			break // a frame still arriving: a reader takes it
		}
	}
	c.giveRead()
}

// readOne reads and routes one message, as the holder of the read side.
// It returns ok false when the holder must stop reading: ended when the
// connection ended (finish has run), not ended when ctx ended with the
// stream intact (the holder gives the read side back).
func (c *Client) readOne(ctx context.Context) (ok, ended bool) {
	msg, files, err := c.pc.Read(ctx)
	if err != nil {
		// The read deadline parcel sets from ctx can fire a moment before
		// ctx itself reports done: the error says which it was.
		ctxDone := ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
		if ctxDone && !errors.Is(err, parcel.ErrProtocol) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return false, false
		}
		c.finish(err)
		return false, true
	}
	if err := c.route(msg, files); err != nil {
		wire.CloseFiles(files)
		c.finish(err)
		return false, true
	}
	return true, false
}

// takeRead takes the connection's read side if nobody holds it.
func (c *Client) takeRead() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reading {
		return false
	}
	c.reading = true
	return true
}

// needsReader reports whether the connection must be read though no
// caller reads it: requests wait for answers (or their answers must be
// disposed of), or watches wait for notifications. The caller holds mu.
func (c *Client) needsReader() bool {
	return len(c.pending) > 0 || len(c.abandoned) > 0 || len(c.watches) > 0
}

// giveRead gives back the read side, to the background reader if
// something still needs reading.
func (c *Client) giveRead() {
	c.mu.Lock()
	switch {
	case c.closed || c.aborted != nil:
		c.mu.Unlock()
		c.finish(parcel.ErrClosed) // Close or abort counted on this reader to see the end
	case c.needsReader():
		c.mu.Unlock()
		go c.readLoop() // keeps the read side
	default:
		c.reading = false
		c.mu.Unlock()
	}
}

// Close closes the connection; the provider releases everything the
// client held. Cursors still open keep their current window readable;
// their later requests, and those of every other user of the client,
// fail with ErrClosed.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	err := c.pc.Close()
	if c.takeRead() { // nobody reads: nobody else will see the end
		c.finish(parcel.ErrClosed)
	}
	<-c.done
	c.ctl.stop()
	if c.maps != nil {
		c.maps.Close()
	}
	return err
}

// readLoop is the background reader: it holds the read side and reads
// until the connection ends or nothing needs reading (needsReader).
func (c *Client) readLoop() {
	for {
		if _, ended := c.readOne(context.Background()); ended {
			return
		}
		c.mu.Lock()
		if !c.needsReader() && !c.closed && c.aborted == nil {
			c.reading = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
	}
}

// readFor reads, as the holder of the read side, until ch has its reply,
// ctx is done or the connection ends; then it gives the read side back.
func (c *Client) readFor(ctx context.Context, ch chan reply) {
	for len(ch) == 0 {
		ok, ended := c.readOne(ctx)
		if ended {
			return
		}
		if !ok {
			break // the stream is intact: the background reader goes on
		}
	}
	c.giveRead()
}

// finish ends the connection once, for the reader that saw it end (or
// Close, when nobody reads): every pending request fails, done closes.
func (c *Client) finish(err error) {
	c.fin.Do(func() {
		c.end(err)
		close(c.done)
	})
}

// route hands a message to whoever waits for it. An error means the
// message breaks the protocol: the connection must end.
func (c *Client) route(msg parcel.Message, files []*os.File) error {
	if len(files) > 0 {
		if _, ok := msg.(*wire.WindowMsg); !ok {
			return fmt.Errorf("%w: %d descriptors sent with a %T", ErrProtocol, len(files), msg)
		}
	}
	if n, ok := msg.(*wire.NotifyMsg); ok {
		return c.notify(n.URI)
	}
	if e, ok := msg.(*wire.ErrorMsg); ok && e.Req == 0 && e.Code == wire.CodeShutdown {
		return errShutdown // the provider says goodbye
	}
	id := wire.ReqID(msg)
	c.mu.Lock()
	cl, waiting := c.pending[id]
	_, issued := c.abandoned[id]
	delete(c.abandoned, id)
	if waiting {
		if _, isErr := msg.(*wire.ErrorMsg); !isErr && msg.ParcelType() != cl.want {
			c.mu.Unlock()
			return fmt.Errorf("%w: request %d answered with a %T", ErrProtocol, id, msg)
		}
		delete(c.pending, id)
	}
	c.mu.Unlock()
	switch {
	case waiting:
		cl.ch <- reply{msg, files} // buffered: never blocks
	case issued:
		c.discard(msg, files) // its caller gave up
	default:
		return fmt.Errorf("%w: a %T answers request %d, which was never sent or was answered already", ErrProtocol, msg, id)
	}
	return nil
}

// errShutdown ends the read loop when the provider says it shuts down.
var errShutdown = errors.New("shutdown")

// abort ends the connection for a reason of the client's own.
func (c *Client) abort(err error) {
	c.mu.Lock()
	if c.aborted == nil {
		c.aborted = err
	}
	c.mu.Unlock()
	c.pc.Close()
	if c.takeRead() { // nobody reads: nobody else will see the end
		c.finish(parcel.ErrClosed)
	}
}

// end records why the connection ended and fails everything waiting on
// it.
func (c *Client) end(err error) {
	c.pc.Close()
	c.mu.Lock()
	switch {
	case c.closed:
		err = fmt.Errorf("%w: the client was closed", ErrClosed)
	case c.aborted != nil:
		err = c.aborted
	case err == errShutdown:
		err = fmt.Errorf("%w: %w", ErrProviderGone, ErrShutdown)
	case errors.Is(err, ErrProtocol):
	case errors.Is(err, parcel.ErrProtocol), errors.Is(err, parcel.ErrDecode), errors.Is(err, parcel.ErrUnknownType):
		err = fmt.Errorf("%w: %w", ErrProtocol, err)
	case errors.Is(err, io.EOF):
		err = fmt.Errorf("%w: the provider closed the connection", ErrProviderGone)
	default:
		err = fmt.Errorf("%w: %w", ErrProviderGone, err)
	}
	c.err = err
	pending := c.pending
	c.pending = nil
	watches := c.watches
	c.watches = nil
	c.mu.Unlock()
	for _, cl := range pending {
		close(cl.ch)
	}
	for _, ws := range watches {
		for _, w := range ws {
			w.end(err)
		}
	}
}

// discard disposes of a reply nobody waits for.
func (c *Client) discard(msg parcel.Message, files []*os.File) {
	wire.CloseFiles(files)
	w, ok := msg.(*wire.WindowMsg)
	if !ok {
		return
	}
	if w.Win != 0 {
		c.ctl.post(&wire.ReleaseMsg{Query: w.Query, Win: w.Win})
	}
	if w.Columns != nil && !w.Done {
		// The answer to an abandoned query (closed already, unless the
		// close crossed it): closing again is harmless. Request id 0 is
		// never answered.
		c.ctl.post(&wire.CloseQueryMsg{Query: w.Query})
	}
	c.gaveBack()
}

// gaveBack wakes the cursors waiting for a window: this client just
// posted the release of one (or a query's close), which the provider
// reads before any request posted after it.
func (c *Client) gaveBack() {
	if c.waiting.Load() == 0 {
		return // nobody to wake: no allocation on the scan path
	}
	c.freedMu.Lock()
	close(c.freed)
	c.freed = make(chan struct{})
	c.freedMu.Unlock()
}

// nextGiveBack returns a channel closed at the client's next gaveBack.
func (c *Client) nextGiveBack() <-chan struct{} {
	c.freedMu.Lock()
	defer c.freedMu.Unlock()
	return c.freed
}

// callForWindow sends a window request (a query, or fillWindow) and waits
// for its answer. A busy answer is asked again, within ctx and the busy
// wait (WithBusyWait): as soon as a cursor of this client gives a window
// back, or after a backoff of 1 ms doubling to 50 ms for windows other
// clients hold. Before it waits, holding gives back the window the
// cursor holds (the cursor is moving on from it), so that cursors sharing
// a client never wait for each other's last window.
func (c *Client) callForWindow(ctx context.Context, mk func(req uint64) parcel.Message, holding func()) (uint64, reply, error) {
	var deadline time.Time
	backoff := time.Millisecond
	for {
		freed := c.nextGiveBack()
		id, ch, err := c.start(ctx, wire.CodeWindow, mk)
		if err != nil {
			return 0, reply{}, err
		}
		r, err := c.wait(ctx, id, ch)
		if err == nil || !busyAnswer(err) || c.busyWait == 0 {
			return id, r, err
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(c.busyWait)
			c.waiting.Add(1)
			defer c.waiting.Add(-1)
			holding()
		}
		wait := min(backoff, time.Until(deadline))
		if wait <= 0 {
			return id, reply{}, fmt.Errorf("%w (waited %v for it: close the cursors you are done with, or use more than one Client)", err, c.busyWait)
		}
		t := time.NewTimer(wait)
		select {
		case <-freed:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return id, reply{}, fmt.Errorf("%w (waiting for it: %w)", err, ctx.Err())
		case <-c.done:
		}
		t.Stop()
		backoff = min(2*backoff, 50*time.Millisecond)
	}
}

// busyAnswer reports whether err is the provider's answer busy (not a
// local error that wraps ErrBusy).
func busyAnswer(err error) bool {
	var pe *ProviderError
	return errors.As(err, &pe) && errors.Is(err, ErrBusy)
}

// start sends a request, with files, expecting an answer of type code
// want and returns the channel its reply arrives on.
func (c *Client) start(ctx context.Context, want uint16, mk func(req uint64) parcel.Message, files ...*os.File) (uint64, chan reply, error) {
	c.mu.Lock()
	if c.pending == nil {
		err := c.err
		c.mu.Unlock()
		return 0, nil, err
	}
	c.nextReq++
	id := c.nextReq
	cl := call{want: want}
	if n := len(c.spare); n > 0 {
		cl.ch, c.spare = c.spare[n-1], c.spare[:n-1]
	} else {
		cl.ch = make(chan reply, 1)
	}
	c.pending[id] = cl
	c.mu.Unlock()
	if err := c.ctl.send(ctx, mk(id), files...); err != nil {
		c.forget(id)
		switch {
		case ctx.Err() != nil:
			return 0, nil, fmt.Errorf("sending the request: %w", ctx.Err()) // the caller's own deadline or cancel
		case errors.Is(err, parcel.ErrTooLarge), errors.Is(err, parcel.ErrTooManyFDs):
			// Refused before a byte was sent: the connection goes on.
			return 0, nil, &tooLarge{max: c.hello.MaxBody, err: err}
		case errors.Is(err, parcel.ErrClosed), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNRESET):
			// The connection is ending: the reader says why (a
			// provider that shut down says so before it closes).
			return 0, nil, c.failure()
		}
		if inner := errors.Unwrap(err); inner != nil {
			err = inner // the system's error, without the frame's type code
		}
		return 0, nil, fmt.Errorf("%w: sending the request: %w", ErrProviderGone, err)
	}
	return id, cl.ch, nil
}

// failure returns why the connection ended, waiting for the reader to
// say so; if nobody reads, it reads to the end itself (a provider that
// shut down says so before it closes).
func (c *Client) failure() error {
	if c.takeRead() {
		for {
			if _, ended := c.readOne(context.Background()); ended {
				break
			}
		}
	}
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *Client) forget(id uint64) {
	c.mu.Lock()
	if c.pending != nil {
		delete(c.pending, id)
	}
	c.mu.Unlock()
}

// wait waits for the reply to request id. An error reply becomes a
// *ProviderError.
func (c *Client) wait(ctx context.Context, id uint64, ch chan reply) (reply, error) {
	led := c.takeRead()
	if led {
		c.readFor(ctx, ch) // nobody else reads: no hand-off
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return reply{}, c.failure()
		}
		if !led {
			c.replyHandoffs.Add(1)
		}
		c.reuse(ch)
		if e, ok := r.msg.(*wire.ErrorMsg); ok {
			wire.CloseFiles(r.files)
			return reply{}, replyError(e)
		}
		return r, nil
	case <-ctx.Done():
		c.abandon(id, ch)
		return reply{}, ctx.Err()
	}
}

// maxSpare bounds the reply channels kept for reuse: as many as requests
// a client usually has in flight at once.
const maxSpare = 8

// reuse keeps ch, whose one reply wait has taken, for a later request. No
// one else holds it: route sent to it once, after taking it out of
// pending, and end closes only channels still pending.
func (c *Client) reuse(ch chan reply) {
	c.mu.Lock()
	if len(c.spare) < maxSpare {
		c.spare = append(c.spare, ch)
	}
	c.mu.Unlock()
}

// abandon gives up waiting for request id: its reply, if it comes, is
// disposed of. It never waits on the provider: a reply already routed to
// ch is there or about to be (the reader hands it over without blocking).
func (c *Client) abandon(id uint64, ch chan reply) {
	c.mu.Lock()
	_, waiting := c.pending[id]
	if waiting && c.pending != nil {
		delete(c.pending, id)
		c.abandoned[id] = struct{}{} // every request is answered once: the answer is disposed of then
	}
	c.mu.Unlock()
	if !waiting {
		if r, ok := <-ch; ok {
			c.discard(r.msg, r.files)
		}
		return
	}
	if c.takeRead() {
		// Nobody reads: a background reader disposes of the answer when it
		// comes, so that a window it carries goes back to the provider now,
		// not at this client's next request.
		go c.readLoop()
	}
}

// call sends a request and waits for its reply.
func (c *Client) call(ctx context.Context, want uint16, mk func(req uint64) parcel.Message) (reply, error) {
	id, ch, err := c.start(ctx, want, mk)
	if err != nil {
		return reply{}, err
	}
	return c.wait(ctx, id, ch)
}

func (c *Client) write(ctx context.Context, m *wire.WriteMsg) (*wire.WriteReplyMsg, error) {
	r, err := c.call(ctx, wire.CodeWriteReply, func(req uint64) parcel.Message { m.Req = req; return m })
	if err != nil {
		return nil, err
	}
	return r.msg.(*wire.WriteReplyMsg), nil
}

// tooLarge is a request refused before it was sent, for being larger
// than the provider takes in one message: in the caller's terms (the
// wire's error stays in the chain, out of the text).
type tooLarge struct {
	max  int
	hint string
	err  error
}

func (e *tooLarge) Error() string {
	return fmt.Sprintf("%v: the request is larger than the provider takes in one message (%d bytes)%s", ErrBadRequest, e.max, e.hint)
}

func (e *tooLarge) Unwrap() []error { return []error{ErrBadRequest, e.err} }

// checkValues refuses, before anything is sent, a value no window can
// store (a struct, a map, a pointer...), naming it in the caller's
// terms: the provider would see only what msgpack made of it.
func checkValues(values Values, args []any) error {
	for k, v := range values {
		if _, err := wire.NormalizeValue(v); err != nil {
			return fmt.Errorf("%w: value of %q: a %T (values are nil, integers, floats, bool, strings and []byte)", ErrBadRequest, k, v)
		}
	}
	for i, v := range args {
		if _, err := wire.NormalizeValue(v); err != nil {
			return fmt.Errorf("%w: argument %d: a %T (values are nil, integers, floats, bool, strings and []byte)", ErrBadRequest, i+1, v)
		}
	}
	return nil
}

// Insert adds a row to uri and returns its id. Many rows, or rows larger
// than a message (the handshake's limit), go faster and fit with
// BulkInsert.
func (c *Client) Insert(ctx context.Context, uri string, values Values) (int64, error) {
	if err := checkValues(values, nil); err != nil {
		return 0, err
	}
	r, err := c.write(ctx, &wire.WriteMsg{Op: wire.WriteInsert, URI: uri, Values: values})
	var tl *tooLarge
	if errors.As(err, &tl) {
		tl.hint = ": insert large or many rows with Client.BulkInsert"
	}
	if err != nil {
		return 0, err
	}
	return r.Count, nil
}

// Update changes the rows of uri that match selection and returns how
// many changed.
func (c *Client) Update(ctx context.Context, uri string, values Values, selection string, args ...any) (int64, error) {
	if err := checkValues(values, args); err != nil {
		return 0, err
	}
	r, err := c.write(ctx, &wire.WriteMsg{Op: wire.WriteUpdate, URI: uri, Values: values, Selection: selection, Args: args})
	if err != nil {
		return 0, err
	}
	return r.Count, nil
}

// Delete removes the rows of uri that match selection and returns how many.
func (c *Client) Delete(ctx context.Context, uri string, selection string, args ...any) (int64, error) {
	if err := checkValues(nil, args); err != nil {
		return 0, err
	}
	r, err := c.write(ctx, &wire.WriteMsg{Op: wire.WriteDelete, URI: uri, Selection: selection, Args: args})
	if err != nil {
		return 0, err
	}
	return r.Count, nil
}

// Call runs a provider-defined method.
func (c *Client) Call(ctx context.Context, method, arg string, extras Values) (Values, error) {
	r, err := c.write(ctx, &wire.WriteMsg{Op: wire.WriteCall, Method: method, Arg: arg, Values: extras})
	if err != nil {
		return nil, err
	}
	return r.Result, nil
}

// Register asks to be told when uri changes (with descendants, any URI
// below it too). Notifications arrive on the Watch's channel; one sent
// right after the provider answered the registration is not lost.
func (c *Client) Register(ctx context.Context, uri string, descendants bool) (*Watch, error) {
	c.mu.Lock()
	if c.watches == nil {
		err := c.err
		c.mu.Unlock()
		return nil, err
	}
	w := newWatch(c, uri)
	// Registered before the request leaves, so that the reader delivers
	// a notification that follows the answer closely.
	c.watches[uri] = append(c.watches[uri], w)
	c.registered[uri] = c.registered[uri] || descendants
	c.mu.Unlock()
	if _, err := c.call(ctx, wire.CodeOK, func(req uint64) parcel.Message {
		return &wire.RegisterMsg{Req: req, URI: uri, Descendants: descendants}
	}); err != nil {
		c.unwatch(w)
		w.end(nil)
		return nil, err
	}
	return w, nil
}

// unwatch removes w from the client's watches and reports whether it was
// the last on its URI.
func (c *Client) unwatch(w *Watch) (last bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.watches == nil {
		return false
	}
	ws := slices.DeleteFunc(c.watches[w.uri], func(x *Watch) bool { return x == w })
	if len(ws) == 0 {
		delete(c.watches, w.uri)
		return true
	}
	c.watches[w.uri] = ws
	return false
}

// notify delivers a notification to the watches registered for uri or an
// ancestor registered with descendants. A notification for a URI this
// client never registered breaks the protocol.
func (c *Client) notify(uri string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	known := false
	for reg, desc := range c.registered {
		if reg == uri || (desc && wire.IsDescendant(uri, reg)) {
			known = true
			break
		}
	}
	if !known {
		return fmt.Errorf("%w: notification for %q, which was never registered", ErrProtocol, uri)
	}
	for reg, ws := range c.watches {
		if reg != uri && !wire.IsDescendant(uri, reg) {
			continue
		}
		for _, w := range ws {
			w.push(uri)
		}
	}
	return nil
}

// mappingLimit is how many idle mappings a client keeps, so that a window
// the provider sends again (recycled or shared) is not mapped and faulted
// in again: as many as the provider's budget holds windows (plus a few,
// at most 16384), at least 64. Fewer would have a scan of a cached result
// larger than the mappings evict each one just before it is needed; a
// mapping costs address space and page tables, not memory of its own.
func mappingLimit(h *wire.HelloReplyMsg) int {
	n := 0
	if h.WindowSize > 0 {
		n = int(min(h.Budget/h.WindowSize+16, 1<<14))
	}
	return max(n, 64)
}

// mapOptions are the options of a client's mappings: the largest window
// the provider makes (a pooled window, or a one-off window for a row
// larger than one), so that a window announced larger is refused before
// it is mapped or copied; and, with WithCheckedViews, views that fault
// once their window is released.
func mapOptions(checked bool, h *wire.HelloReplyMsg) []window.OpenOption {
	largest := h.MaxRowWindow // 0 from providers older than mr
	if largest == 0 {
		largest = wire.DefaultMaxRowWindow
	}
	// A recycled window's descriptor closed 64 at a time: a close at once
	// woke the Go runtime's monitor thread in half the handoffs.
	opts := []window.OpenOption{window.WithSizeLimit(max(h.WindowSize, largest)), window.WithCloseBatch(64)}
	if checked {
		opts = append(opts, window.WithQuarantine())
	}
	return opts
}
