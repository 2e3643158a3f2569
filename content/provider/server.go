package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/internal/wire"
	"github.com/cursorwindow/cursorwindow/fdpass"
	"github.com/cursorwindow/cursorwindow/parcel"
	"github.com/cursorwindow/cursorwindow/window"
)

// Authorizer decides whether a peer may use the provider. It returns nil
// to admit the caller, or an error (wrapped into content.ErrPermission) to refuse.
type Authorizer func(fdpass.Cred) error

// SameUID admits callers running as the provider's own effective uid: the
// default Authorizer.
func SameUID(c fdpass.Cred) error {
	if uid := uint32(os.Geteuid()); c.UID != uid {
		return fmt.Errorf("uid %d is not the provider's uid %d", c.UID, uid)
	}
	return nil
}

// AllowUIDs admits the listed uids (and no one else).
func AllowUIDs(uids ...uint32) Authorizer {
	return func(c fdpass.Cred) error {
		for _, u := range uids {
			if c.UID == u {
				return nil
			}
		}
		return fmt.Errorf("uid %d not allowed", c.UID)
	}
}

// Server defaults.
const (
	DefaultWindowSize   = window.DefaultMaxSize
	defaultInlineLimit  = 16 << 10
	defaultMemoryBudget = 256 << 20
	defaultPoolWait     = 5 * time.Second
	defaultMaxRowWindow = wire.DefaultMaxRowWindow
)

type serverConfig struct {
	windowSize   int64
	inlineLimit  int64
	budget       int64
	limits       Limits
	poolWait     time.Duration
	maxRowWindow int64
	maxBody      int // the parcel body limit, for inline windows
	noShare      bool
	grace        time.Duration
	helloTimeout time.Duration
	writeTimeout time.Duration
	auth         Authorizer
	perm         Permission
	log          *slog.Logger
	backing      window.Kind
}

// ServerOption configures a Server.
type ServerOption func(*serverConfig)

// WithWindowSize sets the size of the provider's windows (default 2 MiB).
func WithWindowSize(n int64) ServerOption { return func(c *serverConfig) { c.windowSize = n } }

// WithInlineLimit sets the largest window sent inline, copied through the
// socket, instead of in a shared memfd (default 16 KiB, near the crossover
// measured in docs/PERFORMANCE.md). Copying a small result costs less than
// mapping it. Below 1024 bytes no window is inlined (0 shares every
// window); it is capped by the body limit (WithMaxBodySize) less 4 KiB,
// and has no effect on queries the consumer asked to have inline
// (content.WithCopiedWindows), whose windows are as large as the body limit allows.
func WithInlineLimit(n int64) ServerOption { return func(c *serverConfig) { c.inlineLimit = n } }

// WithMemoryBudget bounds the memory of the provider's pooled windows
// (default 256 MiB). A query that needs a window when the budget is spent
// waits for one to be released, then fails with content.ErrBusy.
func WithMemoryBudget(n int64) ServerOption { return func(c *serverConfig) { c.budget = n } }

// WithPoolWait sets how long a query waits for window memory (default 5s).
func WithPoolWait(d time.Duration) ServerOption { return func(c *serverConfig) { c.poolWait = d } }

// WithSharedWindows turns the sharing of sealed windows between consumers
// on or off (default on): consumers asking for the same query at the same
// position get the same memfd, one physical copy, and a window stays
// cached after its last holder lets go until the pool needs the memory.
// With sharing on, a result small enough to be answered whole in one
// inline window is kept too, once its query has been filled twice
// lately, and a repeat of the query by a caller of the same uid and gid
// is answered from it without calling the provider's Query (a few
// thousand results, a few MiB at most; Stats.SmallHits counts them); a
// result held whole in one cached window is given again without a Query
// to a uid and gid it was given to after their Query.
// Cached windows and kept results are dropped when NotifyChange names
// their URI (the server calls it after every write it serves); a provider
// whose data changes by other means must call NotifyChange itself, or
// turn sharing off. So must a provider whose rows depend on more than the
// query and the data: windows are shared between callers, and a kept
// result between connections of one uid and gid.
func WithSharedWindows(on bool) ServerOption { return func(c *serverConfig) { c.noShare = !on } }

// WithAuthorizer sets the check run on every new connection's peer
// credentials (default SameUID).
func WithAuthorizer(a Authorizer) ServerOption { return func(c *serverConfig) { c.auth = a } }

// WithShutdownGrace sets how long Serve, once its context is done, lets
// connections finish the replies they have started before it aborts them
// (default 5s).
func WithShutdownGrace(d time.Duration) ServerOption { return func(c *serverConfig) { c.grace = d } }

// WithTimeouts sets how long a new connection may take to say hello
// (default 10s) and how long a reply may wait for a consumer that does not
// read (default 10s); past either the connection is closed.
func WithTimeouts(hello, write time.Duration) ServerOption {
	return func(c *serverConfig) { c.helloTimeout, c.writeTimeout = hello, write }
}

