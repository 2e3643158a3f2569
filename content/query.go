package content

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/cursorwindow/cursorwindow/window"
)

// request asks a query's worker for a window.
type request struct {
	req   uint64
	first bool  // the reply carries the columns
	start int64 // < 0: the window after the last one sent
	exact bool  // start the window at start, not a little before it
}

// serverQuery is one open query of a connection. Its worker goroutine
// serves the query's requests in order, so the Rows are used by one
// goroutine; a consumer that asks for the next window while it reads the
// current one has it filled meanwhile (the pipeline).
type serverQuery struct {
	c      *serverConn
	id     uint64
	q      Query
	inline bool      // every window copied through the socket
	key    string    // the query's cache key; "" when not shared
	snap   *snapshot // when its rows were opened; nil when not shared

	reqs    chan request
	mu      sync.Mutex // guards stopped and sends on reqs
	stopped bool
	ctx     context.Context
	cancel  context.CancelFunc

	// Worker state.
	rows     Rows
	cols     []string
	cur      int64 // position of the row the next take yields
	pending  bool  // rows holds the row at cur, read but not yet put
	done     bool  // rows has no more rows
	next     int64 // start of the window after the last one sent
	count    int64 // total rows, -1 while unknown
	lastRows int   // rows in the last window, to place backward windows
}

func (c *serverConn) startQuery(m *queryMsg) {
	c.mu.Lock()
	if c.closed || len(c.queries) >= c.s.cfg.maxQueries {
		c.mu.Unlock()
		c.writeErr(m.Req, fmt.Errorf("%w: %d queries open", ErrBusy, c.s.cfg.maxQueries))
		return
	}
	if _, dup := c.queries[m.Req]; dup || m.Req == 0 {
		c.mu.Unlock()
		c.writeErr(m.Req, fmt.Errorf("%w: query id %d in use", ErrProtocol, m.Req))
		return
	}
	qctx, cancel := context.WithCancel(c.ctx)
	q := &serverQuery{
		c: c, id: m.Req, inline: m.Inline, // the consumer knows its query by its request id
		q:    Query{URI: m.URI, Projection: m.Projection, Selection: m.Selection, Args: m.Args, Order: m.Order, Limit: m.Limit},
		reqs: make(chan request, c.s.cfg.maxWindows+2),
		ctx:  qctx, cancel: cancel, count: -1,
	}
	if !m.Inline && !c.s.cfg.noShare {
		q.key, _ = queryKey(&q.q) // an unencodable query is not shared
	}
	c.queries[q.id] = q
	c.wg.Add(1)
	c.mu.Unlock()
	go q.work()
	q.enqueue(request{req: m.Req, first: true, start: 0, exact: true})
}

// enqueue passes a request to the worker; a consumer that floods one query
// with requests beyond the window limit is answered ErrBusy.
func (q *serverQuery) enqueue(r request) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopped {
		q.c.writeErr(r.req, fmt.Errorf("%w: query closed", ErrClosed))
		return
	}
	select {
	case q.reqs <- r:
	default:
		q.c.writeErr(r.req, fmt.Errorf("%w: too many requests in flight", ErrBusy))
	}
}

// abort stops the worker and cancels the fill it is running: the consumer
// closed the query, perhaps before its first answer.
func (q *serverQuery) abort() {
	q.cancel()
	q.stop()
}

// stop ends the worker after the requests already queued (which it drops
// if the connection's context is cancelled: the consumer is gone).
func (q *serverQuery) stop() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.stopped {
		q.stopped = true
		close(q.reqs)
	}
}

func (q *serverQuery) work() {
	defer q.c.wg.Done()
	defer q.cancel()
	defer func() {
		if q.rows != nil {
			q.rows.Close()
		}
		q.c.s.cache.untrack(q.snap)
	}()
	for r := range q.reqs {
		if q.ctx.Err() != nil {
			continue // the connection is gone: drop what is queued
		}
		msg, sw, err := q.fill(r)
		if err != nil {
			q.c.log.Debug("query failed", "uri", q.q.URI, "err", err)
			q.c.writeErr(r.req, err)
			if r.first {
				q.c.closeQuery(q.id, false)
			}
			continue
		}
		var files []*os.File
		if sw != nil && msg.Backing == "" {
			files = append(files, sw.w.File())
		}
		if r.first && msg.Last && msg.Start == 0 {
			// The whole result is in the first window: nothing more to
			// ask for, so the query ends here and the consumer need not
			// close it (Done tells it so).
			msg.Done = true
			q.c.closeQuery(q.id, false)
		}
		if err := q.c.write(msg, files...); err != nil {
			if sw != nil {
				q.c.release(msg.Win)
			}
			// A reply the parcel layer refused (too large, say) must still
			// be answered; on a dead connection this fails quietly too.
			q.c.writeErr(r.req, fmt.Errorf("%w: sending the window: %w", ErrInternal, err))
		}
	}
}

