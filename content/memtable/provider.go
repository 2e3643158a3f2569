package memtable

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/provider"
	"github.com/cursorwindow/cursorwindow/content/selection"
	"github.com/cursorwindow/cursorwindow/window"
)

// Provider serves in-memory tables: a provider.Provider, Transactor and
// BulkInserter. A table's URI is its name. Its zero value is not usable;
// call New.
type Provider struct {
	mu     sync.RWMutex
	tables map[string]*table

	hookMu sync.Mutex
	change func(uri string, change func() error) error
}

// Compile-time checks of the interfaces a Provider implements.
var (
	_ provider.Provider     = (*Provider)(nil)
	_ provider.Transactor   = (*Provider)(nil)
	_ provider.BulkInserter = (*Provider)(nil)
	_ provider.Repositioner = (*rows)(nil)
	_ provider.Typed        = (*rows)(nil)
	_ provider.Counter      = (*rows)(nil)
	_ provider.Tx           = (*Tx)(nil)
)

// New returns a Provider without tables.
func New() *Provider {
	return &Provider{tables: make(map[string]*table)}
}

// AddTable creates the table name, or replaces it, with its columns and
// rows (each a value per column, in the columns' order; nil for none).
// The rows are checked against the columns and copied: the caller may
// reuse them. Queries already open keep reading the table they started
// on. AddTable does not notify: call it before serving, or inside the
// function given to the OnChange hook's target (Server.Change).
func (p *Provider) AddTable(name string, columns []Column, rows [][]any) error {
	t, err := newTable(name, columns)
	if err != nil {
		return err
	}
	t.rows = make([][]any, 0, len(rows))
	for i, r := range rows {
		row, err := t.checked(r)
		if err != nil {
			return fmt.Errorf("row %d: %w", i, err)
		}
		t.rows = append(t.rows, row)
	}
	t.nextID = int64(len(t.rows))
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tables[name] = t
	return nil
}

// table returns the table of uri; the caller holds the lock.
func (p *Provider) table(uri string) (*table, error) {
	if t, ok := p.tables[uri]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("%w: no table %q (tables: %s)", content.ErrNotFound, uri, strings.Join(p.names(), ", "))
}

// names returns the table names, sorted; the caller holds the lock.
func (p *Provider) names() []string {
	names := make([]string, 0, len(p.tables))
	for n := range p.tables {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Query implements provider.Provider: the rows are a snapshot of the
// table as it is when Query returns.
func (p *Provider) Query(_ context.Context, q *content.Query) (provider.Rows, error) {
	if q.Limit < 0 {
		return nil, fmt.Errorf("%w: negative limit %d", content.ErrBadRequest, q.Limit)
	}
	sel, err := selection.Parse(q.Selection)
	if err != nil {
		return nil, err
	}
	order, err := selection.ParseOrder(q.Order)
	if err != nil {
		return nil, err
	}
	p.mu.RLock()
	t, err := p.table(q.URI)
	all := t.snapshot()
	p.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	proj, names, types := t.all, t.names, t.types // every column: the table's own, shared
	if len(q.Projection) > 0 {
		proj = make([]int, 0, len(q.Projection))
		for _, n := range q.Projection {
			c, err := t.index(n)
			if err != nil {
				return nil, fmt.Errorf("table %q: %w", t.name, err)
			}
			proj = append(proj, c)
		}
		names = make([]string, len(proj))
		for i, c := range proj {
			names[i] = t.cols[c].Name
		}
		types = t.typesOf(proj)
	}
	match, err := sel.Compile(t.index, q.Args)
	if err != nil {
		return nil, err
	}
	cmp, err := order.Compile(t.index)
	if err != nil {
		return nil, err
	}
	selected := all
	if q.Selection != "" || order != nil {
		selected = make([][]any, 0, len(all))
		for _, r := range all {
			if match(r) {
				selected = append(selected, r)
			}
		}
		slices.SortStableFunc(selected, cmp)
	}
	if q.Limit > 0 && int64(len(selected)) > q.Limit {
		selected = selected[:q.Limit]
	}
	return &rows{cols: names, types: types, proj: proj, rows: selected, i: -1}, nil
}

// snapshot returns the table's rows as they are: writes replace the slice
// or append past its end, so the slice returned never changes. t may be
// nil; the caller holds the lock.
func (t *table) snapshot() [][]any {
	if t == nil {
		return nil
	}
	return slices.Clip(t.rows)
}

// rows are a query's rows: a snapshot, held until Close.
type rows struct {
	// cols, types and proj are never changed: a query of every column
	// shares the table's.
	cols  []string
	types []content.ColumnType
	proj  []int
	rows  [][]any
	i     int
}

func (r *rows) Columns() []string                 { return r.cols }
func (r *rows) ColumnTypes() []content.ColumnType { return r.types }
func (r *rows) Count() int64                      { return int64(len(r.rows)) }
func (r *rows) Err() error                        { return nil }
func (r *rows) Close() error                      { return nil }

func (r *rows) Next() bool {
	if r.i+1 >= len(r.rows) {
		r.i = len(r.rows)
		return false
	}
	r.i++
	return true
}

// Reposition implements provider.Repositioner: every position of the
// snapshot stays reachable whatever was written since.
func (r *rows) Reposition(_ context.Context, start int64) error {
	if start < 0 {
		return fmt.Errorf("%w: position %d", content.ErrBadRequest, start)
	}
	r.i = int(min(start, int64(len(r.rows)))) - 1
	return nil
}

func (r *rows) Put(w *window.Writer) error {
	row := r.rows[r.i]
	for c, src := range r.proj {
		if err := provider.PutValue(w, c, row[src]); err != nil {
			return err
		}
	}
	return nil
}

// Call implements provider.Provider with the listing convention of
// PROTOCOL.md: "tables" answers {"tables": [names, sorted]}; "columns",
// with a table name as arg, answers {"columns": [...], "types": [...],
// "notnull": [...]}. Other methods are refused with
// content.ErrUnsupported.
func (p *Provider) Call(_ context.Context, method, arg string, _ content.Values) (content.Values, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	switch method {
	case "tables":
		names := p.names()
		list := make([]any, len(names))
		for i, n := range names {
			list[i] = n
		}
		return content.Values{"tables": list}, nil
	case "columns":
		t, err := p.table(arg)
		if err != nil {
			return nil, err
		}
		cols, types, notNull := make([]any, len(t.cols)), make([]any, len(t.cols)), make([]any, len(t.cols))
		for i, c := range t.cols {
			cols[i], types[i], notNull[i] = c.Name, c.Type, c.NotNull
		}
		return content.Values{"columns": cols, "types": types, "notnull": notNull}, nil
	}
	return nil, fmt.Errorf("%w: method %q (have tables, columns)", content.ErrUnsupported, method)
}
