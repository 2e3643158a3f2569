package content

import (
	"context"
	"errors"
	"fmt"

	"github.com/cursorwindow/cursorwindow/content/internal/wire"
	"github.com/cursorwindow/cursorwindow/parcel"
)

// Operation is one write of a batch (Client.ApplyBatch): Android's
// ContentProviderOperation.
type Operation struct {
	Op        Op // OpInsert, OpUpdate or OpDelete
	URI       string
	Values    Values // the row to insert, or the columns to update
	Selection string // which rows to update or delete
	Args      []any  // bound to Selection's placeholders
	// ValueRefs sets columns of Values to the result of an earlier
	// operation of the batch, by its index: an insert's id, an update's
	// or delete's count (withValueBackReference).
	ValueRefs map[string]int
	// ArgRefs sets elements of Args, by their index, to the result of an
	// earlier operation (withSelectionBackReference).
	ArgRefs map[int]int
}

// ApplyBatch applies ops in order as one transaction and returns each
// one's result (an insert's id, an update's or delete's count). Either
// every operation is applied or none is: a provider that cannot promise
// that refuses the batch with ErrUnsupported. A failed operation is
// reported as a *WriteError naming it (Kept is 0). Watchers are told
// once per batch of each URI it changed.
func (c *Client) ApplyBatch(ctx context.Context, ops []Operation) ([]int64, error) {
	if len(ops) > wire.MaxBatchOps {
		return nil, fmt.Errorf("%w: a batch of %d operations (at most %d)", ErrBadRequest, len(ops), wire.MaxBatchOps)
	}
	m := &wire.BatchMsg{Ops: make([]wire.BatchOp, len(ops))}
	for i, op := range ops {
		switch op.Op {
		case OpInsert, OpUpdate, OpDelete:
		default:
			return nil, fmt.Errorf("%w: batch operation %d is a %v", ErrBadRequest, i, op.Op)
		}
		m.Ops[i] = wire.BatchOp{
			Op: op.Op.String(), URI: op.URI, Values: op.Values, Selection: op.Selection,
			Args: op.Args, ValueRefs: op.ValueRefs, ArgRefs: op.ArgRefs,
		}
	}
	r, err := c.call(ctx, wire.CodeBatchReply, func(req uint64) parcel.Message { m.Req = req; return m })
	var tl *tooLarge
	if errors.As(err, &tl) {
		tl.hint = ": split the batch, or load many rows with Client.BulkInsert"
	}
	if err != nil {
		return nil, c.checkWriteError(err, int64(len(ops)))
	}
	res := r.msg.(*wire.BatchReplyMsg).Results
	if len(res) != len(ops) {
		return nil, fmt.Errorf("%w: %d results for a batch of %d", ErrProtocol, len(res), len(ops))
	}
	return res, nil
}

// checkWriteError returns err, unless it is a *WriteError naming a row
// or operation outside the n its request sent, or keeping more than
// that: a provider's lie, which ends the connection (ErrProtocol) before
// a caller indexes its own data with it.
func (c *Client) checkWriteError(err error, n int64) error {
	var we *WriteError
	if !errors.As(err, &we) || we.Index >= -1 && we.Index < n && we.Kept >= 0 && we.Kept <= n {
		return err
	}
	perr := fmt.Errorf("%w: a write error at %d (%d kept) for a request of %d", ErrProtocol, we.Index, we.Kept, n)
	c.abort(perr)
	return perr
}
