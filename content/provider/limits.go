package provider

import (
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cursorwindow/cursorwindow/content"
)

// Limits bound what consumers may hold at once. Connections are free to
// open, so every limit that guards a shared resource applies per
// connection, per peer uid and in total: opening more connections does
// not get around it. A zero field keeps its default; a negative reserve
// is none.
//
// Queries, windows and connections are fair shares (docs/SECURITY.md,
// "Fair shares"): besides the per-uid limit, the last units of each total
// are kept. The last Privileged… units go only to the privileged uids
// (the provider's own and Privileged); the Reserve before them only to
// uids holding less than their fair share: (total − both reserves) / the
// uids holding any, at least 2. However many uids misbehave together, a
// privileged uid finds its reserve; a uid holding nothing is refused only
// once uids below their fair share (each taking at most its share) have
// drained the fair-share reserve, never by uids at or above theirs.
//
// The window memory budget (WithMemoryBudget) is the windows' total: one
// uid may hold at most UIDWindows windows, by default half of what the
// budget holds. Windows no consumer holds (idle cached ones) count
// against nobody and are evicted before any query waits.
type Limits struct {
	ConnQueries int // open queries per connection (default 64)
	ConnWindows int // windows one connection holds (default 16)
	UIDQueries  int // open queries of one peer uid (default 256)
	UIDWindows  int // windows one peer uid holds (default half the budget's windows, at least ConnWindows)
	Queries     int // open queries in total (default 1024)
	Windows     int // windows held in total (default what the memory budget holds)
	// Connections, counted from accept (the peer's uid is known then)
	// until closed: in total (default a quarter of the process's soft
	// descriptor limit at NewServer, 64 to 16384) and per peer uid
	// (default a quarter of Conns). The privileged uids are bound by
	// Conns alone. A connection over a limit is answered content.ErrBusy (as
	// the handshake's error) and closed at once.
	Conns    int
	UIDConns int
	// Fair-share reserves (default a quarter of each total): the units
	// before the privileged reserve that only uids below their fair share
	// may take.
	QueryReserve  int
	WindowReserve int
	ConnReserve   int
	// Privileged reserves (default a sixteenth of each total): the last
	// units, which only the privileged uids may take.
	PrivilegedQueries int
	PrivilegedWindows int
	PrivilegedConns   int
	// Privileged lists the uids served first besides the provider's own
	// effective uid, which always is.
	Privileged []uint32
	// IdleTimeout closes a connection that has held nothing (no query,
	// window, load, registration or request in progress) for this long
	// while connections are scarce (fewer free than both connection
	// reserves); default 30s.
	IdleTimeout time.Duration
	// Registrations of change notifications (register): distinct URIs
	// per connection (default 1024) and per peer uid over all its
	// connections (default 4096). Past either, register is refused
	// content.ErrBusy; re-registering a URI counts nothing more.
	ConnWatches int
	UIDWatches  int
}

// Default limits.
const (
	defaultConnQueries = 64
	defaultConnWindows = 16
	defaultUIDQueries  = 256
	defaultQueries     = 1024
	defaultConnWatches = 1024
	defaultUIDWatches  = 4096
	defaultIdleTimeout = 30 * time.Second
)

// shareFloor is the least fair share: a uid may always take this many of
// a resource from the fair-share reserve, however many uids hold some.
const shareFloor = 2

