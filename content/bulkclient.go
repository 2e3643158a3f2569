package content

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/cursorwindow/cursorwindow/content/internal/wire"
	"github.com/cursorwindow/cursorwindow/parcel"
	"github.com/cursorwindow/cursorwindow/window"
)

// Bulk is a bulk insert under way (Client.BulkInsert): Android's
// bulkInsert, without the copy. Rows appended to it are written into a
// window in shared memory; each full window is sealed and its descriptor
// sent, and the provider inserts its rows while the next window fills.
// A few windows are in flight at most, and each comes back for refilling
// once the provider has read it, so a load of any size costs the memory
// of those few.
//
// A Bulk is used by one goroutine. End it with Close, which waits for the
// provider's count, or Abort.
type Bulk struct {
	c    *Client
	ctx  context.Context
	id   uint64
	cols int
	pool *window.Pool
	// big is the largest window the provider takes (for a row larger
	// than a pooled window); max the windows in flight at most.
	big int64
	max int

	w      *window.Writer // the window being filled; nil between windows
	pooled bool           // w is the pool's
	sent   int64          // rows in the windows sent
	flight []sentBulk     // sent and not answered, oldest first
	done   bool           // the last message is sent, or the load ended
	n      int64          // rows inserted, once Close has the answer
	err    error          // why the load failed, for every later call
}

// sentBulk is a window of a bulk insert awaiting its answer.
type sentBulk struct {
	id     uint64
	ch     chan reply
	w      *window.Writer
	pooled bool
}

// BulkInsert starts a bulk insert of rows of the named columns into uri,
// and returns once the provider has accepted it (the caller's permission,
// the limits). ctx governs the whole load, as database/sql's BeginTx's
// does its transaction. Append rows, then Close for the count inserted.
//
// A provider inserts a load all or nothing when it can (a BulkInserter,
// or with a Transactor); one that inserts row by row keeps the rows before
// a failure, and the *WriteError reporting it says how many.
func (c *Client) BulkInsert(ctx context.Context, uri string, columns []string) (*Bulk, error) {
	if len(columns) == 0 || len(columns) > wire.MaxBulkColumns {
		return nil, fmt.Errorf("%w: a bulk insert of %d columns", ErrBadRequest, len(columns))
	}
	size := c.hello.WindowSize
	b := &Bulk{
		c: c, ctx: ctx, cols: len(columns),
		big: max(c.hello.MaxRowWindow, size),
		max: min(3, max(1, c.hello.MaxWindows/2)),
	}
	pool, err := window.NewPool(size, size*int64(b.max+1))
	if err != nil {
		return nil, err
	}
	b.pool = pool
	start := &wire.BulkMsg{URI: uri, Columns: slices.Clone(columns)}
	r, err := c.call(ctx, wire.CodeOK, func(req uint64) parcel.Message {
		start.Req, start.Bulk, b.id = req, req, req
		return start
	})
	if err != nil {
		pool.Close()
		var pe *ProviderError
		if !errors.As(err, &pe) && b.id != 0 { // the provider may have started the load: end it
			c.ctl.post(&wire.BulkMsg{Bulk: b.id, Last: true, Abort: true})
		}
		return nil, err
	}
	c.discard(r.msg, r.files)
	return b, nil
}

// Append adds a row: one value per column, in the order BulkInsert named
// them (nil, any integer, float32/64, bool, string or []byte). A value
// that cannot be stored is an error for this row alone.
func (b *Bulk) Append(values ...any) error {
	if len(values) != b.cols {
		return fmt.Errorf("%w: %d values for %d columns", ErrBadRequest, len(values), b.cols)
	}
	return b.PutRow(func(w *window.Writer) error {
		for i, v := range values {
			if err := wire.PutValue(w, i, v); err != nil {
				return err
			}
		}
		return nil
	})
}

// PutRow adds a row whose fields put writes into w's last row, as Rows.Put
// does: the way to append without a value boxed per field. put may be
// called again for the same row (in a new window, if the row did not fit).
// An error of put other than window.ErrWindowFull drops the row and is
// returned; the load goes on.
func (b *Bulk) PutRow(put func(w *window.Writer) error) error {
	if b.err != nil {
		return b.err
	}
	if b.done {
		return fmt.Errorf("%w: the bulk insert has ended", ErrClosed)
	}
	for {
		if b.w == nil {
			if err := b.nextWindow(false); err != nil {
				return b.fail(err)
			}
		}
		err := b.putRow(put)
		switch {
		case err == nil && !b.pooled:
			return b.flush(false) // a one-off window holds its one row alone
		case err == nil:
			return nil
		case !errors.Is(err, window.ErrWindowFull):
			return err
		case b.w.NumRows() > 0: // full: send it, and put the row in the next
			if err := b.flush(false); err != nil {
				return err
			}
		case !b.pooled:
			return fmt.Errorf("%w: a row larger than the provider's largest window (%d bytes)", ErrBadRequest, b.big)
		default: // an empty pooled window: the row needs a larger one
			b.pool.Put(b.w)
			b.w = nil
			if err := b.nextWindow(true); err != nil {
				return b.fail(err)
			}
		}
	}
}

// putRow adds a row to the window being filled with put; if put fails,
// the row is removed again (whatever put returned), so a failed row never
// travels.
func (b *Bulk) putRow(put func(w *window.Writer) error) error {
	before := b.w.NumRows()
	if err := b.w.AllocRow(); err != nil {
		if errors.Is(err, window.ErrWindowFull) {
			return err
		}
		return b.fail(err)
	}
	err := put(b.w)
	if err != nil && b.w.NumRows() > before {
		b.w.FreeLastRow()
	}
	return err
}

