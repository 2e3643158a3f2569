package provider

import (
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/internal/wire"
	"github.com/cursorwindow/cursorwindow/window"
)

// request asks a query's worker for a window.
type request struct {
	req   uint64
	first bool  // the reply carries the columns
	start int64 // < 0: the window after the last one sent
	near  bool  // the window may start a little before start (the wire's near, a)
}

// serverQuery is one open query of a connection. Its worker goroutine
// serves the query's requests in order, so the Rows are used by one
// goroutine; a consumer that asks for the next window while it reads the
// current one has it filled meanwhile (the pipeline).
type serverQuery struct {
	c      *serverConn
	id     uint64
	q      content.Query
	inline bool      // every window copied through the socket
	shared bool      // the query's windows are shared (and its small result kept)
	key    string    // the query's cache key, once its first fill needs it; "" when not shared
	snap   *snapshot // the version of the data the query reads, from its first open to its end: nil or &snapData
	ctx    queryContext

	// reqs is made by the first request after the first (enqueue), or
	// when the query stays open past its first answer (first): a query
	// answered whole by its first reply never makes it.
	reqs    chan request
	mu      sync.Mutex // guards reqs, stopped and sends on reqs
	stopped bool

	snapData  snapshot
	reply     wire.WindowMsg // the message of the reply being sent (describe, reuse)
	inlineBuf *[]byte        // the pooled buffer of the reply's inline bytes, if any

	// Worker state.
	rows      Rows
	cols      []string
	types     []content.ColumnType // declared, if the Rows are Typed
	cur       int64                // position of the row the next nextRow yields
	pending   bool                 // rows holds the row at cur, read but not yet put
	done      bool                 // rows has no more rows
	next      int64                // start of the window after the last one sent
	count     int64                // total rows, -1 while unknown
	lastRows  int                  // rows in the last window, to place backward windows
	failed    error                // why the query ended (a provider failure, its data changed): every later request gets it
	resumes   int                  // re-opens after an expired snapshot at resumedAt (resume)
	resumedAt int64                // where the last expiry was resumed
	claimed   cacheKey             // with claiming, the window the fill under way is to cache (fromCache)
	claiming  bool
}

// startQuery opens a query; the caller then runs its first request
// (first). It returns nil if the query was refused (and answered so).
func (c *serverConn) startQuery(m *wire.QueryMsg) *serverQuery {
	lim := c.s.cfg.limits
	c.mu.Lock()
	var err error
	switch _, dup := c.queries[m.Req]; {
	case c.closed:
		err = fmt.Errorf("%w: connection closing", content.ErrClosed)
	case dup || m.Req == 0:
		err = fmt.Errorf("%w: query id %d in use", content.ErrProtocol, m.Req)
	case m.Limit < 0:
		err = fmt.Errorf("%w: limit %d: want 0 (no limit) or more", content.ErrBadRequest, m.Limit)
	case len(c.queries)+len(c.bulks) >= lim.ConnQueries: // a bulk load counts as a query
		err = fmt.Errorf("%w: the connection has %d queries open (the per-connection limit)", content.ErrBusy, len(c.queries)+len(c.bulks))
	default:
		err = c.s.quota.takeQuery(c.cred.UID)
	}
	if err != nil {
		c.mu.Unlock()
		c.writeErr(m.Req, err)
		return nil
	}
	q := &serverQuery{
		c: c, id: m.Req, inline: m.Inline, // the consumer knows its query by its request id
		q:     queryOf(m),
		ctx:   queryContext{parent: c.ctx},
		count: -1,
	}
	q.shared = !m.Inline && !c.s.cfg.noShare // its key is made by its first fill
	c.queries[q.id] = q
	c.wg.Add(1) // until finish
	c.mu.Unlock()
	return q
}

// queryOf is the query a query message asks.
func queryOf(m *wire.QueryMsg) content.Query {
	return content.Query{URI: m.URI, Projection: m.Projection, Selection: m.Selection, Args: m.Args, Order: m.Order, Limit: m.Limit}
}

// first answers the query's first request, on the goroutine reading the
// connection (see serverConn.onReader); later requests go to a worker
// goroutine, started only if the query stays open. A query its first
// reply answered whole, with nothing queued behind it, ends here: no
// queue, no worker.
func (q *serverQuery) first() {
	q.handle(request{req: q.id, first: true, start: 0})
	q.mu.Lock()
	open, queued := !q.stopped, q.reqs != nil
	if open && !queued {
		q.reqs = q.newQueue()
	}
	q.mu.Unlock()
	switch {
	case open:
		go q.work()
	case queued:
		q.work() // only what was queued meanwhile, then the end
	default:
		q.finish()
	}
}

