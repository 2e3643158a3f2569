package provider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/internal/wire"
	"github.com/cursorwindow/cursorwindow/window"
)

// BulkInserter is implemented by providers that insert many rows faster
// than one Insert each (one transaction, a prepared statement). The server
// calls BulkInsert for a consumer's Client.BulkInsert; rows arrive as the
// consumer sends them, so BulkInsert runs while the consumer still fills
// windows.
//
// BulkInsert reads rows until Next returns false, then checks rows.Err
// (the consumer aborted, or sent a window that failed its checks). It
// returns how many rows it inserted and keeps. On failure that count says
// what became of the rows before the failing one: 0 for a provider that
// inserts all or nothing (which it should be). The failing row is the one
// it read last, unless it returns a *WriteError naming another.
//
// Without a BulkInserter the server inserts each row with a Transactor's
// transaction (all or nothing), or else with Insert (the rows before a
// failure stay, and the consumer is told how many).
type BulkInserter interface {
	BulkInsert(ctx context.Context, uri string, rows *BulkRows) (int64, error)
}

// BulkRows are the rows of a bulk insert as a provider reads them: the
// rows of the windows the consumer sends, in order. Each window was
// checked as a consumer checks a provider's (sealed, no larger than the
// server's largest window, a header that agrees with its size and with
// the message that announced it), and every field read is bounds-checked:
// a consumer's window is hostile input.
//
// BulkRows are used by one goroutine.
type BulkRows struct {
	cols []string
	in   <-chan bulkWindow
	ctx  context.Context
	quit <-chan struct{}
	// idle is how long Next waits for the consumer's next window.
	idle time.Duration
	// pass is called as the reader moves past a window: the window is
	// closed and, unless it was the last, acknowledged.
	pass func(bw *bulkWindow)

	cur   bulkWindow
	has   bool  // cur is a window being read
	row   int   // the current row of cur.w
	pos   int64 // the current row of the load; -1 before the first
	ended bool  // the last window has been read
	// unanswered is the request of the window read now, or of the last
	// one once read: answered by the server when the load ends.
	unanswered uint64
	err        error
}

// bulkWindow is one message of a bulk insert, checked and opened.
type bulkWindow struct {
	req         uint64
	w           *window.Window // nil for a message without a window
	last, abort bool
	err         error // the window failed its checks
}

// Columns returns the names of the columns each row has values for.
func (r *BulkRows) Columns() []string { return r.cols }

// Next advances to the next row, waiting for the consumer's next window
// if need be. It returns false at the end of the load, or when Err says
// why not. A consumer that sends no window for the server's write
// timeout (10 s by default) fails its load with content.ErrBusy: a provider's
// transaction never waits longer on it.
func (r *BulkRows) Next() bool {
	if r.err != nil || r.ended {
		return false
	}
	for {
		if r.has && r.cur.w != nil && r.row+1 < r.cur.w.NumRows() {
			r.row++
			r.pos++
			return true
		}
		if r.has {
			r.has = false
			r.pass(&r.cur)
			if r.cur.last {
				r.ended = true
				return false
			}
			r.unanswered = 0
		}
		if !r.receive() {
			return false
		}
		r.unanswered = r.cur.req
		switch {
		case r.cur.err != nil:
			r.err = r.cur.err
			return false
		case r.cur.abort:
			r.err = fmt.Errorf("%w: the consumer aborted the load", content.ErrClosed)
			return false
		}
		r.has, r.row = true, -1 // a message without a window has no rows
	}
}

// receive waits for the load's next message.
func (r *BulkRows) receive() bool {
	t := time.NewTimer(r.idle)
	defer t.Stop()
	select {
	case r.cur = <-r.in:
		return true
	case <-t.C:
		r.err = fmt.Errorf("%w: the consumer sent nothing of the load for %v", content.ErrBusy, r.idle)
	case <-r.ctx.Done():
		r.err = fmt.Errorf("%w: the consumer went away", content.ErrClosed)
		if refused := refusal(r.ctx); refused != nil {
			r.err = refused
		}
	case <-r.quit:
		r.err = fmt.Errorf("%w: the provider is shutting down", content.ErrShutdown)
	}
	return false
}

// Row returns the position in the load of the current row (counted from
// 0 over every window), or of the next row when there is none.
func (r *BulkRows) Row() int64 {
	if r.has && r.row >= 0 {
		return r.pos
	}
	return r.pos + 1
}

