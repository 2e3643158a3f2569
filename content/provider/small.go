package provider

import (
	"container/list"
	"hash/maphash"
	"slices"
	"strconv"
	"sync/atomic"

	"github.com/cursorwindow/cursorwindow/content/internal/wire"
	"github.com/cursorwindow/cursorwindow/fdpass"
)

// Most queries are small (a setting, a row by id) and many are repeated.
// A result that fits one inline window is not shared as a memfd: it is
// copied through the socket. Repeating such a query used to cost the
// provider's Query, a fill and a compact copy every time; with sharing on,
// its whole first answer is kept instead (its columns, its count and the
// window's bytes) and a repeat is answered from it, without the
// provider's Query. It is kept and dropped as the cached windows are: kept
// only from a fill whose snapshot is still current, dropped under the
// same lock that marks its URI's snapshots stale (a change the server
// makes or NotifyChange).
//
// The key holds the caller's uid and gid beside the query: a provider may
// check the caller in its Query (PeerCred) and refuse, or answer each uid
// its own rows, so an answer is served again only to the uid and gid it
// was filled for. The server's Permission is asked on every query, before
// the cache.

// smallResult is a whole result kept for repeats of its query.
type smallResult struct {
	key  string
	uri  string
	msg  wire.WindowMsg // the first answer: columns, types, count, rows, the window's bytes (the result's own copy)
	size int            // bytes held, for the bound
	elem *list.Element  // in the LRU list
}

// The bounds of the small results kept: a few thousand answers, a few MiB
// (a result's bytes, its strings' headers, and smallOverhead for its
// record and its entries in the maps and the list).
const (
	maxSmallResults = 4096
	maxSmallBytes   = 4 << 20
	smallOverhead   = 384
)

// smallCache is the windowCache's part for small results; its fields are
// guarded by the windowCache's mutex.
type smallCache struct {
	byKey map[string]*smallResult
	uris  map[string]map[*smallResult]struct{} // URI -> its results
	lru   *list.List                           // oldest first
	bytes int
	hits  int64

	// The hashes of the keys of results filled lately, in slots by hash,
	// without a lock: a lost or torn update only delays a keep.
	seed   maphash.Seed
	filled [1024]atomic.Uint64
}

// seen reports whether a result of key was filled lately, and notes this
// fill.
func (s *smallCache) seen(key []byte) bool {
	h := maphash.Bytes(s.seed, key)
	slot := &s.filled[h%uint64(len(s.filled))]
	return slot.Swap(h) == h
}

// appendSmallKey appends to b, which holds a query's cache key
// (appendQueryKey), the caller's uid and gid: the key of the query's
// small result for that caller.
func appendSmallKey(b []byte, cred fdpass.Cred) []byte {
	b = strconv.AppendUint(append(b, ";u"...), uint64(cred.UID), 10)
	return strconv.AppendUint(append(b, ";g"...), uint64(cred.GID), 10)
}

// small returns a copy of the first answer kept for key, if any.
func (c *windowCache) small(key []byte) (wire.WindowMsg, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.smalls.byKey[string(key)] // no copy of key to look it up
	if r == nil {
		return wire.WindowMsg{}, false
	}
	c.smalls.lru.MoveToBack(r.elem)
	c.smalls.hits++
	return r.msg, true
}

// keepSmall keeps msg, the whole result of a query just filled in snap,
// for repeats of the query (key), unless snap is stale: a change began
// since the rows were opened, so they may be older than the data. A
// result is kept the second time its query is filled (seen), so that
// queries never repeated cost no copy. It copies what msg holds; the
// oldest results go past the bounds.
func (c *windowCache) keepSmall(key []byte, snap *snapshot, msg *wire.WindowMsg) {
	if !c.smalls.seen(key) {
		return
	}
	size := smallOverhead + len(key) + len(msg.Inline) + len(msg.Nullable)
	for _, s := range msg.Columns {
		size += 16 + len(s)
	}
	for _, s := range msg.Types {
		size += 16 + len(s)
	}
	if size > maxSmallBytes/16 {
		return // one result may not crowd out the others
	}
	r := &smallResult{key: string(key), uri: snap.uri, size: size, msg: wire.WindowMsg{
		Columns: slices.Clone(msg.Columns), Types: slices.Clone(msg.Types), Nullable: slices.Clone(msg.Nullable),
		Count: msg.Count, Rows: msg.Rows, Last: true, Inline: slices.Clone(msg.Inline),
	}}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &c.smalls
	if snap.stale || s.byKey[r.key] != nil {
		return
	}
	for s.lru.Len() >= maxSmallResults || s.bytes+size > maxSmallBytes {
		c.dropSmall(s.lru.Front().Value.(*smallResult))
	}
	r.elem = s.lru.PushBack(r)
	s.byKey[r.key] = r
	s.bytes += size
	if s.uris[r.uri] == nil {
		s.uris[r.uri] = map[*smallResult]struct{}{}
	}
	s.uris[r.uri][r] = struct{}{}
}

// dropSmall forgets r; the caller holds the mutex.
func (c *windowCache) dropSmall(r *smallResult) {
	s := &c.smalls
	delete(s.byKey, r.key)
	s.lru.Remove(r.elem)
	s.bytes -= r.size
	if set := s.uris[r.uri]; set != nil {
		delete(set, r)
		if len(set) == 0 {
			delete(s.uris, r.uri)
		}
	}
}