// WithBacking sets where shared windows live (default window.KindMemfd,
// a sealed memfd attached to each reply). window.KindShm and
// window.KindSysV put each window in a POSIX shm object or a System V
// segment instead, created mode 0600 for the provider's uid, and announce
// it by name or segment id: for consumers that cannot receive descriptors.
// Only consumers running as the provider's uid can open them, whatever the
// Authorizer admits; they read a private copy of each window, since these
// backings cannot be sealed. At NewServer the provider removes the names
// and segments that crashed providers of its uid left behind
// (window.RemoveStale). Any other kind is refused: NewServer logs an
// error and keeps memfds. docs/BACKINGS.md compares
// the backings.
func WithBacking(k window.Kind) ServerOption { return func(c *serverConfig) { c.backing = k } }

// WithLogger sets the server's logger (default slog.Default()).
func WithLogger(l *slog.Logger) ServerOption { return func(c *serverConfig) { c.log = l } }

// WithMaxBodySize lowers the largest message body a connection accepts
// or sends (default and maximum parcel.DefaultMaxBodySize, 1 MiB, which
// is what clients accept); inline windows must fit in it.
func WithMaxBodySize(n int) ServerOption { return func(c *serverConfig) { c.maxBody = n } }

// inlineOverhead is room left in a parcel body for a window descriptor
// around inline window bytes.
const inlineOverhead = 4096

// Server serves a Provider to consumers over unix sockets.
type Server struct {
	prov Provider
	cfg  serverConfig
	pool *window.Pool
	// backing holds the window options of every shared window (its
	// backing), for the one-off windows beside the pool's.
	backing []window.Option
	cache   *windowCache
	quota   *quota
	// watchers indexes the connections' registrations by URI.
	watchers *registrations
	inline   inlinePool
	types    typesCache
	log      *slog.Logger
	// bigSlots counts the one-off windows for oversized rows.
	bigSlots chan struct{}
	ids      atomic.Uint64
	// wakes counts what costs a small request a thread wake-up, for the
	// test that keeps them out (TestSmallQueryCosts).
	wakes engineWakes

	mu    sync.Mutex
	conns map[*serverConn]struct{}
}

// NewServer returns a server for p.
func NewServer(p Provider, opts ...ServerOption) *Server {
	cfg := serverConfig{
		windowSize:  DefaultWindowSize,
		inlineLimit: defaultInlineLimit,
		budget:      defaultMemoryBudget,
		limits: Limits{
			ConnQueries: defaultConnQueries, ConnWindows: defaultConnWindows,
			UIDQueries: defaultUIDQueries, Queries: defaultQueries,
			ConnWatches: defaultConnWatches, UIDWatches: defaultUIDWatches,
			QueryReserve: unset, WindowReserve: unset, ConnReserve: unset,
			PrivilegedQueries: unset, PrivilegedWindows: unset, PrivilegedConns: unset,
		},
		poolWait:     defaultPoolWait,
		maxRowWindow: defaultMaxRowWindow,
		maxBody:      parcel.DefaultMaxBodySize,
		auth:         SameUID,
		grace:        5 * time.Second,
		helloTimeout: 10 * time.Second,
		writeTimeout: 10 * time.Second,
		log:          slog.Default(),
	}
	for _, o := range opts {
		o(&cfg)
	}
	cfg.windowSize = max(cfg.windowSize, 4096)
	cfg.maxRowWindow = max(cfg.maxRowWindow, cfg.windowSize)
	cfg.maxBody = min(max(cfg.maxBody, 2*inlineOverhead), parcel.DefaultMaxBodySize)
	cfg.inlineLimit = min(max(cfg.inlineLimit, 0), int64(cfg.maxBody)-inlineOverhead)
	s := &Server{
		prov:     p,
		cfg:      cfg,
		log:      cfg.log,
		conns:    make(map[*serverConn]struct{}),
		bigSlots: make(chan struct{}, maxBigWindows),
		watchers: newRegistrations(),
	}
	s.cache = newWindowCache(s.recycle)
	switch cfg.backing {
	case window.KindShm:
		s.backing = []window.Option{window.WithBacking(window.ShmBacking())}
	case window.KindSysV:
		s.backing = []window.Option{window.WithBacking(window.SysVBacking())}
	case window.KindMemory, window.KindMemfd: // KindMemory: the zero Kind, the default
	default:
		s.log.Error("content: WithBacking: shared windows cannot live in this backing; using memfds", "kind", cfg.backing.String())
	}
	pool, err := window.NewPool(cfg.windowSize, cfg.budget, window.WithWait(cfg.poolWait),
		window.WithEvict(s.cache.evictIdle), window.WithWindowOptions(s.backing...))
	if err != nil { // only for sizes NewServer has already made valid
		panic(fmt.Sprintf("content: NewServer: %v", err))
	}
	s.pool = pool
	s.cfg.limits.defaults(pool.Stats().MaxWindows)
	s.quota = newQuota(s.cfg.limits)
	if s.backing != nil {
		removed, err := window.RemoveStale(window.DefaultName)
		for _, l := range removed {
			s.log.Info("removed a stale window", "location", l.String())
		}
		if err != nil {
			s.log.Warn("removing stale windows", "err", err)
		}
	}
	return s
}

