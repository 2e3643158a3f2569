package provider

import (
	"database/sql"
	"fmt"
	"time"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/internal/wire"
	"github.com/cursorwindow/cursorwindow/window"
)

// SQLRows adapts a database/sql result to Rows, so any Go SQL driver can
// back a provider. Values are stored by their driver type: integers as
// INT64, floats as FLOAT64, strings as STRING, []byte as BLOB, NULL as
// NULL, booleans as 0 or 1 and times as RFC 3339 strings. The Rows own r
// and close it.
func SQLRows(r *sql.Rows) (Rows, error) {
	cols, err := r.Columns()
	if err != nil {
		r.Close()
		return nil, err
	}
	s := &sqlRows{r: r, cols: cols, vals: make([]any, len(cols)), ptrs: make([]any, len(cols))}
	for i := range s.vals {
		s.ptrs[i] = &s.vals[i]
	}
	return s, nil
}

type sqlRows struct {
	r    *sql.Rows
	cols []string
	vals []any
	ptrs []any
	// scanned reports that vals hold the current row, so a Put repeated
	// after ErrWindowFull does not scan again.
	scanned bool
	err     error
}

func (s *sqlRows) Columns() []string { return s.cols }

// ColumnTypes implements Typed from the driver's column types.
func (s *sqlRows) ColumnTypes() []content.ColumnType {
	cts, err := s.r.ColumnTypes()
	if err != nil || len(cts) != len(s.cols) {
		return nil
	}
	out := make([]content.ColumnType, len(cts))
	for i, ct := range cts {
		out[i].DatabaseType = ct.DatabaseTypeName()
		out[i].Nullable, out[i].NullableKnown = ct.Nullable()
	}
	return out
}
func (s *sqlRows) Close() error { return s.r.Close() }

func (s *sqlRows) Err() error {
	if s.err != nil {
		return s.err
	}
	return s.r.Err()
}

func (s *sqlRows) Next() bool {
	s.scanned = false
	return s.err == nil && s.r.Next()
}

func (s *sqlRows) Put(w *window.Writer) error {
	if !s.scanned {
		if err := s.r.Scan(s.ptrs...); err != nil {
			s.err = err
			return err
		}
		s.scanned = true
	}
	row := w.Row() // the whole row in column order: no per-field lookup
	for i, v := range s.vals {
		if err := putAny(row, v); err != nil {
			return fmt.Errorf("column %s: %w", s.cols[i], err)
		}
	}
	return nil
}

// putAny sets the next field of row to v, a value database/sql scanned
// into an any: the driver types first, then what NormalizeValue accepts.
// A time is stored as an RFC 3339 string.
func putAny(row *window.RowWriter, v any) error {
	switch x := v.(type) {
	case int64:
		row.Int64(x)
	case float64:
		row.Float64(x)
	case string:
		row.String(x)
	case []byte:
		row.Blob(x)
	case nil:
		row.Null()
	case time.Time:
		row.String(x.Format(time.RFC3339Nano))
	default:
		n, err := wire.NormalizeValue(v)
		if err != nil {
			return err
		}
		return putAny(row, n)
	}
	return row.Err()
}
