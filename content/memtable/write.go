package memtable

import (
	"context"
	"fmt"
	"slices"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/provider"
	"github.com/cursorwindow/cursorwindow/content/selection"
)

// OnChange sets the hook through which Change tells the server that a
// table changed: pass the serving Server's Change method. Without a hook
// Change writes without telling anyone. Writes a consumer sends need no
// hook: the server serving them notifies itself.
func (p *Provider) OnChange(change func(uri string, change func() error) error) {
	p.hookMu.Lock()
	defer p.hookMu.Unlock()
	p.change = change
}

// Change runs write, the program's own writes to the table uri, in a
// transaction (all of them or, if write returns an error or panics, none),
// inside the OnChange hook: the server shares no window of uri while it
// runs and then notifies the consumers watching uri. The transaction
// refuses writes to other tables (content.ErrBadRequest). write must not
// call the transaction's Commit or Rollback, nor the Provider's own
// methods (they would wait for the transaction's lock). Change returns
// write's error, or the hook's.
func (p *Provider) Change(uri string, write func(tx *Tx) error) error {
	run := func() (err error) {
		tx := p.begin(uri)
		defer func() {
			if !tx.done {
				tx.rollback()
			}
		}()
		if err := write(tx); err != nil {
			return err
		}
		return tx.Commit()
	}
	p.hookMu.Lock()
	hook := p.change
	p.hookMu.Unlock()
	if hook == nil {
		return run()
	}
	return hook(uri, run)
}

// Insert implements provider.Provider: values are matched to columns by
// name (case-insensitively), columns not named are NULL. The id returned
// counts the rows inserted into the table from 0, the rows given to
// AddTable included: ids are unique and increasing, and a row's id is
// its position in the table while no row was deleted.
func (p *Provider) Insert(_ context.Context, uri string, values content.Values) (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.insert(uri, values)
}

// Update implements provider.Provider.
func (p *Provider) Update(_ context.Context, uri string, values content.Values, selection string, args []any) (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.update(uri, values, selection, args)
}

// Delete implements provider.Provider.
func (p *Provider) Delete(_ context.Context, uri string, selection string, args []any) (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.remove(uri, selection, args)
}

// insert adds a row; the caller holds the lock.
func (p *Provider) insert(uri string, values content.Values) (int64, error) {
	t, err := p.table(uri)
	if err != nil {
		return 0, err
	}
	row, err := t.row(values)
	if err != nil {
		return 0, err
	}
	// Past the end: the snapshots of open queries end before it.
	t.rows = append(t.rows, row)
	id := t.nextID
	t.nextID++
	return id, nil
}

// selected returns the table of uri and the predicate of a selection on
// it; the caller holds the lock.
func (p *Provider) selected(uri, text string, args []any) (*table, func([]any) bool, error) {
	t, err := p.table(uri)
	if err != nil {
		return nil, nil, err
	}
	sel, err := selection.Parse(text)
	if err != nil {
		return nil, nil, err
	}
	match, err := sel.Compile(t.index, args)
	if err != nil {
		return nil, nil, err
	}
	return t, match, nil
}