// Serve accepts connections on ln until ctx is done, then stops accepting,
// lets every connection finish the replies it has started, closes them and
// returns. It closes ln. The socket file of a filesystem listener is
// removed.
//
// Temporary accept errors (out of descriptors, EMFILE or ENFILE; ENOBUFS;
// ECONNABORTED) do not stop it: it logs them, backs off (5 ms doubling up
// to 1 s, as net/http does) and goes on serving. Serve returns nil once
// ctx is done, or the accept error that stopped it.
func (s *Server) Serve(ctx context.Context, ln *net.UnixListener) error {
	var wg sync.WaitGroup
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var err error
	var backoff time.Duration
	for {
		c, aerr := ln.AcceptUnix()
		if aerr != nil {
			if ctx.Err() == nil && temporary(aerr) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("accept failed; retrying", "err", aerr, "in", backoff)
				select {
				case <-time.After(backoff):
				case <-ctx.Done():
				}
				continue
			}
			if ctx.Err() == nil && !errors.Is(aerr, net.ErrClosed) {
				err = aerr
			}
			break
		}
		backoff = 0
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveConn(ctx, c)
		}()
	}
	ln.Close()
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(s.cfg.grace):
		s.mu.Lock()
		for c := range s.conns {
			c.cancel() // abort fills still running
		}
		s.mu.Unlock()
		<-finished
	}
	s.cache.clear()
	s.pool.Close()
	return err
}

// temporary reports an accept error that passes: a shortage of
// descriptors or buffers, or a connection that went before it was taken.
func temporary(err error) bool {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.EINTR} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// NotifyChange tells every consumer registered for uri (or for an
// ancestor of uri, with descendants) that it changed, and drops the shared
// windows of uri, of the URIs below it and of those above it. Queries
// already open keep reading their own rows; none of their windows is
// shared from then on.
//
// A query opened between the change and NotifyChange may still be served
// windows cached before the change beside rows read after it. Change
// closes that gap; the server uses it for every Insert, Update and Delete
// it serves.
//
// Its cost grows with the registrations uri concerns (of uri and of its
// ancestors), not with those of other URIs.
func (s *Server) NotifyChange(uri string) {
	s.cache.invalidate(uri)
	for _, w := range s.watchers.match(uri) {
		w.c.notify(uri, w.reg)
	}
}

// Change runs change, which changes the data of uri, and then notifies
// as NotifyChange does. While it runs, no window of uri is shared: a
// query then reads its own rows, and no query reads rows from before the
// change beside rows from after it. The notification is sent even if
// change fails (it may have changed part of the data); its error is
// returned.
func (s *Server) Change(uri string, change func() error) error {
	s.cache.begin(uri)
	defer s.NotifyChange(uri)
	defer s.cache.end(uri)
	return change()
}

// Stats is a snapshot of a server's state.
type Stats struct {
	Conns       int   // open connections
	WindowsOut  int   // windows consumers hold (a shared one once per holder)
	Cached      int   // sealed windows kept for sharing, held or idle
	CachedIdle  int   // cached windows no consumer holds
	SharedHits  int64 // windows served from the cache instead of filled
	SmallCached int   // small results kept whole for repeats of their query
	SmallHits   int64 // queries answered from a kept small result, without the provider's Query
	PoolIdle    int   // pooled windows waiting for reuse
	PoolBytes   int64 // memory of the pooled windows, out and idle
	PoolMaxSize int64 // the memory budget
}

// Stats returns a snapshot of the server's connections and windows.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	st := Stats{Conns: len(s.conns)}
	for c := range s.conns {
		c.mu.Lock()
		st.WindowsOut += len(c.windows)
		c.mu.Unlock()
	}
	s.mu.Unlock()
	st.Cached, st.CachedIdle, st.SharedHits, st.SmallCached, st.SmallHits = s.cache.stats()
	ps := s.pool.Stats()
	st.PoolIdle = ps.Idle
	st.PoolBytes = int64(ps.Out+ps.Idle) * ps.WindowSize
	st.PoolMaxSize = int64(ps.MaxWindows) * ps.WindowSize
	return st
}