// newQueue makes the queue of the requests after the first; the caller
// holds q.mu.
func (q *serverQuery) newQueue() chan request {
	return make(chan request, q.c.s.cfg.limits.ConnWindows+2)
}

// enqueue passes a request to the worker; a consumer that floods one query
// with requests beyond the window limit is answered content.ErrBusy.
func (q *serverQuery) enqueue(r request) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopped {
		q.c.writeErr(r.req, fmt.Errorf("%w: query closed", content.ErrClosed))
		return
	}
	if q.reqs == nil { // while the first request is answered
		q.reqs = q.newQueue()
	}
	select {
	case q.reqs <- r:
	default:
		q.c.writeErr(r.req, fmt.Errorf("%w: too many requests in flight", content.ErrBusy))
	}
}

// abort stops the worker and cancels the fill it is running: the consumer
// closed the query, perhaps before its first answer.
func (q *serverQuery) abort() {
	q.ctx.stop()
	q.stop()
}

// stop ends the worker after the requests already queued (which it drops
// if the connection's context is cancelled: the consumer is gone).
func (q *serverQuery) stop() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.stopped {
		q.stopped = true
		if q.reqs != nil {
			close(q.reqs)
		}
	}
}

// work serves the query's requests in order until it is stopped.
func (q *serverQuery) work() {
	defer q.finish()
	for r := range q.reqs {
		q.handle(r)
	}
}

// finish frees what the query holds once it has stopped.
func (q *serverQuery) finish() {
	q.ctx.stop()
	q.closeRows()
	q.c.s.cache.untrack(q.snap)
	q.c.wg.Done()
}

// handle answers one request.
func (q *serverQuery) handle(r request) {
	if q.ctx.Err() != nil {
		// Closed by the consumer (or its connection is gone, and this
		// fails quietly): every request is answered once.
		q.c.writeErr(r.req, fmt.Errorf("%w: query %d closed", content.ErrClosed, q.id))
		return
	}
	if q.failed != nil { // requests queued behind a failure: never re-run the query
		q.c.writeErr(r.req, q.failed)
		return
	}
	msg, sw, err := q.serve(r)
	if err != nil && q.ctx.Err() != nil {
		err = fmt.Errorf("%w: query %d closed", content.ErrClosed, q.id) // cancelled by closeQuery
	}
	if err != nil {
		q.putInline()
		q.c.log.Debug("query failed", "uri", q.q.URI, "err", err)
		q.c.writeErr(r.req, err)
		if r.first {
			q.fail(err) // requests a peer queued behind the first get its answer, never a second Query
		}
		if r.first || q.failed != nil {
			q.c.closeQuery(q.id, false)
		}
		return
	}
	if r.first && msg.Last && msg.Start == 0 {
		// The whole result is in the first window: nothing more to ask
		// for, so the query ends here and the consumer need not close it
		// (Done tells it so).
		msg.Done = true
		if msg.Inline != nil && q.key != "" {
			var buf [256]byte // while the query's snapshot is tracked: a change now makes it stale
			q.c.s.cache.keepSmall(appendSmallKey(append(buf[:0], q.key...), q.c.cred), q.snap, msg)
		}
		q.c.closeQuery(q.id, false)
	}
	q.c.sendWindow(r.req, msg, sw)
	q.putInline() // encoded into the frame: free again
}

// sendWindow writes msg, the answer to request req, with the memfd of
// sw (nil for an inline window) unless its backing is named. A reply the
// parcel layer refused (too large, say) is released and must still be
// answered: with an error, which on a dead connection fails quietly
// too.
func (c *serverConn) sendWindow(req uint64, msg *wire.WindowMsg, sw *sentWindow) {
	var err error
	if sw != nil && msg.Backing == "" {
		err = c.write(msg, sw.w.File())
	} else {
		err = c.write(msg)
	}
	if err == nil {
		return
	}
	if sw != nil {
		c.release(msg.Win)
	}
	c.writeErr(req, fmt.Errorf("%w: sending the window: %w", content.ErrInternal, err))
}

// putInline gives back the buffer of the reply's inline bytes, if any.
func (q *serverQuery) putInline() {
	if q.inlineBuf != nil {
		q.c.s.inline.putBuf(q.inlineBuf)
		q.inlineBuf = nil
	}
}

