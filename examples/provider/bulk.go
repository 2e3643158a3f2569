package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

// execer runs statements: the database, or a transaction's connection.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

var (
	_ provider.Transactor   = (*sqliteProvider)(nil)
	_ provider.BulkInserter = (*sqliteProvider)(nil)
)

// sqliteTx is a write transaction: BEGIN IMMEDIATE on a connection of its
// own, so that it takes SQLite's write lock at once (waiting up to the
// busy timeout) rather than failing to upgrade a read lock midway. The
// provider's queries run in read transactions of their own, unaffected.
type sqliteTx struct {
	p    *sqliteProvider
	conn *sql.Conn
	done bool
}

// Begin implements provider.Transactor: the writes of a batch (and of a
// bulk insert) are applied in one SQLite transaction.
func (p *sqliteProvider) Begin(ctx context.Context) (provider.Tx, error) {
	if p.readOnly {
		return nil, fmt.Errorf("%w: the provider is read-only", content.ErrUnsupported)
	}
	conn, err := p.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	p.counts.begin() // until end: the transaction's writes may commit
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		p.counts.end()
		conn.Close()
		return nil, sqlError(err)
	}
	return &sqliteTx{p: p, conn: conn}, nil
}

func (tx *sqliteTx) Insert(ctx context.Context, uri string, values content.Values) (int64, error) {
	return tx.p.insert(ctx, tx.conn, uri, values)
}

func (tx *sqliteTx) Update(ctx context.Context, uri string, values content.Values, selection string, args []any) (int64, error) {
	return tx.p.update(ctx, tx.conn, uri, values, selection, args)
}

func (tx *sqliteTx) Delete(ctx context.Context, uri string, selection string, args []any) (int64, error) {
	return tx.p.remove(ctx, tx.conn, uri, selection, args)
}

// Commit commits and gives the connection back.
func (tx *sqliteTx) Commit() error { return tx.end("COMMIT") }

// Rollback undoes the transaction and gives the connection back.
func (tx *sqliteTx) Rollback() error { return tx.end("ROLLBACK") }

func (tx *sqliteTx) end(stmt string) error {
	if tx.done {
		return sql.ErrTxDone
	}
	tx.done = true
	// Not the caller's context: a cancelled request still ends its
	// transaction.
	_, err := tx.conn.ExecContext(context.Background(), stmt)
	if err != nil && stmt == "COMMIT" {
		tx.conn.ExecContext(context.Background(), "ROLLBACK")
	}
	tx.p.counts.end()
	tx.conn.Close()
	return sqlError(err)
}

// bulkRowsPerStatement is how many rows one INSERT statement carries in a
// bulk insert (fewer for wide tables: SQLite binds at most 32766
// parameters a statement).
const bulkRowsPerStatement = 100

// BulkInsert implements provider.BulkInserter: every row of the load in
// one transaction, all or nothing, through a prepared multi-row INSERT.
// A statement that fails is replayed a row at a time to name the row.
func (p *sqliteProvider) BulkInsert(ctx context.Context, uri string, rows *provider.BulkRows) (int64, error) {
	t, err := p.writable(ctx, uri)
	if err != nil {
		return 0, err
	}
	cols := make([]string, len(rows.Columns()))
	for i, name := range rows.Columns() {
		c, err := t.column(name)
		if err != nil {
			return 0, err
		}
		cols[i] = quoteIdent(c)
	}
	tx, err := p.Begin(ctx)
	if err != nil {
		return 0, err
	}
	stx := tx.(*sqliteTx)
	defer stx.Rollback() // after Commit, a no-op
	ins, err := newBulkStmts(ctx, stx.conn, t.name, cols)
	if err != nil {
		return 0, err
	}
	defer ins.close()
	n, err := ins.load(ctx, rows)
	if err != nil {
		return 0, err
	}
	if err := stx.Commit(); err != nil {
		return 0, err
	}
	p.log.Info("bulk insert", "table", t.name, "rows", n)
	return n, nil
}

// bulkStmts are a bulk insert's prepared statements: one of many rows,
// one of a single row (for the rest, and to find a failing row).
type bulkStmts struct {
	many, one *sql.Stmt
	per       int // rows of many
	ncols     int
}

func newBulkStmts(ctx context.Context, conn *sql.Conn, table string, cols []string) (*bulkStmts, error) {
	b := &bulkStmts{ncols: len(cols), per: max(1, min(bulkRowsPerStatement, 32766/len(cols)))}
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	head := "INSERT INTO " + quoteIdent(table) + " (" + strings.Join(cols, ", ") + ") VALUES "
	var err error
	if b.one, err = conn.PrepareContext(ctx, head+row); err != nil {
		return nil, sqlError(err)
	}
	if b.many, err = conn.PrepareContext(ctx, head+strings.TrimSuffix(strings.Repeat(row+", ", b.per), ", ")); err != nil {
		b.one.Close()
		return nil, sqlError(err)
	}
	return b, nil
}

