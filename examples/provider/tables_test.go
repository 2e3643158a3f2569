package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

// Client.Tables lists the example provider's tables with their columns,
// declared types and NOT NULL (an INTEGER PRIMARY KEY, the rowid, counts
// as NOT NULL), over the listing convention of PROTOCOL.md.
func TestClientTables(t *testing.T) {
	p := sampleProvider(t, 10)
	path := filepath.Join(t.TempDir(), "provider.sock")
	ln, err := provider.Listen(path, 0o600)
	require.NoError(t, err)
	srv := provider.NewServer(p, provider.WithLogger(slog.New(slog.DiscardHandler)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() { cancel(); assert.NoError(t, <-done) }()
	c, err := content.Dial(context.Background(), path)
	require.NoError(t, err)
	defer c.Close()

	tables, err := c.Tables(context.Background())
	require.NoError(t, err)
	require.Len(t, tables, 2)
	notNull := func(typ string) content.ColumnType {
		return content.ColumnType{DatabaseType: typ, Nullable: false, NullableKnown: true}
	}
	assert.Equal(t, content.Table{
		Name:    "cities",
		Columns: []string{"id", "name", "country", "lat", "lon", "base_fare", "per_km", "per_minute"},
		Types: []content.ColumnType{notNull("INTEGER"), notNull("TEXT"), notNull("TEXT"),
			notNull("REAL"), notNull("REAL"), notNull("REAL"), notNull("REAL"), notNull("REAL")},
	}, tables[0])
	assert.Equal(t, "trips", tables[1].Name)
	assert.Equal(t, "tip", tables[1].Columns[7])
	assert.Equal(t, content.ColumnType{DatabaseType: "REAL", Nullable: true, NullableKnown: true}, tables[1].Types[7])
	assert.Equal(t, notNull("BLOB"), tables[1].Types[8])
}
