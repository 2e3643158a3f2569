package window

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// defaultPoolWait is how long Pool.Get waits for a window to come back
// when the budget is spent, unless WithWait says otherwise.
const defaultPoolWait = 5 * time.Second

// Pool hands out shared windows of one size under a memory budget and
// takes them back to be refilled: the provider's side of recycling. A
// window given back with Put is Reset by the next Get, keeping its memory
// and its pages, already faulted in, so a refill costs a fraction of a
// fresh memfd (docs/PERFORMANCE.md). Seal a pooled window with
// SealReusable so that it can be refilled; one sealed with Seal is closed
// when it comes back.
//
// The budget allows budget/size windows at once (at least one), out or
// idle. When all are out, Get first asks the evict hook (WithEvict) to
// give an idle window back, then waits for a Put, up to the wait
// (WithWait), then fails with ErrPoolExhausted.
//
// A Pool is safe for concurrent use. Its windows are Writers and, like
// them, are not: one goroutine fills a window at a time.
type Pool struct {
	size  int64
	wait  time.Duration
	evict func() bool
	opts  []Option
	max   int
	// tokens holds one token per window Get may hand out now: max less
	// the windows out.
	tokens chan struct{}
	done   chan struct{} // closed by Close

	mu     sync.Mutex
	free   []*Writer // idle windows, most recently put last
	out    int
	closed bool
}

// PoolOption configures NewPool.
type PoolOption func(*poolConfig)

type poolConfig struct {
	wait  time.Duration
	evict func() bool
	opts  []Option
}

// WithWait sets how long Get waits for a window to come back when the
// budget is spent (default 5 s). Zero or less fails at
// once.
func WithWait(d time.Duration) PoolOption { return func(c *poolConfig) { c.wait = d } }

// WithEvict sets a hook that Get calls, before it waits, when the budget
// is spent: it should give one idle window back with Put (a window kept
// in a cache of results that no reader holds, say) and report whether it
// did. Get calls it again while it reports true and no window is free. It
// runs on the goroutine that called Get, with no lock of the pool held.
func WithEvict(fn func() bool) PoolOption { return func(c *poolConfig) { c.evict = fn } }

// WithWindowOptions sets the options the pool's windows are created with:
// WithBacking (a memfd by default; ShmBacking and SysVBacking can be
// pooled, FileBacking cannot) and WithName. The pool sets their size and
// start position itself: any of WithInitialSize, WithMaxSize or
// WithStartPos here is overridden.
func WithWindowOptions(opts ...Option) PoolOption {
	return func(c *poolConfig) { c.opts = append(c.opts, opts...) }
}

// NewPool returns a pool of windows of size bytes each, as many at once
// as budget holds (at least one). Close it when done.
func NewPool(size, budget int64, opts ...PoolOption) (*Pool, error) {
	pc := poolConfig{wait: defaultPoolWait}
	for _, o := range opts {
		o(&pc)
	}
	p := &Pool{size: size, wait: pc.wait, evict: pc.evict, done: make(chan struct{})}
	// Clipped, so that Get's appends never share a backing array.
	p.opts = slices.Clip(append(pc.opts, WithInitialSize(size), WithMaxSize(size)))
	cfg, err := newConfig(p.opts)
	if err != nil {
		return nil, err
	}
	if cfg.backing.Kind() == KindFile {
		return nil, errors.New("window: a file window cannot be pooled (it cannot be sealed for reuse)")
	}
	p.max = int(min(max(budget/size, 1), 1<<20))
	p.tokens = make(chan struct{}, p.max)
	for range p.max {
		p.tokens <- struct{}{}
	}
	return p, nil
}

