package content

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cursorwindow/cursorwindow/content/internal/wire"
	"github.com/cursorwindow/cursorwindow/parcel"
	"github.com/cursorwindow/cursorwindow/window"
)

// ErrNoRow reports a cursor accessor called while the cursor is not on a
// row (before the first Next, after the last).
var ErrNoRow = errors.New("content: cursor not on a row")

// QueryOption configures one query.
type QueryOption func(*queryConfig)

type queryConfig struct {
	prefetch int
	inline   bool
}

// WithPrefetch sets how many windows ahead a forward scan asks for while
// it reads the current one (default 1; 0 turns the pipeline off).
func WithPrefetch(n int) QueryOption { return func(c *queryConfig) { c.prefetch = max(n, 0) } }

// WithCopiedWindows has the provider copy every window through the socket
// instead of sharing memory: for comparisons, and for a consumer that
// cannot map memory.
func WithCopiedWindows() QueryOption { return func(c *queryConfig) { c.inline = true } }

// Cursor iterates the rows of a query result, reading every value in place
// from the window that holds the current row; moving past the window
// fetches the one that covers the new position. Like database/sql.Rows:
//
//	cur, err := client.Query(ctx, &content.Query{URI: "trips"})
//	if err != nil { ... }
//	defer cur.Close()
//	for cur.Next() {
//		id, err := cur.Int64(0)
//		...
//	}
//	if err := cur.Err(); err != nil { ... }
//
// A Cursor is not safe for concurrent use.
type Cursor struct {
	c     *Client
	ctx   context.Context
	msg   wire.QueryMsg
	cfg   queryConfig
	query uint64
	cols  []string
	types []ColumnType // nil when the provider declared none
	count int64
	pos   int64 // -1 before the first row
	cur   *clientWindow
	// The current row, resolved once per move: its window (nil when the
	// cursor is not on a row), its index there and the window's rows.
	rw    *window.Window
	ri    int
	rn    int
	ahead []pendingWindow
	// squeezed counts the windows left before the cursor prefetches
	// again, after a prefetch was answered busy.
	squeezed int
	err      error // the first error of Next, Move or Requery
	done     bool  // after the last row
	closed   bool
	guard    runtime.Cleanup // reports the cursor if it is collected unclosed (guarded)
	guarded  bool
}

// clientWindow is a window the cursor holds.
type clientWindow struct {
	w     *window.Window
	start int64
	rows  int64
	last  bool
	win   uint64
	// mapped reports a reader from the client's Mappings: closing it
	// gives the mapping back to the cache (inline windows and copies
	// are the cursor's own).
	mapped bool
	query  uint64 // the query it answers, for its release
	// refs counts the cursor's reference and the holds of HoldBlock;
	// the last drop releases the window.
	refs atomic.Int32
}

type pendingWindow struct {
	id uint64
	ch chan reply
}

// Query runs a query and returns a cursor before its first row. ctx bounds
// the query call and every window fetch the cursor makes later.
func (c *Client) Query(ctx context.Context, q *Query, opts ...QueryOption) (*Cursor, error) {
	if q.Limit < 0 {
		return nil, fmt.Errorf("%w: limit %d: want 0 (no limit) or more", ErrBadRequest, q.Limit)
	}
	if err := checkValues(nil, q.Args); err != nil {
		return nil, err
	}
	cur := &Cursor{c: c, ctx: ctx, cfg: queryConfig{prefetch: 1}, pos: -1}
	for _, o := range opts {
		o(&cur.cfg)
	}
	cur.msg = wire.QueryMsg{
		URI: q.URI, Projection: q.Projection, Selection: q.Selection, Args: q.Args,
		Order: q.Order, Limit: q.Limit, Inline: cur.cfg.inline,
	}
	if err := cur.run(); err != nil {
		return nil, err
	}
	c.guard(cur)
	return cur, nil
}

