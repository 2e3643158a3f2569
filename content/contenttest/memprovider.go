package contenttest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/selection"
	"github.com/cursorwindow/cursorwindow/window"
)

// MemProvider is a content.Provider serving tables held in memory: for
// tests, examples and benchmarks, as net/http/httptest serves handlers.
// A query reads a snapshot of its table, kept by copy-on-write for as
// long as its rows are open (content.Repositioner), the model for
// in-memory providers. A table's URI is its name. Selections and orders
// are those of package content/selection, evaluated by SQLite's rules.
// Values are int64, float64, string, []byte or nil.
type MemProvider struct {
	mu     sync.RWMutex
	tables map[string]*memTable
}

type memTable struct {
	cols []string
	rows [][]any
}

// NewMemProvider returns an empty MemProvider.
func NewMemProvider() *MemProvider {
	return &MemProvider{tables: make(map[string]*memTable)}
}

// AddTable creates or replaces a table. The rows are used, not copied;
// integer values of any Go type are converted to int64 in place.
func (p *MemProvider) AddTable(name string, columns []string, rows [][]any) {
	for _, r := range rows {
		for i, v := range r {
			if x, err := content.NormalizeValue(v); err == nil {
				r[i] = x
			}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tables[name] = &memTable{cols: columns, rows: slices.Clip(rows)} // appends never write into the caller's array
}

func (p *MemProvider) table(uri string) (*memTable, error) {
	t, ok := p.tables[uri]
	if !ok {
		return nil, fmt.Errorf("%w: table %q", content.ErrNotFound, uri)
	}
	return t, nil
}

func colIndex(cols []string, name string) (int, error) {
	if i := slices.Index(cols, name); i >= 0 {
		return i, nil
	}
	return 0, fmt.Errorf("%w: no column %q", content.ErrBadRequest, name)
}

// filter compiles a selection into a predicate.
func (t *memTable) filter(text string, args []any) (func([]any) bool, error) {
	sel, err := selection.Parse(text)
	if err != nil {
		return nil, err
	}
	return sel.Compile(selection.ColumnIndex(t.cols), args)
}

// Query implements content.Provider.
func (p *MemProvider) Query(_ context.Context, q *content.Query) (content.Rows, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	t, err := p.table(q.URI)
	if err != nil {
		return nil, err
	}
	proj := make([]int, 0, len(t.cols))
	names := q.Projection
	if len(names) == 0 {
		names = t.cols
	}
	for _, n := range names {
		i, err := colIndex(t.cols, n)
		if err != nil {
			return nil, err
		}
		proj = append(proj, i)
	}
	keep, err := t.filter(q.Selection, q.Args)
	if err != nil {
		return nil, err
	}
	rows := t.rows
	if q.Selection != "" || q.Order != "" {
		rows = nil
		for _, r := range t.rows {
			if keep(r) {
				rows = append(rows, r)
			}
		}
	}
	if q.Order != "" {
		o, err := selection.ParseOrder(q.Order)
		if err != nil {
			return nil, err
		}
		order, err := o.Compile(selection.ColumnIndex(t.cols))
		if err != nil {
			return nil, err
		}
		slices.SortStableFunc(rows, order)
	}
	if q.Limit > 0 && int64(len(rows)) > q.Limit {
		rows = rows[:q.Limit]
	}
	return &memRows{cols: slices.Clone(names), proj: proj, rows: rows, i: -1}, nil
}

type memRows struct {
	cols []string
	proj []int
	rows [][]any
	i    int
}

func (r *memRows) Columns() []string { return r.cols }
func (r *memRows) Count() int64      { return int64(len(r.rows)) }
func (r *memRows) Err() error        { return nil }
func (r *memRows) Close() error      { return nil }

func (r *memRows) Next() bool {
	if r.i+1 >= len(r.rows) {
		r.i = len(r.rows)
		return false
	}
	r.i++
	return true
}

// Reposition implements content.Repositioner: the rows are a
// copy-on-write version of the table (writes replace the slice or append
// past its end), so every position of the query's own version stays
// reachable whatever changed since.
func (r *memRows) Reposition(_ context.Context, start int64) error {
	if start < 0 {
		return fmt.Errorf("%w: position %d", content.ErrBadRequest, start)
	}
	r.i = int(min(start, int64(len(r.rows)))) - 1
	return nil
}

func (r *memRows) Put(w *window.Writer) error {
	row := r.rows[r.i]
	for c, src := range r.proj {
		if err := content.PutValue(w, c, row[src]); err != nil {
			return err
		}
	}
	return nil
}

// Insert implements content.Provider: values are matched to columns by name;
// missing columns are NULL. The id returned is the new row's index.
func (p *MemProvider) Insert(_ context.Context, uri string, values content.Values) (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.insert(uri, values)
}

// insert adds a row; the caller holds the lock.
func (p *MemProvider) insert(uri string, values content.Values) (int64, error) {
	t, err := p.table(uri)
	if err != nil {
		return 0, err
	}
	row := make([]any, len(t.cols))
	for k, v := range values {
		c, err := colIndex(t.cols, k)
		if err != nil {
			return 0, err
		}
		if row[c], err = content.NormalizeValue(v); err != nil {
			return 0, err
		}
	}
	// In place past the end: rows handed to running queries end before it.
	t.rows = append(t.rows, row)
	return int64(len(t.rows) - 1), nil
}

// selected returns the table of uri and the predicate of a selection on
// it; the caller holds the lock.
func (p *MemProvider) selected(uri, selection string, args []any) (*memTable, func([]any) bool, error) {
	t, err := p.table(uri)
	if err != nil {
		return nil, nil, err
	}
	keep, err := t.filter(selection, args)
	if err != nil {
		return nil, nil, err
	}
	return t, keep, nil
}

// Update implements content.Provider.
func (p *MemProvider) Update(_ context.Context, uri string, values content.Values, selection string, args []any) (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.update(uri, values, selection, args)
}

// update changes the selected rows; the caller holds the lock.
func (p *MemProvider) update(uri string, values content.Values, selection string, args []any) (int64, error) {
	t, keep, err := p.selected(uri, selection, args)
	if err != nil {
		return 0, err
	}
	set := map[int]any{}
	for k, v := range values {
		c, err := colIndex(t.cols, k)
		if err != nil {
			return 0, err
		}
		if set[c], err = content.NormalizeValue(v); err != nil {
			return 0, err
		}
	}
	// Copy on write: rows handed to running queries stay as they were.
	rows := make([][]any, len(t.rows))
	var n int64
	for i, r := range t.rows {
		if keep(r) {
			r = slices.Clone(r)
			for c, v := range set {
				r[c] = v
			}
			n++
		}
		rows[i] = r
	}
	t.rows = rows
	return n, nil
}

// Delete implements content.Provider.
func (p *MemProvider) Delete(_ context.Context, uri string, selection string, args []any) (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.remove(uri, selection, args)
}

// remove deletes the selected rows; the caller holds the lock.
func (p *MemProvider) remove(uri string, selection string, args []any) (int64, error) {
	t, keep, err := p.selected(uri, selection, args)
	if err != nil {
		return 0, err
	}
	var rows [][]any
	for _, r := range t.rows {
		if !keep(r) {
			rows = append(rows, r)
		}
	}
	n := int64(len(t.rows) - len(rows))
	t.rows = rows
	return n, nil
}

// Call implements content.Provider: the method "tables" lists the table names.
func (p *MemProvider) Call(_ context.Context, method, _ string, _ content.Values) (content.Values, error) {
	if method != "tables" {
		return nil, fmt.Errorf("%w: method %q", content.ErrUnsupported, method)
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	names := make([]any, 0, len(p.tables))
	for n := range p.tables {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
	return content.Values{"tables": names}, nil
}

// Begin implements content.Transactor. The transaction holds the
// provider's lock until Commit or Rollback: others wait for it, and see
// all of its writes or none.
func (p *MemProvider) Begin(context.Context) (content.Tx, error) {
	p.mu.Lock()
	saved := make(map[string][][]any, len(p.tables))
	for name, t := range p.tables {
		saved[name] = t.rows // writes copy on write: the old rows stay intact
	}
	return &memTx{p: p, saved: saved}, nil
}

// memTx is a MemProvider's transaction.
type memTx struct {
	p     *MemProvider
	saved map[string][][]any
	done  bool
}

var errTxDone = errors.New("contenttest: the transaction has ended")

func (tx *memTx) Insert(_ context.Context, uri string, values content.Values) (int64, error) {
	if tx.done {
		return 0, errTxDone
	}
	return tx.p.insert(uri, values)
}

func (tx *memTx) Update(_ context.Context, uri string, values content.Values, selection string, args []any) (int64, error) {
	if tx.done {
		return 0, errTxDone
	}
	return tx.p.update(uri, values, selection, args)
}

func (tx *memTx) Delete(_ context.Context, uri string, selection string, args []any) (int64, error) {
	if tx.done {
		return 0, errTxDone
	}
	return tx.p.remove(uri, selection, args)
}

func (tx *memTx) Commit() error {
	if tx.done {
		return errTxDone
	}
	tx.done = true
	tx.p.mu.Unlock()
	return nil
}

func (tx *memTx) Rollback() error {
	if tx.done {
		return errTxDone
	}
	for name, rows := range tx.saved {
		tx.p.tables[name].rows = rows
	}
	tx.done = true
	tx.p.mu.Unlock()
	return nil
}
