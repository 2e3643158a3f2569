package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/provider"
	"github.com/cursorwindow/cursorwindow/window"
)

// SQLite primary result codes the provider maps to consumer errors.
const (
	sqliteError      = 1  // SQLITE_ERROR: here, a statement SQLite will not run (an expression nested too deep, too many terms)
	sqliteBusy       = 5  // SQLITE_BUSY: another writer (a bulk insert's transaction, say) held the lock past busy_timeout
	sqliteLocked     = 6  // SQLITE_LOCKED: a conflict inside the database connection's own transactions
	sqliteTooBig     = 18 // SQLITE_TOOBIG: a string, blob or statement over SQLite's limits
	sqliteConstraint = 19 // SQLITE_CONSTRAINT: NOT NULL, UNIQUE, CHECK...
	sqliteMismatch   = 20 // SQLITE_MISMATCH: a non-integer rowid
)

// busyTimeout is how long a writer waits for another's lock: the DSN's
// busy_timeout(5000). Past it the write is refused busy.
const busyTimeout = 5 * time.Second

// sqliteProvider serves the tables of one SQLite database as a
// provider.Provider. A query's URI is a table name; projections, orders and
// selections are checked against the table's real columns and rebuilt
// from them (see selection.go), and values are bound, never spliced.
type sqliteProvider struct {
	db       *sql.DB
	readOnly bool
	tables   map[string]*table // exposed tables by exact name
	names    []string          // their names, sorted
	log      *slog.Logger
	// perm, if set, is the server's per-URI check: Call lists only the
	// tables the caller may query.
	perm provider.Permission
	// snapshotAge bounds how long a query holds its read transaction
	// (default defaultSnapshotAge).
	snapshotAge time.Duration
	snaps       sync.Map     // *txRows -> struct{}: the open snapshots
	counts      counts       // the counts of queries, by version
	countsRead  atomic.Int64 // count(*) statements run (a test's figure)
}

// defaultSnapshotAge is how long a query's snapshot lives by default: a
// scan slower than this goes on in a new snapshot if the table is
// unchanged, and fails with content.ErrChanged if not.
const defaultSnapshotAge = 5 * time.Minute

var _ provider.Provider = (*sqliteProvider)(nil)

// table is the schema of an exposed table, read once at open.
type table struct {
	name    string
	cols    []string // column names in declared order
	types   []string // declared types
	notNull []bool   // declared NOT NULL, or an INTEGER PRIMARY KEY (the rowid: never NULL)
	// tiebreak is an alias of the rowid appended to every ORDER BY so
	// that re-running a query returns rows in the same order (the server
	// re-runs queries to move cursors backwards); "" for WITHOUT ROWID
	// tables.
	tiebreak string
}

// column returns the table's spelling of a column name, matched
// case-insensitively as SQLite does.
func (t *table) column(name string) (string, error) {
	for _, c := range t.cols {
		if strings.EqualFold(c, name) {
			return c, nil
		}
	}
	return "", fmt.Errorf("%w: table %s has no column %q (columns: %s)",
		content.ErrBadRequest, t.name, name, strings.Join(t.cols, ", "))
}

// projection returns the SELECT list for the requested columns (all of
// them when none are named), and their declared types and nullability.
func (t *table) projection(names []string) (string, []content.ColumnType, error) {
	if len(names) == 0 {
		names = t.cols
	}
	quoted := make([]string, len(names))
	types := make([]content.ColumnType, len(names))
	for i, n := range names {
		c, err := t.column(n)
		if err != nil {
			return "", nil, err
		}
		j := slices.Index(t.cols, c)
		quoted[i] = quoteIdent(c)
		types[i] = content.ColumnType{DatabaseType: strings.ToUpper(t.types[j]), Nullable: !t.notNull[j], NullableKnown: true}
	}
	return strings.Join(quoted, ", "), types, nil
}

