package content

import (
	"fmt"
	"sync"
)

// Limits bound what consumers may hold at once. Connections are free to
// open, so every limit that guards a shared resource applies per
// connection, per peer uid and, for queries, in total: opening more
// connections does not get around it. A zero field keeps its default.
//
// The window memory budget (WithMemoryBudget) is shared by quota: one uid
// may hold at most UIDWindows windows, by default half of what the budget
// holds, so a second uid always finds windows to scan with. Windows no
// consumer holds (idle cached ones) count against nobody and are evicted
// before any query waits.
type Limits struct {
	ConnQueries int // open queries per connection (default 64)
	ConnWindows int // windows one connection holds (default 16)
	UIDQueries  int // open queries of one peer uid (default 256)
	UIDWindows  int // windows one peer uid holds (default half the budget's windows, at least ConnWindows)
	Queries     int // open queries in total (default 1024)
	// Registrations of change notifications (register): distinct URIs
	// per connection (default 1024) and per peer uid over all its
	// connections (default 4096). Past either, register is refused
	// ErrBusy; re-registering a URI counts nothing more.
	ConnWatches int
	UIDWatches  int
}

// Default limits.
const (
	DefaultConnQueries = 64
	DefaultConnWindows = 16
	DefaultUIDQueries  = 256
	DefaultQueries     = 1024
	DefaultConnWatches = 1024
	DefaultUIDWatches  = 4096
)

// WithLimits sets the limits on queries and windows; zero fields keep
// their defaults. A request over a limit is answered ErrBusy naming it.
func WithLimits(l Limits) ServerOption {
	return func(c *serverConfig) {
		set := func(dst *int, v int) {
			if v > 0 {
				*dst = v
			}
		}
		set(&c.limits.ConnQueries, l.ConnQueries)
		set(&c.limits.ConnWindows, l.ConnWindows)
		set(&c.limits.UIDQueries, l.UIDQueries)
		set(&c.limits.UIDWindows, l.UIDWindows)
		set(&c.limits.Queries, l.Queries)
		set(&c.limits.ConnWatches, l.ConnWatches)
		set(&c.limits.UIDWatches, l.UIDWatches)
	}
}

// quota counts the queries and windows held per peer uid and in total.
type quota struct {
	lim Limits

	mu      sync.Mutex
	queries map[uint32]int
	total   int
	windows map[uint32]int
	watches map[uint32]int
}

func newQuota(lim Limits) *quota {
	return &quota{lim: lim, queries: map[uint32]int{}, windows: map[uint32]int{}, watches: map[uint32]int{}}
}

// takeWatch counts a new registration of uid, or says it is over its
// limit.
func (q *quota) takeWatch(uid uint32) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if n := q.watches[uid]; n >= q.lim.UIDWatches {
		return fmt.Errorf("%w: uid %d has %d registrations (the per-uid limit)", ErrBusy, uid, n)
	}
	q.watches[uid]++
	return nil
}

// dropWatches counts n registrations of uid fewer.
func (q *quota) dropWatches(uid uint32, n int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.watches[uid] -= n; q.watches[uid] <= 0 {
		delete(q.watches, uid)
	}
}

// takeQuery counts a new query of uid, or says which limit it is over.
func (q *quota) takeQuery(uid uint32) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.total >= q.lim.Queries:
		return fmt.Errorf("%w: the provider has %d queries open (its limit)", ErrBusy, q.total)
	case q.queries[uid] >= q.lim.UIDQueries:
		return fmt.Errorf("%w: uid %d has %d queries open (the per-uid limit)", ErrBusy, uid, q.queries[uid])
	}
	q.total++
	q.queries[uid]++
	return nil
}

func (q *quota) dropQuery(uid uint32) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.total--
	if q.queries[uid]--; q.queries[uid] <= 0 {
		delete(q.queries, uid)
	}
}

// reserveWindow counts one more window for uid, or says it is over its
// limit. The count is taken when a fill or a cache hit starts, not when
// the window is sent, so fills running at once cannot pass the limit
// together.
func (q *quota) reserveWindow(uid uint32) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if n := q.windows[uid]; n >= q.lim.UIDWindows {
		return fmt.Errorf("%w: uid %d holds %d windows (the per-uid limit)", ErrBusy, uid, n)
	}
	q.windows[uid]++
	return nil
}

// holdWindows counts n windows more (or fewer, n < 0) held by uid.
func (q *quota) holdWindows(uid uint32, n int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.windows[uid] += n; q.windows[uid] <= 0 {
		delete(q.windows, uid)
	}
}
