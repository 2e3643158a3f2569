package content

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cursorwindow/cursorwindow/window"
)

// pool recycles the provider's memfd windows. Every window it hands out is
// the same size and counts against the memory budget until it is put
// back; a released window is Reset and refilled, so its pages, already
// faulted in, cost nothing the second time. When the budget is spent, get
// waits for a window to come back, up to a bounded time, then fails with
// ErrBusy.
type pool struct {
	size   int64
	wait   time.Duration
	tokens chan struct{} // one per window the budget allows
	mu     sync.Mutex
	free   []*window.Writer
	closed bool
	// evict, if set, frees an idle cached window's memory; it reports
	// false when there is none.
	evict func() bool
	// opts are added to every window's options (the backing).
	opts []window.Option
}

func newPool(size, budget int64, wait time.Duration) *pool {
	n := max(budget/size, 1)
	p := &pool{size: size, wait: wait, tokens: make(chan struct{}, n)}
	for range n {
		p.tokens <- struct{}{}
	}
	return p
}

// get returns an empty window of ncols columns starting at start.
func (p *pool) get(ctx context.Context, ncols int, start int64) (*window.Writer, error) {
	select {
	case <-p.tokens:
	default:
		if p.evict != nil && p.evict() {
			// An idle cached window went back to the pool: take its place.
			return p.get(ctx, ncols, start)
		}
		t := time.NewTimer(p.wait)
		defer t.Stop()
		select {
		case <-p.tokens:
		case <-t.C:
			return nil, fmt.Errorf("%w: window memory budget spent for %v", ErrBusy, p.wait)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	p.mu.Lock()
	var w *window.Writer
	if n := len(p.free); n > 0 {
		w = p.free[n-1]
		p.free = p.free[:n-1]
	}
	p.mu.Unlock()
	if w == nil {
		var err error
		w, err = window.Create(ncols, append([]window.Option{window.WithName("cursorwindow-pool"),
			window.WithInitialSize(p.size), window.WithMaxSize(p.size)}, p.opts...)...)
		if err != nil {
			p.tokens <- struct{}{}
			return nil, err
		}
	}
	if err := w.Reset(start); err != nil {
		p.drop(w)
		return nil, err
	}
	if err := w.SetNumColumns(ncols); err != nil {
		p.drop(w)
		return nil, err
	}
	return w, nil
}

// put returns a window no consumer holds any more.
func (p *pool) put(w *window.Writer) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		w.Close()
	} else {
		p.free = append(p.free, w)
		p.mu.Unlock()
	}
	p.tokens <- struct{}{}
}

// drop closes a window instead of returning it, freeing its budget.
func (p *pool) drop(w *window.Writer) {
	w.Close()
	p.tokens <- struct{}{}
}

// close frees the idle windows; windows still out are closed when put.
func (p *pool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, w := range p.free {
		w.Close()
	}
	p.free = nil
}
