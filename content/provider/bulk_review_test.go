package provider

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/window"
)

// bulkOnly is a provider whose BulkInsert is scripted.
type bulkOnly struct {
	ReadOnly
	bulk func(ctx context.Context, rows *BulkRows) (int64, error)
}

func (p *bulkOnly) Query(context.Context, *content.Query) (Rows, error) {
	return nil, content.ErrNotFound
}
func (p *bulkOnly) BulkInsert(ctx context.Context, _ string, rows *BulkRows) (int64, error) {
	return p.bulk(ctx, rows)
}

// serveAndDial serves p (serveProvider) and returns a client of it,
// closed when the test ends (before the server stops).
func serveAndDial(t *testing.T, p Provider) *content.Client {
	t.Helper()
	path, _ := serveProvider(t, p)
	c, err := content.Dial(context.Background(), path)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// loadOneRow bulk-inserts one row into "t" through c and returns the
// load's answer.
func loadOneRow(t *testing.T, c *content.Client) error {
	t.Helper()
	b, err := c.BulkInsert(context.Background(), "t", []string{"i"})
	require.NoError(t, err)
	require.NoError(t, b.Append(1))
	_, err = b.Close()
	return err
}

// A BulkInserter returning a *WriteError without a cause costs its load,
// answered as an internal error, not the provider process.
func TestWriteErrorWithoutCause(t *testing.T) {
	p := &bulkOnly{bulk: func(_ context.Context, rows *BulkRows) (int64, error) {
		for rows.Next() {
		}
		return 0, &content.WriteError{Index: 0}
	}}
	require.ErrorIs(t, loadOneRow(t, serveAndDial(t, p)), content.ErrInternal)
}

// A provider that refuses a load at once is answered with its own error,
// every time: the load's first message is queued before the load runs.
func TestImmediateRefusalKeepsItsMeaning(t *testing.T) {
	p := &bulkOnly{bulk: func(context.Context, *BulkRows) (int64, error) { return 0, content.ErrNotFound }}
	c := serveAndDial(t, p)
	for range 300 {
		_, err := c.BulkInsert(context.Background(), "nope", []string{"i"})
		require.ErrorIs(t, err, content.ErrNotFound)
	}
}

// A consumer that gives up while its load starts aborts it: the provider
// does not wait out the write timeout in its transaction.
func TestBulkInsertGivenUpIsAborted(t *testing.T) {
	called, release := make(chan struct{}), make(chan struct{})
	ended := make(chan error, 1)
	p := &bulkOnly{bulk: func(_ context.Context, rows *BulkRows) (int64, error) {
		close(called)
		<-release // the consumer gives up meanwhile
		for rows.Next() {
		}
		ended <- rows.Err()
		return 0, rows.Err()
	}}
	c := serveAndDial(t, p)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-called; cancel() }()
	_, err := c.BulkInsert(ctx, "t", []string{"i"}) // no answer can come before release
	require.ErrorIs(t, err, context.Canceled)
	close(release)
	require.ErrorIs(t, <-ended, content.ErrClosed, "the load ends as aborted")
}

// A put that fails (even with ErrWindowFull, the row written or not) never
// sends its row, and PutRow returns instead of trying window after window.
func TestPutRowFailures(t *testing.T) {
	var rows atomic.Int64
	p := &bulkOnly{bulk: func(_ context.Context, r *BulkRows) (int64, error) {
		for r.Next() {
			rows.Add(1)
		}
		return rows.Load(), r.Err()
	}}
	c := serveAndDial(t, p)
	b, err := c.BulkInsert(context.Background(), "t", []string{"i"})
	require.NoError(t, err)
	require.NoError(t, b.Append(1))
	err = b.PutRow(func(w *window.Writer) error {
		w.PutInt64(0, 99)
		return window.ErrWindowFull // a lie: the row fits
	})
	require.ErrorIs(t, err, content.ErrBadRequest)
	err = b.PutRow(func(w *window.Writer) error { return errors.New("no value") })
	require.EqualError(t, err, "no value")
	require.NoError(t, b.Append(2))
	n, err := b.Close()
	require.NoError(t, err)
	assert.Equal(t, int64(2), n, "only the rows that were put")
}

// A batch writing more URIs than one batch may is refused before
// anything is applied.
func TestBatchOfTooManyURIs(t *testing.T) {
	c := serveAndDial(t, &bulkOnly{})
	ops := make([]content.Operation, maxBatchURIs+1)
	for i := range ops {
		ops[i] = content.Operation{Op: content.OpDelete, URI: string(rune('a'+i%26)) + string(rune(i))}
	}
	_, err := c.ApplyBatch(context.Background(), ops)
	require.ErrorIs(t, err, content.ErrBadRequest)
	assert.Contains(t, err.Error(), "more than 256 URIs")
}

// panicky is a Transactor whose transactions panic in Insert or Commit,
// counting how many began and how many ended.
type panicky struct {
	ReadOnly
	inCommit     bool
	began, ended atomic.Int64
}

func (p *panicky) Query(context.Context, *content.Query) (Rows, error) {
	return nil, content.ErrNotFound
}
func (p *panicky) Begin(context.Context) (Tx, error) {
	p.began.Add(1)
	return &panickyTx{p: p}, nil
}

type panickyTx struct {
	ReadOnly
	p    *panicky
	done bool
}

func (tx *panickyTx) Insert(context.Context, string, content.Values) (int64, error) {
	if !tx.p.inCommit {
		panic("insert")
	}
	return 1, nil
}
func (tx *panickyTx) Commit() error {
	if tx.p.inCommit {
		panic("commit")
	}
	return tx.end()
}
func (tx *panickyTx) Rollback() error { return tx.end() }
func (tx *panickyTx) end() error {
	if !tx.done {
		tx.done = true
		tx.p.ended.Add(1)
	}
	return nil
}

// A panic in a provider's transaction costs the request, and the
// transaction is rolled back: it never stays open (holding a database's
// write lock, say).
func TestPanicInATransactionRollsItBack(t *testing.T) {
	for _, inCommit := range []bool{false, true} {
		p := &panicky{inCommit: inCommit}
		c := serveAndDial(t, p)
		require.ErrorIs(t, loadOneRow(t, c), content.ErrInternal)
		_, err := c.ApplyBatch(context.Background(), []content.Operation{{Op: content.OpInsert, URI: "t"}})
		require.ErrorIs(t, err, content.ErrInternal)
		assert.Equal(t, p.began.Load(), p.ended.Load(), "in commit %v: every transaction ended", inCommit)
		assert.Equal(t, int64(2), p.began.Load())
	}
}
