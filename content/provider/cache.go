package provider

import (
	"container/list"
	"fmt"
	"hash/maphash"
	"math"
	"strconv"
	"sync"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/internal/wire"
	"github.com/cursorwindow/cursorwindow/window"
)

// A sealed window is immutable, so consumers asking for the same query at
// the same position can all be handed the same memfd: one physical copy,
// many readers. The cache keeps the provider's shared windows by (query,
// start): while any consumer holds one, and afterwards, idle, until the
// pool needs its memory or NotifyChange says its URI changed.
//
// A cache must never serve what a notification declared stale. A fill
// reads rows the provider opened at some moment (a snapshot); if the URI
// changes after that moment, the fill's windows hold the old rows even if
// the fill ends after the change. So every query that shares windows
// tracks the snapshot its rows were opened in, and NotifyChange marks the
// snapshots of the URI stale (under the same lock that drops the URI's
// cached windows). A stale snapshot neither adds windows to the cache nor
// takes windows from it: its query goes on serving its own, consistent,
// old rows, and no later query sees them.
//
// A notification comes after the change, so a query opened between the
// two would read new rows beside cached old ones. Changes the server makes
// (writes it serves, Server.Change) are therefore bracketed: begin drops
// the URI's windows and marks its snapshots stale, and snapshots opened
// until end are born stale.

// sentWindow is a window handed to consumers.
type sentWindow struct {
	w      *window.Writer
	pooled bool

	// Guarded by the cache's mutex.
	refs  int           // consumers holding it
	key   cacheKey      // where it is cached; zero if not
	rows  int           // rows it holds
	last  bool          // it ends the result
	count int64         // total rows of the result, -1 if unknown
	idle  *list.Element // in the idle list while cached and unheld
	whole *wholeResult  // set when it holds a whole result (small.go)
}

type cacheKey struct {
	query string // the encoded query
	start int64
}

// queryKey encodes what determines a query's rows, injectively: every
// string length-prefixed, every argument with its Go type (an int64 1, a
// float64 1 and a "1" are different keys). It allocates the string only:
// a key is built on the stack unless it is long.
func queryKey(q *content.Query) string {
	var buf [256]byte
	return string(appendQueryKey(buf[:0], q))
}

// appendQueryKey appends queryKey's bytes to b.
func appendQueryKey(b []byte, q *content.Query) []byte {
	b = appendKeyString(b, q.URI)
	b = strconv.AppendInt(b, int64(len(q.Projection)), 10)
	for _, p := range q.Projection {
		b = appendKeyString(b, p)
	}
	b = appendKeyString(b, q.Selection)
	b = appendKeyString(b, q.Order)
	b = strconv.AppendInt(b, q.Limit, 10)
	for _, a := range q.Args {
		switch v := a.(type) {
		case int64:
			b = strconv.AppendInt(append(b, ";i"...), v, 10)
		case float64:
			b = strconv.AppendUint(append(b, ";f"...), math.Float64bits(v), 16)
		case string:
			b = appendKeyString(append(b, ";s"...), v)
		case []byte:
			b = appendKeyString(append(b, ";b"...), string(v))
		case nil:
			b = append(b, ";n"...)
		default: // any other type a peer's msgpack decodes to, printed with its type
			b = appendKeyString(append(b, ";o"...), fmt.Sprintf("%T=%#v", v, v))
		}
	}
	return b
}

// appendKeyString appends s with its length before it.
func appendKeyString(b []byte, s string) []byte {
	b = strconv.AppendInt(append(b, ';'), int64(len(s)), 10)
	return append(append(b, ':'), s...)
}

// snapshot is the version of the data a query reads, as far as the server
// can tell: taken just before the query's rows were first opened, and
// stale once a change of a related URI began after it (Change, a write
// the server serves, or NotifyChange). While it is not stale, the cache's
// windows and rows opened again hold that version.
type snapshot struct {
	uri   string
	stale bool // guarded by the cache's mutex
}