// Fields stores the current row's values in dst, one per column: int64,
// float64, string, []byte (a copy) or nil for NULL. A field the window
// cannot give (a hostile window) is an error wrapping content.ErrBadRequest and
// the window's error.
func (r *BulkRows) Fields(dst []any) error {
	if !r.has || r.row < 0 {
		return fmt.Errorf("%w: no current row", content.ErrBadRequest)
	}
	if len(dst) != len(r.cols) {
		return fmt.Errorf("content: BulkRows.Fields: %d values for %d columns", len(dst), len(r.cols))
	}
	w, row := r.cur.w, r.row
	for col := range dst {
		v, err := field(w, row, col)
		if err != nil {
			return fmt.Errorf("%w: row %d column %q: %w", content.ErrBadRequest, r.pos, r.cols[col], err)
		}
		dst[col] = v
	}
	return nil
}

// field reads one field of a window as a Go value the caller may keep.
func field(w *window.Window, row, col int) (any, error) {
	t, err := w.Type(row, col)
	if err != nil {
		return nil, err
	}
	switch t {
	case window.TypeNull:
		return nil, nil
	case window.TypeInt64:
		return w.Int64(row, col)
	case window.TypeFloat64:
		return w.Float64(row, col)
	case window.TypeString:
		return w.String(row, col)
	case window.TypeBlob:
		return w.AppendBytes(make([]byte, 0, 16), row, col)
	}
	return nil, fmt.Errorf("%w: field type %d", window.ErrCorrupt, t)
}

// Values returns the current row as Values, for Insert.
func (r *BulkRows) Values() (content.Values, error) {
	vals := make([]any, len(r.cols))
	if err := r.Fields(vals); err != nil {
		return nil, err
	}
	v := make(content.Values, len(r.cols))
	for i, c := range r.cols {
		v[c] = vals[i]
	}
	return v, nil
}

// Err returns why Next stopped before the end of the load: the consumer
// aborted or went away, or a window failed its checks.
func (r *BulkRows) Err() error { return r.err }

// failedRow is the row a load that failed with err failed at: the row
// read last, or the first of a window that failed its checks; -1 when no
// row in particular failed (nothing was read, or all was and the commit
// failed).
func (r *BulkRows) failedRow(err error) int64 {
	switch {
	case r.err != nil && errors.Is(err, r.err):
		return r.Row()
	case r.ended || r.pos < 0:
		return -1
	}
	return r.Row()
}

// refusal returns the refusal that ended a load, the cause its context
// was cancelled with; nil while it runs or when it ended otherwise.
func refusal(ctx context.Context) error {
	var we *content.WriteError
	if ctx.Err() != nil && errors.As(context.Cause(ctx), &we) {
		return we
	}
	return nil
}

// serverBulk is a bulk insert under way on a connection.
type serverBulk struct {
	id   uint64
	uri  string
	cols []string
	in   chan bulkWindow
	quit chan struct{} // closed when the connection tears down
	// ctx is the load's: the provider's BulkInsert runs under it. fail
	// cancels it with the refusal that ends the load (a *WriteError
	// naming the refused window's first row), and runBulk with nil once
	// the load is over.
	ctx  context.Context
	fail context.CancelCauseFunc
	// Owned by the connection's reader: rows announced so far, and
	// whether the last message has come.
	sent   int64
	closed bool
}

// handleBulk handles a message of a bulk insert, with the window it
// carries (files, which it closes). A message of a load under way that is
// refused (a bad row count, descriptors it may not carry, a window that
// fails its checks or the limits) ends the load at once: its context is
// cancelled, so the provider's transaction is rolled back and any lock it
// holds released without waiting for it to reach that message.
func (c *serverConn) handleBulk(m *wire.BulkMsg, files []*os.File) {
	defer wire.CloseFiles(files)
	if m.Req == m.Bulk && m.Req != 0 {
		c.beginBulk(m, files)
		return
	}
	c.mu.Lock()
	b := c.bulks[m.Bulk]
	c.mu.Unlock()
	switch {
	case b == nil:
		c.writeErr(m.Req, fmt.Errorf("%w: no bulk insert %d under way", content.ErrBadRequest, m.Bulk))
		return
	case b.closed:
		c.writeErr(m.Req, fmt.Errorf("%w: bulk insert %d has ended", content.ErrBadRequest, m.Bulk))
		return
	}
	bw := bulkWindow{req: m.Req, last: m.Last || m.Abort, abort: m.Abort}
	switch {
	case len(files) > 1 || (m.Abort && len(files) > 0):
		bw.err = fmt.Errorf("%w: a bulk message carries %d descriptors", content.ErrBadRequest, len(files))
	case len(files) == 1 && m.Rows <= 0:
		bw.err = fmt.Errorf("%w: a bulk window of %d rows (a window holds at least one)", content.ErrBadRequest, m.Rows)
	case len(files) == 1:
		bw.w, bw.err = c.openBulkWindow(b, m, files[0])
	case m.Rows != 0:
		bw.err = fmt.Errorf("%w: %d rows announced without a window", content.ErrBadRequest, m.Rows)
	case !bw.last:
		bw.err = fmt.Errorf("%w: a bulk message with neither a window nor an end", content.ErrBadRequest)
	}
	failed := bw.err
	if failed != nil {
		bw.last = true
	}
	b.closed = bw.last
	queued := false
	c.mu.Lock()
	if c.bulks[b.id] == b { // else the load failed meanwhile
		select {
		case b.in <- bw: // room for every window the limits allow, and the end
			queued = true
		default: // windows that failed their checks, past what the limits allow
		}
	}
	c.mu.Unlock()
	if failed != nil { // queued first, so that the load answers it with its failure
		b.fail(&content.WriteError{Index: b.sent, Err: failed})
	}
	if !queued {
		c.dropBulkWindow(&bw)
		err := error(&content.WriteError{Index: -1, Err: failed}) // its window check travels as wc
		if failed == nil {
			err = fmt.Errorf("%w: bulk insert %d has ended or has too many windows queued", content.ErrBadRequest, m.Bulk)
		}
		c.writeErr(bw.req, err)
	}
}

