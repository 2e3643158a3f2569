package provider

import (
	"context"
	"sync"
	"time"
)

// queryContext is a query's context: the connection's, cancelled as well
// when the consumer closes the query (serverQuery.abort) and when the
// query ends (serverQuery.finish). It costs nothing of its own until
// something waits on it: its first Done builds a context.WithCancel of the
// connection's context, which it is from then on. A small query whose
// provider does not wait on its context (it may check Err) builds none:
// no context, no cancel function, no entry among the connection
// context's children under that context's lock (two allocations and a
// lock a query, when every query built one).
//
// Once built, Value answers from the built context, so a context derived
// from this one (database/sql's context.WithCancel of it, say) finds the
// built context as its parent and is cancelled with it, as a child of any
// cancel context is, with no goroutine of its own.
type queryContext struct {
	parent context.Context // the connection's

	mu     sync.Mutex
	built  context.Context // nil until the first Done
	cancel context.CancelFunc
	err    error // context.Canceled once cancelled, built or not
}

var _ context.Context = (*queryContext)(nil)

// Deadline returns the connection's: a query has no deadline of its own.
func (x *queryContext) Deadline() (time.Time, bool) { return x.parent.Deadline() }

// Done builds the context, if it is not built, and returns its channel.
func (x *queryContext) Done() <-chan struct{} { return x.build().Done() }

// Err returns context.Canceled once the query is cancelled, else the
// connection context's error.
func (x *queryContext) Err() error {
	x.mu.Lock()
	built, err := x.built, x.err
	x.mu.Unlock()
	switch {
	case built != nil:
		return built.Err()
	case err != nil:
		return err
	}
	return x.parent.Err()
}

// Value looks key up in the built context, or, before it is built, in
// the connection's. A query cancelled before anything built its context
// builds it then (cancelled), so that context.Cause agrees with Err.
func (x *queryContext) Value(key any) any {
	x.mu.Lock()
	built, err := x.built, x.err
	x.mu.Unlock()
	switch {
	case built != nil:
		return built.Value(key)
	case err != nil:
		return x.build().Value(key)
	}
	return x.parent.Value(key)
}

// build returns the built context, building it (cancelled, if the query
// is) the first time.
func (x *queryContext) build() context.Context {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.built == nil {
		x.built, x.cancel = context.WithCancel(x.parent)
		if x.err != nil {
			x.cancel()
		}
	}
	return x.built
}

// stop cancels the context, and releases the built one's resources.
func (x *queryContext) stop() {
	x.mu.Lock()
	x.err = context.Canceled
	cancel := x.cancel
	x.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}