// openSQLite opens the database at path (which must exist) and reads the
// schema of its tables. With readOnly the database is opened read-only and
// writes are refused.
func openSQLite(ctx context.Context, path string, readOnly bool, log *slog.Logger) (*sqliteProvider, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	mode := "rw" // never create: a mistyped --db is an error, not an empty database
	if readOnly {
		mode = "ro"
	}
	// _dqs=0: a double-quoted name that is not a column is an error, not
	// a string literal (the identifiers are checked anyway).
	dsn := "file:" + (&url.URL{Path: abs}).EscapedPath() + "?mode=" + mode +
		"&_pragma=busy_timeout(5000)&_dqs=0"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	// Every open query holds a connection (its read transaction): bound
	// them, and let idle ones go. The server's query limits (maxQueries)
	// stay below the bound, so a query is refused as busy rather than
	// left waiting for a connection.
	db.SetMaxOpenConns(maxDBConns)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(time.Minute)
	p := &sqliteProvider{db: db, readOnly: readOnly, tables: map[string]*table{}, log: log, snapshotAge: defaultSnapshotAge}
	if err := p.useWAL(ctx, path); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := p.loadSchema(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return p, nil
}

// useWAL puts a database the provider writes in WAL mode: each query
// holds a read transaction (its snapshot) until it is closed, which in a
// rollback journal would keep every writer waiting. A read-only provider
// leaves the journal as it is.
func (p *sqliteProvider) useWAL(ctx context.Context, path string) error {
	var mode string
	if err := p.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return err
	}
	if strings.EqualFold(mode, "wal") || p.readOnly {
		return nil
	}
	if err := p.db.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode); err != nil {
		return err
	}
	p.log.Info("switched the database to WAL, so that open queries do not keep writers waiting", "db", path, "journal_mode", mode)
	return nil
}

// maxDBConns bounds the provider's SQLite connections; maxQueries (in
// total) and maxUIDQueries (per peer uid) bound its open queries below
// it, leaving connections for writes and schema calls.
const (
	maxDBConns    = 64
	maxQueries    = maxDBConns - 8
	maxUIDQueries = maxQueries / 2
)

// Close closes the database.
func (p *sqliteProvider) Close() error { return p.db.Close() }

