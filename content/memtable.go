package content

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/cursorwindow/cursorwindow/window"
)

// MemProvider serves tables held in memory: for tests, examples and
// benchmarks. A table's URI is its name. Selections take the form
// "column OP ?" with OP one of = != < <= > >=; orders "column" or
// "column DESC". Values are int64, float64, string, []byte or nil.
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
			r[i] = normalize(v)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tables[name] = &memTable{cols: columns, rows: rows}
}

func (p *MemProvider) table(uri string) (*memTable, error) {
	t, ok := p.tables[uri]
	if !ok {
		return nil, fmt.Errorf("%w: table %q", ErrNotFound, uri)
	}
	return t, nil
}

func colIndex(cols []string, name string) (int, error) {
	if i := slices.Index(cols, name); i >= 0 {
		return i, nil
	}
	return 0, fmt.Errorf("%w: no column %q", ErrBadRequest, name)
}

// filter compiles a selection into a predicate.
func (t *memTable) filter(selection string, args []any) (func([]any) bool, error) {
	if selection == "" {
		return func([]any) bool { return true }, nil
	}
	f := strings.Fields(selection)
	if len(f) != 3 || f[2] != "?" || len(args) != 1 {
		return nil, fmt.Errorf("%w: selection %q: want \"column OP ?\" and one argument", ErrBadRequest, selection)
	}
	c, err := colIndex(t.cols, f[0])
	if err != nil {
		return nil, err
	}
	arg := normalize(args[0])
	var ok func(int) bool
	switch f[1] {
	case "=":
		ok = func(c int) bool { return c == 0 }
	case "!=":
		ok = func(c int) bool { return c != 0 }
	case "<":
		ok = func(c int) bool { return c < 0 }
	case "<=":
		ok = func(c int) bool { return c <= 0 }
	case ">":
		ok = func(c int) bool { return c > 0 }
	case ">=":
		ok = func(c int) bool { return c >= 0 }
	default:
		return nil, fmt.Errorf("%w: operator %q", ErrBadRequest, f[1])
	}
	return func(row []any) bool { return ok(compare(row[c], arg)) }, nil
}

// normalize maps integer and float kinds that arrive through msgpack onto
// int64 and float64.
func normalize(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		if x > math.MaxInt64 {
			return float64(x)
		}
		return int64(x)
	case uint:
		return int64(x)
	case float32:
		return float64(x)
	}
	return v
}

// compare orders values as SQLite does: NULL < numbers < strings < blobs.
func compare(a, b any) int {
	rank := func(v any) int {
		switch v.(type) {
		case nil:
			return 0
		case int64, float64:
			return 1
		case string:
			return 2
		}
		return 3
	}
	if ra, rb := rank(a), rank(b); ra != rb {
		return cmp.Compare(ra, rb)
	}
	switch x := a.(type) {
	case int64:
		if y, ok := b.(int64); ok {
			return cmp.Compare(x, y)
		}
		return cmp.Compare(float64(x), b.(float64))
	case float64:
		if y, ok := b.(int64); ok {
			return cmp.Compare(x, float64(y))
		}
		return cmp.Compare(x, b.(float64))
	case string:
		return strings.Compare(x, b.(string))
	case []byte:
		return strings.Compare(string(x), string(b.([]byte)))
	}
	return 0
}

// Query implements Provider.
func (p *MemProvider) Query(_ context.Context, q *Query) (Rows, error) {
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
		f := strings.Fields(q.Order)
		desc := len(f) == 2 && strings.EqualFold(f[1], "DESC")
		if len(f) == 0 || len(f) > 2 || (len(f) == 2 && !desc && !strings.EqualFold(f[1], "ASC")) {
			return nil, fmt.Errorf("%w: order %q", ErrBadRequest, q.Order)
		}
		c, err := colIndex(t.cols, f[0])
		if err != nil {
			return nil, err
		}
		slices.SortStableFunc(rows, func(a, b []any) int {
			if desc {
				return compare(b[c], a[c])
			}
			return compare(a[c], b[c])
		})
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

func (r *memRows) Put(w *window.Writer) error {
	row := r.rows[r.i]
	for c, src := range r.proj {
		if err := PutValue(w, c, row[src]); err != nil {
			return err
		}
	}
	return nil
}

// PutValue writes a Go value into column col of w's last row: nil, any
// integer, float32/64, bool (as 0 or 1), string or []byte.
func PutValue(w *window.Writer, col int, v any) error {
	switch x := v.(type) { // the common kinds first, without normalising
	case int64:
		return w.PutInt64(col, x)
	case float64:
		return w.PutFloat64(col, x)
	case string:
		return w.PutString(col, x)
	case []byte:
		return w.PutBlob(col, x)
	case nil:
		return w.PutNull(col)
	case bool:
		if x {
			return w.PutInt64(col, 1)
		}
		return w.PutInt64(col, 0)
	}
	switch x := normalize(v).(type) {
	case int64:
		return w.PutInt64(col, x)
	case float64:
		return w.PutFloat64(col, x)
	}
	return fmt.Errorf("%w: cannot store %T in a window", ErrBadRequest, v)
}

// Insert implements Provider: values are matched to columns by name;
// missing columns are NULL. The id returned is the new row's index.
func (p *MemProvider) Insert(_ context.Context, uri string, values Values) (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
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
		row[c] = normalize(v)
	}
	t.rows = append(slices.Clip(t.rows), row)
	return int64(len(t.rows) - 1), nil
}

// Update implements Provider.
func (p *MemProvider) Update(_ context.Context, uri string, values Values, selection string, args []any) (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, err := p.table(uri)
	if err != nil {
		return 0, err
	}
	keep, err := t.filter(selection, args)
	if err != nil {
		return 0, err
	}
	set := map[int]any{}
	for k, v := range values {
		c, err := colIndex(t.cols, k)
		if err != nil {
			return 0, err
		}
		set[c] = normalize(v)
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

// Delete implements Provider.
func (p *MemProvider) Delete(_ context.Context, uri string, selection string, args []any) (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, err := p.table(uri)
	if err != nil {
		return 0, err
	}
	keep, err := t.filter(selection, args)
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

// Call implements Provider: the method "tables" lists the table names.
func (p *MemProvider) Call(_ context.Context, method, _ string, _ Values) (Values, error) {
	if method != "tables" {
		return nil, fmt.Errorf("%w: method %q", ErrUnsupported, method)
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	names := make([]any, 0, len(p.tables))
	for n := range p.tables {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
	return Values{"tables": names}, nil
}
