// Package table holds the benchmark's table as typed Go slices, prepared
// before any timing, and serves it to cursorwindow as a provider.Provider
// whose Rows write each row straight from the slices into the window.
//
// Every transport of the harness reads its rows from the same Table, so
// they all start from the same in-memory source.
//
// # Caveats
//
// A Table is immutable once built and safe for concurrent readers. Its
// strings and blobs are slices of two large backing arrays: a caller must
// not modify the bytes Blob returns.
package table

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/provider"
	"github.com/cursorwindow/cursorwindow/window"
)

// Names of the two tables.
const (
	// Wide has four columns: id int64, fare float64, city (a 25-byte
	// string) and payload (a 64-byte blob).
	Wide = "wide"
	// Narrow has one column, id int64: 8 bytes of value a row.
	Narrow = "narrow"
)

// CityLen and BlobLen are the sizes of the wide table's string and blob.
const (
	CityLen = 25
	BlobLen = 64
)

// Table is a table held column by column in Go slices.
type Table struct {
	Name    string
	Columns []string
	IDs     []int64
	Fares   []float64 // nil in the narrow table, as are Cities and Blobs
	Cities  []string
	Blobs   [][]byte
}

// New builds the table named name (Wide or Narrow) with n rows.
func New(name string, n int) (*Table, error) {
	t := &Table{Name: name, IDs: make([]int64, n)}
	for i := range t.IDs {
		t.IDs[i] = int64(i)
	}
	switch name {
	case Narrow:
		t.Columns = []string{"id"}
		return t, nil
	case Wide:
	default:
		return nil, fmt.Errorf("table: no table %q", name)
	}
	t.Columns = []string{"id", "fare", "city", "payload"}
	t.Fares = make([]float64, n)
	t.Cities = make([]string, n)
	t.Blobs = make([][]byte, n)
	cities := make([]byte, 0, n*CityLen)
	blobs := make([]byte, n*BlobLen)
	for i := range n {
		t.Fares[i] = float64(i) * 0.25
		cities = append(cities, "station-"...)
		cities = strconv.AppendInt(cities, int64(10_000_000+i%10_000_000), 10)
		cities = append(cities, "-abcdefgh"...)
		b := blobs[i*BlobLen : (i+1)*BlobLen : (i+1)*BlobLen]
		for j := range b {
			b[j] = byte(i + j)
		}
		t.Blobs[i] = b
	}
	all := string(cities)
	for i := range n {
		t.Cities[i] = all[i*CityLen : (i+1)*CityLen]
	}
	return t, nil
}

// Len returns the number of rows.
func (t *Table) Len() int { return len(t.IDs) }

// Wide reports whether the table has the four wide columns.
func (t *Table) Wide() bool { return t.Fares != nil }

// Checksum is what every consumer computes over the rows it reads, so that
// a transport that skipped work would be caught: the sum of the ids, the
// fares and the lengths of the strings and blobs.
func (t *Table) Checksum(limit int) float64 {
	var sum float64
	for i := range min(limit, t.Len()) {
		sum += float64(t.IDs[i])
		if t.Wide() {
			sum += t.Fares[i] + float64(len(t.Cities[i])+len(t.Blobs[i]))
		}
	}
	return sum
}

// Sum is Checksum(limit) of the table New(name, n) would build, computed
// without building it. Every term is a multiple of 0.25 and the total stays
// far below 2^50, so the float sums are exact in any order.
func Sum(name string, limit int) float64 {
	var sum float64
	for i := range limit {
		sum += float64(i)
		if name == Wide {
			sum += float64(i)*0.25 + CityLen + BlobLen
		}
	}
	return sum
}

// SumIDs folds a run of the narrow table's ids into its checksum, in two
// sums, so that the loop is bound by reading the ids rather than by one
// chain of floating-point adds. Every reader of the narrow table uses it
// (the harness's in-process and cursorwindow readers), so
// none is slower for its sum. (The ids' sum is exact in any order: it
// stays below 2^53.)
func SumIDs(ids []int64) float64 {
	var a, b float64
	for len(ids) >= 2 {
		a += float64(ids[0])
		b += float64(ids[1])
		ids = ids[2:]
	}
	for _, id := range ids {
		a += float64(id)
	}
	return a + b
}

// ReadWideColumns reads rows lo to hi-1 of a wide window a column at a
// time, as a reader of Arrow's layout does: the ids and fares in place
// (Window.Int64Values, Float64Values), the string's and the blob's
// lengths from their offsets (Window.Buffers), each checked as
// docs/FORMAT.md requires, and folds them as Checksum does, one row at a
// time in the same single chain of adds as the Go slices' loop. ok is
// false when the window cannot be read so (a mixed column, a column of
// another type, bytes not aligned in memory): ReadWide reads it then.
func ReadWideColumns(w *window.Window, lo, hi int) (n int, sum float64, ok bool, err error) {
	ids, ok1 := w.Int64Values(0)
	fares, ok2 := w.Float64Values(1)
	city, err1 := w.Buffers(2)
	blob, err2 := w.Buffers(3)
	if !ok1 || !ok2 || err1 != nil || err2 != nil || !isVar(city) || !isVar(blob) || lo < 0 || hi < lo || hi > len(ids) {
		return 0, 0, false, nil
	}
	ids, fares = ids[lo:hi], fares[lo:hi:hi]
	co, bo := city.Values[4*lo:4*(hi+1)], blob.Values[4*lo:4*(hi+1)]
	cn, bn := uint32(len(city.Data)), uint32(len(blob.Data))
	c0, b0 := binary.LittleEndian.Uint32(co), binary.LittleEndian.Uint32(bo)
	for i, id := range ids {
		c1, b1 := binary.LittleEndian.Uint32(co[4*i+4:]), binary.LittleEndian.Uint32(bo[4*i+4:])
		if c1 < c0 || c1 > cn || b1 < b0 || b1 > bn {
			return i, sum, true, fmt.Errorf("%w: row %d: offsets out of order or past the data", window.ErrCorrupt, lo+i)
		}
		sum += float64(id) + fares[i] + float64(c1-c0+b1-b0)
		c0, b0 = c1, b1
	}
	return hi - lo, sum, true, nil
}