// serve fills the reply to r. A panic in the provider's Query or Rows is
// recovered: the request is answered content.ErrInternal, the rows are dropped
// and the query ends; the connection and the server go on.
func (q *serverQuery) serve(r request) (msg *wire.WindowMsg, sw *sentWindow, err error) {
	defer q.unclaim() // after the fill, cached or not, and after a panic
	defer func() {
		if v := recover(); v != nil {
			q.c.log.Error("provider panicked", "in", "query "+q.q.URI, "panic", v, "stack", string(debug.Stack()))
			q.closeRows()
			msg, sw = nil, nil
			err = q.fail(fmt.Errorf("%w: the provider failed in query %s", content.ErrInternal, q.q.URI))
		}
	}()
	return q.fill(r)
}

// closeRows closes the provider's rows, if open: when the last row was
// taken, when the query ends and before it is re-run. A panic in Close is
// recovered.
func (q *serverQuery) closeRows() {
	rows := q.rows
	if rows == nil {
		return
	}
	q.rows = nil
	var err error
	func() {
		defer q.c.recovered("Rows.Close", &err)
		err = rows.Close()
	}()
	if err != nil {
		q.c.log.Debug("closing rows", "uri", q.q.URI, "err", err)
	}
}

// fail ends the query with err: this request and every later one are
// answered with it, and the query is closed.
func (q *serverQuery) fail(err error) error {
	if q.failed == nil {
		q.failed = err
	}
	return err
}

// open opens the query's rows for its first window: the provider's Query
// fixes the version of the data the query reads (its snapshot) until it
// ends.
func (q *serverQuery) open() error {
	q.c.s.cache.untrack(q.snap)                      // a first open that failed before
	q.snap = q.c.s.cache.track(&q.snapData, q.q.URI) // before Query: a change while it runs counts as after it
	rows, err := q.c.s.prov.Query(&q.ctx, &q.q)
	if errors.Is(err, ErrSnapshotExpired) {
		return fmt.Errorf("%w: the provider's snapshot of %s expired before its first row (%v)", content.ErrBusy, q.q.URI, err)
	}
	if err != nil {
		return err
	}
	if rows == nil {
		return fmt.Errorf("%w: the provider's Query returned no rows and no error", content.ErrInternal)
	}
	q.rows = rows
	cols := rows.Columns()
	if len(cols) == 0 || len(cols) > window.MaxColumns {
		return fmt.Errorf("%w: query has %d columns (at most %d)", content.ErrBadRequest, len(cols), window.MaxColumns)
	}
	q.cols = cols
	if t, ok := rows.(Typed); ok {
		if types := t.ColumnTypes(); len(types) == len(cols) {
			q.types = types
		}
	}
	if n, ok := rows.(Counter); ok {
		q.count = n.Count()
		if q.q.Limit > 0 {
			q.count = min(q.count, q.q.Limit)
		}
	}
	return nil
}

// reopen runs the query again, from position start on: through the
// provider's Seeker, else from 0 stepping to start. New rows are rows of
// the query's snapshot only while its data has not changed since it was
// opened, which reopen checks once the provider has opened them (a
// provider's rows read the data as it is when Query returns): otherwise
// the consumer is told content.ErrChanged, never served rows of another version.
func (q *serverQuery) reopen(start int64) error {
	q.closeRows()
	if !q.c.s.cache.current(q.snap) {
		return q.changed()
	}
	var rows Rows
	var err error
	at := int64(0)
	if sk, ok := q.c.s.prov.(Seeker); ok && start > 0 && (start <= q.cur || start <= q.count) {
		rows, err = sk.QueryAt(&q.ctx, &q.q, start)
		at = start
	} else {
		rows, err = q.c.s.prov.Query(&q.ctx, &q.q)
	}
	if err != nil {
		return err
	}
	if rows == nil {
		return fmt.Errorf("%w: the provider's Query or QueryAt returned no rows and no error", content.ErrInternal)
	}
	q.rows, q.cur, q.pending, q.done = rows, at, false, false
	if !q.c.s.cache.current(q.snap) {
		q.closeRows()
		return q.changed()
	}
	if got := len(rows.Columns()); got != len(q.cols) {
		q.closeRows()
		return q.fail(fmt.Errorf("%w: the provider's rows of %s had %d columns, now %d", content.ErrInternal, q.q.URI, len(q.cols), got))
	}
	return q.skip(start)
}

