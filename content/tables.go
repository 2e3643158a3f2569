package content

import (
	"context"
	"errors"
	"fmt"
)

// Table is a table a provider serves, as Client.Tables lists it.
type Table struct {
	Name string
	// Columns are the table's columns in declared order.
	Columns []string
	// Types has one element per column: its declared type ("" when the
	// provider declares none) and whether it is declared NOT NULL
	// (NullableKnown false when the provider does not say).
	Types []ColumnType
}

// Tables lists the tables the provider serves that the caller may query,
// sorted by name, with their columns, declared types and NOT NULL. It
// uses the listing convention of docs/PROTOCOL.md ("Listing tables and
// columns"): a call "tables", then a call "columns" per table. A provider
// without the convention answers with an error wrapping ErrUnsupported;
// an answer of another shape is an error wrapping ErrProtocol. An answer
// without "types" declares none, one without "notnull" leaves
// nullability unknown; a table dropped between the two calls is left
// out.
func (c *Client) Tables(ctx context.Context) ([]Table, error) {
	res, err := c.Call(ctx, "tables", "", nil)
	if err != nil {
		return nil, err
	}
	names, err := res.strings("tables")
	if err != nil {
		return nil, err
	}
	tables := make([]Table, 0, len(names))
	for _, name := range names {
		t, err := c.Table(ctx, name)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		tables = append(tables, t)
	}
	return tables, nil
}

// Table describes one table as Tables does, with the convention's
// "columns" call. An unknown table is an error wrapping ErrNotFound (or
// ErrPermission for one the caller may not query).
func (c *Client) Table(ctx context.Context, name string) (Table, error) {
	res, err := c.Call(ctx, "columns", name, nil)
	if err != nil {
		return Table{}, err
	}
	return tableOf(name, res)
}

// tableOf reads the answer to "columns" for the table name.
func tableOf(name string, res Values) (Table, error) {
	cols, err := res.strings("columns")
	if err != nil {
		return Table{}, err
	}
	types, err := res.strings("types")
	if err != nil {
		return Table{}, err
	}
	notNull, err := res.bools("notnull")
	if err != nil {
		return Table{}, err
	}
	if types != nil && len(types) != len(cols) || notNull != nil && len(notNull) != len(cols) {
		return Table{}, fmt.Errorf("%w: table %q: %d columns, %d types, %d NOT NULL flags",
			ErrProtocol, name, len(cols), len(types), len(notNull))
	}
	t := Table{Name: name, Columns: cols, Types: make([]ColumnType, len(cols))}
	for i := range cols {
		if types != nil {
			t.Types[i].DatabaseType = types[i]
		}
		if notNull != nil {
			t.Types[i].Nullable, t.Types[i].NullableKnown = !notNull[i], true
		}
	}
	return t, nil
}