type windowCache struct {
	mu      sync.Mutex
	byKey   map[cacheKey]*sentWindow
	uris    map[string]map[*sentWindow]struct{} // URI -> its cached windows
	snaps   map[*snapshot]struct{}              // snapshots of open queries
	changes map[string]int                      // URI -> changes in progress
	idle    *list.List                          // unheld cached windows, oldest first
	recycle func(*sentWindow)                   // to the pool or closed
	hits    int64
	// filling has an entry for each window being filled to be cached
	// (lookup): a channel, made by the first query to wait for it and
	// closed when the fill ends, or nil while nobody waits.
	filling map[cacheKey]chan struct{}
	smalls  smallCache // whole small results (small.go)
}

func newWindowCache(recycle func(*sentWindow)) *windowCache {
	return &windowCache{
		byKey: map[cacheKey]*sentWindow{}, uris: map[string]map[*sentWindow]struct{}{},
		snaps: map[*snapshot]struct{}{}, changes: map[string]int{},
		idle: list.New(), recycle: recycle, filling: map[cacheKey]chan struct{}{},
		smalls: smallCache{byKey: map[string]*smallResult{}, uris: map[string]map[*smallResult]struct{}{}, lru: list.New(), seed: maphash.MakeSeed()},
	}
}

// track starts a snapshot of uri in s (the query's own, so a query
// allocates none) and returns s; call it before the provider opens the
// rows, so that a change while they are being opened counts as after them.
func (c *windowCache) track(s *snapshot, uri string) *snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	*s = snapshot{uri: uri}
	for u := range c.changes {
		if related(u, uri) {
			s.stale = true // opened mid-change: old, new or both
		}
	}
	c.snaps[s] = struct{}{}
	return s
}

// begin starts a change of uri: its windows go and every snapshot of it,
// open now or until end, is stale.
func (c *windowCache) begin(uri string) {
	c.mu.Lock()
	c.changes[uri]++
	c.mu.Unlock()
	c.invalidate(uri)
}

// end ends a change begun with begin.
func (c *windowCache) end(uri string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.changes[uri]--; c.changes[uri] <= 0 {
		delete(c.changes, uri)
	}
}

// untrack ends a snapshot (its rows are closed); nil is ignored.
func (c *windowCache) untrack(s *snapshot) {
	if s == nil {
		return
	}
	c.mu.Lock()
	delete(c.snaps, s)
	c.mu.Unlock()
}

// current reports whether no change of the snapshot's URI began since it
// was taken: the data is still the version the snapshot read.
func (c *windowCache) current(s *snapshot) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !s.stale
}

// get returns the cached window for key with a new reference, or nil. A
// query whose snapshot is stale gets nil: its rows are older than what the
// cache holds, and mixing the two would mix versions of the table.
func (c *windowCache) get(key cacheKey, snap *snapshot) *sentWindow {
	c.mu.Lock()
	defer c.mu.Unlock()
	if snap.stale {
		return nil
	}
	return c.take(key)
}

// take returns the cached window for key with a new reference, or nil;
// the caller holds the mutex.
func (c *windowCache) take(key cacheKey) *sentWindow {
	sw := c.byKey[key]
	if sw == nil {
		return nil
	}
	if sw.idle != nil {
		c.idle.Remove(sw.idle)
		sw.idle = nil
	}
	sw.refs++
	c.hits++
	return sw
}

// lookup returns the cached window for key with a new reference, as get
// does; or, if another query is filling that window now, a channel closed
// when that fill ends (get again then: the window may be cached); or
// else claims the fill for the caller (claimed), who must unclaim it when
// the fill ends, cached or not. One fill of a window serves every query
// asking for it: two would do the work twice, and need not end at the
// same row (a window ends where its buffers fill, which depends on their
// layout), so their queries would share no later window either. A stale
// snapshot gets nothing and claims nothing: its windows are not cached.
func (c *windowCache) lookup(key cacheKey, snap *snapshot) (sw *sentWindow, wait <-chan struct{}, claimed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if snap.stale {
		return nil, nil, false
	}
	if sw := c.take(key); sw != nil {
		return sw, nil, false
	}
	ch, filling := c.filling[key]
	if !filling {
		c.filling[key] = nil
		return nil, nil, true
	}
	if ch == nil {
		ch = make(chan struct{})
		c.filling[key] = ch
	}
	return nil, ch, false
}