// Flush sends the rows appended so far without waiting for their window
// to fill. A provider waits for a load's next window no longer than its
// write timeout (10 s by default) before failing the load, so a consumer
// whose rows come slowly (from a pipe, say) flushes at least that often.
func (b *Bulk) Flush() error {
	if b.err != nil {
		return b.err
	}
	if b.done || b.w == nil || b.w.NumRows() == 0 {
		return nil
	}
	return b.flush(false)
}

// Rows returns how many rows have been appended so far.
func (b *Bulk) Rows() int64 {
	if b.w == nil {
		return b.sent
	}
	return b.sent + int64(b.w.NumRows())
}

// nextWindow starts a window to fill: the pool's, or, with big (or for a
// load too wide for it), one the size of the provider's largest window
// for a row no pooled one holds.
func (b *Bulk) nextWindow(big bool) error {
	// A load so wide that a pooled window holds no row of it always
	// takes the larger window.
	big = big || window.MinSize(b.cols) > b.c.hello.WindowSize
	var err error
	if big {
		b.w, err = window.Create(b.cols, window.WithMaxSize(b.big), window.WithStartPos(b.sent))
	} else {
		b.w, err = b.pool.Get(b.ctx, b.cols, b.sent)
	}
	b.pooled = !big && err == nil
	return err
}

// flush seals the window being filled and sends it (or, with last and no
// rows, the end of the load alone), first waiting for an answer if as
// many windows as allowed are in flight.
func (b *Bulk) flush(last bool) error {
	if len(b.flight) >= b.max {
		if err := b.await(); err != nil {
			return err
		}
	}
	m := &wire.BulkMsg{Bulk: b.id, Last: last}
	sb := sentBulk{w: b.w, pooled: b.pooled}
	b.w = nil
	var files []*os.File
	if sb.w != nil && sb.w.NumRows() > 0 {
		seal := sb.w.Seal
		if sb.pooled {
			seal = sb.w.SealReusable
		}
		if err := seal(); err != nil {
			b.recycle(sb)
			return b.fail(err)
		}
		m.Rows = sb.w.NumRows()
		files = append(files, sb.w.File())
	} else if sb.w != nil {
		b.recycle(sb)
		sb.w = nil
	}
	want := wire.CodeOK
	if last {
		want = wire.CodeWriteReply
	}
	id, ch, err := b.c.start(b.ctx, want, func(req uint64) parcel.Message { m.Req = req; return m }, files...)
	if err != nil {
		b.recycle(sb)
		return b.fail(err)
	}
	sb.id, sb.ch = id, ch
	b.flight = append(b.flight, sb)
	b.sent += int64(m.Rows)
	b.done = last
	return nil
}

// await waits for the answer to the oldest window in flight and takes the
// window back.
func (b *Bulk) await() error {
	sb := b.flight[0]
	b.flight = b.flight[1:]
	r, err := b.c.wait(b.ctx, sb.id, sb.ch)
	b.recycle(sb)
	if err != nil {
		return b.fail(b.c.checkWriteError(err, b.sent))
	}
	if wr, ok := r.msg.(*wire.WriteReplyMsg); ok {
		b.n = wr.Count
	}
	return nil
}

// recycle takes back a window the provider has read (or never saw).
func (b *Bulk) recycle(sb sentBulk) {
	switch {
	case sb.w == nil:
	case sb.pooled:
		b.pool.Put(sb.w)
	default:
		sb.w.Close()
	}
}

// fail ends the load with err: the windows in flight are given up, the
// provider told to abort unless the load has ended already, and every
// later call returns err.
func (b *Bulk) fail(err error) error {
	if b.err != nil {
		return b.err
	}
	b.err = err
	var pe *ProviderError
	if !errors.As(err, &pe) && !b.done { // the provider ends a load it failed itself
		b.c.ctl.post(&wire.BulkMsg{Bulk: b.id, Last: true, Abort: true})
	}
	b.done = true
	b.release()
	return err
}

// release gives up the windows in flight and the pool.
func (b *Bulk) release() {
	for _, sb := range b.flight {
		b.c.abandon(sb.id, sb.ch)
		if sb.w != nil {
			sb.w.Close()
		}
	}
	b.flight = nil
	if b.w != nil {
		b.recycle(sentBulk{w: b.w, pooled: b.pooled})
		b.w = nil
	}
	b.pool.Close()
}

// Close sends the rows not yet sent, waits until the provider has
// inserted them all, and returns how many rows it inserted. A failure is
// returned as a *WriteError naming the row that failed and how many
// before it were kept (0 for a provider that inserts all or nothing).
func (b *Bulk) Close() (int64, error) {
	if b.err != nil {
		return 0, b.err
	}
	if !b.done {
		if err := b.flush(true); err != nil {
			return 0, err
		}
	}
	for len(b.flight) > 0 {
		if err := b.await(); err != nil {
			return 0, err
		}
	}
	if b.pool != nil {
		b.pool.Close()
		b.pool = nil
	}
	return b.n, nil
}

// Abort ends the load without waiting: the provider drops what it has
// not committed (a provider that inserts row by row keeps the rows it
// inserted). It is a no-op after Close.
func (b *Bulk) Abort() {
	if b.err == nil && b.pool != nil {
		b.fail(fmt.Errorf("%w: the bulk insert was aborted", ErrClosed))
	}
}