// serverConn is one consumer's connection.
type serverConn struct {
	s    *Server
	pc   *parcel.Conn
	cred fdpass.Cred
	log  *slog.Logger
	wg   sync.WaitGroup // request handlers and query workers

	// smallReply and wholeReply are the replies answerSmall and
	// answerWhole send, the reading goroutine's.
	smallReply, wholeReply wire.WindowMsg

	// ctx is the context of the connection's work: cancelled when the
	// consumer goes away, not when the server shuts down (in-flight replies
	// are then finished).
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	queries map[uint64]*serverQuery
	windows map[uint64]*sentWindow
	watches map[string]bool // URI -> descendants too
	bulks   map[uint64]*serverBulk
	closed  bool
	// reserved counts windows reserved for this consumer and not yet
	// attached (fills in progress, cache hits being sent).
	reserved int
	// Notifications not yet written, coalesced per URI, and whether the
	// connection's notifier goroutine (in bg) is running to write them.
	notes     map[string]struct{}
	notifying bool
	bg        sync.WaitGroup // the notifier
	// bulkMaps maps the windows of bulk inserts; bulkQuit is closed when
	// the connection tears down, ending the loads under way.
	bulkMaps *window.Mappings
	bulkQuit chan struct{}

	// One goroutine at a time reads the connection (see onReader); the one
	// whose read ends the connection closes readEnd.
	hello    bool         // the handshake is done; owned by the reader
	counted  bool         // the connection counts against its uid's (quota.takeConn)
	inflight atomic.Int32 // writes and batches being served
	helloBy  time.Time    // when the hello must have arrived (skipped frames do not extend it)
	shutdown atomic.Bool  // the server is shutting down
	// The idle timeout (Limits.IdleTimeout) as a read deadline on the
	// socket, owned by the reader (see idleDeadline): busySince is when
	// the connection was last seen busy (its last frame, or an expired
	// deadline that found it holding something), rdeadline the deadline
	// last set (zero: none).
	uc        *net.UnixConn
	busySince time.Time
	rdeadline time.Time
	readEnd   chan struct{}
	endOnce   sync.Once
	// The request running on the reader and the watchdog timer that hands
	// reading over if it runs long (see onReader): job is the number of
	// the last job started on a reader times jobStep plus its state (a
	// jobState), jobStart when it started, as time since epoch (so that
	// starting a job allocates nothing).
	job         atomic.Uint64
	jobStart    atomic.Int64
	epoch       time.Time
	readerArmed atomic.Bool
	watchdog    *time.Timer
}

func (s *Server) serveConn(ctx context.Context, uc *net.UnixConn) {
	pc, err := parcel.NewConn(uc, wire.Registry, parcel.WithMaxBodySize(s.cfg.maxBody), parcel.WithWriteTimeout(s.cfg.writeTimeout))
	if err != nil {
		uc.Close()
		s.log.Warn("connection setup failed", "err", err)
		return
	}
	c := &serverConn{
		s: s, pc: pc, uc: uc, log: s.log,
		queries: map[uint64]*serverQuery{},
		windows: map[uint64]*sentWindow{},
		watches: map[string]bool{},
		notes:   map[string]struct{}{},
		bulks:   map[uint64]*serverBulk{},
		readEnd: make(chan struct{}),
		// a few idle mappings: a consumer refills the same windows
		bulkMaps: window.NewMappings(4, window.WithSizeLimit(s.cfg.maxRowWindow)),
		bulkQuit: make(chan struct{}),
		helloBy:  time.Now().Add(s.cfg.helloTimeout),
		epoch:    time.Now(),
	}
	c.ctx, c.cancel = context.WithCancel(context.WithoutCancel(ctx))
	defer c.teardown()
	cred, err := pc.PeerCred()
	if err == nil {
		c.cred = cred
		c.ctx = context.WithValue(c.ctx, peerKey{}, cred)
		c.log = s.log.With("pid", cred.PID, "uid", cred.UID)
		if aerr := s.cfg.auth(cred); aerr != nil {
			err = fmt.Errorf("%w: %v", content.ErrPermission, aerr)
		} else if err = s.quota.takeConn(cred.UID); err == nil {
			c.counted = true
		}
	}
	if err != nil {
		if errors.Is(err, content.ErrBusy) { // a flood is not worth a line per connection
			c.log.Debug("connection refused", "err", err)
		} else {
			c.log.Warn("connection refused", "err", err)
		}
		c.writeErr(1, err)
		return
	}
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		c.shutdown.Store(true)
		uc.SetReadDeadline(time.Now())
	})
	defer stop()
	c.log.Debug("connection accepted")
	c.watchdog = time.AfterFunc(readerBudget, func() { c.watchReader(ctx) })
	c.watchdog.Stop() // armed by onReader
	defer c.watchdog.Stop()
	if c.readLoop(ctx) == handedOff {
		<-c.readEnd // another goroutine reads now
	}
	if ctx.Err() == nil {
		c.cancel() // the consumer left: drop its pending work
	}
}

// What a reader does after a message.
type readNext int

const (
	keepReading readNext = iota
	endConn              // the connection must end
	handedOff            // another goroutine reads now (see onReader)
)

// readLoop reads and dispatches requests until the connection ends or the
// goroutine hands reading over to another (onReader).
func (c *serverConn) readLoop(ctx context.Context) readNext {
	for {
		next := c.readOne(ctx)
		switch next {
		case endConn:
			c.endOnce.Do(func() { close(c.readEnd) })
			return next
		case handedOff:
			return next
		}
	}
}