// unclaim ends a fill claimed with lookup, waking the queries waiting for
// it.
func (c *windowCache) unclaim(key cacheKey) {
	c.mu.Lock()
	ch := c.filling[key]
	delete(c.filling, key)
	c.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}

// hold registers a window just sent, with one reference; a pooled window
// filled in a snapshot that is still current is cached under key (unless
// key is zero: the query does not share its windows).
func (c *windowCache) hold(sw *sentWindow, snap *snapshot, key cacheKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sw.refs = 1
	if !sw.pooled || key.query == "" || snap.stale {
		return
	}
	uri := snap.uri
	if _, taken := c.byKey[key]; taken {
		return // filled twice concurrently: keep the first
	}
	sw.key = key
	c.byKey[key] = sw
	if c.uris[uri] == nil {
		c.uris[uri] = map[*sentWindow]struct{}{}
	}
	c.uris[uri][sw] = struct{}{}
}

// release drops a reference. An unheld cached window stays, idle; an
// uncached one is recycled.
func (c *windowCache) release(sw *sentWindow) {
	c.mu.Lock()
	sw.refs--
	if sw.refs > 0 {
		c.mu.Unlock()
		return
	}
	if sw.key.query != "" {
		sw.idle = c.idle.PushBack(sw)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	c.recycle(sw)
}

// uncache removes sw from the maps; the caller holds the mutex.
func (c *windowCache) uncache(sw *sentWindow) {
	delete(c.byKey, sw.key)
	for uri, set := range c.uris {
		if _, ok := set[sw]; ok {
			delete(set, sw)
			if len(set) == 0 {
				delete(c.uris, uri)
			}
		}
	}
	sw.key = cacheKey{}
	if sw.idle != nil {
		c.idle.Remove(sw.idle)
		sw.idle = nil
	}
}

// evictIdle recycles the oldest idle window, to free memory for a new
// one. It reports whether there was one.
//
// The victim is the idle window furthest into its result (the largest
// start), the oldest among equals. A plain LRU floods on a sequential
// scan larger than the budget: each new window evicts the oldest, which
// is the one the next scan needs first, so a repeated scan finds
// nothing. Evicting from the far end keeps every result's prefix cached
// (the part a repeated scan reads first, and the part most queries
// read); the windows past it are filled again. Among single-window
// results (all at start 0) the policy is plain LRU.
func (c *windowCache) evictIdle() bool {
	c.mu.Lock()
	var victim *list.Element
	for e := c.idle.Front(); e != nil; e = e.Next() {
		if victim == nil || e.Value.(*sentWindow).key.start > victim.Value.(*sentWindow).key.start {
			victim = e
		}
	}
	if victim == nil {
		c.mu.Unlock()
		return false
	}
	sw := victim.Value.(*sentWindow)
	c.uncache(sw)
	c.mu.Unlock()
	c.recycle(sw)
	return true
}

// related reports whether a change to one URI changes the other: the same
// URI, or one below the other ("trips/7" changes "trips" and "trips/7/x").
func related(a, b string) bool {
	return a == b || wire.IsDescendant(a, b) || wire.IsDescendant(b, a)
}

// invalidate forgets the windows of the URIs related to uri: idle ones are
// recycled now, held ones when their last holder lets go. The snapshots of
// open queries of those URIs become stale.
func (c *windowCache) invalidate(uri string) {
	c.mu.Lock()
	for s := range c.snaps {
		if related(s.uri, uri) {
			s.stale = true
		}
	}
	c.invalidateSmall(uri)
	var stale, free []*sentWindow
	for u, set := range c.uris {
		if related(u, uri) {
			for sw := range set {
				stale = append(stale, sw)
			}
		}
	}
	for _, sw := range stale {
		idle := sw.idle != nil
		c.uncache(sw)
		if idle {
			free = append(free, sw)
		}
	}
	c.mu.Unlock()
	for _, sw := range free {
		c.recycle(sw)
	}
}

// clear recycles every idle window (at shutdown).
func (c *windowCache) clear() {
	for c.evictIdle() {
	}
}

func (c *windowCache) stats() (cached, idle int, hits int64, small int, smallHits int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byKey), c.idle.Len(), c.hits, len(c.smalls.byKey), c.smalls.hits
}