// beginBulk handles a load's first message: it starts the load, or
// refuses it (then no load exists).
func (c *serverConn) beginBulk(m *wire.BulkMsg, files []*os.File) {
	if len(files) > 0 || m.Last || m.Abort || m.Rows != 0 {
		c.writeErr(m.Req, fmt.Errorf("%w: a bulk insert's first message carries no window and does not end it", content.ErrBadRequest))
		return
	}
	b, err := c.startBulk(m)
	if err != nil {
		c.writeErr(m.Req, err)
		return
	}
	b.in <- bulkWindow{req: m.Req} // queued before the load starts, so its answer is the load's
	go c.runBulk(b)
}

// startBulk registers a bulk insert, which handleBulk then starts: the
// provider's BulkInsert runs on a goroutine of its own, fed the windows as
// they come. A load counts as an open query against the limits.
func (c *serverConn) startBulk(m *wire.BulkMsg) (*serverBulk, error) {
	if len(m.Columns) == 0 || len(m.Columns) > wire.MaxBulkColumns {
		return nil, fmt.Errorf("%w: a bulk insert of %d columns", content.ErrBadRequest, len(m.Columns))
	}
	if err := c.permit(content.OpInsert, m.URI); err != nil {
		return nil, err
	}
	c.mu.Lock()
	open := len(c.queries) + len(c.bulks)
	_, dup := c.bulks[m.Bulk]
	c.mu.Unlock()
	switch {
	case dup:
		return nil, fmt.Errorf("%w: bulk insert %d is under way already", content.ErrBadRequest, m.Bulk)
	case open >= c.s.cfg.limits.ConnQueries:
		return nil, fmt.Errorf("%w: the connection has %d queries and loads open (the per-connection limit)", content.ErrBusy, open)
	}
	if err := c.s.quota.takeQuery(c.cred.UID); err != nil {
		return nil, err
	}
	b := &serverBulk{
		id: m.Bulk, uri: m.URI, cols: m.Columns, quit: c.bulkQuit,
		in: make(chan bulkWindow, c.s.cfg.limits.ConnWindows+2),
	}
	b.ctx, b.fail = context.WithCancelCause(c.ctx)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		c.s.quota.dropQuery(c.cred.UID)
		return nil, content.ErrClosed
	}
	c.bulks[b.id] = b
	c.wg.Add(1) // runBulk, which handleBulk starts
	c.mu.Unlock()
	return b, nil
}

// openBulkWindow maps a window of a bulk insert after reserving it
// against the consumer's window limits, and checks it against its
// message and the load.
func (c *serverConn) openBulkWindow(b *serverBulk, m *wire.BulkMsg, f *os.File) (*window.Window, error) {
	if err := c.reserveWindow(); err != nil {
		return nil, err
	}
	w, err := c.bulkMaps.Open(f)
	if err != nil {
		c.unreserveWindow()
		return nil, fmt.Errorf("%w: bulk window: %w", content.ErrBadRequest, err)
	}
	switch {
	case w.NumColumns() != len(b.cols):
		err = fmt.Errorf("a window of %d columns for a load of %d", w.NumColumns(), len(b.cols))
	case w.NumRows() != m.Rows || w.StartPos() != b.sent:
		err = fmt.Errorf("window header (start %d, %d rows) disagrees with its message (start %d, %d rows)",
			w.StartPos(), w.NumRows(), b.sent, m.Rows)
	case int64(w.Size()) > c.s.cfg.windowSize && w.NumRows() > 1:
		err = fmt.Errorf("a window of %d bytes, larger than %d, holds %d rows (one at most)", w.Size(), c.s.cfg.windowSize, w.NumRows())
	}
	if err != nil {
		w.Close()
		c.unreserveWindow()
		return nil, fmt.Errorf("%w: bulk window: %w", content.ErrBadRequest, err)
	}
	b.sent += int64(m.Rows)
	return w, nil
}

