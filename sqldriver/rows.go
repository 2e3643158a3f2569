package sqldriver

import (
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/window"
)

// rows is a query's result, read in place from the cursor's windows.
type rows struct {
	c     *conn
	cur   *content.Cursor // nil when no row is to be read (LIMIT 0)
	cols  []string
	types []content.ColumnType // nil when the provider declared none
	// run holds rows read ahead from the cursor's window with one
	// ReadRows (every column, each field in the slice of its type): the
	// cursor's current row is element at, and the run ends at n. It
	// never spans two windows.
	run   []window.Column
	at, n int
	size  int // the length of run's slices
}

// maxRun is the most rows a run holds; a run starts at 4 rows and
// doubles, so a one-row query reads (and allocates) little.
const maxRun = 128

var (
	_ driver.Rows                           = (*rows)(nil)
	_ driver.RowsColumnTypeScanType         = (*rows)(nil)
	_ driver.RowsColumnTypeDatabaseTypeName = (*rows)(nil)
	_ driver.RowsColumnTypeNullable         = (*rows)(nil)
)

func (r *rows) Columns() []string { return r.cols }

// Close closes the cursor, which releases its windows and tells the
// provider to stop filling the query. database/sql calls it at the end
// of the rows, on Rows.Close, and when the query's context is done.
func (r *rows) Close() error {
	if r.cur == nil {
		return nil
	}
	return r.cur.Close()
}

// Next reads the next row into dest: INT64 as int64, FLOAT64 as float64,
// STRING and BLOB as []byte views into the window, NULL as nil.
func (r *rows) Next(dest []driver.Value) error {
	cur := r.cur
	if cur == nil {
		return io.EOF
	}
	if !cur.Next() {
		if err := cur.Err(); err != nil {
			r.c.gone(err)
			return err
		}
		return io.EOF
	}
	if r.at++; r.at >= r.n {
		if err := r.readRun(); err != nil {
			return err
		}
	}
	i := r.at
	for c := range dest {
		col := &r.run[c]
		switch t := col.Types[i]; t {
		case window.TypeInt64:
			dest[c] = col.Int64s[i]
		case window.TypeFloat64:
			dest[c] = col.Float64s[i]
		case window.TypeString, window.TypeBlob:
			dest[c] = col.Views[i]
		case window.TypeNull:
			dest[c] = nil
		default:
			return fmt.Errorf("sqldriver: column %d: %v", c, t)
		}
	}
	return nil
}

// readRun reads a run of rows from the cursor's row to at most the end of
// its window, every column in one ReadRows. A field ReadRows cannot read
// ends the run before its row, and fails the Next that reaches it.
func (r *rows) readRun() error {
	if size := min(max(2*r.size, 4), maxRun); size != r.size {
		r.size = size
		r.run = make([]window.Column, len(r.cols))
		for c := range r.run {
			r.run[c] = window.Column{Types: make([]window.FieldType, size), Int64s: make([]int64, size),
				Float64s: make([]float64, size), Views: make([][]byte, size)}
		}
	}
	w, row, left := r.cur.Block()
	n, err := w.ReadRows(row, r.run)
	if n = min(n, left); n == 0 {
		if err == nil {
			err = fmt.Errorf("sqldriver: no row to read at %d", row)
		}
		return err
	}
	r.at, r.n = 0, n
	return nil
}

// declared returns what the provider declared about column i, zero when
// it declared nothing.
func (r *rows) declared(i int) content.ColumnType {
	if i < 0 || i >= len(r.types) {
		return content.ColumnType{}
	}
	return r.types[i]
}

// ColumnTypeDatabaseTypeName returns the column's declared type in upper
// case ("INTEGER", "TEXT", ...), or "" when the provider declared none.
func (r *rows) ColumnTypeDatabaseTypeName(i int) string {
	return strings.ToUpper(r.declared(i).DatabaseType)
}

// ColumnTypeNullable reports whether the column may hold NULL, if the
// provider declared it.
func (r *rows) ColumnTypeNullable(i int) (nullable, ok bool) {
	ct := r.declared(i)
	return ct.Nullable, ct.NullableKnown
}

// Scan types by affinity and nullability.
var (
	typeAny         = reflect.TypeFor[any]()
	typeInt64       = reflect.TypeFor[int64]()
	typeFloat64     = reflect.TypeFor[float64]()
	typeString      = reflect.TypeFor[string]()
	typeBytes       = reflect.TypeFor[[]byte]()
	typeNullInt64   = reflect.TypeFor[sql.NullInt64]()
	typeNullFloat64 = reflect.TypeFor[sql.NullFloat64]()
	typeNullString  = reflect.TypeFor[sql.NullString]()
)

// ColumnTypeScanType returns a type to scan the column into, from its
// declared type by SQLite's affinity rules: a name containing INT is
// int64; CHAR, CLOB or TEXT string; BLOB []byte; REAL, FLOA or DOUB
// float64; sql.NullInt64, sql.NullString or sql.NullFloat64 instead
// unless the column is declared NOT NULL. Anything else (NUMERIC, no
// declared type, a provider that declares none) is any: a window holds
// each field's own type, and Scan into *any gets it.
func (r *rows) ColumnTypeScanType(i int) reflect.Type {
	ct := r.declared(i)
	notNull := ct.NullableKnown && !ct.Nullable
	switch t := strings.ToUpper(ct.DatabaseType); {
	case strings.Contains(t, "INT"):
		return pick(notNull, typeInt64, typeNullInt64)
	case strings.Contains(t, "CHAR") || strings.Contains(t, "CLOB") || strings.Contains(t, "TEXT"):
		return pick(notNull, typeString, typeNullString)
	case strings.Contains(t, "BLOB"):
		return typeBytes // NULL scans as nil
	case strings.Contains(t, "REAL") || strings.Contains(t, "FLOA") || strings.Contains(t, "DOUB"):
		return pick(notNull, typeFloat64, typeNullFloat64)
	}
	return typeAny
}

func pick(notNull bool, plain, null reflect.Type) reflect.Type {
	if notNull {
		return plain
	}
	return null
}
