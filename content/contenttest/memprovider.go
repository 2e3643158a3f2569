package contenttest

import (
	"context"
	"fmt"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/memtable"
)

// MemProvider is a content.Provider serving tables held in memory: for
// tests, examples and benchmarks, as net/http/httptest serves handlers.
// It is a memtable.Provider with untyped columns, offering what the
// tests of the server need and no more: it is a content.Transactor but
// not a content.BulkInserter, so a bulk insert into it goes through the
// server's transaction path. A query reads a copy-on-write snapshot of
// its table (content.Repositioner). A table's URI is its name;
// selections and orders are those of package content/selection. Values
// are int64, float64, string, []byte or nil. An insert's id is the new
// row's position while no row was deleted (memtable's ids). Its rows
// declare no column types (they are no content.Typed).
type MemProvider struct {
	p *memtable.Provider
}

// NewMemProvider returns an empty MemProvider.
func NewMemProvider() *MemProvider {
	return &MemProvider{p: memtable.New()}
}

// AddTable creates or replaces a table of untyped, nullable columns. The
// rows are copied. It panics on a value a window cannot hold or a row
// of the wrong width: a test's mistake.
func (p *MemProvider) AddTable(name string, columns []string, rows [][]any) {
	cols := make([]memtable.Column, len(columns))
	for i, c := range columns {
		cols[i].Name = c
	}
	if err := p.p.AddTable(name, cols, rows); err != nil {
		panic(fmt.Sprintf("contenttest: AddTable %q: %v", name, err))
	}
}

// Query implements content.Provider.
func (p *MemProvider) Query(ctx context.Context, q *content.Query) (content.Rows, error) {
	r, err := p.p.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	return untyped{r.(snapshotRows)}, nil
}

// snapshotRows are memtable's rows as a MemProvider serves them.
type snapshotRows interface {
	content.Rows
	content.Counter
	content.Repositioner
}

// untyped hides the declared types of memtable's rows (content.Typed):
// a MemProvider declares nothing.
type untyped struct{ snapshotRows }

// Insert implements content.Provider.
func (p *MemProvider) Insert(ctx context.Context, uri string, values content.Values) (int64, error) {
	return p.p.Insert(ctx, uri, values)
}

// Update implements content.Provider.
func (p *MemProvider) Update(ctx context.Context, uri string, values content.Values, selection string, args []any) (int64, error) {
	return p.p.Update(ctx, uri, values, selection, args)
}

// Delete implements content.Provider.
func (p *MemProvider) Delete(ctx context.Context, uri string, selection string, args []any) (int64, error) {
	return p.p.Delete(ctx, uri, selection, args)
}

// Call implements content.Provider: "tables" and "columns", as memtable.
func (p *MemProvider) Call(ctx context.Context, method, arg string, extras content.Values) (content.Values, error) {
	return p.p.Call(ctx, method, arg, extras)
}

// Begin implements content.Transactor. The transaction holds the
// provider's lock until Commit or Rollback: others wait for it, and see
// all of its writes or none.
func (p *MemProvider) Begin(ctx context.Context) (content.Tx, error) {
	return p.p.Begin(ctx)
}