// dropBulkWindow closes a bulk window and gives back its reservation.
func (c *serverConn) dropBulkWindow(bw *bulkWindow) {
	if bw.w != nil {
		bw.w.Close()
		c.unreserveWindow()
	}
	bw.w = nil
}

// runBulk runs a bulk insert on the provider and answers the messages of
// the load: each window as the provider moves past it, the last with the
// count inserted, and, if the load fails, every message not yet answered
// with the failure.
func (c *serverConn) runBulk(b *serverBulk) {
	defer c.wg.Done()
	defer b.fail(nil)
	rows := &BulkRows{
		cols: b.cols, in: b.in, ctx: b.ctx, quit: b.quit, pos: -1, idle: c.s.cfg.writeTimeout,
		pass: func(bw *bulkWindow) {
			c.dropBulkWindow(bw)
			if !bw.last && bw.req != 0 {
				c.write(&wire.OKMsg{Req: bw.req})
			}
		},
	}
	n, err := c.bulkInsert(b.ctx, b.uri, rows)
	if err == nil && !rows.ended {
		err = fmt.Errorf("%w: the provider stopped reading the load at row %d", content.ErrInternal, rows.Row())
	}
	if refused := refusal(b.ctx); refused != nil && err != nil {
		err = refused // what the provider saw was the cancellation it caused
	}
	c.mu.Lock()
	delete(c.bulks, b.id)
	c.mu.Unlock()
	c.s.quota.dropQuery(c.cred.UID)
	if rows.has {
		c.dropBulkWindow(&rows.cur)
	}
	if err == nil {
		if rows.unanswered != 0 {
			c.write(&wire.WriteReplyMsg{Req: rows.unanswered, Count: n})
		}
		return
	}
	we := &content.WriteError{Index: rows.failedRow(err), Kept: n, Err: err}
	var named *content.WriteError // the provider named the failing row
	if errors.As(err, &named) && named.Err != nil {
		we.Index, we.Err = named.Index, named.Err
	}
	c.writeErr(rows.unanswered, we)
	for {
		select {
		case bw := <-b.in: // sent before the load ended: answered with its failure
			c.dropBulkWindow(&bw)
			c.writeErr(bw.req, we)
		default:
			return
		}
	}
}

// bulkInsert runs a load on the provider as a change of uri; a panic in
// the provider is recovered and fails the load alone.
func (c *serverConn) bulkInsert(ctx context.Context, uri string, rows *BulkRows) (n int64, err error) {
	s := c.s
	s.cache.begin(uri)
	func() {
		defer s.cache.end(uri)
		defer c.recovered("bulk insert", &err)
		n, err = insertRows(ctx, s.prov, uri, rows)
	}()
	if err == nil || n > 0 {
		s.NotifyChange(uri)
	}
	return n, err
}

// insertRows inserts a load with the provider's BulkInsert, else in a
// transaction, else row by row.
func insertRows(ctx context.Context, p Provider, uri string, rows *BulkRows) (int64, error) {
	switch p := p.(type) {
	case BulkInserter:
		return p.BulkInsert(ctx, uri, rows)
	case Transactor:
		return insertInTx(ctx, p, uri, rows)
	}
	return insertEach(ctx, p, uri, rows)
}

// insertInTx inserts a load in one transaction of t: all or nothing. The
// transaction is rolled back on any failure, a panic in the provider
// included (the server recovers it): it never stays open.
func insertInTx(ctx context.Context, t Transactor, uri string, rows *BulkRows) (n int64, err error) {
	tx, err := t.Begin(ctx)
	if err != nil {
		return 0, err
	}
	committed := false
	defer func() {
		if !committed {
			tx.Rollback()
		}
	}()
	if n, err = insertEach(ctx, tx, uri, rows); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err // rolled back as well, in case the failed Commit did not end it
	}
	committed = true
	return n, nil
}

// inserter is what insertEach needs: a Provider or a Tx.
type inserter interface {
	Insert(ctx context.Context, uri string, values content.Values) (int64, error)
}

// insertEach inserts the rows of a load one Insert each.
func insertEach(ctx context.Context, p inserter, uri string, rows *BulkRows) (int64, error) {
	var n int64
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			return n, err
		}
		if _, err := p.Insert(ctx, uri, v); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}
