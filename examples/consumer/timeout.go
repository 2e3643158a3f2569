package main

import (
	"context"
	"errors"
	"io"
	"time"
)

// defaultTimeout is how long a command waits for the provider to connect
// or to answer one request, unless --timeout says otherwise.
const defaultTimeout = 30 * time.Second

// errTimedOut is the cause of a command context ended by its watchdog.
var errTimedOut = errors.New("timed out")

// watchdog ends a command's context when the provider keeps it waiting
// longer than the timeout: for the connection and handshake, and then for
// each answer. A command kicks it when an answer arrived; time spent
// writing the output (to a pager the user has paused, say) is not
// counted. Its methods are called from the command's goroutine only.
type watchdog struct {
	d      time.Duration
	timer  *time.Timer // nil: no timeout, or disarmed
	cancel context.CancelCauseFunc
	hard   *time.Timer // limit's, if set
}

// newWatchdog returns a context that ends with cause errTimedOut once
// d passes without a kick (never if d is 0), and the watchdog.
func newWatchdog(parent context.Context, d time.Duration) (context.Context, context.CancelFunc, *watchdog) {
	ctx, cancel := context.WithCancelCause(parent)
	w := &watchdog{d: d, cancel: cancel}
	if d > 0 {
		w.timer = time.AfterFunc(d, func() { cancel(errTimedOut) })
	}
	return ctx, func() {
		w.disarm()
		if w.hard != nil {
			w.hard.Stop()
		}
		cancel(nil)
	}, w
}

// limit ends the command d from now, answers or not, with the same
// cause: a watch's own --timeout, which bounds its connection and
// registration too. disarm does not stop it.
func (w *watchdog) limit(d time.Duration) {
	w.hard = time.AfterFunc(d, func() { w.cancel(errTimedOut) })
}

// kick restarts the wait: the provider answered, or the output was written.
func (w *watchdog) kick() {
	if w.timer != nil {
		w.timer.Reset(w.d)
	}
}

// pause stops the clock until the next kick.
func (w *watchdog) pause() {
	if w.timer != nil {
		w.timer.Stop()
	}
}

// disarm stops the watchdog for good: a watch, once registered, waits as
// long as it is told to.
func (w *watchdog) disarm() {
	w.pause()
	w.timer = nil
}

// timedOut reports whether the watchdog ended ctx.
func timedOut(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), errTimedOut)
}

// pausingWriter stops the watchdog's clock while the output blocks.
type pausingWriter struct {
	w  io.Writer
	wd *watchdog
}

func (p *pausingWriter) Write(b []byte) (int, error) {
	p.wd.pause()
	defer p.wd.kick()
	return p.w.Write(b)
}
