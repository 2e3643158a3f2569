package sqldriver

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/sqldriver/sqlparse"
)

// ErrNotCommitted reports a result asked of a write inside a transaction
// before the transaction was committed: the provider applies the
// transaction's writes at Commit, and only then says what they did.
var ErrNotCommitted = errors.New("sqldriver: the transaction is not committed yet")

// tx is a transaction: its writes are kept, and sent at Commit as one
// batch the provider applies together or not at all
// (content.Client.ApplyBatch).
type tx struct {
	c   *conn
	ctx context.Context
	ops []content.Operation
	res []*txResult // one per op
}

var _ driver.Tx = (*tx)(nil)

// BeginTx starts a transaction whose writes are sent as one atomic batch
// at Commit. A provider that cannot apply writes atomically refuses the
// Commit (ErrUnsupported). Queries inside the transaction are refused:
// the provider cannot show them the transaction's writes, nor isolate
// them from others'. Read-only transactions and isolation levels other
// than the default are refused for the same reason.
func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	switch {
	case c.tx != nil:
		return nil, errors.New("sqldriver: a transaction is open on this connection already")
	case opts.ReadOnly:
		return nil, &refusal{"sqldriver: read-only transactions are not supported: a provider cannot isolate reads; query without a transaction"}
	case sql.IsolationLevel(opts.Isolation) != sql.LevelDefault:
		return nil, &refusal{fmt.Sprintf("sqldriver: isolation level %v is not supported: a transaction's writes are applied together at Commit, and it cannot read",
			sql.IsolationLevel(opts.Isolation))}
	}
	c.tx = &tx{c: c, ctx: ctx}
	return c.tx, nil
}

// Begin starts a transaction: see BeginTx.
func (c *conn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// errReadInTx refuses a query inside a transaction.
var errReadInTx error = &refusal{"sqldriver: queries inside a transaction are not supported: " +
	"its writes are applied at Commit, so a query could not see them, nor be isolated from others' writes; query before or after the transaction"}

// add keeps a write of the transaction and returns its result, known once
// the transaction commits.
func (t *tx) add(st *sqlparse.Statement, vals content.Values, where []any) driver.Result {
	op := content.Operation{URI: st.Table, Values: vals, Selection: st.Selection(), Args: where}
	switch st.Kind {
	case sqlparse.Insert:
		op.Op = content.OpInsert
	case sqlparse.Update:
		op.Op = content.OpUpdate
	case sqlparse.Delete:
		op.Op = content.OpDelete
	}
	r := &txResult{kind: st.Kind}
	t.ops = append(t.ops, op)
	t.res = append(t.res, r)
	return r
}

// Commit sends the transaction's writes as one batch. A write that fails
// fails the Commit, and none of them is applied; the error names the
// statement (counted from 1 in the order executed).
func (t *tx) Commit() error {
	c := t.c
	c.tx = nil
	if len(t.ops) == 0 {
		return nil
	}
	res, err := c.c.ApplyBatch(t.ctx, t.ops)
	if err != nil {
		c.gone(err)
		var we *content.WriteError
		if errors.As(err, &we) && we.Index >= 0 && we.Index < int64(len(t.res)) {
			return fmt.Errorf("sqldriver: statement %d of the transaction (%v %s): %w", we.Index+1, t.res[we.Index].kind, t.ops[we.Index].URI, err)
		}
		return err
	}
	for i, r := range t.res {
		r.value, r.done = res[i], true
	}
	return nil
}

// Rollback forgets the transaction's writes: none was sent.
func (t *tx) Rollback() error {
	t.c.tx = nil
	return nil
}

// txResult is the result of a write inside a transaction: known after
// Commit.
type txResult struct {
	kind  sqlparse.Kind
	value int64 // an INSERT's id, or the rows an UPDATE or DELETE changed
	done  bool
}

// LastInsertId returns the id of the row an INSERT added, once the
// transaction is committed (ErrNotCommitted before).
func (r *txResult) LastInsertId() (int64, error) {
	switch {
	case r.kind != sqlparse.Insert:
		return 0, fmt.Errorf("sqldriver: LastInsertId after %v: the provider reports ids of INSERTs only", r.kind)
	case !r.done:
		return 0, ErrNotCommitted
	}
	return r.value, nil
}

// RowsAffected returns the rows the write changed, once the transaction
// is committed (ErrNotCommitted before): 1 for an INSERT.
func (r *txResult) RowsAffected() (int64, error) {
	switch {
	case !r.done:
		return 0, ErrNotCommitted
	case r.kind == sqlparse.Insert:
		return 1, nil
	}
	return r.value, nil
}

// BulkInsert inserts rows into table through one of db's connections as
// one bulk insert (content.Client.BulkInsert): the rows travel in shared
// memory, not one request each. fill appends the rows, each with the
// columns' values in order (b.Append); an error it returns aborts the
// load. It returns the number of rows inserted; the example provider
// inserts all of them or, if one fails, none (a *content.WriteError names
// the row).
func BulkInsert(ctx context.Context, db *sql.DB, table string, columns []string, fill func(b *content.Bulk) error) (int64, error) {
	sc, err := db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer sc.Close()
	var n int64
	err = sc.Raw(func(dc any) error {
		c, ok := dc.(*conn)
		if !ok {
			return fmt.Errorf("sqldriver: BulkInsert on a %T, not a cursorwindow connection", dc)
		}
		b, err := c.c.BulkInsert(ctx, table, columns)
		if err != nil {
			c.gone(err)
			return err
		}
		if err := fill(b); err != nil {
			b.Abort()
			return err
		}
		n, err = b.Close()
		c.gone(err)
		return err
	})
	return n, err
}