// run sends the query and takes its first window.
func (cur *Cursor) run() error {
	id, r, err := cur.c.callForWindow(cur.ctx, func(req uint64) parcel.Message {
		cur.msg.Req = req // written before the call returns: the cursor's own to reuse
		return &cur.msg
	}, func() {})
	if err != nil {
		if id != 0 && cur.ctx.Err() != nil {
			// Abandoned: the query is known by its request id, so the
			// provider can stop filling it now.
			cur.c.ctl.post(&wire.CloseQueryMsg{Query: id})
		}
		return err
	}
	wm := r.msg.(*wire.WindowMsg) // the reader checked the type
	if err := checkDescriptor(wm, len(r.files), id, -1, true); err != nil {
		wire.CloseFiles(r.files)
		cur.c.abort(err) // the provider is not to be trusted any more
		return err
	}
	cur.query, cur.cols, cur.count = wm.Query, wm.Columns, wm.Count
	cur.types = columnTypes(wm)
	if wm.Done {
		cur.query = 0 // closed by the provider already
	}
	cw, err := cur.openWindow(wm, r.files)
	if err != nil {
		cur.closeQuery()
		return err
	}
	if len(cur.cols) == 0 || cw.w.NumColumns() != len(cur.cols) {
		cur.c.drop(cw)
		cur.closeQuery()
		return fmt.Errorf("%w: %d column names for %d columns", ErrProtocol, len(cur.cols), cw.w.NumColumns())
	}
	cur.cur = cw
	cur.prefetch()
	return nil
}