// readOne reads and handles one message.
func (c *serverConn) readOne(ctx context.Context) readNext {
	var msg parcel.Message
	var files []*os.File
	var err error
	if !c.hello { // a caller that does not say hello in time is dropped
		rctx, cancel := context.WithDeadline(context.Background(), c.helloBy)
		msg, files, err = c.pc.Read(rctx)
		cancel()
	} else {
		c.idleDeadline(ctx)
		msg, files, err = c.pc.Read(context.Background())
		if err != nil && ctx.Err() == nil && errors.Is(err, os.ErrDeadlineExceeded) {
			return c.idleExpired(ctx)
		}
		c.busySince = time.Now()
	}
	if bm, ok := msg.(*wire.BulkMsg); ok && err == nil && c.hello {
		c.handleBulk(bm, files) // the windows of a bulk insert
		return keepReading
	}
	wire.CloseFiles(files) // no other message carries descriptors
	if err != nil {
		switch {
		case errors.Is(err, parcel.ErrUnknownType), errors.Is(err, parcel.ErrDecode):
			var de *parcel.DecodeError
			if errors.As(err, &de) && wire.ProviderOnly(de.Type) {
				c.log.Warn("a provider's message sent by the consumer; closing the connection", "err", err)
				return endConn
			}
			c.log.Warn("bad message", "err", err)
			return keepReading
		case errors.Is(err, io.EOF), ctx.Err() != nil:
		default:
			c.log.Warn("connection lost", "err", err)
		}
		return endConn
	}
	if len(files) > 0 {
		c.log.Warn("descriptors sent to the provider; closing the connection")
		return endConn
	}
	if !c.hello {
		h, ok := msg.(*wire.HelloMsg)
		if !ok || h.Version != wire.Version {
			c.writeErr(1, fmt.Errorf("%w: handshake: want hello version %d", content.ErrProtocol, wire.Version))
			return endConn
		}
		c.hello = true
		c.write(&wire.HelloReplyMsg{
			Version: wire.Version, WindowSize: c.s.cfg.windowSize, InlineLimit: c.s.cfg.inlineLimit,
			MaxQueries: c.s.cfg.limits.ConnQueries, MaxWindows: c.s.cfg.limits.ConnWindows, MaxBody: c.s.cfg.maxBody, Budget: c.s.cfg.windowSize * int64(c.s.pool.Stats().MaxWindows),
			MaxRowWindow: c.s.cfg.maxRowWindow,
		})
		return keepReading
	}
	return c.dispatch(ctx, msg)
}

// idleDeadline keeps the socket's read deadline at most the idle
// timeout after the connection was last busy and, once it has been
// moved, at least half of it: so most reads set no deadline, arm no timer
// and build no context (a deadline set and cleared per read would cost a
// small query two timers, and the wake-up of a thread). A deadline that
// fires early is moved to the real end of the timeout (idleExpired). A
// shutdown's deadline (serveConn) always wins over the one set here.
func (c *serverConn) idleDeadline(ctx context.Context) {
	d := c.s.cfg.limits.IdleTimeout
	if c.busySince.IsZero() {
		c.busySince = time.Now()
	}
	if !c.rdeadline.IsZero() && c.rdeadline.Sub(c.busySince) >= d/2 {
		return
	}
	c.setReadDeadline(ctx, c.busySince.Add(d))
}

// setReadDeadline sets the socket's read deadline to t, unless the
// server is shutting down: its deadline, now, is kept.
func (c *serverConn) setReadDeadline(ctx context.Context, t time.Time) {
	c.rdeadline = t
	c.s.wakes.readDeadlines.Add(1)
	_ = c.uc.SetReadDeadline(t)
	if c.shutdown.Load() || ctx.Err() != nil { // the shutdown's deadline may have come first
		_ = c.uc.SetReadDeadline(time.Now())
	}
}

// idleExpired handles the read deadline of idleDeadline firing. A
// connection that has held nothing for an idle timeout is closed while
// connections are short (Limits.IdleTimeout); one found holding
// something counts as busy now; the deadline then moves a timeout on (to
// the end of the timeout, when it fired early).
func (c *serverConn) idleExpired(ctx context.Context) readNext {
	d := c.s.cfg.limits.IdleTimeout
	now := time.Now()
	if end := c.busySince.Add(d); now.Before(end) {
		c.setReadDeadline(ctx, end)
		return keepReading
	}
	switch {
	case !c.idle():
		c.busySince = now
	case c.s.quota.connsScarce():
		c.log.Info("closing a connection that holds nothing while connections are short", "idle", d)
		return endConn
	}
	c.setReadDeadline(ctx, now.Add(d))
	return keepReading
}

// readerBudget is how long a request runs on the reading goroutine before
// another goroutine takes over reading.
const readerBudget = 500 * time.Microsecond

// onReader runs job on the reading goroutine, so that a quick answer (a
// small result, a cached window) costs no goroutine hop. If job runs past
// readerBudget, a new goroutine takes over reading the connection, so a
// slow provider never holds up the consumer's other requests (a close of
// this very query, say); onReader then reports handedOff: this goroutine
// finishes job and no longer reads.
//
// One timer per connection (the watchdog) notices a job past its budget,
// armed only when it is not armed already: a stream of quick requests
// arms it at most once per readerBudget, not once a request, since arming
// a timer sooner than every other one wakes a thread (the runtime's
// wakeNetPoller) and that wake-up is what a small query costs.
func (c *serverConn) onReader(job func()) readNext {
	// The start first: a watchdog that sees the job running reads its
	// start (see watchReader).
	c.jobStart.Store(int64(time.Since(c.epoch)))
	j := c.job.Load()&^jobStateMask + jobStep | jobRunning // the next job, running
	c.job.Store(j)
	if c.readerArmed.CompareAndSwap(false, true) {
		c.s.wakes.watchdogArms.Add(1)
		c.watchdog.Reset(readerBudget)
	}
	job()
	if c.job.CompareAndSwap(j, j&^jobStateMask|jobDone) {
		return keepReading
	}
	return handedOff
}