// open (re)starts the provider's rows at position 0.
func (q *serverQuery) open() error {
	if q.rows != nil {
		q.rows.Close()
		q.rows = nil
	}
	if q.key != "" {
		q.c.s.cache.untrack(q.snap)
		q.snap = q.c.s.cache.track(q.q.URI)
	}
	rows, err := q.c.s.prov.Query(q.ctx, &q.q)
	if err != nil {
		return err
	}
	q.rows, q.cur, q.pending, q.done = rows, 0, false, false
	if q.cols == nil {
		q.cols = rows.Columns()
		if len(q.cols) == 0 || len(q.cols) > window.MaxColumns {
			return fmt.Errorf("%w: query has %d columns", ErrBadRequest, len(q.cols))
		}
	}
	if n, ok := rows.(Counter); ok && q.count < 0 {
		q.count = n.Count()
		if q.q.Limit > 0 {
			q.count = min(q.count, q.q.Limit)
		}
	}
	return nil
}

// take makes the row at cur available; false at the end of the rows.
func (q *serverQuery) take() (bool, error) {
	if q.pending {
		return true, nil
	}
	if q.done || (q.q.Limit > 0 && q.cur >= q.q.Limit) {
		q.done = true
		return false, nil
	}
	if !q.rows.Next() {
		q.done = true
		if err := q.rows.Err(); err != nil {
			return false, err
		}
		if q.count < 0 {
			q.count = q.cur
		}
		return false, nil
	}
	q.pending = true
	return true, nil
}

// seek positions the rows at start, re-running the query to go back.
func (q *serverQuery) seek(start int64) error {
	if q.rows == nil || start < q.cur {
		if err := q.open(); err != nil {
			return err
		}
	}
	for q.cur < start {
		ok, err := q.take()
		if err != nil || !ok {
			return err
		}
		q.pending = false
		q.cur++
	}
	return nil
}

// fill produces the reply to one window request.
func (q *serverQuery) fill(r request) (*windowMsg, *sentWindow, error) {
	start := r.start
	switch {
	case start < 0:
		start = q.next
	case !r.exact && start < q.next:
		// A move backwards: start the window a third of a window before
		// the position, so that stepping back again does not refetch.
		start = max(0, start-int64(q.lastRows/3))
	}
	if q.rows == nil { // the columns come from the provider's rows
		if err := q.open(); err != nil {
			return nil, nil, err
		}
	}
	if q.key != "" {
		if sw := q.c.s.cache.get(cacheKey{q.key, start}, q.snap); sw != nil {
			return q.reuse(r, start, sw)
		}
	}
	if err := q.seek(start); err != nil {
		return nil, nil, err
	}
	if q.cur < start { // past the end
		start = q.cur
	}
	msg := &windowMsg{Req: r.req, Query: q.id, Start: start}
	if r.first {
		msg.Columns = q.cols
	}
	ncols := len(q.cols)

	// Start inline: a small result is copied, never mapped. Past the inline
	// limit the rows move into a pooled memfd window.
	limit := q.c.s.cfg.inlineLimit
	if q.inline {
		limit = min(q.c.s.cfg.windowSize, int64(q.c.s.cfg.maxBody)-inlineOverhead)
	}
	var w *window.Writer
	var sw *sentWindow
	var err error
	if limit >= 1024 {
		w, err = window.New(ncols, window.WithMaxSize(limit), window.WithStartPos(start), window.WithInitialSize(min(limit, 2<<10)))
	} else {
		sw, err = q.sharedWindow(ncols, start, nil)
		if sw != nil {
			w = sw.w
		}
	}
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (*windowMsg, *sentWindow, error) {
		if sw != nil {
			q.c.s.recycle(sw)
		} else {
			w.Close()
		}
		return nil, nil, err
	}
	for n := 0; ; n++ {
		if n&255 == 255 && q.ctx.Err() != nil {
			return fail(q.ctx.Err()) // the consumer or the server is gone
		}
		ok, err := q.take()
		if err != nil {
			return fail(err)
		}
		if !ok {
			break
		}
		err = q.putRow(w)
		if err != nil && errors.Is(err, window.ErrWindowFull) {
			if sw == nil && !q.inline {
				// Outgrew the inline window: continue in shared memory.
				nsw, serr := q.sharedWindow(ncols, start, w)
				w.Close()
				if serr != nil {
					return nil, nil, serr
				}
				sw, w = nsw, nsw.w
				err = q.putRow(w)
			}
			if errors.Is(err, window.ErrWindowFull) && w.NumRows() == 0 {
				// A row larger than a whole window gets a bigger one.
				big, berr := q.bigWindow(ncols, start)
				if berr != nil {
					return fail(berr)
				}
				if sw != nil {
					q.c.s.recycle(sw)
				} else {
					w.Close()
				}
				sw, w = big, big.w
				err = q.putRow(w)
			}
		}
		if err != nil {
			if errors.Is(err, window.ErrWindowFull) {
				break // the row stays pending for the next window
			}
			return fail(err)
		}
		q.pending = false
		q.cur++
	}
	msg.Rows = w.NumRows()
	msg.Last = q.done && !q.pending
	if msg.Last && q.count < 0 {
		q.count = q.cur
	}
	msg.Count = q.count
	q.next = start + int64(msg.Rows)
	q.lastRows = max(msg.Rows, 1)
	if sw == nil {
		if err := w.Seal(); err != nil {
			return fail(err)
		}
		b, err := w.Bytes()
		if err != nil {
			return fail(err)
		}
		msg.Inline = b // encoded before w is dropped
		return msg, nil, nil
	}
	if sw.pooled {
		err = w.SealReusable()
	} else {
		err = w.Seal()
	}
	if err != nil {
		return fail(err)
	}
	sw.rows, sw.last, sw.count = msg.Rows, msg.Last, msg.Count
	q.c.s.cache.hold(sw, q.snap, cacheKey{q.key, start})
	if err := q.c.attach(msg, sw); err != nil {
		return nil, nil, err
	}
	return msg, sw, nil
}

