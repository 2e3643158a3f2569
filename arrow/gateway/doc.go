// Package gateway serves a cursorwindow provider's tables over Arrow
// Flight SQL: it is a consumer of the provider (content.Client) on one
// side and a Flight SQL server (arrow-go's flightsql) on the other, for
// clients on other hosts or in other languages. Command cwflight
// (arrow/cmd/cwflight) runs it.
//
//	g := gateway.New(gateway.SocketDialer("/run/myservice/provider.sock"),
//		gateway.WithTLS(tlsConfig), gateway.WithToken(token))
//	defer g.Close()
//	ln, err := net.Listen("tcp", ":32010")
//	err = g.Serve(ctx, ln) // until ctx is done
//
// # What it answers
//
//   - CommandStatementQuery: a SELECT of the subset package sqlparse reads
//     (one table; a selection, an order, a limit), with no placeholder: a
//     statement with placeholders is prepared and its parameters bound,
//     as Flight SQL clients do when given arguments. Values written in
//     the text ('Lisbon', 7) are bound as arguments too, never spliced.
//     GetFlightInfo checks the statement with the provider as it is
//     planned (it runs it for a first batch's worth of rows) and carries
//     the result's schema, so a bad table or selection fails there, not
//     only at DoGet.
//     Each DoGet stream reads one provider cursor through a
//     cwarrow.Reader, one record batch per window (cut to WithBatchBytes
//     so that no message passes a client's 4 MiB default); cancelling
//     the stream closes the cursor.
//   - Prepared statements (queries and updates), with parameters of any
//     integer, float, string, binary, boolean, date or timestamp type,
//     one row of them for a query, one or more for an update. Under
//     WithParameterTypes, preparing gives the parameter schema (ADBC's
//     GetParameterSchema): the type of the column each ? sets or is
//     compared with, int64 for LIMIT ?; none when one is not known.
//   - CommandStatementUpdate: INSERT, UPDATE and DELETE without
//     placeholders; refused with codes.PermissionDenied under
//     WithReadOnly.
//   - CommandStatementIngest (ADBC's bulk ingest, mode append): record
//     batches appended to a table that exists through the provider's
//     bulk insert, all or nothing where the provider can; creating or
//     replacing a table is refused by name.
//   - CommandGetTables (with each table's schema if asked: the one
//     SELECT * streams), CommandGetDbSchemas (one schema, named "", and
//     no catalog: a provider's tables are one flat namespace),
//     CommandGetCatalogs (none), CommandGetTableTypes (TABLE),
//     CommandGetSqlInfo. Tables and columns come from the provider's
//     "tables" and "columns" calls (docs/PROTOCOL.md, "Listing tables and
//     columns").
//
// Errors keep their text and get the gRPC code of their sentinel:
// content.ErrNotFound NotFound, ErrBadRequest InvalidArgument,
// ErrUnsupported (SQL outside the subset) Unimplemented, ErrPermission
// PermissionDenied, ErrBusy ResourceExhausted, ErrChanged Aborted (the
// table changed under a provider without snapshots: run the statement
// again), ErrProviderGone Unavailable, a field that does not fit its
// column (cwarrow) Internal. A stream reads one version of its table, as
// every cursor does (content: "One version per query").
//
// # Security
//
// Serve refuses to serve beyond loopback (ErrInsecure) without TLS
// (WithTLS) and a bearer token (WithToken) or client certificates
// (mutual TLS). A call without the token gets codes.Unauthenticated.
//
// # Caveats
//
//   - To the provider the gateway is one consumer with one uid: every
//     remote user has that uid's permissions and shares its quotas.
//   - Planning a query (GetFlightInfo, GetSchemaStatement) runs it for one
//     batch of rows.
//   - Statement handles carry the statement and its parameters; the
//     gateway keeps no state for them, so ClosePreparedStatement does
//     nothing. Transactions (SqlInfo reports none: each statement,
//     and each ingest, is atomic by itself), Substrait plans and
//     cancellation through CancelFlightInfo are not supported.
package gateway