// changed ends the query: its data changed since it was opened, and the
// rows it needs now are not in its snapshot's hands.
func (q *serverQuery) changed() error {
	return q.fail(fmt.Errorf("%w: %s changed during the scan, at row %d; run the query again", content.ErrChanged, q.q.URI, q.cur))
}

// maxResumes bounds the re-opens after an expired snapshot at one
// position: a provider whose snapshots always expire fails the query
// instead of re-opening it forever.
const maxResumes = 3

// resume continues the query at position at after the provider let the
// rows' snapshot go (err wraps ErrSnapshotExpired): in rows opened again,
// if the data has not changed since; else the query ends with content.ErrChanged.
// Any other err is returned as it is.
func (q *serverQuery) resume(at int64, err error) error {
	if at != q.resumedAt { // the query moved since the last expiry
		q.resumes, q.resumedAt = 0, at
	}
	for errors.Is(err, ErrSnapshotExpired) {
		if q.resumes++; q.resumes > maxResumes {
			return q.fail(fmt.Errorf("%w: the provider's snapshot of %s expired %d times in a row: %v", content.ErrInternal, q.q.URI, q.resumes, err))
		}
		err = q.reopen(at)
	}
	return err
}

// nextRow makes the row at cur available; false at the end of the rows. At
// the end, rows that can reposition stay open (a move back reads the
// same snapshot); others are closed.
func (q *serverQuery) nextRow() (bool, error) {
	for {
		if q.pending {
			return true, nil
		}
		if q.done || (q.q.Limit > 0 && q.cur >= q.q.Limit) {
			q.end()
			return false, nil
		}
		if q.rows.Next() {
			q.pending = true
			return true, nil
		}
		err := q.rows.Err()
		if errors.Is(err, ErrSnapshotExpired) {
			if err := q.resume(q.cur, err); err != nil {
				return false, err
			}
			continue
		}
		q.end()
		if err != nil {
			return false, q.fail(err) // not the end of the result: the query fails
		}
		if q.count < 0 {
			q.count = q.cur
		}
		return false, nil
	}
}

// end records that the rows have no more rows, and closes them unless
// they can reposition inside their snapshot.
func (q *serverQuery) end() {
	q.done = true
	if _, ok := q.rows.(Repositioner); !ok {
		q.closeRows()
	}
}

// seekJump is how far ahead a provider that can reposition (Repositioner,
// or a Seeker while the data is unchanged) moves there rather than the
// server stepping through the rows.
const seekJump = 1024

// seek positions the rows at start, inside the query's snapshot: forward
// by stepping through the open rows, or a jump or a move back through
// rows that reposition inside their snapshot, or by re-opening the query
// while its data is unchanged.
func (q *serverQuery) seek(start int64) error {
	switch { // start is clamped to the count already (fill)
	case q.done && start >= q.cur:
		return nil // at the end already: an empty last window
	case q.rows != nil && start >= q.cur && (start-q.cur < seekJump || !q.jumps()):
		return q.skip(start)
	}
	if rp, ok := q.rows.(Repositioner); ok {
		err := rp.Reposition(&q.ctx, start)
		if err == nil {
			q.cur, q.pending, q.done = start, false, false
			return nil
		}
		switch {
		case errors.Is(err, content.ErrBusy):
			return err // the rows stay: the consumer may ask again
		case !errors.Is(err, ErrSnapshotExpired):
			return q.fail(err)
		}
		q.closeRows()
		return q.resume(start, err) // re-open while the data is unchanged
	}
	if q.rows != nil && start >= q.cur && !q.c.s.cache.current(q.snap) {
		return q.skip(start) // only the open rows read the query's version
	}
	return q.resume(start, q.reopen(start)) // rows whose snapshot expired as they opened: again
}

// jumps reports whether the query may move ahead without stepping
// through the rows in between: to a position it knows is in the result
// (so the count is known), inside its snapshot.
func (q *serverQuery) jumps() bool {
	if q.count < 0 {
		return false
	}
	if _, ok := q.rows.(Repositioner); ok {
		return true
	}
	_, ok := q.c.s.prov.(Seeker)
	return ok && q.c.s.cache.current(q.snap)
}

// skip steps the open rows forward to start (or their end).
func (q *serverQuery) skip(start int64) error {
	for q.cur < start {
		ok, err := q.nextRow()
		if err != nil || !ok {
			return err
		}
		q.pending = false
		q.cur++
	}
	return nil
}

