// Package provider is for services: it serves a data service's tables to
// the consumers of package content, as windows over a unix socket. A
// service implements Provider (Query returns Rows that write themselves
// into windows; Insert, Update, Delete and Call are the writes) and serves
// it with a Server:
//
//	ln, err := provider.Listen(content.DefaultSocketPath(), 0o600)
//	srv := provider.NewServer(myProvider, provider.WithAuthorizer(provider.SameUID))
//	err = srv.Serve(ctx, ln) // until ctx is done; then nil
//
// The vocabulary both sides share (content.Query, content.Values,
// content.ColumnType, content.Op and the sentinel errors) is package
// content's, as database/sql/driver shares database/sql's. Package
// content/memtable is a ready provider of in-memory tables; package
// content/selection parses selections and orders for any provider;
// SQLRows adapts any database/sql result; package content/contenttest
// serves a provider in a test. The example "writingAProvider" is a
// provider written from scratch.
//
// The server fills windows of WithWindowSize bytes (2 MiB by default)
// from a window.Pool bounded by WithMemoryBudget, seals them and passes
// their memfds; a window smaller than WithInlineLimit travels inline, in
// the reply, which is cheaper than mapping. Released windows are refilled,
// not recreated: their pages are already faulted in. Identical queries
// share their sealed windows until a change of their URI (Server.Change,
// NotifyChange, or a write the server serves).
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
//     the query with content.ErrChanged. Transactor, for atomic batches
//     (content.Client.ApplyBatch) and for bulk inserts all or nothing;
//     BulkInserter, to read a bulk insert's rows straight from the
//     consumer's windows.
//
// How they meet the cache: identical queries (URI, projection,
// selection, arguments, order, limit) share their sealed windows. A query
// is served a cached window only while its snapshot is current, so the
// cache never mixes versions; a change drops the URI's windows.
//
// Errors: wrap content.ErrNotFound, content.ErrBadRequest,
// content.ErrUnsupported (valid but not supported), content.ErrPermission
// or content.ErrBusy (retry later) for the consumer to see that meaning
// and the text; any other error is logged and reaches
// the consumer as content.ErrInternal without its text. A count that disagrees
// with the rows, or a panic, costs that query content.ErrInternal.
//
// Limits and permissions are the server's (Limits, WithPermission,
// WithAuthorizer): a provider sees only admitted requests, and can ask
// PeerCred(ctx) who is asking.
//
// # Caveats
//
//   - A Provider's methods are called concurrently, from the connections'
//     goroutines; a Rows is used by one goroutine at a time and closed
//     exactly once.
//   - Put must be repeatable: after window.ErrWindowFull the server calls
//     it again for the same row, in the next window.
//   - Data changed behind the server's back (not through its writes,
//     Change or NotifyChange) may be served from shared windows of the
//     version before.
package provider
