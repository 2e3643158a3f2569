package content

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cursorwindow/cursorwindow/parcel"
)

// maxOutbox bounds the messages waiting in a client's outbox: a provider
// that leaves that many releases and closes unread has stopped reading.
const maxOutbox = 1 << 14

// outbox holds a client's messages that need no answer (releases, query
// closes, unregistrations) and writes them in order from its own
// goroutine, so that whoever posts one (the read loop, Cursor.Close,
// Watch.Close) never blocks on the socket. Requests go out through send,
// after whatever was posted before them: a query never overtakes the
// releases of the windows the cursor let go first. A release may be held
// (hold): written with the next request, in its system call, or by the
// goroutine within 10 ms (defaultLinger).
type outbox struct {
	pc     *parcel.Conn
	fail   func(error) // ends the connection
	wake   chan struct{}
	turn   chan struct{} // one slot: held while writing, in order
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu   sync.Mutex
	q    []parcel.Message
	dead bool
	// linger fires o.lingerFor after a message was held with no timer
	// armed (lingering), for the goroutine to write what is held.
	linger    *time.Timer
	lingerFor time.Duration
	lingering bool

	queued atomic.Int64 // messages posted to the queue, not written at once (TestReleaseWakesNoGoroutine)
	held   atomic.Int64 // messages held for the next request (TestReleaseWakesNoGoroutine)
}

func (o *outbox) start(pc *parcel.Conn, fail func(error), lingerFor time.Duration) {
	o.pc, o.fail, o.lingerFor = pc, fail, lingerFor
	o.wake = make(chan struct{}, 1)
	o.turn = make(chan struct{}, 1)
	o.ctx, o.cancel = context.WithCancel(context.Background())
	o.done = make(chan struct{})
	o.linger = time.NewTimer(time.Hour)
	o.linger.Stop()
	go o.run()
}

// defaultLinger is how long a held release may wait for a request to
// carry it before the outbox's goroutine writes it: the provider may then
// recycle the window that much later (a provider out of window memory
// may make another consumer wait that long for it). Arming the timer
// wakes a thread (the runtime's wakeNetPoller), and so does its firing:
// in a handoff loop, at 1 ms, about one handoff in 25 paid for both, and
// that doubled a handoff's CPU on this project's 2-CPU virtual machine
// (docs/PERFORMANCE.md); at 10 ms, one in 250.
const defaultLinger = 10 * time.Millisecond

// hold gives m to the connection to be written with the next request,
// in its system call (parcel's Hold), and has the goroutine write it
// within o.lingerFor if no request comes: a query after a cursor's Close
// then costs the provider one wake-up, not two, and the consumer one
// system call. The timer is armed at most once in o.lingerFor, not per
// message. It reports whether m is done with (held, or dropped on a
// connection that has ended); if not, post it.
func (o *outbox) hold(m parcel.Message) bool { return o.now(m, true) }

// post writes m now if the socket takes it without waiting and nothing
// posted before it is unsent (no goroutine woken, no thread: a cursor's
// release costs one system call), and queues it otherwise; it never
// blocks.
func (o *outbox) post(m parcel.Message) {
	if o.postNow(m) {
		return
	}
	o.mu.Lock()
	if o.dead {
		o.mu.Unlock()
		return
	}
	if len(o.q) >= maxOutbox {
		o.dead, o.q = true, nil
		o.mu.Unlock()
		o.fail(fmt.Errorf("%w: the provider stopped reading (%d messages unsent)", ErrProviderGone, maxOutbox))
		return
	}
	o.q = append(o.q, m)
	o.mu.Unlock()
	o.queued.Add(1)
	signal(o.wake)
}

// postNow writes m if it is the outbox's next message and the socket
// takes it without waiting; it reports whether m is done with (written,
// or dropped on a connection that has ended).
func (o *outbox) postNow(m parcel.Message) bool { return o.now(m, false) }

// now holds m (hold) or writes it without waiting (postNow) if it is the
// outbox's next message and no writer is under way; it reports whether m
// is done with (held or written, or dropped on a connection that has
// ended).
func (o *outbox) now(m parcel.Message, hold bool) bool {
	select {
	case o.turn <- struct{}{}: // no writer between a message and the socket
	default:
		return false
	}
	defer func() { <-o.turn }()
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case o.dead:
		return true
	case len(o.q) > 0:
		return false // after those
	case hold:
		held, err := o.pc.Hold(m)
		if err != nil {
			o.dead = true // the reader sees the connection end
			return true
		}
		if held {
			o.held.Add(1)
			if !o.lingering {
				o.lingering = true
				o.linger.Reset(o.lingerFor)
			}
		}
		return held
	}
	res, err := o.pc.TryWrite(m)
	switch {
	case err != nil:
		o.dead = true // the reader sees the connection end
		return true
	case res == parcel.Begun:
		signal(o.wake) // the rest, by the goroutine
	}
	return res != parcel.Unsent
}

// signal wakes the goroutine waiting on ch (a channel of one slot), if it
// is not awake already; it never blocks.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// send writes m, with files, after the messages posted before it.
func (o *outbox) send(ctx context.Context, m parcel.Message, files ...*os.File) error {
	select {
	case o.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-o.turn }()
	if err := o.flush(ctx); err != nil {
		return err
	}
	return o.pc.Write(ctx, m, files...)
}

// flush writes what is queued; the caller has the turn. Messages it did
// not start writing stay queued.
func (o *outbox) flush(ctx context.Context) error {
	for {
		o.mu.Lock()
		if len(o.q) == 0 || o.dead {
			o.mu.Unlock()
			return nil
		}
		m := o.q[0]
		o.q[0] = nil
		o.q = o.q[1:]
		o.mu.Unlock()
		if err := o.pc.Write(ctx, m); err != nil {
			o.mu.Lock()
			if ctx.Err() != nil && !errors.Is(err, parcel.ErrProtocol) {
				o.q = append([]parcel.Message{m}, o.q...) // not sent: keep it
			} else {
				o.dead, o.q = true, nil // the connection is broken
			}
			o.mu.Unlock()
			return err
		}
	}
}

func (o *outbox) run() {
	defer close(o.done)
	for {
		select {
		case <-o.wake:
		case <-o.linger.C:
			o.mu.Lock()
			o.lingering = false
			o.mu.Unlock()
			if !o.pc.Owes() {
				continue // a request carried what was held
			}
		case <-o.ctx.Done():
			return
		}
		select {
		case o.turn <- struct{}{}:
		case <-o.ctx.Done():
			return
		}
		err := o.pc.Flush(o.ctx) // what is owed: the rest of what postNow began, what hold kept
		if err != nil {
			o.mu.Lock()
			o.dead, o.q = true, nil // the connection is broken
			o.mu.Unlock()
		} else {
			err = o.flush(o.ctx)
		}
		<-o.turn
		if err != nil {
			return // the reader sees the connection end
		}
	}
}

// stop ends the goroutine, dropping what is unsent (the connection is
// closing: the provider releases everything anyway).
func (o *outbox) stop() {
	o.cancel()
	o.linger.Stop()
	<-o.done
}