// isVar reports a STRING or BLOB column with its offsets in place.
func isVar(b window.Buffers) bool {
	return !b.Mixed && (b.Type == window.TypeString || b.Type == window.TypeBlob)
}

// ReadWide reads rows lo to hi-1 of a wide window through window.Row's
// inlined accessors, the Window's own for what they leave (an empty
// string, a NULL), and folds them as Checksum does. It returns the rows
// read and their sum. It is the harness's cursorwindow reader of the
// wide table row by row (the read workload's second reader).
func ReadWide(w *window.Window, lo, hi int) (int, float64, error) {
	var sum float64
	for i := lo; i < hi; i++ {
		r, _ := w.Row(i)
		id, ok := r.Int64(0)
		fare, ok2 := r.Float64(1)
		city, ok3 := r.Bytes(2)
		blob, ok4 := r.Bytes(3)
		if !(ok && ok2 && ok3 && ok4) {
			var err error
			if id, fare, city, blob, err = readSlow(w, i); err != nil {
				return i - lo, sum, err
			}
		}
		sum += float64(id) + fare + float64(len(city)+len(blob))
	}
	return hi - lo, sum, nil
}

// readSlow reads row i of a wide window with the Window's accessors.
func readSlow(w *window.Window, i int) (id int64, fare float64, city, blob []byte, err error) {
	id, err = w.Int64(i, 0)
	if err == nil {
		fare, err = w.Float64(i, 1)
	}
	if err == nil {
		city, err = w.Bytes(i, 2)
	}
	if err == nil {
		blob, err = w.Bytes(i, 3)
	}
	return id, fare, city, blob, err
}

// Row is one row of the wide table as the copying transports carry it:
// the struct with msgpack tags a Go developer would write.
type Row struct {
	ID      int64   `msgpack:"id"`
	Fare    float64 `msgpack:"fare"`
	City    string  `msgpack:"city"`
	Payload []byte  `msgpack:"payload"`
}

// NarrowRow is one row of the narrow table.
type NarrowRow struct {
	ID int64 `msgpack:"id"`
}

// Row returns row i of a wide table (the blob is shared, not copied).
func (t *Table) Row(i int) Row {
	return Row{ID: t.IDs[i], Fare: t.Fares[i], City: t.Cities[i], Payload: t.Blobs[i]}
}

// Provider serves Tables to cursorwindow consumers, by name as the URI.
// It only answers queries.
type Provider struct {
	provider.ReadOnly
	tables map[string]*Table
}

var _ provider.Provider = (*Provider)(nil)

// NewProvider returns a provider of the given tables.
func NewProvider(tables ...*Table) *Provider {
	p := &Provider{tables: map[string]*Table{}}
	for _, t := range tables {
		p.tables[t.Name] = t
	}
	return p
}

// Query returns the rows of the table q.URI names, up to q.Limit.
func (p *Provider) Query(_ context.Context, q *content.Query) (provider.Rows, error) {
	t, ok := p.tables[q.URI]
	if !ok {
		return nil, fmt.Errorf("%w: table %q", content.ErrNotFound, q.URI)
	}
	end := t.Len()
	if q.Limit > 0 && q.Limit < int64(end) {
		end = int(q.Limit)
	}
	return &Rows{t: t, i: -1, end: end}, nil
}

// Rows iterates a Table for the server, writing each row from the typed
// slices: no boxing, no allocation per row.
type Rows struct {
	t      *Table
	i, end int
}

var (
	_ provider.Rows    = (*Rows)(nil)
	_ provider.Counter = (*Rows)(nil)
)

// NewRows returns the first n rows of t (all of them if n <= 0 or beyond).
func NewRows(t *Table, n int) *Rows {
	if n <= 0 || n > t.Len() {
		n = t.Len()
	}
	return &Rows{t: t, i: -1, end: n}
}

// Columns returns the table's column names.
func (r *Rows) Columns() []string { return r.t.Columns }

// Next moves to the next row.
func (r *Rows) Next() bool {
	if r.i+1 >= r.end {
		r.i = r.end
		return false
	}
	r.i++
	return true
}

// Put writes the current row into the last row of w, with one RowWriter:
// the row's slots are found once, not once a field.
func (r *Rows) Put(w *window.Writer) error {
	t, i := r.t, r.i
	row := w.Row()
	row.Int64(t.IDs[i])
	if t.Fares != nil {
		row.Float64(t.Fares[i])
		row.String(t.Cities[i])
		row.Blob(t.Blobs[i])
	}
	return row.Err()
}

// Count returns the number of rows the result has.
func (r *Rows) Count() int64 { return int64(r.end) }

// Err returns nil: reading slices cannot fail.
func (r *Rows) Err() error { return nil }

// Close does nothing.
func (r *Rows) Close() error { return nil }
