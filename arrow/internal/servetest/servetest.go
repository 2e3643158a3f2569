// Package servetest runs content providers inside a test's process for
// the tests of the arrow module: a server on a fresh socket, a provider
// whose rows declare column types, and one that tells when a query's
// rows are closed.
package servetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

// Dial connects to the provider at sock until the test ends.
func Dial(t testing.TB, sock string) *content.Client {
	t.Helper()
	c, err := content.Dial(context.Background(), sock)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// Typed serves a provider's tables with declared column types: each
// result column named in Types declares that type (columns it does not
// name declare "").
type Typed struct {
	provider.Provider
	Types map[string]content.ColumnType
}

// Query implements provider.Provider.
func (p *Typed) Query(ctx context.Context, q *content.Query) (provider.Rows, error) {
	rows, err := p.Provider.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	return &typedRows{Rows: rows, types: p.Types}, nil
}

// Call answers "columns" as the example provider does (docs/PROTOCOL.md,
// "Listing tables and columns"), with the declared types; other methods
// go to the provider.
func (p *Typed) Call(ctx context.Context, method, arg string, vals content.Values) (content.Values, error) {
	if method != "columns" {
		return p.Provider.Call(ctx, method, arg, vals)
	}
	rows, err := p.Provider.Query(ctx, &content.Query{URI: arg, Limit: 1})
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols, types []any
	for _, c := range rows.Columns() {
		cols, types = append(cols, c), append(types, p.Types[c].DatabaseType)
	}
	return content.Values{"columns": cols, "types": types}, nil
}

type typedRows struct {
	provider.Rows
	types map[string]content.ColumnType
}

func (r *typedRows) ColumnTypes() []content.ColumnType {
	cols := r.Columns()
	out := make([]content.ColumnType, len(cols))
	for i, c := range cols {
		out[i] = r.types[c]
	}
	return out
}