// onReaderCounted runs job as onReader does, counted among the
// connection's requests in flight and in the group its end waits for.
func (c *serverConn) onReaderCounted(job func()) readNext {
	c.wg.Add(1)
	c.inflight.Add(1)
	return c.onReader(func() {
		defer c.wg.Done()
		defer c.inflight.Add(-1)
		job()
	})
}

// engineWakes counts the events that wake a thread in a small request's
// round trip, which a quick request must not pay for (see onReader).
type engineWakes struct {
	watchdogArms   atomic.Int64 // the reader's watchdog armed (a timer set)
	watchdogFires  atomic.Int64 // the reader's watchdog fired
	readerHandoffs atomic.Int64 // a new goroutine took over reading a connection
	readDeadlines  atomic.Int64 // a connection's read deadline moved (setReadDeadline)
}

// The states of the job on a connection's reader (serverConn.job): a job
// starts running, then is done or handed off. Before the first, the
// state is 0.
const (
	jobDone      uint64 = iota + 1 // no job runs on the reader
	jobRunning                     // a request runs on the reading goroutine (onReader)
	jobHandedOff                   // another goroutine took over reading; the job runs on

	jobStateMask uint64 = 3
	jobStep      uint64 = 4 // from one job's number to the next's
)

// watchReader is the watchdog: it hands reading to a new goroutine if the
// job running on the reader is past its budget, re-arms itself for the budget
// left of a job still within it, and disarms when no job runs (the next
// onReader arms it again).
func (c *serverConn) watchReader(ctx context.Context) {
	c.s.wakes.watchdogFires.Add(1)
	for {
		j := c.job.Load()
		if j&jobStateMask != jobRunning {
			c.readerArmed.Store(false)
			// A job that started as we disarmed saw us armed: watch it.
			if c.job.Load()&jobStateMask != jobRunning || !c.readerArmed.CompareAndSwap(false, true) {
				return
			}
			continue
		}
		start := time.Duration(c.jobStart.Load())
		if c.job.Load() != j {
			continue // j ended: start may be the next job's
		}
		if left := readerBudget - (time.Since(c.epoch) - start); left > 0 {
			c.watchdog.Reset(left)
			return
		}
		if c.job.CompareAndSwap(j, j&^jobStateMask|jobHandedOff) {
			c.s.wakes.readerHandoffs.Add(1)
			c.wg.Add(1) // job holds the count above zero: teardown waits
			go func() {
				defer c.wg.Done()
				c.readLoop(ctx)
			}()
		}
		// done or handed off: look again
	}
}

// dispatch handles one request.
func (c *serverConn) dispatch(ctx context.Context, msg parcel.Message) readNext {
	switch m := msg.(type) {
	case *wire.QueryMsg:
		if err := c.permit(content.OpQuery, m.URI); err != nil {
			c.writeErr(m.Req, err)
			return keepReading
		}
		if c.answerKept(m) {
			return keepReading
		}
		if q := c.startQuery(m); q != nil {
			return c.onReader(q.first)
		}
	case *wire.FillWindowMsg:
		c.mu.Lock()
		q := c.queries[m.Query]
		c.mu.Unlock()
		if q == nil {
			c.writeErr(m.Req, fmt.Errorf("%w: no query %d", content.ErrBadRequest, m.Query))
			return keepReading
		}
		q.enqueue(request{req: m.Req, start: m.Start, near: m.Near})
	case *wire.ReleaseMsg:
		c.release(m.Win)
	case *wire.CloseQueryMsg:
		c.closeQuery(m.Query, true)
		if m.Req != 0 {
			c.write(&wire.OKMsg{Req: m.Req})
		}
	case *wire.RegisterMsg:
		if err := c.register(m.URI, m.Descendants); err != nil {
			c.writeErr(m.Req, err)
			return keepReading
		}
		c.write(&wire.OKMsg{Req: m.Req})
	case *wire.UnregisterMsg:
		c.unregister(m.URI)
		if m.Req != 0 {
			c.write(&wire.OKMsg{Req: m.Req})
		}
	case *wire.WriteMsg:
		return c.onReaderCounted(func() { c.handleWrite(c.ctx, m) })
	case *wire.BatchMsg:
		return c.onReaderCounted(func() { c.handleBatch(c.ctx, m) })
	default:
		c.log.Warn("unexpected message", "type", fmt.Sprintf("%T", msg))
		return endConn
	}
	return keepReading
}

// idle reports whether the connection holds nothing: no query, window,
// load or registration, and no request being served.
func (c *serverConn) idle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queries) == 0 && len(c.windows) == 0 && c.reserved == 0 && len(c.bulks) == 0 &&
		len(c.watches) == 0 && c.inflight.Load() == 0
}

// maxWatchURI bounds the URI of a registration, so that the
// registrations a uid may hold (Limits.UIDWatches) bound their memory.
const maxWatchURI = 4096

