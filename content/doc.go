// Package content is the ContentProvider layer of cursorwindow: a provider
// process serves query results as windows over a unix socket, and
// consumers iterate them through a Cursor that reads every value in place.
//
// # Provider
//
// A service implements Provider (Query returns Rows that write themselves
// into windows; Insert, Update, Delete and Call are the writes) and serves
// it:
//
//	ln, err := provider.Listen(content.DefaultSocketPath(), 0o600)
//	srv := provider.NewServer(myProvider, provider.WithAuthorizer(provider.SameUID))
//	err = srv.Serve(ctx, ln) // until ctx is done; then nil
//
// The example "writingAProvider" is a guide to the Provider contract,
// including how a query keeps one version of its data (Repositioner).
// SQLRows adapts any database/sql result; package content/memtable
// serves in-memory tables (contenttest.MemProvider wraps it for tests);
// package content/selection parses selections and orders for any
// provider. The server fills windows of WithWindowSize
// bytes (2 MiB by default) from a window.Pool bounded by
// WithMemoryBudget, seals them and passes their memfds; a window smaller
// than WithInlineLimit is copied inline instead, which is cheaper than
// mapping. Released windows are refilled, not recreated: their pages are
// already faulted in. Identical queries share their sealed windows until
// a change of their URI (Server.Change, NotifyChange, or a write the
// server serves).
//
// Who may do what: the Authorizer admits a connection by its peer's
// credentials; a Permission (WithPermission) checks each operation on
// each URI; Limits bound what a connection, a uid and everyone together
// may hold. A panic in provider code costs its request, not the server.
//
// # Provider guide
//
// The life of a query: the server calls Query when it opens, on the goroutine that
// read the request, and fills the first window from the Rows (Next, then
// Put for the row the server allocated; Put again after
// window.ErrWindowFull, in the next window). A result that fits in one
// window ends there. Otherwise a worker goroutine of the query fills the
// windows the consumer asks for next, one at a time, while the consumer
// reads the one before (the pipeline), until the consumer closes the
// query or leaves; then the Rows are closed, once. Rows are used by one
// goroutine at a time; a Provider's methods are called concurrently.
//
// One version per query: Rows read the data as it is when Query returns
// (one SQL statement or read transaction, a copy), and the query reads
// that version until it ends, whatever changes meanwhile. Changes go
// through the server (its writes, Server.Change) or are announced with
// NotifyChange: then no shared window of the URI is served from before
// the change, and no query is continued on data newer than its own.
//
// The optional interfaces, and when to implement them:
//
//   - Rows: Counter, when the count is cheap (the cursor knows it from the
//     first window, and the server may then jump ahead); Typed, to declare
//     the columns' types and NOT NULL; Repositioner, when the rows hold
//     their snapshot and can restart at a position inside it: every move
//     of the cursor (a jump past windows served from the cache, a move
//     back to a released or evicted window) is then served in the query's
//     version. Rows that let a snapshot go (a bound of the provider's own)
//     return ErrSnapshotExpired.
//   - Provider: Seeker, when the data can start a query at a position
//     (OFFSET, a keyset); used only while the data is unchanged since the
//     query began, so without Repositioner a move back after a change ends
//     the query with ErrChanged. Transactor, for atomic batches
//     (Client.ApplyBatch) and for bulk inserts all or nothing;
//     BulkInserter, to read a bulk insert's rows straight from the
//     consumer's windows.
//
// How they meet the cache: identical queries (URI, projection,
// selection, arguments, order, limit) share their sealed windows. A query
// is served a cached window only while its snapshot is current, so the
// cache never mixes versions; a change drops the URI's windows.
//
// Errors: wrap ErrNotFound, ErrBadRequest, ErrUnsupported (valid but not
// supported), ErrPermission or ErrBusy (retry later) for the consumer to
// see that meaning and the text; any other error is logged and reaches
// the consumer as ErrInternal without its text. A count that disagrees
// with the rows, or a panic, costs that query ErrInternal.
//
// Limits and permissions are the server's (Limits, WithPermission,
// WithAuthorizer): a provider sees only admitted requests, and can ask
// PeerCred(ctx) who is asking.
//
// # Consumer
//
//	c, err := content.Dial(ctx, "/run/myservice/provider.sock")
//	defer c.Close()
//	cur, err := c.Query(ctx, &content.Query{URI: "trips", Selection: "fare > ?", Args: []any{10}})
//	defer cur.Close()
//	for cur.Next() {
//		id, _ := cur.Int64(0)
//		city, _ := cur.StringView(2) // zero-copy
//	}
//	err = cur.Err()
//
// The fastest read of a row is Cursor.Row: window.Row's accessors inline
// into the loop, and say ok only for a field of their type, leaving NULL,
// conversions and errors to the Cursor's accessors:
//
//	for cur.Next() {
//		r, _ := cur.Row()
//		id, ok := r.Int64(0)
//		if !ok {
//			id, err = cur.Int64(0)
//		}
//	}
//
// A forward scan is pipelined: while the consumer reads one window the
// provider fills the next (WithPrefetch). Windows the cursor leaves go back
// to the provider's pool; the consumer keeps their mappings, keyed by the
// memfd's identity (window.Mappings), and reuses them when the provider
// sends a recycled window again. Register delivers change notifications;
// Cursor.Requery runs the query again.
//
// # Caveats
//
//   - Views (Cursor.Bytes, Cursor.StringView, Row.Bytes) point into the current
//     window: they are valid only until the cursor moves to another window
//     or is closed; must not be modified. Copy what you keep (String).
//   - A Cursor is not safe for concurrent use; a Client is, and many
//     cursors may share one, as goroutines share a sql.DB: when the
//     provider's window limits are reached (16 windows a connection by
//     default), cursors wait their turn (WithBusyWait, within the query's
//     context) instead of failing busy. A cursor that must wait while
//     moving on gives back the window it leaves first, so a failed move
//     under that pressure leaves it on no window.
//   - If the provider goes away, calls fail with ErrProviderGone (with
//     ErrShutdown if it shut down gracefully), but the window the cursor
//     holds stays mapped and readable until Close: Move reaches its rows.
//   - Int64, Float64 and String read NULL as the zero value, as Android's
//     Cursor does; IsNull and the Null accessors tell them apart.
//   - A Cursor garbage-collected without Close is reported (ClientStats,
//     and a log line with its Query's stack under CURSORWINDOW_CURSOR_STACKS=1): its
//     windows stay held until the client closes.
//   - A query reads one version of its data until it is closed, however
//     the cursor moves and whatever is written meanwhile (a provider's
//     Rows hold it: Repositioner). From a provider whose rows hold no
//     snapshot, a move back after the data changed fails with
//     ErrChanged: run the query again (Requery).
package content
