package provider

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/internal/wire"
)

// Transactor is implemented by providers that can apply several writes
// together or not at all: Android's applyBatch on a SQLite-backed
// provider. The server uses it for Client.ApplyBatch, which a provider
// without it refuses with content.ErrUnsupported (a batch is never half-applied
// silently), and for a bulk insert when the provider is no BulkInserter.
type Transactor interface {
	// Begin starts a transaction; the server then calls its writes,
	// then Commit or Rollback, from one goroutine.
	Begin(ctx context.Context) (Tx, error)
}

// Tx is a provider's transaction: writes as Provider's, seen by others
// only once committed, and undone by Rollback.
type Tx interface {
	Insert(ctx context.Context, uri string, values content.Values) (int64, error)
	Update(ctx context.Context, uri string, values content.Values, selection string, args []any) (int64, error)
	Delete(ctx context.Context, uri string, selection string, args []any) (int64, error)
	Commit() error
	Rollback() error
}

// maxBatchURIs bounds the distinct URIs one batch may write: each is a
// change the server brackets.
const maxBatchURIs = 256

// batchOps are the operations a batch may hold.
var batchOps = map[string]content.Op{wire.WriteInsert: content.OpInsert, wire.WriteUpdate: content.OpUpdate, wire.WriteDelete: content.OpDelete}

// checkBatch checks a batch before anything is applied: known
// operations, back-references to earlier operations only, and the
// peer's permission for each. It returns the URIs the batch writes, each
// once, in the order they first appear.
func (c *serverConn) checkBatch(ops []wire.BatchOp) ([]string, error) {
	if len(ops) > wire.MaxBatchOps {
		return nil, fmt.Errorf("%w: a batch of %d operations (at most %d)", content.ErrBadRequest, len(ops), wire.MaxBatchOps)
	}
	var uris []string
	seen := make(map[string]bool)
	for _, op := range ops {
		if !seen[op.URI] {
			seen[op.URI] = true
			if uris = append(uris, op.URI); len(uris) > maxBatchURIs {
				return nil, fmt.Errorf("%w: a batch writing more than %d URIs", content.ErrBadRequest, maxBatchURIs)
			}
		}
	}
	for i, op := range ops {
		kind, ok := batchOps[op.Op]
		if !ok {
			return nil, &content.WriteError{Index: int64(i), Err: fmt.Errorf("%w: batch operation %q", content.ErrBadRequest, op.Op)}
		}
		for col, ref := range op.ValueRefs {
			if ref < 0 || ref >= i {
				return nil, &content.WriteError{Index: int64(i), Err: fmt.Errorf("%w: column %q refers to operation %d", content.ErrBadRequest, col, ref)}
			}
		}
		for arg, ref := range op.ArgRefs {
			if ref < 0 || ref >= i || arg < 0 || arg >= len(op.Args) {
				return nil, &content.WriteError{Index: int64(i), Err: fmt.Errorf("%w: argument %d refers to operation %d", content.ErrBadRequest, arg, ref)}
			}
		}
		if err := c.permit(kind, op.URI); err != nil {
			return nil, &content.WriteError{Index: int64(i), Err: err}
		}
	}
	return uris, nil
}

// handleBatch applies a batch and answers it.
func (c *serverConn) handleBatch(ctx context.Context, m *wire.BatchMsg) {
	res, err := c.runBatch(ctx, m.Ops)
	if err != nil {
		c.writeErr(m.Req, err)
		return
	}
	c.write(&wire.BatchReplyMsg{Req: m.Req, Results: res})
}

// runBatch applies ops in one transaction of the provider, as a change
// of every URI they touch: watchers are told once per URI, and only if
// the batch was committed.
func (c *serverConn) runBatch(ctx context.Context, ops []wire.BatchOp) (res []int64, err error) {
	uris, err := c.checkBatch(ops)
	if err != nil {
		return nil, err
	}
	t, ok := c.s.prov.(Transactor)
	if !ok {
		return nil, fmt.Errorf("%w: the provider cannot apply a batch atomically", content.ErrUnsupported)
	}
	for _, u := range uris {
		c.s.cache.begin(u)
	}
	func() {
		defer func() {
			for _, u := range uris {
				c.s.cache.end(u)
			}
		}()
		res, err = c.applyBatch(ctx, t, ops)
	}()
	if err == nil {
		for _, u := range uris {
			c.s.NotifyChange(u)
		}
	}
	return res, err
}

// applyBatch runs the operations in a transaction of t; a panic in the
// provider rolls it back and fails the batch alone.
func (c *serverConn) applyBatch(ctx context.Context, t Transactor, ops []wire.BatchOp) (res []int64, err error) {
	defer c.recovered("batch", &err)
	tx, err := t.Begin(ctx)
	if err != nil {
		return nil, err
	}
	done := false
	defer func() {
		if !done {
			tx.Rollback()
		}
	}()
	res = make([]int64, len(ops))
	for i := range ops {
		if res[i], err = applyOp(ctx, tx, &ops[i], res[:i]); err != nil {
			return nil, &content.WriteError{Index: int64(i), Err: err}
		}
	}
	err = tx.Commit()
	done = true // Commit returned: it ended the transaction (a panic in it leaves done false)
	if err != nil {
		tx.Rollback()
		return nil, &content.WriteError{Index: -1, Err: err}
	}
	return res, nil
}

// applyOp applies one operation, its back-references resolved against
// the results before it.
func applyOp(ctx context.Context, tx Tx, op *wire.BatchOp, before []int64) (int64, error) {
	values := op.Values
	if len(op.ValueRefs) > 0 {
		values = maps.Clone(values)
		if values == nil {
			values = content.Values{}
		}
		for col, ref := range op.ValueRefs {
			values[col] = before[ref]
		}
	}
	args := op.Args
	if len(op.ArgRefs) > 0 {
		args = slices.Clone(args)
		for i, ref := range op.ArgRefs {
			args[i] = before[ref]
		}
	}
	switch op.Op {
	case wire.WriteInsert:
		return tx.Insert(ctx, op.URI, values)
	case wire.WriteUpdate:
		return tx.Update(ctx, op.URI, values, op.Selection, args)
	}
	return tx.Delete(ctx, op.URI, op.Selection, args)
}
