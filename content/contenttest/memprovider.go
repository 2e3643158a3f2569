package contenttest

import (
	"context"
	"fmt"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/memtable"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

// MemProvider is a provider.Provider serving tables held in memory: for
// tests, examples and benchmarks, as net/http/httptest serves handlers.
// It is a memtable.Provider with untyped columns, offering what the
// tests of the server need and no more: it is a provider.Transactor but
// not a provider.BulkInserter, so a bulk insert into it goes through the
// server's transaction path. A query reads a copy-on-write snapshot of
// its table (provider.Repositioner). A table's URI is its name;
// selections and orders are those of package content/selection. Values
// are int64, float64, string, []byte or nil. An insert's id is the new
// row's position while no row was deleted (memtable's ids). Its rows
// declare no column types (they are no provider.Typed).
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

// Query implements provider.Provider.
func (p *MemProvider) Query(ctx context.Context, q *content.Query) (provider.Rows, error) {
	r, err := p.p.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	return untyped{r.(snapshotRows)}, nil
}

// snapshotRows are memtable's rows as a MemProvider serves them.
type snapshotRows interface {
	provider.Rows
	provider.Counter
	provider.Repositioner
}

// untyped hides the declared types of memtable's rows (provider.Typed):
// a MemProvider declares nothing.
type untyped struct{ snapshotRows }

// Insert implements provider.Provider.
func (p *MemProvider) Insert(ctx context.Context, uri string, values content.Values) (int64, error) {
	return p.p.Insert(ctx, uri, values)
}

// Update implements provider.Provider.
func (p *MemProvider) Update(ctx context.Context, uri string, values content.Values, selection string, args []any) (int64, error) {
	return p.p.Update(ctx, uri, values, selection, args)
}

// Delete implements provider.Provider.
func (p *MemProvider) Delete(ctx context.Context, uri string, selection string, args []any) (int64, error) {
	return p.p.Delete(ctx, uri, selection, args)
}

// Call implements provider.Provider: "tables" and "columns", as memtable.
func (p *MemProvider) Call(ctx context.Context, method, arg string, extras content.Values) (content.Values, error) {
	return p.p.Call(ctx, method, arg, extras)
}

// Begin implements provider.Transactor. The transaction holds the
// provider's lock until Commit or Rollback: others wait for it, and see
// all of its writes or none.
func (p *MemProvider) Begin(ctx context.Context) (provider.Tx, error) {
	return p.p.Begin(ctx)
}