// invalidateSmall forgets the small results of the URIs related to uri;
// the caller holds the mutex.
func (c *windowCache) invalidateSmall(uri string) {
	for u, set := range c.smalls.uris {
		if related(u, uri) {
			for r := range set {
				c.dropSmall(r)
			}
		}
	}
}

// answerKept answers m from what the server keeps of its result for the
// caller, if it keeps it: a small result (answerSmall), or a whole result
// in one cached window (answerWhole). It answers on the reading goroutine
// and opens no query: the answer ends the query, so it counts against no
// query limit, starts no worker and arms no watchdog (onReader), and
// nothing of the provider's runs. The server's Permission has admitted
// m. It reports whether it answered; a query it does not answer is
// opened as any other (startQuery refuses a request id in use).
func (c *serverConn) answerKept(m *wire.QueryMsg) bool {
	if m.Inline || c.s.cfg.noShare || m.Req == 0 || m.Limit < 0 {
		return false
	}
	c.mu.Lock()
	_, dup := c.queries[m.Req]
	closed := c.closed
	c.mu.Unlock()
	if dup || closed {
		return false
	}
	q := queryOf(m)
	var buf [256]byte // the key on the stack: a small result's hit allocates nothing
	key := appendQueryKey(buf[:0], &q)
	return c.answerSmall(m, key) || c.answerWhole(m, key)
}

// answerSmall answers m from the small result kept for its query key
// and the caller, if there is one.
func (c *serverConn) answerSmall(m *wire.QueryMsg, key []byte) bool {
	msg, ok := c.s.cache.small(appendSmallKey(key, c.cred))
	if !ok {
		return false
	}
	c.smallReply = msg
	c.smallReply.Req, c.smallReply.Query, c.smallReply.Done = m.Req, m.Req, true
	c.sendWindow(m.Req, &c.smallReply, nil)
	c.smallReply = wire.WindowMsg{} // holds nothing of the kept result's
	return true
}

// A result held whole in one shared window (a cached first window that
// is also the last) is answered again, to a caller whose Query the
// provider has answered with it before, without calling Query: the
// window is the result, and it is cached only while its snapshot is
// current, as a small result is kept. The callers are remembered by uid
// and gid, as small results are keyed, for the same reason.

// wholeResult is what a query's first answer needs beside its window:
// the columns, and the callers it may be given to without a Query.
// Guarded by the cache's mutex.
type wholeResult struct {
	cols, types []string
	nullable    []int8
	callers     []fdpass.Cred // uid and gid only; at most maxWholeCallers
}

// maxWholeCallers bounds the callers a whole result remembers.
const maxWholeCallers = 8

// newWholeResult records a whole result's first answer, filled for cred.
func newWholeResult(msg *wire.WindowMsg, cred fdpass.Cred) *wholeResult {
	return &wholeResult{
		cols: slices.Clone(msg.Columns), types: slices.Clone(msg.Types), nullable: slices.Clone(msg.Nullable),
		callers: []fdpass.Cred{{UID: cred.UID, GID: cred.GID}},
	}
}

// admits reports whether cred's uid and gid were given the result after
// a Query.
func (r *wholeResult) admits(cred fdpass.Cred) bool {
	return slices.Contains(r.callers, fdpass.Cred{UID: cred.UID, GID: cred.GID})
}

// admit remembers cred as a caller the provider answered with sw's
// result (its Query ran, then the cached window was reused).
func (c *windowCache) admit(sw *sentWindow, cred fdpass.Cred) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := sw.whole
	if r == nil || r.admits(cred) || len(r.callers) >= maxWholeCallers {
		return
	}
	r.callers = append(r.callers, fdpass.Cred{UID: cred.UID, GID: cred.GID})
}

// whole returns, with a new reference, the cached window at key if it
// holds a whole result already given to cred's uid and gid, and that
// result's first answer.
func (c *windowCache) whole(key cacheKey, cred fdpass.Cred) (*sentWindow, *wholeResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sw := c.byKey[key]
	if sw == nil || !sw.last || sw.whole == nil || !sw.whole.admits(cred) {
		return nil, nil
	}
	return c.take(key), sw.whole
}

// answerWhole answers m with the cached window that holds the whole
// result of its query key, if its caller was given it before: no Query,
// no fill. The window counts against the connection's and the uid's
// window limits until released; with either at its limit, m goes the
// usual way (which answers busy, or waits).
func (c *serverConn) answerWhole(m *wire.QueryMsg, key []byte) bool {
	sw, whole := c.s.cache.whole(cacheKey{string(key), 0}, c.cred)
	if sw == nil {
		return false
	}
	if c.reserveWindow() != nil {
		c.s.cache.release(sw)
		return false
	}
	count := sw.count
	if count < 0 {
		count = int64(sw.rows)
	}
	c.wholeReply = wire.WindowMsg{Req: m.Req, Query: m.Req, Start: 0, Rows: sw.rows, Last: true, Done: true, Count: count,
		Columns: whole.cols, Types: whole.types, Nullable: whole.nullable}
	msg := &c.wholeReply
	defer func() { c.wholeReply = wire.WindowMsg{} }() // holds nothing of the cached result's
	if err := c.attach(msg, sw); err != nil {          // released: the connection is ending
		c.writeErr(m.Req, err)
		return true
	}
	c.sendWindow(m.Req, msg, sw)
	return true
}
