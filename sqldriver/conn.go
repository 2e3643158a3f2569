package sqldriver

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/sqldriver/sqlparse"
)

// conn is one connection of the database/sql pool: one content.Client.
type conn struct {
	c     *content.Client
	cfg   *config
	stmts *stmtCache // the connector's
	// bad is set once a call found the connection to the provider ended;
	// database/sql then drops the connection (IsValid, ResetSession).
	bad atomic.Bool
	tx  *tx // the open transaction, if any
}

var (
	_ driver.Conn               = (*conn)(nil)
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.NamedValueChecker  = (*conn)(nil)
	_ driver.SessionResetter    = (*conn)(nil)
	_ driver.Validator          = (*conn)(nil)
)

// Prepare parses query; the statement runs when executed.
func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// PrepareContext parses query. A prepared statement costs the provider
// nothing: it is parsed here, and sent as a query or write when run.
func (c *conn) PrepareContext(_ context.Context, query string) (driver.Stmt, error) {
	st, err := c.stmts.parse(query)
	if err != nil {
		return nil, err
	}
	return &stmt{c: c, st: st}, nil
}

// Close closes the connection to the provider.
func (c *conn) Close() error { return c.c.Close() }

// QueryContext runs a SELECT.
func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	st, err := c.stmts.parse(query)
	if err != nil {
		return nil, err
	}
	return c.query(ctx, st, args)
}

// ExecContext runs an INSERT, UPDATE or DELETE.
func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	st, err := c.stmts.parse(query)
	if err != nil {
		return nil, err
	}
	return c.exec(ctx, st, args)
}

func (c *conn) query(ctx context.Context, st *sqlparse.Statement, args []driver.NamedValue) (driver.Rows, error) {
	if st.Kind != sqlparse.Select {
		return nil, &refusal{fmt.Sprintf("sqldriver: %v with Query: run writes with Exec", st.Kind)}
	}
	if c.tx != nil {
		return nil, errReadInTx
	}
	q, noRows, err := st.Query(values(args))
	if err != nil {
		return nil, err
	}
	cur, err := c.c.Query(ctx, q, c.cfg.queryOpts...)
	if err != nil {
		if c.gone(err) {
			// Nothing was changed: the pool may run the query again on
			// another connection.
			return nil, fmt.Errorf("%w: %w", driver.ErrBadConn, err)
		}
		return nil, err
	}
	r := &rows{c: c, cur: cur, cols: cur.Columns(), types: cur.ColumnTypes()}
	if noRows {
		cur.Close()
		r.cur = nil
	}
	return r, nil
}

func (c *conn) exec(ctx context.Context, st *sqlparse.Statement, args []driver.NamedValue) (driver.Result, error) {
	if st.Kind == sqlparse.Select {
		return nil, &refusal{"sqldriver: SELECT with Exec: run queries with Query"}
	}
	if c.bad.Load() {
		return nil, driver.ErrBadConn // nothing sent: the pool may retry
	}
	vals, where, err := st.Write(values(args))
	if err != nil {
		return nil, err
	}
	if c.tx != nil {
		return c.tx.add(st, vals, where), nil
	}
	res := result{kind: st.Kind}
	switch st.Kind {
	case sqlparse.Insert:
		res.id, err = c.c.Insert(ctx, st.Table, vals)
		res.n = 1
	case sqlparse.Update:
		res.n, err = c.c.Update(ctx, st.Table, vals, st.Selection(), where...)
	case sqlparse.Delete:
		res.n, err = c.c.Delete(ctx, st.Table, st.Selection(), where...)
	}
	if err != nil {
		// Never driver.ErrBadConn here: the provider may have applied the
		// write before the connection ended, and the pool would apply it
		// again. The connection is dropped all the same.
		c.gone(err)
		return nil, err
	}
	return res, nil
}

// gone reports whether err means the connection to the provider ended,
// and if so marks the connection bad. A provider's answer (a
// *content.ProviderError) never does: the provider was there to give it.
func (c *conn) gone(err error) bool {
	var pe *content.ProviderError
	if errors.As(err, &pe) {
		return false
	}
	if errors.Is(err, content.ErrProviderGone) || errors.Is(err, content.ErrProtocol) || errors.Is(err, content.ErrClosed) {
		c.bad.Store(true)
		return true
	}
	return false
}

// ResetSession tells database/sql, before it reuses a pooled connection,
// whether the connection to the provider is known to have ended.
func (c *conn) ResetSession(context.Context) error {
	if !c.IsValid() {
		return driver.ErrBadConn
	}
	return nil
}

// IsValid tells database/sql whether to keep the connection in its pool:
// not once a request saw it fail, nor once the client's connection ended
// (a provider that restarted: the pool then redials before a write is
// sent into a dead connection).
func (c *conn) IsValid() bool { return !c.bad.Load() && c.c.Err() == nil }

// CheckNamedValue converts an argument to what a provider takes: nil,
// int64, float64, string or []byte (database/sql's default conversion),
// bool as 0 or 1 and time.Time as an RFC 3339 string, as
// provider.SQLRows stores them. Named arguments are refused.
func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	if nv.Name != "" {
		return &refusal{fmt.Sprintf("sqldriver: named argument %q: write ? and pass the arguments in order", nv.Name)}
	}
	v, err := driver.DefaultParameterConverter.ConvertValue(nv.Value)
	if err != nil {
		return err
	}
	switch x := v.(type) {
	case bool:
		v = int64(0)
		if x {
			v = int64(1)
		}
	case time.Time:
		v = x.Format(time.RFC3339Nano)
	}
	nv.Value = v
	return nil
}

// values returns the arguments' values in order.
func values(args []driver.NamedValue) []any {
	if len(args) == 0 {
		return nil
	}
	vs := make([]any, len(args))
	for i, a := range args {
		vs[i] = a.Value
	}
	return vs
}

// stmt is a parsed statement.
type stmt struct {
	c  *conn
	st *sqlparse.Statement
}

var (
	_ driver.StmtQueryContext = (*stmt)(nil)
	_ driver.StmtExecContext  = (*stmt)(nil)
)

func (s *stmt) Close() error  { return nil }
func (s *stmt) NumInput() int { return s.st.NumParams() }

func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), named(args))
}

func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), named(args))
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.c.exec(ctx, s.st, args)
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.c.query(ctx, s.st, args)
}

func named(args []driver.Value) []driver.NamedValue {
	nv := make([]driver.NamedValue, len(args))
	for i, a := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	return nv
}

// result is what a write reports.
type result struct {
	kind sqlparse.Kind
	id   int64 // INSERT: the new row's id
	n    int64 // rows affected
}

// LastInsertId returns the id the provider gave the row an INSERT added.
func (r result) LastInsertId() (int64, error) {
	if r.kind != sqlparse.Insert {
		return 0, fmt.Errorf("sqldriver: LastInsertId after %v: the provider reports ids of INSERTs only", r.kind)
	}
	return r.id, nil
}

// RowsAffected returns the number of rows the write changed: 1 for an
// INSERT, the provider's count for UPDATE and DELETE.
func (r result) RowsAffected() (int64, error) { return r.n, nil }
