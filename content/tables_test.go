package content_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/memtable"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

func TestTables(t *testing.T) {
	p := memtable.New()
	require.NoError(t, p.AddTable("zones", []memtable.Column{{Name: "id", Type: memtable.Integer, NotNull: true}, {Name: "shape"}}, nil))
	require.NoError(t, p.AddTable("b", []memtable.Column{{Name: "x", Type: memtable.Text}}, nil))
	path, _ := startServer(t, p)
	c := contenttest.Dial(t, path)
	tables, err := c.Tables(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []content.Table{
		{Name: "b", Columns: []string{"x"}, Types: []content.ColumnType{{DatabaseType: "TEXT", Nullable: true, NullableKnown: true}}},
		{Name: "zones", Columns: []string{"id", "shape"}, Types: []content.ColumnType{
			{DatabaseType: "INTEGER", Nullable: false, NullableKnown: true},
			{DatabaseType: "", Nullable: true, NullableKnown: true},
		}},
	}, tables)
}

// listing answers "tables" and "columns" as told, for the malformed
// answers a consumer must refuse.
type listing struct {
	noListing
	tables, columns content.Values
}

// noListing serves nothing and answers no call.
type noListing struct{ provider.ReadOnly }

func (noListing) Query(context.Context, *content.Query) (provider.Rows, error) {
	return nil, content.ErrNotFound
}

func (l *listing) Call(_ context.Context, method, arg string, _ content.Values) (content.Values, error) {
	if method == "tables" {
		return l.tables, nil
	}
	if arg == "gone" {
		return nil, content.ErrNotFound
	}
	return l.columns, nil
}

func TestTablesRefusesMalformedAnswers(t *testing.T) {
	ctx := context.Background()
	// Without the convention: unsupported, as the provider says.
	path, _ := startServer(t, noListing{})
	_, err := contenttest.Dial(t, path).Tables(ctx)
	assert.ErrorIs(t, err, content.ErrUnsupported)

	cols := content.Values{"columns": []any{"a", "b"}, "types": []any{"INTEGER", ""}}
	for _, tc := range []struct {
		name            string
		tables, columns content.Values
		want            error
	}{
		{"tables not a list", content.Values{"tables": "t"}, cols, content.ErrProtocol},
		{"a name not a string", content.Values{"tables": []any{int64(1)}}, cols, content.ErrProtocol},
		{"fewer types", content.Values{"tables": []any{"t"}}, content.Values{"columns": []any{"a", "b"}, "types": []any{""}}, content.ErrProtocol},
		{"fewer notnull", content.Values{"tables": []any{"t"}}, content.Values{"columns": []any{"a"}, "types": []any{""}, "notnull": []any{}}, content.ErrProtocol},
		{"notnull not bools", content.Values{"tables": []any{"t"}}, content.Values{"columns": []any{"a"}, "types": []any{""}, "notnull": []any{"yes"}}, content.ErrProtocol},
		{"no notnull: unknown", content.Values{"tables": []any{"gone", "t"}}, cols, nil},
		{"no types: none declared", content.Values{"tables": []any{"t"}}, content.Values{"columns": []any{"a", "b"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, _ := startServer(t, &listing{tables: tc.tables, columns: tc.columns})
			tables, err := contenttest.Dial(t, path).Tables(ctx)
			if tc.want != nil {
				assert.ErrorIs(t, err, tc.want)
				return
			}
			require.NoError(t, err)
			want := []content.ColumnType{{DatabaseType: "INTEGER"}, {}}
			if tc.columns["types"] == nil {
				want[0].DatabaseType = ""
			}
			assert.Equal(t, []content.Table{{Name: "t", Columns: []string{"a", "b"}, Types: want}}, tables, "the dropped table left out")
		})
	}
}
