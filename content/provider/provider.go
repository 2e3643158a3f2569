package provider

import (
	"context"
	"fmt"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/window"
)

// Rows is a result a provider returns: a forward iterator that writes each
// row into a window. The server calls Next, then Put to fill the row the
// server has allocated in w (its last row); Put sets each column with
// w.PutInt64, w.PutString and so on. If Put returns window.ErrWindowFull
// the server starts a new window and calls Put again for the same row.
//
// Rows read one version of the data: the version current when the
// provider's Query (or QueryAt) returned them, whatever changes after
// that (one SQL statement or read transaction, a copy-on-write slice). A
// provider whose reads are lazy starts its snapshot before it returns.
//
// Rows are used by one goroutine at a time and closed exactly once.
type Rows interface {
	Columns() []string
	Next() bool
	Put(w *window.Writer) error
	Err() error
	Close() error
}

// Typed is implemented by Rows that know their columns' declared types;
// the server sends them with the first window, and Cursor.ColumnTypes
// reports them. Its result has one element per column.
type Typed interface {
	ColumnTypes() []content.ColumnType
}

// Seeker is implemented by providers that can start a query's rows at a
// position cheaply (SQL's OFFSET, a keyset, an index), instead of having
// the server step through every row before it. The rows returned start
// at row start of the result of q (q.Limit still counts from row 0 of
// the result).
//
// QueryAt opens new rows, so the server calls it only while the query's
// data is unchanged since its first rows were opened (no Change, write or
// NotifyChange of its URI since): to jump forward past many rows (a scan
// continuing past windows served from the cache) and to go back. Once
// the data changed, only rows that hold their snapshot (Repositioner) can
// move; otherwise the scan goes on through its open rows, or ends with
// content.ErrChanged.
type Seeker interface {
	QueryAt(ctx context.Context, q *content.Query, start int64) (Rows, error)
}

// Repositioner is implemented by Rows that hold their snapshot for as
// long as they are open and can start again at any position of their own
// result inside it: the next Next yields row start (q.Limit still counts
// from row 0). The server keeps such rows open until the query ends, even
// past the last row, and moves them for every jump and every move back,
// so a query reads one version of its data however the consumer moves
// and whatever changes meanwhile. A SQLite provider re-runs its statement
// with an OFFSET inside the query's read transaction; an in-memory one
// keeps the copy-on-write version it started with.
//
// A provider may bound what its snapshots hold (their age, their number):
// rows whose snapshot it let go return ErrSnapshotExpired, from
// Reposition, from Put or from Err once Next is false. The server then
// opens the query again if its data is unchanged, and ends it with
// content.ErrChanged otherwise.
type Repositioner interface {
	Reposition(ctx context.Context, start int64) error
}

// Counter is implemented by Rows that know their total row count up front;
// the cursor then reports it before the scan ends.
type Counter interface {
	Count() int64
}

// Provider is the service side of the protocol: what a data service
// implements to be served by a Server. Errors wrapping content.ErrNotFound,
// content.ErrBadRequest, content.ErrPermission or content.ErrUnsupported reach the consumer with
// that meaning; other errors as content.ErrInternal with their message.
//
// Methods are called concurrently from the connections' goroutines.
type Provider interface {
	// Query starts a query: its rows fix the version of the data the
	// query reads until it ends. The server may call it again for the
	// same query to move backwards in the result (when the rows are not a
	// Repositioner), but only while the data is unchanged since the first
	// call; it must then return the same rows in the same order. A
	// provider whose data changes tells the server: its writes go through
	// the server, or it calls Server.Change (or NotifyChange).
	Query(ctx context.Context, q *content.Query) (Rows, error)
	// Insert adds a row and returns its id.
	Insert(ctx context.Context, uri string, values content.Values) (int64, error)
	// Update changes the selected rows and returns how many.
	Update(ctx context.Context, uri string, values content.Values, selection string, args []any) (int64, error)
	// Delete removes the selected rows and returns how many.
	Delete(ctx context.Context, uri string, selection string, args []any) (int64, error)
	// Call runs a provider-defined method.
	Call(ctx context.Context, method, arg string, extras content.Values) (content.Values, error)
}

// ReadOnly implements the write methods of Provider by refusing them with
// content.ErrUnsupported; embed it in a provider that only serves queries.
type ReadOnly struct{}

// Insert returns content.ErrUnsupported.
func (ReadOnly) Insert(context.Context, string, content.Values) (int64, error) {
	return 0, fmt.Errorf("%w: insert", content.ErrUnsupported)
}

// Update returns content.ErrUnsupported.
func (ReadOnly) Update(context.Context, string, content.Values, string, []any) (int64, error) {
	return 0, fmt.Errorf("%w: update", content.ErrUnsupported)
}

// Delete returns content.ErrUnsupported.
func (ReadOnly) Delete(context.Context, string, string, []any) (int64, error) {
	return 0, fmt.Errorf("%w: delete", content.ErrUnsupported)
}

// Call returns content.ErrUnsupported.
func (ReadOnly) Call(context.Context, string, string, content.Values) (content.Values, error) {
	return nil, fmt.Errorf("%w: call", content.ErrUnsupported)
}