// WithLimits sets the limits on queries, windows, connections and
// registrations; zero fields keep their defaults. A request over a limit
// is answered content.ErrBusy naming it.
func WithLimits(l Limits) ServerOption {
	return func(c *serverConfig) {
		set := func(dst *int, v int) {
			if v > 0 {
				*dst = v
			}
		}
		reserve := func(dst *int, v int) {
			if v != 0 {
				*dst = max(v, 0)
			}
		}
		set(&c.limits.ConnQueries, l.ConnQueries)
		set(&c.limits.ConnWindows, l.ConnWindows)
		set(&c.limits.UIDQueries, l.UIDQueries)
		set(&c.limits.UIDWindows, l.UIDWindows)
		set(&c.limits.Queries, l.Queries)
		set(&c.limits.Windows, l.Windows)
		set(&c.limits.Conns, l.Conns)
		set(&c.limits.UIDConns, l.UIDConns)
		reserve(&c.limits.QueryReserve, l.QueryReserve)
		reserve(&c.limits.WindowReserve, l.WindowReserve)
		reserve(&c.limits.ConnReserve, l.ConnReserve)
		reserve(&c.limits.PrivilegedQueries, l.PrivilegedQueries)
		reserve(&c.limits.PrivilegedWindows, l.PrivilegedWindows)
		reserve(&c.limits.PrivilegedConns, l.PrivilegedConns)
		if l.Privileged != nil {
			c.limits.Privileged = slices.Clone(l.Privileged)
		}
		if l.IdleTimeout > 0 {
			c.limits.IdleTimeout = l.IdleTimeout
		}
		set(&c.limits.ConnWatches, l.ConnWatches)
		set(&c.limits.UIDWatches, l.UIDWatches)
	}
}

// unset marks a reserve or a total left to its default, which depends on
// other limits (the budget, the descriptor limit).
const unset = -1

// defaults completes the limits whose defaults depend on others: the
// windows' total (maxWindows, what the budget holds), the connections'
// from the descriptor limit, and the reserves from the totals.
func (l *Limits) defaults(maxWindows int) {
	if l.Windows == 0 {
		l.Windows = maxWindows
	}
	if l.UIDWindows == 0 {
		l.UIDWindows = max(l.Windows/2, l.ConnWindows)
	}
	if l.Conns == 0 {
		l.Conns = 1024
		var r unix.Rlimit
		if unix.Getrlimit(unix.RLIMIT_NOFILE, &r) == nil {
			l.Conns = int(min(max(r.Cur/4, 64), 16384))
		}
	}
	if l.UIDConns == 0 {
		l.UIDConns = max(l.Conns/4, 1)
	}
	if l.IdleTimeout == 0 {
		l.IdleTimeout = defaultIdleTimeout
	}
	for _, r := range []struct {
		dst   *int
		total int
		div   int
	}{
		{&l.QueryReserve, l.Queries, 4}, {&l.WindowReserve, l.Windows, 4}, {&l.ConnReserve, l.Conns, 4},
		{&l.PrivilegedQueries, l.Queries, 16}, {&l.PrivilegedWindows, l.Windows, 16}, {&l.PrivilegedConns, l.Conns, 16},
	} {
		if *r.dst == unset {
			*r.dst = r.total / r.div
		}
	}
}

// share accounts one resource (queries, windows, connections) held per
// uid and in total under the fair-share policy: see Limits.
type share struct {
	noun, verb string // "queries open", "has": for the refusals
	total      int
	perUID     int
	reserve    int  // units kept for uids below their fair share
	privileged int  // units kept for the privileged uids
	uncapped   bool // the privileged uids are bound by the total alone

	held map[uint32]int
	used int
}

func newShare(noun, verb string, total, perUID, reserve, privileged int) *share {
	// The reserves never exceed the total: what is left is shared.
	privileged = min(privileged, total)
	reserve = min(reserve, total-privileged)
	return &share{noun: noun, verb: verb, total: total, perUID: perUID, reserve: reserve, privileged: privileged, held: map[uint32]int{}}
}