// Get returns an empty window of ncols columns whose first row is at
// position start, reusing a window given back with Put if there is one.
// When the budget is spent it calls the evict hook, then waits for a
// window to come back, up to the pool's wait, then returns an error
// matching ErrPoolExhausted; it returns ctx's error if ctx ends first,
// and ErrClosed once the pool is closed.
//
// The window belongs to the caller until it gives it back with Put, which
// it must do once no reader holds the window any more, even if it closed
// it: the window counts against the budget until then.
func (p *Pool) Get(ctx context.Context, ncols int, start int64) (*Writer, error) {
	switch {
	case ncols < 1 || ncols > MaxColumns:
		return nil, fmt.Errorf("%w: %d columns (want 1..%d)", ErrOutOfRange, ncols, MaxColumns)
	case start < 0:
		return nil, fmt.Errorf("window: negative start position %d", start)
	case MinSize(ncols) > p.size:
		// Refused before a pooled window is reset for a shape it cannot
		// hold (and closed for it).
		return nil, fmt.Errorf("%w: %d columns need a window of %d bytes at least, more than the pool's %d", ErrTooLarge, ncols, MinSize(ncols), p.size)
	}
	if err := p.acquire(ctx); err != nil {
		return nil, err
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.tokens <- struct{}{}
		return nil, ErrClosed
	}
	var w *Writer
	if n := len(p.free); n > 0 {
		w, p.free[n-1] = p.free[n-1], nil
		p.free = p.free[:n-1]
		w.idle = false
	}
	p.out++
	p.mu.Unlock()
	if w != nil {
		if err := w.reuse(ncols, start); err == nil {
			return w, nil
		}
		w.Close() // not reusable after all: make a new one in its place
	}
	w, err := Create(ncols, append(p.opts, WithStartPos(start))...)
	if err != nil {
		p.mu.Lock()
		p.out--
		p.mu.Unlock()
		p.tokens <- struct{}{}
		return nil, err
	}
	w.pool = p
	return w, nil
}

// acquire takes a token: at once if one is free, else after the evict
// hook gave a window back, else when a window comes back within the wait.
func (p *Pool) acquire(ctx context.Context) error {
	for {
		select {
		case <-p.tokens:
			return nil
		case <-p.done:
			return ErrClosed
		default:
		}
		if p.evict == nil || !p.evict() {
			break
		}
	}
	if p.wait <= 0 {
		return p.exhausted()
	}
	t := time.NewTimer(p.wait)
	defer t.Stop()
	select {
	case <-p.tokens:
		return nil
	case <-p.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return p.exhausted()
	}
}

func (p *Pool) exhausted() error {
	return fmt.Errorf("%w: all %d windows of %d bytes are out; none came back within %v",
		ErrPoolExhausted, p.max, p.size, p.wait)
}

// reuse empties a window that came back to the pool for a fill of ncols
// columns from start.
func (w *Writer) reuse(ncols int, start int64) error {
	if err := w.Reset(start); err != nil {
		return err
	}
	return w.setNumColumns(ncols)
}

// Put gives back a window that Get returned, once no reader holds it any
// more (a reader that still maps it would see the next fill). A window
// sealed with SealReusable, or not sealed at all, is kept for the next
// Get; one sealed with Seal, or closed, is closed and its share of the
// budget freed. Putting a window that is not out of this pool (twice, or
// another pool's) is a bug, and Put panics.
func (p *Pool) Put(w *Writer) {
	p.mu.Lock()
	if w == nil || w.pool != p || w.idle {
		p.mu.Unlock()
		panic("window: Pool.Put of a window that is not out of this pool")
	}
	p.out--
	keep := !p.closed && w.refillable()
	if keep {
		w.idle = true
		p.free = append(p.free, w)
	}
	p.mu.Unlock()
	if !keep {
		w.Close()
	}
	p.tokens <- struct{}{}
}

// refillable reports whether Reset can empty the window for a new fill.
func (w *Writer) refillable() bool {
	return w.state == stateOpen || w.state == stateSealed && w.reusable
}

// PoolStats is a snapshot of a pool's windows.
type PoolStats struct {
	// WindowSize is the size of every window, in bytes.
	WindowSize int64
	// MaxWindows is how many windows the budget holds: out and idle
	// together never exceed it.
	MaxWindows int
	// Out counts the windows Get handed out and Put has not had back.
	Out int
	// Idle counts the windows kept for the next Get.
	Idle int
}

// Stats returns a snapshot of the pool's windows.
func (p *Pool) Stats() PoolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return PoolStats{WindowSize: p.size, MaxWindows: p.max, Out: p.out, Idle: len(p.free)}
}

// Close closes the idle windows and makes Get fail with ErrClosed, even
// for callers already waiting. Windows still out are closed when they are
// Put. Close is idempotent.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	free := p.free
	p.free = nil
	close(p.done)
	p.mu.Unlock()
	var err error
	for _, w := range free {
		err = errors.Join(err, w.Close())
	}
	return err
}
