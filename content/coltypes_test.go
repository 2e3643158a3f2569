package content_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
	"github.com/cursorwindow/cursorwindow/window"
)

type typedProvider struct{ provider.ReadOnly }

func (typedProvider) Query(context.Context, *content.Query) (provider.Rows, error) {
	return &typedRows{}, nil
}

type typedRows struct{ n int }

func (*typedRows) Columns() []string { return []string{"id", "name"} }
func (*typedRows) ColumnTypes() []content.ColumnType {
	return []content.ColumnType{{DatabaseType: "INTEGER", NullableKnown: true}, {DatabaseType: "TEXT"}}
}
func (r *typedRows) Next() bool                 { r.n++; return r.n <= 2 }
func (r *typedRows) Put(w *window.Writer) error { return w.PutNull(0) } // a NULL in a NOT NULL column: the types are declared, not checked
func (*typedRows) Err() error                   { return nil }
func (*typedRows) Close() error                 { return nil }

// Declared column types travel with the first window, whatever the
// values' types are.
func TestDeclaredColumnTypes(t *testing.T) {
	path, _ := startServer(t, typedProvider{})
	c := contenttest.Dial(t, path)
	cur, err := c.Query(context.Background(), &content.Query{URI: "t"})
	require.NoError(t, err)
	defer cur.Close()
	assert.Equal(t, []content.ColumnType{
		{DatabaseType: "INTEGER", Nullable: false, NullableKnown: true},
		{DatabaseType: "TEXT"},
	}, cur.ColumnTypes())

	path2, _ := startServer(t, newProvider(3))
	cur2, err := contenttest.Dial(t, path2).Query(context.Background(), &content.Query{URI: "trips"})
	require.NoError(t, err)
	defer cur2.Close()
	assert.Nil(t, cur2.ColumnTypes(), "a provider that declares nothing")
}
