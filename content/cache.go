package content

import (
	"container/list"
	"fmt"
	"sync"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/cursorwindow/cursorwindow/window"
)

// A sealed window is immutable, so consumers asking for the same query at
// the same position can all be handed the same memfd: one physical copy,
// many readers. The cache keeps the provider's shared windows by (query,
// start): while any consumer holds one, and afterwards, idle, until the
// pool needs its memory or NotifyChange says its URI changed.

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
}

type cacheKey struct {
	query string // the encoded query
	start int64
}

// queryKey encodes what determines a query's rows.
func queryKey(q *Query) (string, error) {
	b, err := msgpack.Marshal([]any{q.URI, q.Projection, q.Selection, q.Args, q.Order, q.Limit})
	if err != nil {
		return "", fmt.Errorf("%w: arguments: %w", ErrBadRequest, err)
	}
	return string(b), nil
}

type windowCache struct {
	mu      sync.Mutex
	byKey   map[cacheKey]*sentWindow
	uris    map[string]map[*sentWindow]struct{} // URI -> its cached windows
	idle    *list.List                          // unheld cached windows, oldest first
	recycle func(*sentWindow)                   // to the pool or closed
	hits    int64
}

func newWindowCache(recycle func(*sentWindow)) *windowCache {
	return &windowCache{
		byKey: map[cacheKey]*sentWindow{}, uris: map[string]map[*sentWindow]struct{}{},
		idle: list.New(), recycle: recycle,
	}
}

// get returns the cached window for key with a new reference, or nil.
func (c *windowCache) get(key cacheKey) *sentWindow {
	c.mu.Lock()
	defer c.mu.Unlock()
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

// hold registers a window just sent, with one reference; a pooled window
// is cached under key (unless key is empty: not cacheable).
func (c *windowCache) hold(sw *sentWindow, uri string, key cacheKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sw.refs = 1
	if !sw.pooled || key.query == "" {
		return
	}
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
func (c *windowCache) evictIdle() bool {
	c.mu.Lock()
	e := c.idle.Front()
	if e == nil {
		c.mu.Unlock()
		return false
	}
	sw := e.Value.(*sentWindow)
	c.uncache(sw)
	c.mu.Unlock()
	c.recycle(sw)
	return true
}

// invalidate forgets the windows of uri, of the URIs below it and of those
// above it (a change to "trips/7" changes "trips"): idle ones are recycled now, held
// ones when their last holder lets go.
func (c *windowCache) invalidate(uri string) {
	c.mu.Lock()
	var stale, free []*sentWindow
	for u, set := range c.uris {
		if u == uri || isDescendant(u, uri) || isDescendant(uri, u) {
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

func (c *windowCache) stats() (cached, idle int, hits int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byKey), c.idle.Len(), c.hits
}