func (b *bulkStmts) close() {
	b.many.Close()
	b.one.Close()
}

// bulkBatch is the arguments of a run of rows read from a load: b.per
// rows, or fewer at the end.
type bulkBatch struct {
	args  []any
	first int64 // the load's row index of the first
	err   error // reading failed after args
}

// load inserts the rows, b.per at a time, and returns how many. A
// goroutine reads the rows out of the consumer's windows while SQLite
// inserts the batch before, so the copy out of the windows costs no
// time of SQLite's; load returns once it has stopped.
func (b *bulkStmts) load(ctx context.Context, rows *provider.BulkRows) (int64, error) {
	batches := make(chan bulkBatch, 2)
	free := make(chan []any, 3)
	for range cap(free) {
		free <- make([]any, 0, b.per*b.ncols)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(batches)
		b.read(rows, batches, free, stop)
	}()
	defer func() { close(stop); <-done }()
	var n int64
	for bt := range batches {
		if err := b.insert(ctx, bt); err != nil {
			return 0, err
		}
		if bt.err != nil {
			return 0, bt.err
		}
		n += int64(len(bt.args) / b.ncols)
		free <- bt.args[:0]
	}
	return n, nil
}

// batchBytes bounds the text and blob bytes of one batch: rows up to the
// largest window (64 MiB) would otherwise make a batch of 100 of them, and
// three batches are in flight.
const batchBytes = 1 << 20

// read fills batches with the rows' values until the rows end or stop
// is closed (checked at every row, so a failed load stops reading at
// once; a reader already waiting in Next for the consumer's next window
// waits for it, at most the server's write timeout, which bounds a load's
// pace, and the failure then answers that window); the last batch carries
// rows.Err. A batch holds b.per rows, or fewer past batchBytes.
func (b *bulkStmts) read(rows *provider.BulkRows, batches chan<- bulkBatch, free chan []any, stop <-chan struct{}) {
	send := func(bt bulkBatch) bool {
		select {
		case batches <- bt:
			return true
		case <-stop:
			return false
		}
	}
	var bt bulkBatch
	var size int
	for {
		if bt.args == nil {
			select {
			case bt.args = <-free:
			case <-stop:
				return
			}
		}
		select {
		case <-stop:
			return
		default:
		}
		if !rows.Next() {
			bt.err = rows.Err()
			send(bt)
			return
		}
		if len(bt.args) == 0 {
			bt.first = rows.Row()
		}
		bt.args = bt.args[:len(bt.args)+b.ncols]
		if bt.err = rows.Fields(bt.args[len(bt.args)-b.ncols:]); bt.err != nil {
			bt.args = bt.args[:len(bt.args)-b.ncols]
			send(bt)
			return
		}
		for _, v := range bt.args[len(bt.args)-b.ncols:] {
			switch v := v.(type) {
			case string:
				size += len(v)
			case []byte:
				size += len(v)
			}
		}
		if len(bt.args) == cap(bt.args) || size > batchBytes {
			if !send(bt) {
				return
			}
			bt, size = bulkBatch{}, 0
		}
	}
}

// insert runs a batch's rows: one statement for a full batch, one a row
// for the rest.
func (b *bulkStmts) insert(ctx context.Context, bt bulkBatch) error {
	if len(bt.args) != b.per*b.ncols {
		return b.eachRow(ctx, bt.args, bt.first, nil)
	}
	if _, err := b.many.ExecContext(ctx, bt.args...); err != nil {
		// SQLite undid the statement whole: replay its rows one at a
		// time to name the one that fails.
		return b.eachRow(ctx, bt.args, bt.first, err)
	}
	return nil
}

// eachRow inserts rows one statement each and names the row that fails.
// cause, when the rows replay a failed multi-row statement, is that
// statement's error: the load's failure if every row goes in alone.
func (b *bulkStmts) eachRow(ctx context.Context, args []any, first int64, cause error) error {
	for i := 0; i < len(args); i += b.ncols {
		if _, err := b.one.ExecContext(ctx, args[i:i+b.ncols]...); err != nil {
			return &content.WriteError{Index: first + int64(i/b.ncols), Err: sqlError(err)}
		}
	}
	switch {
	case cause == nil:
		return nil
	case errors.Is(cause, context.Canceled):
		return cause
	}
	return &content.WriteError{Index: first, Err: sqlError(cause)}
}