// fill produces the reply to one window request.
func (q *serverQuery) fill(r request) (*wire.WindowMsg, *sentWindow, error) {
	start := q.windowStart(r)
	if q.shared && q.key == "" {
		q.key = queryKey(&q.q)
	}
	if q.cols == nil { // the columns come from the provider's rows
		if err := q.open(); err != nil {
			return nil, nil, err
		}
	}
	start = q.clamp(start)
	if q.key != "" {
		msg, sw, done, err := q.fromCache(r, start)
		if done {
			return msg, sw, err
		}
	}
	if err := q.seek(start); err != nil {
		return nil, nil, err
	}
	start = min(start, q.cur) // past the end: an empty last window
	f := &filling{q: q, start: start, first: r.first}
	defer f.discard() // unless kept; also when the provider panics
	if err := f.begin(); err != nil {
		return nil, nil, err
	}
	if err := f.putRows(); err != nil {
		return nil, nil, err
	}
	msg, err := q.describe(r, start, f.w.NumRows())
	if err != nil {
		return nil, nil, err
	}
	if err := f.finish(msg); err != nil {
		return nil, nil, err
	}
	return msg, f.sw, nil
}

// fromCache answers r with the cached window at start (done), waiting
// once for it if another query is filling it. Otherwise the caller fills
// the window itself: fromCache has claimed its fill then (until serve
// returns: q.unclaim), or the snapshot is stale, or the fill waited for
// was not cached (an inline answer, say: this query's own fill then runs
// beside others', claiming nothing), or the cached window was refused
// busy (a scan over the consumer's window limits: the window is filled
// from the query's own rows instead, inline if need be).
func (q *serverQuery) fromCache(r request, start int64) (msg *wire.WindowMsg, sw *sentWindow, done bool, err error) {
	key := cacheKey{q.key, start}
	sw, wait, claimed := q.c.s.cache.lookup(key, q.snap)
	if claimed {
		q.claimed, q.claiming = key, true
		return nil, nil, false, nil
	}
	if wait != nil {
		select {
		case <-wait:
		case <-q.ctx.Done():
			return nil, nil, true, q.ctx.Err()
		}
		sw = q.c.s.cache.get(key, q.snap)
	}
	if sw == nil {
		return nil, nil, false, nil
	}
	msg, sw, err = q.reuse(r, start, sw)
	if !errors.Is(err, content.ErrBusy) || q.failed != nil || r.first {
		return msg, sw, true, err
	}
	return nil, nil, false, nil
}

// unclaim ends the fill the query claimed (fromCache): its window is held
// in the cache by now, or will not be.
func (q *serverQuery) unclaim() {
	if q.claiming {
		q.c.s.cache.unclaim(q.claimed)
		q.claimed, q.claiming = cacheKey{}, false
	}
}

// clamp bounds a window's start by what is known of the result's end
// (its limit, its count), so that a request past the end is answered
// with the empty last window at the end, never at the position asked for.
func (q *serverQuery) clamp(start int64) int64 {
	if q.q.Limit > 0 {
		start = min(start, q.q.Limit)
	}
	if q.count >= 0 {
		start = min(start, q.count)
	}
	return start
}

// windowStart is where the window answering r starts.
func (q *serverQuery) windowStart(r request) int64 {
	switch {
	case r.start < 0:
		return q.next
	case r.near && r.start < q.next:
		// A move backwards: start the window a third of a window before
		// the position, so that stepping back again does not refetch.
		return max(0, r.start-int64(q.lastRows/3))
	}
	return r.start
}

// describe returns the descriptor of a window of rows rows at start just
// filled, and advances the query past it.
func (q *serverQuery) describe(r request, start int64, rows int) (*wire.WindowMsg, error) {
	q.reply = wire.WindowMsg{Req: r.req, Query: q.id, Start: start, Rows: rows}
	msg := &q.reply
	if r.first {
		q.describeColumns(msg)
	}
	msg.Last = q.done && !q.pending
	if msg.Last && q.count < 0 {
		q.count = q.cur
	}
	msg.Count = q.count
	if err := q.checkCount(start, rows, msg.Last, msg.Count); err != nil {
		return nil, err
	}
	q.next = start + int64(rows)
	q.lastRows = max(rows, 1)
	return msg, nil
}

// checkCount fails the query if its count and its rows disagree (a window
// ending past the count, or a last window ending before it): a provider
// bug, logged here and answered content.ErrInternal to this query alone. Sent on,
// it would be a protocol error that ends the consumer's whole connection.
func (q *serverQuery) checkCount(start int64, rows int, last bool, count int64) error {
	end := start + int64(rows)
	switch {
	case count >= 0 && end > count:
		return q.providerBug(fmt.Sprintf("counted %d rows in %s, but sent rows up to row %d", count, q.q.URI, end))
	case count >= 0 && last && end != count:
		return q.providerBug(fmt.Sprintf("counted %d rows in %s, but its rows end at row %d", count, q.q.URI, end))
	}
	return nil
}

