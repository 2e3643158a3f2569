package memtable

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/selection"
)

// Declared column types, as SQLite names them; the zero Type takes
// values of any type.
const (
	Any     = ""
	Integer = "INTEGER"
	Real    = "REAL"
	Text    = "TEXT"
	Blob    = "BLOB"
)

// Column declares a column of a table.
type Column struct {
	Name string
	// Type is Integer, Real, Text, Blob or Any. A column of a type takes
	// values of that type only (and NULL): an Integer column also takes
	// floats without a fraction, a Real one integers, converted; other
	// values are refused with content.ErrBadRequest.
	Type string
	// NotNull refuses NULL, as SQL's NOT NULL, with content.ErrBadRequest.
	NotNull bool
}

// table is one table: its columns, and its rows as of the last write.
// rows is replaced, never changed in place, but for appends past its
// length; a row ([]any) is never changed once stored (copy on write), so
// a snapshot is a copy of the slice header.
type table struct {
	name   string
	cols   []Column
	names  []string // the columns' names, by position
	all    []int    // every column's position, in order
	types  []content.ColumnType
	index  func(name string) (int, error)
	rows   [][]any
	nextID int64 // the number of rows ever inserted: the next row's id
}

func newTable(name string, cols []Column) (*table, error) {
	if len(cols) == 0 {
		return nil, fmt.Errorf("%w: table %q has no columns", content.ErrBadRequest, name)
	}
	t := &table{name: name, cols: make([]Column, len(cols)), names: make([]string, len(cols))}
	seen := make(map[string]bool, len(cols))
	for i, c := range cols {
		c.Type = strings.ToUpper(c.Type)
		switch c.Type {
		case Any, Integer, Real, Text, Blob:
		default:
			return nil, fmt.Errorf("%w: table %q column %q: type %q (want INTEGER, REAL, TEXT, BLOB or none)",
				content.ErrBadRequest, name, c.Name, c.Type)
		}
		key := selection.FoldName(c.Name)
		if seen[key] {
			return nil, fmt.Errorf("%w: table %q has two columns %q", content.ErrBadRequest, name, c.Name)
		}
		seen[key] = true
		t.cols[i], t.names[i] = c, c.Name
	}
	t.index = selection.ColumnIndex(t.names)
	t.all = make([]int, len(cols))
	for i := range t.all {
		t.all[i] = i
	}
	t.names, t.all = slices.Clip(t.names), slices.Clip(t.all)
	t.types = slices.Clip(t.typesOf(t.all))
	return t, nil
}

// value checks and converts a value for column c.
func (t *table) value(c int, v any) (any, error) {
	col := t.cols[c]
	v, err := content.NormalizeValue(v)
	if err != nil {
		return nil, fmt.Errorf("table %q column %q: %w", t.name, col.Name, err)
	}
	if b, ok := v.([]byte); ok && b == nil {
		v = nil // as database/sql and PutValue: a nil []byte is NULL
	}
	if v == nil {
		if col.NotNull {
			return nil, fmt.Errorf("%w: table %q column %q is NOT NULL", content.ErrBadRequest, t.name, col.Name)
		}
		return nil, nil
	}
	ok := true
	switch col.Type {
	case Integer:
		if f, isFloat := v.(float64); isFloat && f == math.Trunc(f) && f >= -0x1p63 && f < 0x1p63 {
			v = int64(f)
		}
		_, ok = v.(int64)
	case Real:
		if i, isInt := v.(int64); isInt {
			v = float64(i)
		}
		_, ok = v.(float64)
	case Text:
		_, ok = v.(string)
	case Blob:
		_, ok = v.([]byte)
	}
	if !ok {
		return nil, fmt.Errorf("%w: table %q column %q is %s, not %T", content.ErrBadRequest, t.name, col.Name, col.Type, v)
	}
	return v, nil
}

// row builds a new row from values by column name; columns not named
// are NULL.
func (t *table) row(values content.Values) ([]any, error) {
	row := make([]any, len(t.cols))
	set := make([]bool, len(t.cols))
	for k, v := range values {
		c, err := t.index(k)
		if err != nil {
			return nil, fmt.Errorf("table %q: %w", t.name, err)
		}
		if row[c], err = t.value(c, v); err != nil {
			return nil, err
		}
		set[c] = true
	}
	for c, col := range t.cols {
		if !set[c] && col.NotNull {
			return nil, fmt.Errorf("%w: table %q column %q is NOT NULL and has no value", content.ErrBadRequest, t.name, col.Name)
		}
	}
	return row, nil
}

// checked returns a row of positional values, checked.
func (t *table) checked(values []any) ([]any, error) {
	if len(values) != len(t.cols) {
		return nil, fmt.Errorf("%w: table %q: %d values for %d columns", content.ErrBadRequest, t.name, len(values), len(t.cols))
	}
	row := make([]any, len(values))
	for c, v := range values {
		var err error
		if row[c], err = t.value(c, v); err != nil {
			return nil, err
		}
	}
	return row, nil
}

// typesOf returns the declared types of the columns at idx.
func (t *table) typesOf(idx []int) []content.ColumnType {
	ct := make([]content.ColumnType, len(idx))
	for i, c := range idx {
		ct[i] = content.ColumnType{DatabaseType: t.cols[c].Type, Nullable: !t.cols[c].NotNull, NullableKnown: true}
	}
	return ct
}