// register records a registration of uri (desc: with descendants), or
// says why not: the Permission, a URI too long, a limit. Registering a
// URI again widens it and counts nothing more.
func (c *serverConn) register(uri string, desc bool) error {
	if len(uri) > maxWatchURI {
		return fmt.Errorf("%w: a registration of a URI of %d bytes (at most %d)", content.ErrBadRequest, len(uri), maxWatchURI)
	}
	if err := c.permit(content.OpRegister, uri); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	was, had := c.watches[uri]
	switch {
	case c.closed:
		return fmt.Errorf("%w: connection closing", content.ErrClosed)
	case had:
	case len(c.watches) >= c.s.cfg.limits.ConnWatches:
		return fmt.Errorf("%w: the connection has %d registrations (the per-connection limit)", content.ErrBusy, len(c.watches))
	default:
		if err := c.s.quota.takeWatch(c.cred.UID); err != nil {
			return err
		}
	}
	c.watches[uri] = was || desc // a second registration never narrows the first
	c.s.watchers.add(c, uri, was || desc)
	return nil
}

// unregister forgets a registration of uri, if there is one.
func (c *serverConn) unregister(uri string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, had := c.watches[uri]; had && !c.closed {
		delete(c.watches, uri)
		c.s.watchers.remove(c, uri)
		c.s.quota.dropWatches(c.cred.UID, 1)
	}
}

// unregisterAll forgets every registration of the connection, which is
// closed; the caller holds c.mu.
func (c *serverConn) unregisterAll() {
	for uri := range c.watches {
		c.s.watchers.remove(c, uri)
	}
	c.s.quota.dropWatches(c.cred.UID, len(c.watches))
	clear(c.watches)
}