// take counts one more unit for uid, or says which limit it is over.
func (s *share) take(uid uint32, priv bool) error {
	h, free := s.held[uid], s.total-s.used
	switch {
	case free <= 0:
		return fmt.Errorf("%w: the provider has %d %s (its limit)", content.ErrBusy, s.used, s.noun)
	case h >= s.perUID && !(priv && s.uncapped):
		return fmt.Errorf("%w: uid %d %s %d %s (the per-uid limit)", content.ErrBusy, uid, s.verb, h, s.noun)
	case priv:
	case free <= s.privileged:
		return fmt.Errorf("%w: uid %d: the provider's last %d %s are kept for its privileged uids", content.ErrBusy, uid, free, s.noun)
	case free <= s.privileged+s.reserve:
		if fair := s.fair(uid); h >= fair {
			return fmt.Errorf("%w: uid %d %s %d %s, its fair share while %d of %d are left (the reserve)", content.ErrBusy, uid, s.verb, h, s.noun, free, s.total)
		}
	}
	s.used++
	s.held[uid]++
	return nil
}

// fair is uid's fair share: what is not reserved, divided among the uids
// holding any (uid among them), at least shareFloor.
func (s *share) fair(uid uint32) int {
	active := len(s.held)
	if s.held[uid] == 0 {
		active++
	}
	return max(shareFloor, (s.total-s.privileged-s.reserve)/active)
}

// give counts n units of uid fewer.
func (s *share) give(uid uint32, n int) {
	s.used -= n
	if s.held[uid] -= n; s.held[uid] <= 0 {
		delete(s.held, uid)
	}
}

// scarce reports whether fewer units are free than both reserves.
func (s *share) scarce() bool { return s.total-s.used <= s.privileged+s.reserve }

// quota counts the queries, windows, connections and registrations held
// per peer uid and in total.
type quota struct {
	lim        Limits
	privileged map[uint32]bool

	mu      sync.Mutex
	queries *share
	windows *share
	conns   *share
	watches map[uint32]int
}

// newQuota returns the accounting of lim, whose defaults are complete.
func newQuota(lim Limits) *quota {
	q := &quota{
		lim:        lim,
		privileged: map[uint32]bool{uint32(os.Geteuid()): true},
		queries:    newShare("queries open", "has", lim.Queries, lim.UIDQueries, lim.QueryReserve, lim.PrivilegedQueries),
		windows:    newShare("windows", "holds", lim.Windows, lim.UIDWindows, lim.WindowReserve, lim.PrivilegedWindows),
		conns:      newShare("connections", "has", lim.Conns, lim.UIDConns, lim.ConnReserve, lim.PrivilegedConns),
		watches:    map[uint32]int{},
	}
	q.conns.uncapped = true
	for _, u := range lim.Privileged {
		q.privileged[u] = true
	}
	return q
}

// takeQuery counts a new query (or bulk load) of uid, or says which limit
// it is over.
func (q *quota) takeQuery(uid uint32) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.queries.take(uid, q.privileged[uid])
}

func (q *quota) dropQuery(uid uint32) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.queries.give(uid, 1)
}

// reserveWindow counts one more window for uid, or says which limit it is
// over. The count is taken when a fill or a cache hit starts, not when
// the window is sent, so fills running at once cannot pass the limit
// together.
func (q *quota) reserveWindow(uid uint32) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.windows.take(uid, q.privileged[uid])
}

// holdWindows counts n windows fewer held by uid (n ≤ 0).
func (q *quota) holdWindows(uid uint32, n int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.windows.give(uid, -n)
}

// takeConn counts a new connection of uid, or says which limit it is
// over.
func (q *quota) takeConn(uid uint32) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.conns.take(uid, q.privileged[uid])
}

func (q *quota) dropConn(uid uint32) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.conns.give(uid, 1)
}

// connsScarce reports whether connections are in their reserves: then an
// idle connection is closed (Limits.IdleTimeout).
func (q *quota) connsScarce() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.conns.scarce()
}

// takeWatch counts a new registration of uid, or says it is over its
// limit.
func (q *quota) takeWatch(uid uint32) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if n := q.watches[uid]; n >= q.lim.UIDWatches {
		return fmt.Errorf("%w: uid %d has %d registrations (the per-uid limit)", content.ErrBusy, uid, n)
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