// providerBug fails the query with content.ErrInternal for a provider whose
// answers contradict each other, and logs it on the provider's side.
func (q *serverQuery) providerBug(what string) error {
	q.c.log.Error("provider bug: the query fails", "uri", q.q.URI, "bug", what)
	return q.fail(fmt.Errorf("%w: the provider %s", content.ErrInternal, what))
}

// describeColumns puts the columns, and their declared types if known,
// into the first window's descriptor.
func (q *serverQuery) describeColumns(msg *wire.WindowMsg) {
	msg.Columns = q.cols
	if q.types == nil {
		return
	}
	wt := q.c.s.types.get(q.types)
	msg.Types, msg.Nullable = wt.names, wt.nullable
}

// filling is one window being filled: it starts inline, in Go memory
// (a small result is copied through the socket, never mapped), and moves
// into a pooled shared window past the inline limit, or a one-off larger
// one for a row larger than a whole window.
type filling struct {
	q        *serverQuery
	first    bool // the query's first answer
	start    int64
	w        *window.Writer
	sw       *sentWindow // w's shared window; nil while w is inline
	limit    int64       // the inline window's size limit
	kept     bool
	reserved bool // a window is reserved for the consumer (reserveWindow)
}

// reserve reserves a shared window for the consumer, once per fill.
func (f *filling) reserve() error {
	if f.reserved {
		return nil
	}
	if err := f.q.c.reserveWindow(); err != nil {
		return err
	}
	f.reserved = true
	return nil
}

// begin creates the window the fill starts in.
func (f *filling) begin() error {
	q := f.q
	cfg := &q.c.s.cfg
	limit := cfg.inlineLimit
	if q.inline {
		limit = min(cfg.windowSize, int64(cfg.maxBody)-inlineOverhead)
	}
	if limit >= minInline && window.MinSize(len(q.cols)) <= limit {
		w, err := q.c.s.inline.get(len(q.cols), limit, cfg.inlineLimit, f.start)
		f.w, f.limit = w, limit
		return err
	}
	return f.share()
}

// minInline is the smallest inline window worth starting in; a lower
// inline limit (WithInlineLimit) shares every window.
const minInline = 1024

// share moves the fill into a pooled shared window, or, for a result so
// wide that a pooled window holds no row of it, a one-off larger one.
func (f *filling) share() error {
	if err := f.reserve(); err != nil {
		return err
	}
	q := f.q
	var sw *sentWindow
	var err error
	if window.MinSize(len(q.cols)) > q.c.s.cfg.windowSize {
		sw, err = q.bigWindow(len(q.cols), f.start) // f.w is nil: no inline window holds such rows
	} else {
		sw, err = q.sharedWindow(len(q.cols), f.start, f.w)
	}
	if err != nil {
		return err
	}
	f.drop()
	f.sw, f.w = sw, sw.w
	return nil
}

// putRows puts rows until the result ends or the window is full (the
// row that did not fit stays pending for the next window).
func (f *filling) putRows() error {
	q := f.q
	for n := 0; ; n++ {
		if n&255 == 255 && q.ctx.Err() != nil {
			return q.ctx.Err() // the consumer or the server is gone
		}
		ok, err := q.nextRow()
		if err != nil || !ok {
			return err
		}
		if err = q.putRow(f.w); err != nil { // errors.Is only off the row path
			if errors.Is(err, window.ErrWindowFull) {
				err = f.grow() // which puts the row again, in a bigger window
			}
			if errors.Is(err, ErrSnapshotExpired) {
				if err = q.resume(q.cur, err); err == nil {
					continue // the row again, from the rows opened again
				}
			}
			if errors.Is(err, window.ErrWindowFull) {
				return nil // the window is full
			}
			if err != nil {
				return err
			}
		}
		q.pending = false
		q.cur++
	}
}