// checkDescriptor checks a window descriptor against the request it
// answers (query id, whether it is the query's first answer) and the
// count known so far (-1: none), before anything it names is opened. A
// descriptor that contradicts itself breaks the protocol.
func checkDescriptor(wm *wire.WindowMsg, files int, query uint64, count int64, first bool) error {
	end := wm.Start + int64(wm.Rows)
	var bad string
	switch {
	case wm.Query != query:
		bad = fmt.Sprintf("a window of query %d answers query %d", wm.Query, query)
	case wm.Start < 0 || wm.Rows < 0 || end < wm.Start:
		bad = fmt.Sprintf("a window at %d of %d rows", wm.Start, wm.Rows)
	case wm.Count < -1 || (wm.Count >= 0 && wm.Count < end):
		bad = fmt.Sprintf("a count of %d for a window ending at row %d", wm.Count, end)
	case wm.Last && wm.Count >= 0 && wm.Count != end:
		bad = fmt.Sprintf("a last window ending at row %d of a result of %d rows", end, wm.Count)
	case count >= 0 && wm.Count >= 0 && wm.Count != count:
		bad = fmt.Sprintf("a count of %d after a count of %d", wm.Count, count)
	case wm.Done && (!first || !wm.Last || wm.Start != 0):
		bad = "a query closed (d) by an answer that is not its whole result"
	case first && len(wm.Columns) == 0:
		bad = "a query's first window without column names"
	case len(wm.Types) != 0 && len(wm.Types) != len(wm.Columns),
		len(wm.Nullable) != 0 && len(wm.Nullable) != len(wm.Columns):
		bad = fmt.Sprintf("%d column types and %d nullabilities for %d columns", len(wm.Types), len(wm.Nullable), len(wm.Columns))
	case wm.Inline != nil && (files != 0 || wm.Win != 0 || wm.Backing != ""):
		bad = fmt.Sprintf("an inline window with %d descriptors, window id %d, backing %q", files, wm.Win, wm.Backing)
	case wm.Inline == nil && wm.Win == 0:
		bad = fmt.Sprintf("a shared window (%d descriptors, backing %q) without a window id", files, wm.Backing)
	case wm.Inline == nil && files+btoi(wm.Backing != "") != 1:
		bad = fmt.Sprintf("a window with %d descriptors and backing %q", files, wm.Backing)
	default:
		return nil
	}
	return fmt.Errorf("%w: the provider sent %s", ErrProtocol, bad)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// openWindow opens the window a reply carries (its descriptor checked).
func (cur *Cursor) openWindow(wm *wire.WindowMsg, files []*os.File) (*clientWindow, error) {
	cw := &clientWindow{start: wm.Start, last: wm.Last, win: wm.Win, query: wm.Query}
	cw.refs.Store(1)
	var err error
	switch {
	case len(files) == 1 && wm.Inline == nil:
		cw.w, err = cur.c.maps.Open(files[0])
		cw.mapped = err == nil
	case len(files) == 0 && wm.Inline != nil && wm.Win == 0:
		cw.w, err = window.OpenBytes(wm.Inline)
	case len(files) == 0 && wm.Inline == nil && wm.Backing != "" && wm.Win != 0:
		var loc window.Location
		if loc, err = wm.Location(); err == nil {
			cw.w, err = cur.c.maps.CopyLocation(loc)
		}
	default:
		wire.CloseFiles(files)
		err = fmt.Errorf("%w: window with %d files and %d inline bytes", ErrProtocol, len(files), len(wm.Inline))
	}
	if err != nil {
		if wm.Win != 0 {
			cur.c.ctl.post(&wire.ReleaseMsg{Query: wm.Query, Win: wm.Win})
		}
		return nil, err
	}
	if cur.cols != nil && cw.w.NumColumns() != len(cur.cols) {
		cur.c.drop(cw)
		return nil, fmt.Errorf("%w: a window of %d columns for a result of %d", ErrProtocol, cw.w.NumColumns(), len(cur.cols))
	}
	if cw.w.StartPos() != wm.Start || cw.w.NumRows() != wm.Rows {
		cur.c.drop(cw)
		return nil, fmt.Errorf("%w: window header (start %d, %d rows) disagrees with its descriptor (start %d, %d rows)",
			ErrProtocol, cw.w.StartPos(), cw.w.NumRows(), wm.Start, wm.Rows)
	}
	cw.rows = int64(wm.Rows)
	if wm.Count >= 0 {
		cur.count = wm.Count
	}
	return cw, nil
}

// checkAndOpen checks the descriptor of a window answering a fill
// request, then opens the window. A bad descriptor ends the connection.
func (cur *Cursor) checkAndOpen(wm *wire.WindowMsg, files []*os.File) (*clientWindow, error) {
	if err := checkDescriptor(wm, len(files), cur.query, cur.count, false); err != nil {
		wire.CloseFiles(files)
		cur.c.abort(err)
		return nil, err
	}
	return cur.openWindow(wm, files)
}

// drop drops a reference to a window. The last one releases it: the
// mapping is kept for reuse, the provider may recycle the memory. It is
// safe from any goroutine (a hold's release calls it), and needs no
// cursor: a hold outlives its cursor.
func (c *Client) drop(cw *clientWindow) {
	if cw == nil || cw.refs.Add(-1) > 0 {
		return
	}
	if cw.mapped {
		cw.w.Close()
	}
	if cw.win != 0 {
		if m := (&wire.ReleaseMsg{Query: cw.query, Win: cw.win}); !c.ctl.hold(m) {
			c.ctl.post(m)
		}
		c.gaveBack()
	}
}

// prefetch asks for the windows after the newest one held or asked for,
// unless a prefetch was answered busy in the last few windows: prefetch
// gives way to other cursors' windows.
func (cur *Cursor) prefetch() {
	if cur.cur == nil || cur.cur.last {
		return
	}
	if cur.squeezed > 0 {
		cur.squeezed--
		return
	}
	for len(cur.ahead) < cur.cfg.prefetch {
		id, ch, err := cur.c.start(cur.ctx, wire.CodeWindow, func(req uint64) parcel.Message {
			return &wire.FillWindowMsg{Req: req, Query: cur.query, Start: -1}
		})
		if err != nil {
			return // reported when the window is needed
		}
		cur.ahead = append(cur.ahead, pendingWindow{id, ch})
	}
}

// Columns returns the result's column names.
func (cur *Cursor) Columns() []string { return slices.Clone(cur.cols) }

// ColumnTypes returns the columns' declared types, or nil if the provider
// declared none (its Rows are not Typed).
func (cur *Cursor) ColumnTypes() []ColumnType { return slices.Clone(cur.types) }

// columnTypes decodes the declared types of a first window's columns.
func columnTypes(wm *wire.WindowMsg) []ColumnType {
	if len(wm.Types) == 0 && len(wm.Nullable) == 0 {
		return nil
	}
	out := make([]ColumnType, len(wm.Columns))
	for i := range out {
		if i < len(wm.Types) {
			out[i].DatabaseType = wm.Types[i]
		}
		if i < len(wm.Nullable) && wm.Nullable[i] >= 0 {
			out[i].Nullable, out[i].NullableKnown = wm.Nullable[i] == 1, true
		}
	}
	return out
}

// ColumnIndex returns the index of the named column, or -1.
func (cur *Cursor) ColumnIndex(name string) int { return slices.Index(cur.cols, name) }

// Count returns the total number of rows, or -1 while the provider does
// not know it (it is known at the latest once the last window arrived).
func (cur *Cursor) Count() int64 { return cur.count }

// Position returns the current row's position in the result, -1 before
// the first row.
func (cur *Cursor) Position() int64 { return cur.pos }

// Err returns the first error that stopped Next or Move, if any, also
// after Close (as database/sql.Rows.Err does). Closing a cursor is not an
// error.
func (cur *Cursor) Err() error { return cur.err }

// Next moves to the next row. It returns false at the end of the result or
// on an error, which Err then reports.
func (cur *Cursor) Next() bool {
	if cur.rw != nil && cur.ri+1 < cur.rn { // within the window
		cur.ri++
		cur.pos++
		return true
	}
	if cur.err != nil || cur.closed || cur.done {
		return false
	}
	return cur.Move(cur.pos + 1)
}

// Move moves to position pos of the result. It returns false if pos is
// past the end (the cursor then stands after the last row), if pos is
// negative (the cursor then stands before the first row: Move(-1)
// rewinds, as Android's moveToPosition(-1)), or on an error, which Err
// reports; the cursor then stays on the row it was on, still readable
// (unless it had to wait for a window: see WithBusyWait).
// After an error (the provider gone, say), Move still reaches the rows of
// the window the cursor holds. Moving backwards fetches a window that also
// covers a few rows before pos, so stepping back again is cheap.
func (cur *Cursor) Move(pos int64) bool {
	if cur.closed {
		return false
	}
	if pos < 0 {
		cur.rw, cur.pos, cur.done = nil, -1, false
		return false
	}
	cw := cur.cur
	if cw != nil && pos >= cw.start && pos < cw.start+cw.rows {
		cur.onRow(pos)
		cur.done = false
		return true
	}
	if cw != nil && cw.last && pos >= cw.start+cw.rows || cw == nil && cur.done {
		cur.afterLast()
		return false
	}
	if cur.err != nil {
		return false
	}
	if err := cur.fetch(pos); err != nil {
		cur.err = err
		return false
	}
	cw = cur.cur
	if pos >= cw.start+cw.rows { // past the end of the result
		cur.afterLast()
		return false
	}
	cur.onRow(pos)
	cur.done = false
	return true
}

// afterLast puts the cursor after the last row of the result.
func (cur *Cursor) afterLast() {
	cur.rw, cur.done = nil, true
	if cw := cur.cur; cw != nil {
		cur.pos = cw.start + cw.rows
	}
}

// onRow puts the cursor on row pos of the current window.
func (cur *Cursor) onRow(pos int64) {
	cw := cur.cur
	cur.pos = pos
	cur.rw, cur.ri, cur.rn = cw.w, int(pos-cw.start), int(cw.rows)
}

// fetch makes the window covering pos current.
func (cur *Cursor) fetch(pos int64) error {
	// The pipeline: the next window may already be on its way.
	for len(cur.ahead) > 0 {
		p := cur.ahead[0]
		cur.ahead = cur.ahead[1:]
		cw, err := cur.await(p)
		if err != nil && busyAnswer(err) {
			cur.squeezed = squeezeWindows // asked again below, waiting its turn
			continue
		}
		if err != nil {
			return err
		}
		if pos >= cw.start && (pos < cw.start+cw.rows || cw.last) {
			cur.c.drop(cur.cur)
			cur.cur = cw
			cur.prefetch()
			return nil
		}
		cur.c.drop(cw) // a random move: the pipeline is of no use
	}
	for _, near := range []bool{true, false} {
		_, r, err := cur.c.callForWindow(cur.ctx, func(req uint64) parcel.Message {
			return &wire.FillWindowMsg{Req: req, Query: cur.query, Start: pos, Near: near}
		}, func() {
			cur.c.drop(cur.cur) // moving on: its rows are read
			cur.cur, cur.rw = nil, nil
		})
		if err != nil {
			return err
		}
		cw, err := cur.checkAndOpen(r.msg.(*wire.WindowMsg), r.files)
		if err != nil {
			return err
		}
		if pos >= cw.start && (pos < cw.start+cw.rows || cw.last) {
			cur.c.drop(cur.cur)
			cur.cur = cw
			cur.prefetch()
			return nil
		}
		cur.c.drop(cw) // the provider started too early: ask exactly
	}
	return fmt.Errorf("%w: no window covers position %d", ErrProtocol, pos)
}

// squeezeWindows is how many windows a cursor reads without prefetching
// after a prefetch was answered busy.
const squeezeWindows = 16

func (cur *Cursor) await(p pendingWindow) (*clientWindow, error) {
	r, err := cur.c.wait(cur.ctx, p.id, p.ch)
	if err != nil {
		return nil, err
	}
	return cur.checkAndOpen(r.msg.(*wire.WindowMsg), r.files)
}

// Requery runs the query again (after a change notification, say) and
// puts the cursor before the first row.
func (cur *Cursor) Requery(ctx context.Context) error {
	if cur.closed {
		return ErrClosed
	}
	cur.release()
	cur.closeQuery()
	cur.ctx, cur.pos, cur.err, cur.done = ctx, -1, nil, false
	if err := cur.run(); err != nil {
		cur.err = err
		return err
	}
	if cur.guarded && !cur.holds() { // a small result now: nothing to leak
		cur.guard.Stop()
		cur.guarded = false
	}
	cur.c.guard(cur)
	return nil
}

// release drops every window the cursor holds or awaits, without waiting
// for the provider.
func (cur *Cursor) release() {
	for _, p := range cur.ahead {
		cur.c.abandon(p.id, p.ch)
	}
	cur.ahead = nil
	cur.c.drop(cur.cur)
	cur.cur, cur.rw = nil, nil
}

// closeQuery tells the provider to close the query. It does not wait for
// an answer (request id 0 gets none): closing never blocks on a provider
// that is slow, hung or hostile.
func (cur *Cursor) closeQuery() {
	if cur.query != 0 {
		cur.c.ctl.post(&wire.CloseQueryMsg{Query: cur.query})
		cur.query = 0
		cur.c.gaveBack()
	}
}

// Close releases the cursor's windows on both sides. Views returned by
// Bytes and StringView become invalid. Close is idempotent, never waits
// on the provider, and leaves Err as it was.
func (cur *Cursor) Close() error {
	if cur.closed {
		return nil
	}
	cur.closed = true
	if cur.guarded {
		cur.guard.Stop()
	}
	cur.release()
	cur.closeQuery()
	return nil
}

// fieldErr restates a window's field error in the cursor's terms: the
// row's position in the result and the column's name.
func (cur *Cursor) fieldErr(col int, err error) error {
	var fe *window.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	name := ""
	if col >= 0 && col < len(cur.cols) {
		name = " (" + cur.cols[col] + ")"
	}
	return &wrapped{
		msg: fmt.Sprintf("content: row %d, column %d%s: %s", cur.pos, col, name, strings.TrimPrefix(fe.Err.Error(), "window: ")),
		err: fe.Err,
	}
}

// wrapped is an error with its own text that matches the error it wraps.
type wrapped struct {
	msg string
	err error
}

func (e *wrapped) Error() string { return e.msg }
func (e *wrapped) Unwrap() error { return e.err }

// row returns the current window and row index in it.
func (cur *Cursor) row() (*window.Window, int, error) {
	if cur.rw == nil {
		if cur.closed {
			return nil, 0, ErrClosed
		}
		return nil, 0, ErrNoRow
	}
	return cur.rw, cur.ri, nil
}

// Row returns the current row for window.Row's inlined accessors, the
// fastest way to read it, with ok false when the cursor is not on a row.
// An accessor that says no (NULL, another type, an empty string, a damaged
// field) leaves the field to the Cursor's accessor of the same name. The
// Row and its views are valid until the cursor moves to another window or
// is closed.
func (cur *Cursor) Row() (r window.Row, ok bool) {
	return cur.rw.Row(cur.ri) // a nil window (off a row) has no rows
}

// Type returns the type of column col of the current row.
func (cur *Cursor) Type(col int) (window.FieldType, error) {
	w, r, err := cur.row()
	if err != nil {
		return 0, err
	}
	v, err := w.Type(r, col)
	if err != nil {
		return v, cur.fieldErr(col, err)
	}
	return v, nil
}

// IsNull reports whether column col of the current row is NULL.
func (cur *Cursor) IsNull(col int) (bool, error) {
	w, r, err := cur.row()
	if err != nil {
		return false, err
	}
	v, err := w.IsNull(r, col)
	if err != nil {
		return v, cur.fieldErr(col, err)
	}
	return v, nil
}

// Int64 returns column col of the current row as an int64. As Android's
// Cursor.getLong does, it converts: a FLOAT64 is truncated, a STRING is
// parsed, and NULL reads as 0 — use IsNull or NullInt64 to tell a NULL
// from a zero. A BLOB is an error matching window.ErrType.
func (cur *Cursor) Int64(col int) (int64, error) {
	if r, ok := cur.Row(); ok {
		if v, ok := r.Int64(col); ok {
			return v, nil
		}
	}
	w, r, err := cur.row()
	if err != nil {
		return 0, err
	}
	v, err := w.Int64(r, col)
	if err != nil {
		return v, cur.fieldErr(col, err)
	}
	return v, nil
}

// Float64 returns column col of the current row as a float64, converting
// as Int64 does; NULL reads as 0 (see NullFloat64).
func (cur *Cursor) Float64(col int) (float64, error) {
	if r, ok := cur.Row(); ok {
		if v, ok := r.Float64(col); ok {
			return v, nil
		}
	}
	w, r, err := cur.row()
	if err != nil {
		return 0, err
	}
	v, err := w.Float64(r, col)
	if err != nil {
		return v, cur.fieldErr(col, err)
	}
	return v, nil
}

// String returns a copy of column col of the current row as a string;
// NULL reads as "" (see NullString).
func (cur *Cursor) String(col int) (string, error) {
	w, r, err := cur.row()
	if err != nil {
		return "", err
	}
	v, err := w.String(r, col)
	if err != nil {
		return v, cur.fieldErr(col, err)
	}
	return v, nil
}

// StringView returns column col of the current row without copying it.
// The string is valid only until the cursor moves to another window or is
// closed; copy what you keep.
func (cur *Cursor) StringView(col int) (string, error) {
	w, r, err := cur.row()
	if err != nil {
		return "", err
	}
	v, err := w.StringView(r, col)
	if err != nil {
		return v, cur.fieldErr(col, err)
	}
	return v, nil
}

// Bytes returns column col of the current row (STRING or BLOB) without
// copying it. The bytes are valid only until the cursor moves to another
// window or is closed; must not be modified.
func (cur *Cursor) Bytes(col int) ([]byte, error) {
	if r, ok := cur.Row(); ok {
		if v, ok := r.Bytes(col); ok {
			return v, nil
		}
	}
	w, r, err := cur.row()
	if err != nil {
		return nil, err
	}
	v, err := w.Bytes(r, col)
	if err != nil {
		return v, cur.fieldErr(col, err)
	}
	return v, nil
}

// NextBlock moves the cursor to the first row of the next block: the
// rows from there to the end of the window that holds it. A block is read
// with the window's batch reads (Int64s, Float64s, Views, Types), one
// call per column instead of one per field:
//
//	for cur.NextBlock() {
//		w, row, left := cur.Block()
//		for left > 0 {
//			k, err := w.Int64s(0, row, ids[:min(left, len(ids))])
//			... // use ids[:k]
//			row, left = row+k, left-k
//		}
//	}
//
// It returns false at the end of the result or on an error (Err). Next
// and Move may be mixed with it: NextBlock leaves the rest of the block
// the cursor stands in.
func (cur *Cursor) NextBlock() bool {
	target := cur.pos + 1
	if cur.rw != nil {
		target = cur.cur.start + cur.cur.rows
	}
	if cur.err != nil || cur.closed || (cur.done && target > cur.pos) {
		return false
	}
	return cur.Move(target)
}

// Block returns the window holding the cursor's row, the row's index in
// it and how many rows remain in the window from there (nil, 0, 0 when
// the cursor is not on a row). The window is valid, and its views too,
// until the cursor leaves it (moves to another window, or is closed).
func (cur *Cursor) Block() (w *window.Window, row, n int) {
	if cur.rw == nil {
		return nil, 0, 0
	}
	return cur.rw, cur.ri, cur.rn - cur.ri
}

// HoldBlock returns what Block returns, with a hold on the window: the
// window and every view into it (its Buffers, Bytes, StringView) stay
// valid after the cursor leaves the window or is closed, until release is
// called. It is for readers that hand the window's memory on without a
// copy, as Arrow arrays over its buffers.
//
// Call release once when done (later calls do nothing); it may be called
// from any goroutine. Until then the window stays the consumer's: the
// provider does not recycle it, and it counts against the windows the
// connection may hold (a provider's Limits): while holds keep the
// connection at that limit, a window fetched comes as the few rows an
// inline window of the provider's inline limit holds (16 KiB by default,
// copied through the socket: many more round trips), and a query's first
// window waits busy (WithBusyWait, then ErrBusy). A hold never released
// keeps the window mapped in this process; the provider gets it back when
// the connection closes.
func (cur *Cursor) HoldBlock() (w *window.Window, row, n int, release func()) {
	if cur.rw == nil {
		return nil, 0, 0, func() {}
	}
	c, cw := cur.c, cur.cur
	cw.refs.Add(1)
	var once sync.Once
	return cur.rw, cur.ri, cur.rn - cur.ri, func() { once.Do(func() { c.drop(cw) }) }
}

// NullInt64 returns column col of the current row as a sql.NullInt64:
// Valid is false for NULL.
func (cur *Cursor) NullInt64(col int) (sql.NullInt64, error) {
	if null, err := cur.IsNull(col); err != nil || null {
		return sql.NullInt64{}, err
	}
	v, err := cur.Int64(col)
	return sql.NullInt64{Int64: v, Valid: err == nil}, err
}

// NullFloat64 returns column col of the current row as a sql.NullFloat64:
// Valid is false for NULL.
func (cur *Cursor) NullFloat64(col int) (sql.NullFloat64, error) {
	if null, err := cur.IsNull(col); err != nil || null {
		return sql.NullFloat64{}, err
	}
	v, err := cur.Float64(col)
	return sql.NullFloat64{Float64: v, Valid: err == nil}, err
}

// NullString returns a copy of column col of the current row as a
// sql.NullString: Valid is false for NULL.
func (cur *Cursor) NullString(col int) (sql.NullString, error) {
	if null, err := cur.IsNull(col); err != nil || null {
		return sql.NullString{}, err
	}
	v, err := cur.String(col)
	return sql.NullString{String: v, Valid: err == nil}, err
}

// All returns the remaining rows as a sequence of positions: the cursor
// stands on each row during its iteration. If the scan fails, the last
// pair carries the error (and position -1).
func (cur *Cursor) All() iter.Seq2[int64, error] {
	return func(yield func(int64, error) bool) {
		for cur.Next() {
			if !yield(cur.pos, nil) {
				return
			}
		}
		if err := cur.Err(); err != nil {
			yield(-1, err)
		}
	}
}