// update changes the selected rows; the caller holds the lock.
func (p *Provider) update(uri string, values content.Values, selection string, args []any) (int64, error) {
	t, match, err := p.selected(uri, selection, args)
	if err != nil {
		return 0, err
	}
	if len(values) == 0 {
		return 0, fmt.Errorf("%w: update without values", content.ErrBadRequest)
	}
	set := make(map[int]any, len(values))
	for k, v := range values {
		c, err := t.index(k)
		if err != nil {
			return 0, fmt.Errorf("table %q: %w", t.name, err)
		}
		if set[c], err = t.value(c, v); err != nil {
			return 0, err
		}
	}
	// Copy on write: the rows snapshots hold stay as they were.
	rows := make([][]any, len(t.rows))
	var n int64
	for i, r := range t.rows {
		if match(r) {
			r = append([]any(nil), r...)
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

// remove deletes the selected rows; the caller holds the lock.
func (p *Provider) remove(uri string, selection string, args []any) (int64, error) {
	t, match, err := p.selected(uri, selection, args)
	if err != nil {
		return 0, err
	}
	rows := make([][]any, 0, len(t.rows))
	for _, r := range t.rows {
		if !match(r) {
			rows = append(rows, r)
		}
	}
	n := int64(len(t.rows) - len(rows))
	t.rows = rows
	return n, nil
}

// BulkInsert implements provider.BulkInserter: all the rows or none. The
// rows are read and checked before the table is locked, so a slow load
// keeps no query waiting.
func (p *Provider) BulkInsert(_ context.Context, uri string, in *provider.BulkRows) (int64, error) {
	p.mu.RLock()
	t, err := p.table(uri)
	p.mu.RUnlock()
	if err != nil {
		return 0, err
	}
	idx := make([]int, len(in.Columns()))
	for i, n := range in.Columns() {
		if idx[i], err = t.index(n); err != nil {
			return 0, fmt.Errorf("table %q: %w", t.name, err)
		}
		if slices.Contains(idx[:i], idx[i]) {
			return 0, fmt.Errorf("%w: table %q: column %q named twice", content.ErrBadRequest, t.name, n)
		}
	}
	var add [][]any
	fields := make([]any, len(idx))
	for in.Next() {
		if err := in.Fields(fields); err != nil {
			return 0, err
		}
		values := make(content.Values, len(idx))
		for i, c := range idx {
			values[t.cols[c].Name] = fields[i]
		}
		row, err := t.row(values)
		if err != nil {
			return 0, err
		}
		add = append(add, row)
	}
	if err := in.Err(); err != nil {
		return 0, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tables[uri] != t {
		return 0, fmt.Errorf("%w: table %q was replaced during the load", content.ErrBusy, uri)
	}
	t.rows = append(t.rows, add...)
	t.nextID += int64(len(add))
	return int64(len(add)), nil
}

// Begin implements provider.Transactor: the transaction holds the
// provider's lock until Commit or Rollback, so others wait for it and
// see all of its writes or none.
func (p *Provider) Begin(context.Context) (provider.Tx, error) {
	return p.begin(""), nil
}

// begin starts a transaction, restricted to the table only if not "".
func (p *Provider) begin(only string) *Tx {
	p.mu.Lock()
	saved := make(map[string]savedTable, len(p.tables))
	for name, t := range p.tables {
		saved[name] = savedTable{t.rows, t.nextID} // writes copy on write: the old rows stay intact
	}
	return &Tx{p: p, only: only, saved: saved}
}

type savedTable struct {
	rows   [][]any
	nextID int64
}

// Tx is a transaction on a Provider: its writes are seen by others only
// once it commits, and undone by Rollback. It is used by one goroutine.
type Tx struct {
	p     *Provider
	only  string // the table Change restricts it to, or ""
	saved map[string]savedTable
	done  bool
}

func (tx *Tx) check(uri string) error {
	if tx.done {
		return ErrTxDone
	}
	if tx.only != "" && uri != tx.only {
		return fmt.Errorf("%w: a change of %q cannot write to %q", content.ErrBadRequest, tx.only, uri)
	}
	return nil
}

// Insert adds a row, as Provider.Insert.
func (tx *Tx) Insert(_ context.Context, uri string, values content.Values) (int64, error) {
	if err := tx.check(uri); err != nil {
		return 0, err
	}
	return tx.p.insert(uri, values)
}

// Update changes the selected rows, as Provider.Update.
func (tx *Tx) Update(_ context.Context, uri string, values content.Values, selection string, args []any) (int64, error) {
	if err := tx.check(uri); err != nil {
		return 0, err
	}
	return tx.p.update(uri, values, selection, args)
}

// Delete removes the selected rows, as Provider.Delete.
func (tx *Tx) Delete(_ context.Context, uri string, selection string, args []any) (int64, error) {
	if err := tx.check(uri); err != nil {
		return 0, err
	}
	return tx.p.remove(uri, selection, args)
}

// Commit makes the transaction's writes seen and ends it.
func (tx *Tx) Commit() error {
	if tx.done {
		return ErrTxDone
	}
	tx.done = true
	tx.p.mu.Unlock()
	return nil
}

// Rollback undoes the transaction's writes and ends it.
func (tx *Tx) Rollback() error {
	if tx.done {
		return ErrTxDone
	}
	tx.rollback()
	return nil
}

func (tx *Tx) rollback() {
	for name, s := range tx.saved {
		t := tx.p.tables[name]
		t.rows, t.nextID = s.rows, s.nextID
	}
	tx.done = true
	tx.p.mu.Unlock()
}
