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
}

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
	// The row in place, through window.Row's inlined accessors; the
	// Window's own accessor only for what they leave (an empty string, a
	// damaged field, which it names).
	w, i, _ := cur.Block()
	row, ok := w.Row(i)
	if !ok {
		return fmt.Errorf("sqldriver: no row %d in the cursor's window", i)
	}
	for c := range dest {
		switch t := row.Type(c); t {
		case window.TypeInt64:
			v, ok := row.Int64(c)
			if !ok { // a column of several types: the Window reads it
				var err error
				if v, err = w.Int64(i, c); err != nil {
					return err
				}
			}
			dest[c] = v
		case window.TypeFloat64:
			v, ok := row.Float64(c)
			if !ok {
				var err error
				if v, err = w.Float64(i, c); err != nil {
					return err
				}
			}
			dest[c] = v
		case window.TypeString, window.TypeBlob:
			b, ok := row.Bytes(c)
			if !ok {
				var err error
				if b, err = w.Bytes(i, c); err != nil {
					return err
				}
			}
			dest[c] = b
		case window.TypeNull:
			dest[c] = nil
		default:
			_, err := w.Type(i, c)
			if err == nil { // the slot was rewritten between two reads
				err = fmt.Errorf("%w: field changed while read", window.ErrCorrupt)
			}
			return fmt.Errorf("sqldriver: column %d: %w", c, err)
		}
	}
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
