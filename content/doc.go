// Package content is for consumers: it reads the tables a provider process
// serves over a unix socket, through a Cursor that reads every value in
// place from shared memory. It also holds the vocabulary consumers and
// providers share (Query, Values, ColumnType, Op, Table and the sentinel
// errors); the serving side, for services, is package content/provider.
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
// The fastest read of a row is Cursor.Row: window.Row's accessors are inlined
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
//     or is closed; must not be modified. Copy what you keep (String), or
//     hold the window (Cursor.HoldBlock): its views then stay valid until
//     the hold is released, and the window counts against the
//     connection's window limit until then.
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
