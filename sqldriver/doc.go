// Package sqldriver is a database/sql driver for cursorwindow providers:
// a Go program, or a tool built on database/sql, reads a provider's
// tables with sql.DB, and the values of STRING and BLOB fields reach
// sql.RawBytes without a copy, straight from the provider's shared
// windows.
//
//	db := sql.OpenDB(sqldriver.NewConnector("/run/myservice/provider.sock"))
//	rows, err := db.QueryContext(ctx, "SELECT id, city, fare FROM trips WHERE city = ? ORDER BY fare DESC LIMIT 10", "Lisbon")
//	...
//	res, err := db.ExecContext(ctx, "UPDATE trips SET tip = ? WHERE id = ?", 5, 42)
//
// The driver registers itself as "cursorwindow", so
// sql.Open("cursorwindow", dsn) works too. Each connection of the
// database/sql pool is one content.Client: one unix socket connection,
// with its own cache of window mappings.
//
// # Data source name
//
//	[socket][?param=value&...]
//
// socket is the provider's unix socket: a filesystem path, "@name" for
// an abstract socket, or empty for content.DefaultSocketPath (whose
// directory is checked with content.CheckSocketDir first). Everything up
// to the first "?" is the path, taken literally. The parameters, each
// matching an Option of NewConnector:
//
//	timeout=5s          bound on connecting: dial and handshake (WithTimeout; default 30s, 0 for none)
//	prefetch=4          windows a scan asks for ahead (WithPrefetch; default 2, 0 for none)
//	checked_views=true  views used after their lifetime fault (WithCheckedViews; default false)
//
// For example "/run/user/1000/cursorwindow/provider.sock?timeout=5s&prefetch=4".
// An unknown parameter is an error.
//
// # Statements
//
// The SQL accepted is what a provider's query model expresses (package
// sqlparse has the grammar):
//
//	SELECT * | column, ... FROM table [WHERE selection] [ORDER BY order] [LIMIT n | LIMIT ?]
//	INSERT INTO table (column, ...) VALUES (?, ...)
//	UPDATE table SET column = ?, ... [WHERE selection]
//	DELETE FROM table [WHERE selection]
//
// table is the provider's URI (quote one that is not a plain name:
// "content/trips"). The selection and the order go to the provider as
// written, with their ? arguments bound, never spliced: the provider
// decides what it accepts there. Anything else (joins, subqueries,
// aggregates, GROUP BY, UNION, DISTINCT, OFFSET, literals in VALUES or SET,
// several statements, named arguments) is refused before anything is
// sent, with an error that names it and wraps ErrUnsupported (and so
// content.ErrUnsupported); malformed SQL wraps sqlparse.ErrSyntax.
// Prepared statements are parsed once and cost the provider nothing.
//
// # Transactions and bulk inserts
//
// A transaction (BeginTx) keeps its INSERT, UPDATE and DELETE statements
// and sends them at Commit as one batch, which the provider applies
// together or not at all (content.Client.ApplyBatch); a provider that
// cannot refuses it with ErrUnsupported. Until Commit a statement's
// Result says ErrNotCommitted; after it, LastInsertId and RowsAffected
// report what the provider did. Queries inside a transaction are refused
// (ErrUnsupported): the provider applies the writes only at Commit, so a
// query could neither see them nor be isolated from others' writes. A
// batch is one message (at most 1 MiB): for many rows, BulkInsert sends
// them in shared memory as a query's results come back.
//
// Arguments are sent as nil, int64, float64, string or []byte; bool
// becomes 0 or 1 and time.Time an RFC 3339 string, as provider.SQLRows
// stores them.
//
// # Results
//
// A query is a content.Cursor read in place. Rows.Next gives
// database/sql, per field: INT64 as int64, FLOAT64 as float64, STRING and
// BLOB as []byte viewing the window, NULL as nil. So Scan into
// *sql.RawBytes copies nothing, into *string or *[]byte copies once, into
// *int64 and *float64 converts nothing. Rows.ColumnTypes reports what the
// provider declares (content.Cursor.ColumnTypes): DatabaseTypeName the
// declared type in upper case, Nullable the declared nullability, and
// ScanType a Go type chosen from them by SQLite's affinity rules: a type
// name containing INT scans as int64, CHAR, CLOB or TEXT as string, BLOB
// as []byte, REAL, FLOA or DOUB as float64, and as sql.NullInt64,
// sql.NullString or sql.NullFloat64 unless the column is declared NOT
// NULL. Any other declared type (NUMERIC), and every column of a
// provider that declares none, gets any: a window holds each field's
// own type, and Scan into *any receives it. With nothing declared,
// DatabaseTypeName is "" and Nullable unknown.
//
// Exec reports what the provider answers: LastInsertId the id Insert
// returns, RowsAffected 1 for an INSERT and the provider's count for
// UPDATE and DELETE.
//
// # Contexts, errors and the pool
//
// Every call honours its context: a query's context bounds the query and
// every window the scan fetches, and when it is done database/sql closes
// the rows, which closes the cursor and tells the provider to stop
// filling. Errors keep their meaning through errors.Is: the provider's
// refusals match content.ErrNotFound, content.ErrPermission,
// content.ErrBadRequest and so on.
//
// A query's Rows read one version of the provider's data, as a cursor
// does, whatever is written meanwhile (through another connection of the
// pool, say). From a provider whose rows hold no snapshot, a scan that
// needs rows the provider no longer has ends with content.ErrChanged:
// run the query again.
//
// When the provider has gone away (the connection ended:
// content.ErrProviderGone, or content.ErrProtocol), the connection is
// dropped from the pool (driver.Validator, driver.SessionResetter). A
// query that finds it so returns an error wrapping driver.ErrBadConn, so
// database/sql runs it again on a new connection: after a provider
// restart, queries succeed at once. Before reusing a pooled connection
// database/sql asks whether its client has seen the provider go
// (content.Client.Err), and redials if so. A write that finds the
// provider gone mid-request is never retried: the provider may have
// applied it before the connection ended, and database/sql would apply
// it again; it returns the content error, and the next write gets a new
// connection.
//
// # Caveats
//
//   - sql.RawBytes from this driver view the provider's window: as
//     database/sql says of RawBytes, they are valid only until the next
//     call to Next, Scan or Close, and must not be modified. Copy what you
//     keep (Scan into *string or *[]byte). WithCheckedViews makes a view
//     kept longer fault instead of reading what the provider later wrote.
//   - A Scanner (sql.Scanner) receives the same []byte views: it must
//     copy them, as database/sql requires of every driver's []byte.
//   - LIMIT 0 asks the provider for one row and returns none, with the
//     columns.
//   - Outside a transaction a statement is applied when it is answered,
//     and a read sees the provider's data as of its query.
package sqldriver