// loadSchema reads the user tables from sqlite_master and their columns
// from PRAGMA table_info.
func (p *sqliteProvider) loadSchema(ctx context.Context) error {
	rows, err := p.db.QueryContext(ctx,
		`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return err
		}
		p.names = append(p.names, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, name := range p.names {
		t := &table{name: name}
		info, err := p.db.QueryContext(ctx, `SELECT name, type, "notnull", pk FROM pragma_table_info(?)`, name)
		if err != nil {
			return err
		}
		var pks []int
		for info.Next() {
			var col, typ string
			var notNull bool
			var pk int
			if err := info.Scan(&col, &typ, &notNull, &pk); err != nil {
				info.Close()
				return err
			}
			if pk > 0 {
				pks = append(pks, len(t.cols))
			}
			t.cols = append(t.cols, col)
			t.types = append(t.types, typ)
			t.notNull = append(t.notNull, notNull)
		}
		info.Close()
		if err := info.Err(); err != nil {
			return err
		}
		if len(pks) == 1 && strings.EqualFold(t.types[pks[0]], "INTEGER") {
			t.notNull[pks[0]] = true // an alias of the rowid (in a rowid table; WITHOUT ROWID needs NOT NULL on its key)
		}
		for _, alias := range []string{"rowid", "_rowid_", "oid"} {
			if _, err := t.column(alias); err == nil {
				continue // a real column hides the alias
			}
			if _, err := p.db.ExecContext(ctx, "SELECT "+alias+" FROM "+quoteIdent(name)+" LIMIT 0"); err == nil {
				t.tiebreak = alias
			}
			break
		}
		p.tables[name] = t
	}
	return nil
}

// table returns the exposed table a URI names. The tables an unknown
// name's error lists are those the caller may query (as Call "tables"
// lists them): a refusal never names a table the caller may not see.
func (p *sqliteProvider) table(ctx context.Context, uri string) (*table, error) {
	if t := p.tables[uri]; t != nil {
		return t, nil
	}
	visible := make([]string, 0, len(p.names))
	for _, n := range p.names {
		if p.mayQuery(ctx, n) == nil {
			visible = append(visible, n)
		}
	}
	return nil, fmt.Errorf("%w: no table %q (tables: %s)", content.ErrNotFound, uri, strings.Join(visible, ", "))
}

// Query implements provider.Provider. The result is read in a read
// transaction of its own, its snapshot: the count, the rows and every
// later Reposition read the same version of the database, whatever is
// written meanwhile (WAL: readers and writers do not block each other).
func (p *sqliteProvider) Query(ctx context.Context, q *content.Query) (provider.Rows, error) {
	return p.QueryAt(ctx, q, 0)
}

var _ provider.Seeker = (*sqliteProvider)(nil)

// QueryAt implements provider.Seeker: the rows of q from row start on,
// skipped inside SQLite (OFFSET) rather than stepped through in Go, in a
// read transaction of their own. The server calls it only while the
// table is unchanged since the query's first rows; the rows it returns
// reposition inside their own transaction (provider.Repositioner).
func (p *sqliteProvider) QueryAt(ctx context.Context, q *content.Query, start int64) (provider.Rows, error) {
	pl, err := p.plan(ctx, q)
	if err != nil {
		return nil, err
	}
	// The snapshot's context: database/sql rolls the transaction back
	// when it is cancelled, whatever the rows are doing, so a forgotten
	// cursor cannot pin the WAL (and stall its checkpoints) past the age
	// limit.
	sctx, cancel := context.WithCancelCause(ctx)
	tx, err := p.db.BeginTx(sctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		cancel(nil)
		return nil, err
	}
	r := &txRows{plan: pl, p: p, ctx: sctx, cancel: cancel, tx: tx}
	r.timer = time.AfterFunc(p.snapshotAge, r.expire)
	p.snaps.Store(r, struct{}{})
	// The transaction's first read starts its snapshot (BEGIN is
	// deferred): a row of the table is read first, so the count, the
	// rows opened after it and every Reposition read that version. The
	// count of a version counted before is not read again (counts).
	v1, quiet1 := p.counts.now()
	var one int
	if err := tx.QueryRowContext(sctx, pl.touch).Scan(&one); err != nil && !errors.Is(err, sql.ErrNoRows) {
		r.Close()
		return nil, r.expired(sqlError(err))
	}
	v2, quiet2 := p.counts.now()
	known := quiet1 && quiet2 && v1 == v2 // the snapshot is version v1
	key := countKey(pl)
	var counted bool
	if known {
		r.count, counted = p.counts.get(key, v1)
	}
	if !counted {
		if err := tx.QueryRowContext(sctx, pl.count, pl.countArgs...).Scan(&r.count); err != nil {
			r.Close()
			return nil, r.expired(sqlError(err))
		}
		p.countsRead.Add(1)
		if known {
			p.counts.put(key, v1, r.count)
		}
	}
	if err := r.Reposition(ctx, start); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// errSnapshotAge is the cause of an expired snapshot's cancellation.
var errSnapshotAge = errors.New("the snapshot reached its age limit")

// expireSnapshots ends every open snapshot now, as their age limit does.
func (p *sqliteProvider) expireSnapshots() {
	p.snaps.Range(func(r, _ any) bool {
		r.(*txRows).expire()
		return true
	})
}

// plan is a query turned into SQL: the statement without its LIMIT and
// OFFSET, and the statement that counts its rows.
type plan struct {
	stmt      string
	types     []content.ColumnType // the projection's, from the schema
	args      []any
	limit     int64 // 0 for none
	count     string
	countArgs []any
	touch     string // reads a row of the table: starts a snapshot
}

// plan checks q against the table's schema and builds its statements.
func (p *sqliteProvider) plan(ctx context.Context, q *content.Query) (*plan, error) {
	t, err := p.table(ctx, q.URI)
	if err != nil {
		return nil, err
	}
	proj, types, err := t.projection(q.Projection)
	if err != nil {
		return nil, err
	}
	where, err := t.where(q.Selection, len(q.Args))
	if err != nil {
		return nil, err
	}
	args, err := sqlValues(q.Args)
	if err != nil {
		return nil, err
	}
	order, err := t.orderBy(q.Order)
	if err != nil {
		return nil, err
	}
	if q.Limit < 0 {
		return nil, badRequest("negative limit %d", q.Limit)
	}
	from := " FROM " + quoteIdent(t.name)
	if where != "" {
		from += " WHERE " + where
	}
	pl := &plan{stmt: "SELECT " + proj + from, types: types, args: args, limit: q.Limit,
		count: "SELECT count(*)" + from, countArgs: args, touch: "SELECT 1 FROM " + quoteIdent(t.name) + " LIMIT 1"}
	if order != "" {
		pl.stmt += " ORDER BY " + order
		if t.tiebreak != "" {
			pl.stmt += ", " + t.tiebreak
		}
	}
	if q.Limit > 0 {
		pl.count = "SELECT count(*) FROM (SELECT 1" + from + " LIMIT ?)"
		pl.countArgs = append(slices.Clip(args), q.Limit)
	}
	return pl, nil
}

// at returns the statement and arguments of the rows from start on.
func (pl *plan) at(start int64) (string, []any) {
	switch {
	case pl.limit > 0:
		return pl.stmt + " LIMIT ? OFFSET ?", append(slices.Clip(pl.args), max(pl.limit-start, 0), start)
	case start > 0:
		return pl.stmt + " LIMIT -1 OFFSET ?", append(slices.Clip(pl.args), start)
	}
	return pl.stmt, pl.args
}

// txRows are the rows of one query and the read transaction they are read
// in, which they hold until closed, or until the snapshot's age limit
// (--snapshot-age) rolls it back: they then report
// provider.ErrSnapshotExpired, and the server opens the query again if the
// table is unchanged.
type txRows struct {
	*plan
	p      *sqliteProvider
	ctx    context.Context // the snapshot's: done at its age limit or when the query ends
	cancel context.CancelCauseFunc
	timer  *time.Timer // the age limit
	tx     *sql.Tx
	rows   provider.Rows // the statement from the last Reposition
	count  int64
	// endCause is why the snapshot's context was done when Next last
	// returned false (nil if it was not).
	endCause error
}

// expire ends the snapshot: database/sql rolls its transaction back.
func (r *txRows) expire() { r.cancel(errSnapshotAge) }

var (
	_ provider.Counter      = (*txRows)(nil)
	_ provider.Repositioner = (*txRows)(nil)
	_ provider.Typed        = (*txRows)(nil)
)

// Reposition implements provider.Repositioner: the statement again, from
// row start on, inside the same transaction.
func (r *txRows) Reposition(_ context.Context, start int64) error {
	if r.rows != nil {
		r.rows.Close()
		r.rows = nil
	}
	r.endCause = nil
	stmt, args := r.at(start)
	r.p.log.Debug("query", "sql", stmt, "args", args)
	sr, err := r.tx.QueryContext(r.ctx, stmt, args...)
	if err != nil {
		return r.expired(sqlError(err))
	}
	r.rows, err = provider.SQLRows(sr)
	return r.expired(err)
}

// expired reports err as provider.ErrSnapshotExpired when the snapshot's
// age limit ended the transaction.
func (r *txRows) expired(err error) error {
	if err != nil && context.Cause(r.ctx) == errSnapshotAge {
		return fmt.Errorf("%w: %v", provider.ErrSnapshotExpired, err)
	}
	return err
}

func (r *txRows) Columns() []string { return r.rows.Columns() }

// Next moves to the next row; at the end it notes whether the age limit
// had ended the snapshot by then, so that Err tells a real end from one
// the limit cut short even if the limit passes in between.
func (r *txRows) Next() bool {
	if r.rows.Next() {
		return true
	}
	r.endCause = context.Cause(r.ctx)
	return false
}

// Put writes the current row; a row the age limit took away is reported
// expired.
func (r *txRows) Put(w *window.Writer) error {
	err := r.rows.Put(w)
	if err != nil && !errors.Is(err, window.ErrWindowFull) {
		return r.expired(err)
	}
	return err
}

// Err reports why Next stopped: the snapshot's age limit, or the rows'
// own error.
func (r *txRows) Err() error {
	if err := r.rows.Err(); err != nil || r.endCause != errSnapshotAge {
		return r.expired(err)
	}
	return provider.ErrSnapshotExpired
}

// Count returns the number of rows of the result, read in the snapshot.
func (r *txRows) Count() int64 { return r.count }

// ColumnTypes declares the columns' types and nullability as the table's
// schema gives them (PRAGMA table_info): NOT NULL, and an INTEGER
// PRIMARY KEY, are not nullable.
func (r *txRows) ColumnTypes() []content.ColumnType { return r.types }

// Close closes the rows and ends the read transaction.
func (r *txRows) Close() error {
	var err error
	if r.rows != nil {
		err = r.rows.Close()
	}
	r.tx.Rollback()
	r.timer.Stop()
	r.cancel(nil)
	r.p.snaps.Delete(r)
	return err
}

// assignments checks a write's values against the table's columns; it
// returns the quoted column names and the values, in a stable order.
func (t *table) assignments(values content.Values) ([]string, []any, error) {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	cols := make([]string, len(keys))
	args := make([]any, len(keys))
	for i, k := range keys {
		c, err := t.column(k)
		if err != nil {
			return nil, nil, err
		}
		v, err := content.NormalizeValue(values[k])
		if err != nil {
			return nil, nil, fmt.Errorf("column %s: %w", c, err)
		}
		cols[i], args[i] = quoteIdent(c), v
	}
	return cols, args, nil
}

func (p *sqliteProvider) writable(ctx context.Context, uri string) (*table, error) {
	if p.readOnly {
		return nil, fmt.Errorf("%w: the provider is read-only", content.ErrUnsupported)
	}
	return p.table(ctx, uri)
}

// Insert implements provider.Provider: it adds a row to the table uri
// names and returns its rowid. Columns left out take their defaults.
func (p *sqliteProvider) Insert(ctx context.Context, uri string, values content.Values) (int64, error) {
	defer p.counts.write()()
	return p.insert(ctx, p.db, uri, values)
}

// insert runs an Insert on ex: the database, or a transaction.
func (p *sqliteProvider) insert(ctx context.Context, ex execer, uri string, values content.Values) (int64, error) {
	t, err := p.writable(ctx, uri)
	if err != nil {
		return 0, err
	}
	cols, args, err := t.assignments(values)
	if err != nil {
		return 0, err
	}
	stmt := "INSERT INTO " + quoteIdent(t.name) + " DEFAULT VALUES"
	if len(cols) > 0 {
		stmt = "INSERT INTO " + quoteIdent(t.name) + " (" + strings.Join(cols, ", ") + ") VALUES (" +
			strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	}
	res, err := ex.ExecContext(ctx, stmt, args...)
	if err != nil {
		return 0, sqlError(err)
	}
	id, err := res.LastInsertId()
	if err == nil {
		p.log.Info("insert", "table", t.name, "id", id)
	}
	return id, err
}

// Update implements provider.Provider.
func (p *sqliteProvider) Update(ctx context.Context, uri string, values content.Values, selection string, args []any) (int64, error) {
	defer p.counts.write()()
	return p.update(ctx, p.db, uri, values, selection, args)
}

// update runs an Update on ex.
func (p *sqliteProvider) update(ctx context.Context, ex execer, uri string, values content.Values, selection string, args []any) (int64, error) {
	t, err := p.writable(ctx, uri)
	if err != nil {
		return 0, err
	}
	if len(values) == 0 {
		return 0, badRequest("update without values")
	}
	cols, vals, err := t.assignments(values)
	if err != nil {
		return 0, err
	}
	set := make([]string, len(cols))
	for i, c := range cols {
		set[i] = c + " = ?"
	}
	stmt := "UPDATE " + quoteIdent(t.name) + " SET " + strings.Join(set, ", ")
	return p.exec(ctx, ex, t, "update", stmt, vals, selection, args)
}

// Delete implements provider.Provider.
func (p *sqliteProvider) Delete(ctx context.Context, uri string, selection string, args []any) (int64, error) {
	defer p.counts.write()()
	return p.remove(ctx, p.db, uri, selection, args)
}

// remove runs a Delete on ex.
func (p *sqliteProvider) remove(ctx context.Context, ex execer, uri string, selection string, args []any) (int64, error) {
	t, err := p.writable(ctx, uri)
	if err != nil {
		return 0, err
	}
	return p.exec(ctx, ex, t, "delete", "DELETE FROM "+quoteIdent(t.name), nil, selection, args)
}

// exec runs an UPDATE or DELETE with the parsed selection.
func (p *sqliteProvider) exec(ctx context.Context, ex execer, t *table, op, stmt string, vals []any, selection string, args []any) (int64, error) {
	where, err := t.where(selection, len(args))
	if err != nil {
		return 0, err
	}
	wargs, err := sqlValues(args)
	if err != nil {
		return 0, err
	}
	if where != "" {
		stmt += " WHERE " + where
	}
	res, err := ex.ExecContext(ctx, stmt, append(vals, wargs...)...)
	if err != nil {
		return 0, sqlError(err)
	}
	n, err := res.RowsAffected()
	if err == nil {
		p.log.Info(op, "table", t.name, "rows", n)
	}
	return n, err
}

// Call implements provider.Provider. Methods:
//
//   - "tables": {"tables": [names]}, the exposed tables;
//   - "columns" with arg a table: {"columns": [names], "types": [declared
//     types], "notnull": [bools: NOT NULL, or an INTEGER PRIMARY KEY]}.
func (p *sqliteProvider) Call(ctx context.Context, method, arg string, _ content.Values) (content.Values, error) {
	switch method {
	case "tables":
		names := make([]any, 0, len(p.names))
		for _, n := range p.names {
			if p.mayQuery(ctx, n) == nil {
				names = append(names, n)
			}
		}
		return content.Values{"tables": names}, nil
	case "columns":
		if err := p.mayQuery(ctx, arg); err != nil {
			return nil, fmt.Errorf("%w: %v", content.ErrPermission, err)
		}
		t, err := p.table(ctx, arg)
		if err != nil {
			return nil, err
		}
		cols := make([]any, len(t.cols))
		types := make([]any, len(t.cols))
		notNull := make([]any, len(t.cols))
		for i := range t.cols {
			cols[i], types[i], notNull[i] = t.cols[i], t.types[i], t.notNull[i]
		}
		return content.Values{"columns": cols, "types": types, "notnull": notNull}, nil
	}
	return nil, fmt.Errorf("%w: method %q (have tables, columns)", content.ErrUnsupported, method)
}

// mayQuery asks the server's Permission whether the caller may query
// table: a table it may not read is not listed or described to it.
func (p *sqliteProvider) mayQuery(ctx context.Context, table string) error {
	cred, ok := provider.PeerCred(ctx)
	if p.perm == nil || !ok {
		return nil
	}
	return p.perm(cred, content.OpQuery, table)
}

// sqlValues converts the values of a request for database/sql.
func sqlValues(vs []any) ([]any, error) {
	out := make([]any, len(vs))
	for i, v := range vs {
		x, err := content.NormalizeValue(v)
		if err != nil {
			return nil, fmt.Errorf("argument %d: %w", i+1, err)
		}
		out[i] = x
	}
	return out, nil
}

// sqlError gives an SQLite error the meaning the consumer should see. A
// broken constraint, a value over SQLite's limits and a statement SQLite
// refuses to run are the request's fault: every statement is built from
// checked names and the request's own selection, so SQLITE_ERROR here
// means the selection is too large or too deep (SQLite's expression depth
// limit is 1000).
func sqlError(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqliteConstraint, sqliteMismatch, sqliteTooBig, sqliteError:
			return fmt.Errorf("%w: %v", content.ErrBadRequest, err)
		case sqliteBusy, sqliteLocked:
			return fmt.Errorf("%w: the database is locked by another writer (a bulk insert, say) for longer than %v; retry later", content.ErrBusy, busyTimeout)
		}
	}
	return err
}