// grow moves a fill whose window is full to a bigger window where that
// helps, and puts the pending row there.
func (f *filling) grow() error {
	q := f.q
	if f.sw == nil && !q.inline { // outgrew the inline window
		if err := f.share(); err != nil {
			if errors.Is(err, content.ErrBusy) && f.w.NumRows() > 0 && !f.first {
				// No shared window to move into (the consumer's limits,
				// the memory budget) in the middle of a scan: send the
				// rows read so far inline, which holds nothing on the
				// server, rather than drop them and make the consumer's
				// retry go back for them. (A first answer that fails
				// closes its query: nothing is lost, and a consumer that
				// never reads is not sent rows it asked for over its
				// limits.)
				return window.ErrWindowFull
			}
			return err
		}
		if err := q.putRow(f.w); !errors.Is(err, window.ErrWindowFull) {
			return err
		}
	}
	if f.w.NumRows() > 0 {
		return window.ErrWindowFull // the next window takes the row
	}
	// A row larger than a whole window gets a bigger one.
	if err := f.reserve(); err != nil {
		return err
	}
	big, err := q.bigWindow(len(q.cols), f.start)
	if err != nil {
		return err
	}
	f.drop()
	f.sw, f.w = big, big.w
	err = q.putRow(f.w)
	if errors.Is(err, window.ErrWindowFull) {
		return q.fail(fmt.Errorf("%w: row %d is larger than the largest window (%d bytes)", content.ErrInternal, q.cur, q.c.s.cfg.maxRowWindow))
	}
	return err
}

// finish seals the window and completes msg: inline bytes, or a shared
// window the consumer now holds.
func (f *filling) finish(msg *wire.WindowMsg) error {
	q := f.q
	if f.sw == nil {
		// A compact copy (header, directory, buffers: nothing of an
		// earlier fill), into a pooled buffer given back once it is sent
		// (serverQuery.putInline).
		buf := q.c.s.inline.buf()
		b, err := f.w.AppendTo(*buf)
		if err != nil {
			q.c.s.inline.putBuf(buf)
			return err
		}
		*buf, q.inlineBuf = b, buf
		msg.Inline = b
		return nil
	}
	var err error
	if f.sw.pooled {
		err = f.w.SealReusable()
	} else {
		err = f.w.Seal()
	}
	if err != nil {
		return err
	}
	f.sw.rows, f.sw.last, f.sw.count = msg.Rows, msg.Last, msg.Count
	if f.first && f.start == 0 && msg.Last {
		f.sw.whole = newWholeResult(msg, q.c.cred) // before it is shared
	}
	f.kept = true // from here the cache and the connection own it
	q.c.s.cache.hold(f.sw, q.snap, cacheKey{q.key, f.start})
	return q.c.attach(msg, f.sw)
}

// drop frees the window being filled.
func (f *filling) drop() {
	switch {
	case f.sw != nil:
		f.q.c.s.recycle(f.sw)
	case f.w != nil: // an inline window: kept for another query
		f.q.c.s.inline.put(len(f.q.cols), f.limit, f.w, f.q.c.s.cfg.inlineLimit)
	}
	f.sw, f.w = nil, nil
}

// discard frees the window and its reservation unless the fill kept them.
func (f *filling) discard() {
	if f.kept {
		return
	}
	f.drop()
	if f.reserved {
		f.q.c.unreserveWindow()
	}
}

// attach records that the consumer holds sw under a new window id, taking
// a reservation (reserveWindow) as the held window; on a closed
// connection the reference and the reservation are dropped again.
func (c *serverConn) attach(msg *wire.WindowMsg, sw *sentWindow) error {
	msg.Win = c.s.ids.Add(1)
	msg.SetLocation(sw.w.Location()) // a named backing: no memfd to attach
	c.mu.Lock()
	if c.windows == nil {
		c.mu.Unlock()
		c.s.cache.release(sw)
		c.unreserveWindow()
		return content.ErrClosed
	}
	c.reserved--
	c.windows[msg.Win] = sw
	c.mu.Unlock()
	return nil
}

// reserveWindow counts one more window for the consumer, or says which
// limit it is over: per connection and per uid. A fill reserves before it
// takes a window and a cache hit before it is sent, so fills running at
// once cannot pass a limit together. The reservation becomes a held
// window at attach, or is given back with unreserveWindow.
func (c *serverConn) reserveWindow() error {
	c.mu.Lock()
	if held := len(c.windows) + c.reserved; held >= c.s.cfg.limits.ConnWindows {
		c.mu.Unlock()
		return fmt.Errorf("%w: the connection holds %d windows (the per-connection limit)", content.ErrBusy, held)
	}
	c.reserved++
	c.mu.Unlock()
	if err := c.s.quota.reserveWindow(c.cred.UID); err != nil {
		c.mu.Lock()
		c.reserved--
		c.mu.Unlock()
		return err
	}
	return nil
}