// attach records that the consumer holds sw under a new window id; on a
// closed connection the reference is dropped again.
func (c *serverConn) attach(msg *windowMsg, sw *sentWindow) error {
	msg.Win = c.s.ids.Add(1)
	msg.setLocation(sw.w.Location()) // a named backing: no memfd to attach
	c.mu.Lock()
	if c.windows == nil {
		c.mu.Unlock()
		c.s.cache.release(sw)
		return ErrClosed
	}
	c.windows[msg.Win] = sw
	c.mu.Unlock()
	return nil
}

// reuse answers a request with a cached window another fill made.
func (q *serverQuery) reuse(r request, start int64, sw *sentWindow) (*windowMsg, *sentWindow, error) {
	msg := &windowMsg{Req: r.req, Query: q.id, Start: start, Rows: sw.rows, Last: sw.last, Count: max(sw.count, q.count)}
	if r.first {
		msg.Columns = q.cols
	}
	if msg.Last && q.count < 0 {
		q.count = start + int64(sw.rows)
		msg.Count = q.count
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

// sharedWindow takes a window from the pool, checking the connection's
// window limit, and copies the rows of from into it.
func (q *serverQuery) sharedWindow(ncols int, start int64, from *window.Writer) (*sentWindow, error) {
	c := q.c
	c.mu.Lock()
	held := len(c.windows)
	c.mu.Unlock()
	if held >= c.s.cfg.maxWindows {
		return nil, fmt.Errorf("%w: connection holds %d windows", ErrBusy, held)
	}
	w, err := c.s.pool.get(q.ctx, ncols, start)
	if err != nil {
		return nil, err
	}
	sw := &sentWindow{w: w, pooled: true}
	if from != nil {
		if err := copyRows(w, from); err != nil {
			c.s.recycle(sw)
			return nil, err
		}
	}
	return sw, nil
}

// bigWindow returns a one-off window, larger than the pool's, for a row
// that does not fit a whole pooled window.
func (q *serverQuery) bigWindow(ncols int, start int64) (*sentWindow, error) {
	w, err := window.Create(ncols, append([]window.Option{window.WithName("cursorwindow-big"),
		window.WithMaxSize(q.c.s.cfg.maxRowWindow), window.WithStartPos(start)}, q.c.s.pool.opts...)...)
	if err != nil {
		return nil, err
	}
	return &sentWindow{w: w}, nil
}

// copyRows appends every row of src to dst.
func copyRows(dst, src *window.Writer) error {
	r, err := src.Window()
	if err != nil {
		return err
	}
	defer r.Close()
	for row := range r.NumRows() {
		if err := dst.AllocRow(); err != nil {
			return err
		}
		for col := range r.NumColumns() {
			if err := copyField(dst, r, row, col); err != nil {
				return err
			}
		}
	}
	return nil
}

func copyField(dst *window.Writer, r *window.Window, row, col int) error {
	t, err := r.Type(row, col)
	if err != nil {
		return err
	}
	switch t {
	case window.TypeInt64:
		v, _ := r.Int64(row, col)
		return dst.PutInt64(col, v)
	case window.TypeFloat64:
		v, _ := r.Float64(row, col)
		return dst.PutFloat64(col, v)
	case window.TypeString:
		v, _ := r.Bytes(row, col)
		return dst.PutStringBytes(col, v)
	case window.TypeBlob:
		v, _ := r.Bytes(row, col)
		return dst.PutBlob(col, v)
	}
	return dst.PutNull(col)
}
