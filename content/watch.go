package content

import (
	"slices"
	"sync"

	"github.com/cursorwindow/cursorwindow/content/internal/wire"
)

// Watch delivers the change notifications of one registration.
//
// Notifications are coalesced per URI: while the receiver has not taken
// a change of a URI, later changes of the same URI are the same pending
// notification, so a slow receiver loses none and holds at most one per
// URI (past 256 distinct URIs, the registered URI stands for all of
// them). One goroutine per Watch delivers them; it ends with the Watch.
type Watch struct {
	c    *Client
	uri  string
	ch   chan string
	wake chan struct{} // a notification is pending
	quit chan struct{} // closed when the watch ends

	mu      sync.Mutex
	pending []string // changed URIs not yet delivered, oldest first
	ended   bool
	err     error
}

func newWatch(c *Client, uri string) *Watch {
	w := &Watch{c: c, uri: uri, ch: make(chan string), wake: make(chan struct{}, 1), quit: make(chan struct{})}
	go w.deliver()
	return w
}

// C returns the channel that receives the URI of every change. It is
// closed when the watch is closed or the connection ends; Err then says
// why.
func (w *Watch) C() <-chan string { return w.ch }

// Err returns why C was closed: nil after Close, the connection's error
// (ErrProviderGone, ErrProtocol, ErrClosed) otherwise.
func (w *Watch) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Close ends the registration. It never waits on the provider.
func (w *Watch) Close() error {
	if w.c.unwatch(w) {
		w.c.ctl.post(&wire.UnregisterMsg{URI: w.uri})
	}
	w.end(nil)
	return nil
}

// push queues a notification of uri.
func (w *Watch) push(uri string) {
	w.mu.Lock()
	if w.ended || slices.Contains(w.pending, uri) {
		w.mu.Unlock()
		return
	}
	if len(w.pending) >= wire.MaxNotes {
		uri = w.uri // stands for every URI below it
		if slices.Contains(w.pending, uri) {
			w.mu.Unlock()
			return
		}
	}
	w.pending = append(w.pending, uri)
	w.mu.Unlock()
	signal(w.wake)
}

// end stops the delivery; err says why (nil: the user closed it).
func (w *Watch) end(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended {
		return
	}
	w.ended, w.err, w.pending = true, err, nil
	close(w.quit)
}

// deliver sends the pending notifications on ch until the watch ends.
func (w *Watch) deliver() {
	defer close(w.ch)
	for {
		w.mu.Lock()
		if len(w.pending) == 0 {
			w.mu.Unlock()
			select {
			case <-w.wake:
				continue
			case <-w.quit:
				return
			}
		}
		uri := w.pending[0]
		w.pending = w.pending[1:]
		w.mu.Unlock()
		select {
		case w.ch <- uri:
		case <-w.quit:
			return
		}
	}
}