// unreserveWindow gives back a reservation that was not attached.
func (c *serverConn) unreserveWindow() {
	c.mu.Lock()
	c.reserved--
	c.mu.Unlock()
	c.s.quota.holdWindows(c.cred.UID, -1)
}

// reuse answers a request with a cached window another fill made.
func (q *serverQuery) reuse(r request, start int64, sw *sentWindow) (*wire.WindowMsg, *sentWindow, error) {
	count := q.count
	switch {
	case count < 0 && sw.last:
		count = start + int64(sw.rows)
	case count < 0:
		count = sw.count
	case sw.count >= 0 && sw.count != count: // one version, two counts
		q.c.s.cache.release(sw)
		return nil, nil, q.providerBug(fmt.Sprintf("counted %d rows in %s, and %d in the same version", count, q.q.URI, sw.count))
	}
	if err := q.checkCount(start, sw.rows, sw.last, count); err != nil {
		q.c.s.cache.release(sw)
		return nil, nil, err
	}
	if err := q.c.reserveWindow(); err != nil {
		q.c.s.cache.release(sw)
		return nil, nil, err
	}
	q.count = count
	q.reply = wire.WindowMsg{Req: r.req, Query: q.id, Start: start, Rows: sw.rows, Last: sw.last, Count: count}
	msg := &q.reply
	if r.first {
		q.describeColumns(msg)
		if start == 0 && sw.last {
			q.c.s.cache.admit(sw, q.c.cred) // its Query answered it: a repeat needs none (answerWhole)
		}
	}
	q.next = start + int64(sw.rows)
	q.lastRows = max(sw.rows, 1)
	if err := q.c.attach(msg, sw); err != nil {
		return nil, nil, err
	}
	return msg, sw, nil
}

// putRow writes the pending row into a new row of w, rolled back whole if
// it does not fit.
func (q *serverQuery) putRow(w *window.Writer) error {
	if err := w.AllocRow(); err != nil {
		return err
	}
	if err := q.rows.Put(w); err != nil {
		if !errors.Is(err, window.ErrWindowFull) {
			w.FreeLastRow()
		}
		return err
	}
	return nil
}

// sharedWindow takes a window from the pool, checking the consumer's
// window limits, and moves the rows of from (a full inline window) into
// it.
func (q *serverQuery) sharedWindow(ncols int, start int64, from *window.Writer) (*sentWindow, error) {
	c := q.c
	w, err := c.s.pool.Get(&q.ctx, ncols, start)
	switch {
	case errors.Is(err, window.ErrPoolExhausted):
		return nil, fmt.Errorf("%w: window memory budget spent (%v)", content.ErrBusy, err)
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.ENOMEM):
		// A full /dev/shm, tmpfs or memory cgroup: the provider lives,
		// and this request is told why.
		return nil, fmt.Errorf("%w: no room for a window: %v", content.ErrBusy, err)
	}
	if err != nil {
		return nil, err
	}
	sw := &sentWindow{w: w, pooled: true}
	if from != nil {
		if err := from.MoveTo(w); err != nil {
			c.s.recycle(sw)
			return nil, err
		}
	}
	return sw, nil
}

// bigWindow returns a one-off window, larger than the pool's, for a row
// that does not fit a whole pooled window, or a result too wide for one.
// They count against the consumer's window limits, and at most
// maxBigWindows exist at once (each may grow to the maximum row window):
// a fill waits for one as it waits for pooled memory (WithPoolWait), and
// is answered busy only past that.
func (q *serverQuery) bigWindow(ncols int, start int64) (*sentWindow, error) {
	select {
	case q.c.s.bigSlots <- struct{}{}:
	default:
		t := time.NewTimer(q.c.s.cfg.poolWait)
		defer t.Stop()
		select {
		case q.c.s.bigSlots <- struct{}{}:
		case <-t.C:
			return nil, fmt.Errorf("%w: %d windows for rows larger than a window are in use (the provider's limit)", content.ErrBusy, maxBigWindows)
		case <-q.ctx.Done():
			return nil, q.ctx.Err()
		}
	}
	w, err := window.Create(ncols, append([]window.Option{window.WithName("cursorwindow-big"),
		window.WithMaxSize(q.c.s.cfg.maxRowWindow), window.WithStartPos(start)}, q.c.s.backing...)...)
	if err != nil {
		<-q.c.s.bigSlots
		return nil, err
	}
	return &sentWindow{w: w}, nil
}

// maxBigWindows bounds the one-off windows for oversized rows.
const maxBigWindows = 4