// notify queues a change notification of uri for the consumer, whose
// registration reg covers it. Notifications are coalesced per URI: a consumer that reads slowly
// has at most one pending per URI, and one goroutine per connection
// writes them, so a slow watcher costs neither goroutines nor unbounded
// memory. A watcher that does not read within the write timeout is
// disconnected.
func (c *serverConn) notify(uri, reg string) {
	if uri != reg && c.permit(content.OpRegister, uri) != nil {
		return // below the registration but not to be seen
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if len(c.notes) >= wire.MaxNotes {
		uri = reg
	}
	c.notes[uri] = struct{}{}
	if !c.notifying {
		c.notifying = true
		c.bg.Add(1)
		go c.notifier()
	}
}

// notifier writes the pending notifications until there are none.
func (c *serverConn) notifier() {
	defer c.bg.Done()
	for {
		c.mu.Lock()
		var uri string
		for u := range c.notes {
			uri = u
			break
		}
		if uri == "" || c.closed {
			c.notifying = false
			clear(c.notes)
			c.mu.Unlock()
			return
		}
		delete(c.notes, uri)
		c.mu.Unlock()
		if c.write(&wire.NotifyMsg{URI: uri}) != nil {
			c.mu.Lock()
			c.notifying = false
			clear(c.notes)
			c.mu.Unlock()
			return
		}
	}
}

// write sends a message, logging failures: the read side notices a dead
// connection.
// A consumer that stops reading cannot pin the provider: a write that
// cannot finish within the write timeout closes the connection, which
// releases everything the consumer held. The timeout is the connection's
// write deadline, refreshed lazily (parcel.WithWriteTimeout), not a timer
// per reply: a reply the socket takes at once costs one sendmsg.
func (c *serverConn) write(m parcel.Message, files ...*os.File) error {
	err := c.pc.Write(context.Background(), m, files...)
	if err != nil {
		if errors.Is(err, parcel.ErrTooLarge) || errors.Is(err, parcel.ErrTooManyFDs) {
			c.log.Warn("reply not sent", "type", fmt.Sprintf("%T", m), "err", err)
		} else {
			c.log.Debug("write failed", "err", err)
		}
		if !errors.Is(err, parcel.ErrTooLarge) && !errors.Is(err, parcel.ErrTooManyFDs) {
			c.pc.Close() // the stream is unusable or the consumer stuck
		}
	}
	return err
}

// writeErr answers a request with an error. The error's text goes to the
// consumer only if the provider chose its meaning (it wraps a sentinel);
// any other error is logged and sent as content.ErrInternal without its text,
// which may name paths, SQL or schema.
//
// A *WriteError's row or operation and count kept travel beside the
// message; a failed window check is named by its code. Request id 0 asks
// for no answer.
func (c *serverConn) writeErr(req uint64, err error) {
	if req == 0 {
		return
	}
	m := &wire.ErrorMsg{Req: req, Code: wire.CodeOf(err)}
	cause := err
	var we *content.WriteError
	if errors.As(err, &we) { // a bulk insert's or a batch's: its row or operation, and its window check
		cause, m.Kept, m.Window = we.Err, we.Kept, wire.WindowCode(we.Err)
		if cause == nil {
			cause = content.ErrInternal
		}
		if we.Index >= 0 {
			m.At = &we.Index
		}
	}
	m.Message = bounded(cause.Error(), maxErrorText)
	if !wire.HasCode(cause) {
		c.log.Warn("request failed", "err", bounded(err.Error(), maxErrorText))
		m.Message = content.ErrInternal.Error()
	}
	c.write(m)
}

func (c *serverConn) handleWrite(ctx context.Context, m *wire.WriteMsg) {
	reply, err := c.runWrite(ctx, m)
	if err != nil {
		c.writeErr(m.Req, err)
		return
	}
	c.write(reply)
}

// runWrite runs a write on the provider; a panic in the provider is
// recovered and becomes content.ErrInternal for this request alone.
func (c *serverConn) runWrite(ctx context.Context, m *wire.WriteMsg) (reply *wire.WriteReplyMsg, err error) {
	defer c.recovered("write "+m.Op, &err)
	if op, ok := writeOps[m.Op]; ok {
		target := m.URI
		if op == content.OpCall {
			target = m.Method
		}
		if err := c.permit(op, target); err != nil {
			return nil, err
		}
	}
	p := c.s.prov
	reply = &wire.WriteReplyMsg{Req: m.Req}
	switch m.Op {
	case wire.WriteInsert:
		err = c.s.changed(m.URI, func() (err error) {
			reply.Count, err = p.Insert(ctx, m.URI, m.Values)
			return err
		})
	case wire.WriteUpdate:
		err = c.s.changed(m.URI, func() (err error) {
			reply.Count, err = p.Update(ctx, m.URI, m.Values, m.Selection, m.Args)
			return err
		})
	case wire.WriteDelete:
		err = c.s.changed(m.URI, func() (err error) {
			reply.Count, err = p.Delete(ctx, m.URI, m.Selection, m.Args)
			return err
		})
	case wire.WriteCall:
		reply.Result, err = p.Call(ctx, m.Method, m.Arg, m.Values)
	default:
		err = fmt.Errorf("%w: write operation %q", content.ErrBadRequest, m.Op)
	}
	return reply, err
}

// recovered, deferred, turns a panic in provider code into an error
// wrapping content.ErrInternal, logged once with its stack: a provider bug costs
// the request it happened in, never the process and its other consumers.
func (c *serverConn) recovered(where string, errp *error) {
	v := recover()
	if v == nil {
		return
	}
	c.log.Error("provider panicked", "in", where, "panic", v, "stack", string(debug.Stack()))
	*errp = fmt.Errorf("%w: the provider failed in %s", content.ErrInternal, where)
}

// changed runs a write the server serves as a Change, notifying watchers
// only when it succeeded (a failed write changed nothing, by the
// Provider's contract); the shared windows are dropped either way.
func (s *Server) changed(uri string, write func() error) error {
	s.cache.begin(uri)
	err := func() error {
		defer s.cache.end(uri) // even if write panics
		return write()
	}()
	if err == nil {
		s.NotifyChange(uri)
	}
	return err
}

// release returns a window the consumer no longer holds.
func (c *serverConn) release(id uint64) {
	c.mu.Lock()
	sw := c.windows[id]
	delete(c.windows, id)
	c.mu.Unlock()
	if sw != nil {
		c.s.quota.holdWindows(c.cred.UID, -1)
		c.s.cache.release(sw)
	}
}

func (s *Server) recycle(sw *sentWindow) {
	if sw.pooled {
		s.pool.Put(sw.w)
	} else {
		sw.w.Close()
		<-s.bigSlots
	}
}

// teardown ends the connection: no more requests are read; handlers that
// run finish their replies; then every query and window is released.
func (c *serverConn) teardown() {
	c.mu.Lock()
	c.closed = true
	c.unregisterAll()
	qs := c.queries
	c.queries = map[uint64]*serverQuery{}
	c.mu.Unlock()
	for _, q := range qs {
		q.stop()
		c.s.quota.dropQuery(c.cred.UID)
	}
	close(c.bulkQuit) // loads under way end (the consumer's, if it left)
	c.wg.Wait()
	c.bulkMaps.Close()
	c.cancel()
	if c.shutdown.Load() { // say goodbye: the consumer can tell this from a crash
		c.write(&wire.ErrorMsg{Code: wire.CodeShutdown, Message: "the provider is shutting down"})
	}
	c.pc.Close()
	c.mu.Lock()
	clear(c.notes)
	c.mu.Unlock()
	c.bg.Wait()
	c.s.mu.Lock()
	delete(c.s.conns, c)
	c.s.mu.Unlock()
	c.mu.Lock()
	ws := c.windows
	c.windows = nil
	c.mu.Unlock()
	for _, sw := range ws {
		c.s.cache.release(sw)
	}
	c.s.quota.holdWindows(c.cred.UID, -len(ws))
	if c.counted {
		c.s.quota.dropConn(c.cred.UID)
	}
	c.log.Debug("connection closed", "windows released", len(ws), "queries", len(qs))
}

// closeQuery forgets a query; its worker ends after the requests queued,
// or, with abort, at once (the consumer closed it, perhaps mid-fill).
func (c *serverConn) closeQuery(id uint64, abort bool) {
	c.mu.Lock()
	q := c.queries[id]
	delete(c.queries, id)
	c.mu.Unlock()
	if q != nil {
		c.s.quota.dropQuery(c.cred.UID)
	}
	switch {
	case q == nil:
	case abort:
		q.abort()
	default:
		q.stop()
	}
}
