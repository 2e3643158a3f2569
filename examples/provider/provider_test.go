package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/provider"
	"github.com/cursorwindow/cursorwindow/window"
)

var testTable = &table{
	name:     "trips",
	cols:     []string{"id", "city", "fare", "order", "and"},
	types:    []string{"INTEGER", "TEXT", "REAL", "TEXT", "TEXT"},
	notNull:  []bool{true, true, false, false, false},
	tiebreak: "rowid",
}

// The grammar itself is content/selection's (its tests hold the table of
// accepted and refused selections); these check what the provider adds:
// names resolved to the table's spelling, quoted, and the arguments
// counted.
func TestWhere(t *testing.T) {
	for _, tc := range []struct {
		sel   string
		nargs int
		want  string
	}{
		{"", 0, ""},
		{"ID==?", 1, `"id" = ?`},
		{`order = ? AND "and" IS NULL`, 1, `"order" = ? AND "and" IS NULL`},
		{"(city = ? OR city = ?) AND NOT fare IN (?, ?)", 4, `("city" = ? OR "city" = ?) AND NOT "fare" IN (?, ?)`},
	} {
		got, err := testTable.where(tc.sel, tc.nargs)
		require.NoError(t, err, tc.sel)
		assert.Equal(t, tc.want, got, tc.sel)
	}
}

// Malformed selections are bad requests; valid SQL outside the grammar
// is unsupported, naming what.
func TestWhereRejects(t *testing.T) {
	for _, tc := range []struct {
		sel   string
		nargs int
		kind  error
	}{
		{"id = 1", 0, content.ErrUnsupported},                  // a literal value (the driver binds them)
		{"id = ?", 0, content.ErrBadRequest},                   // too few arguments
		{"id = ?", 2, content.ErrBadRequest},                   // too many
		{"", 1, content.ErrBadRequest},                         // arguments without a selection
		{"id = ?; DROP TABLE trips", 1, content.ErrBadRequest}, // a second statement
		{"nope = ?", 1, content.ErrBadRequest},                 // an unknown column
		{`"nope" = ?`, 1, content.ErrBadRequest},               // quoted, still unknown
	} {
		_, err := testTable.where(tc.sel, tc.nargs)
		assert.ErrorIs(t, err, tc.kind, "%q", tc.sel)
	}
}

func TestOrderBy(t *testing.T) {
	got, err := testTable.orderBy("FARE DESC, city asc, id")
	require.NoError(t, err)
	assert.Equal(t, `"fare" DESC, "city" ASC, "id"`, got)
	_, err = testTable.orderBy("nope")
	assert.ErrorIs(t, err, content.ErrBadRequest)
	_, err = testTable.orderBy("random()")
	assert.ErrorIs(t, err, content.ErrUnsupported)
}

func TestProjection(t *testing.T) {
	got, _, err := testTable.projection(nil)
	require.NoError(t, err)
	assert.Equal(t, `"id", "city", "fare", "order", "and"`, got)
	got, types, err := testTable.projection([]string{"FARE", "city"})
	require.NoError(t, err)
	assert.Equal(t, `"fare", "city"`, got)
	assert.Equal(t, []content.ColumnType{{DatabaseType: "REAL", Nullable: true, NullableKnown: true},
		{DatabaseType: "TEXT", Nullable: false, NullableKnown: true}}, types)
	for _, p := range [][]string{{"*"}, {"id, city"}, {"count(*)"}, {`id" FROM trips; --`}} {
		_, _, err := testTable.projection(p)
		assert.ErrorIs(t, err, content.ErrBadRequest, "%q", p)
	}
}

// sampleProvider opens a generated sample database of n trips.
func sampleProvider(t *testing.T, n int) *sqliteProvider {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sample.db")
	require.NoError(t, generateSample(context.Background(), path, n))
	p, err := openSQLite(context.Background(), path, false, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p
}

// readAll runs a query and returns its rows as Go values.
func readAll(t *testing.T, p *sqliteProvider, q *content.Query) ([]string, [][]any) {
	t.Helper()
	rows, err := p.Query(context.Background(), q)
	require.NoError(t, err)
	defer rows.Close()
	cols := rows.Columns()
	w, err := window.New(len(cols))
	require.NoError(t, err)
	defer w.Close()
	for rows.Next() {
		require.NoError(t, w.AllocRow())
		require.NoError(t, rows.Put(w))
	}
	require.NoError(t, rows.Err())
	b, err := w.Bytes()
	require.NoError(t, err)
	r, err := window.OpenBytes(b)
	require.NoError(t, err)
	defer r.Close()
	var out [][]any
	for row := range r.NumRows() {
		vals := make([]any, len(cols))
		for col := range cols {
			typ, err := r.Type(row, col)
			require.NoError(t, err)
			switch typ {
			case window.TypeInt64:
				vals[col], _ = r.Int64(row, col)
			case window.TypeFloat64:
				vals[col], _ = r.Float64(row, col)
			case window.TypeString:
				vals[col], _ = r.String(row, col)
			case window.TypeBlob:
				b, _ := r.Bytes(row, col)
				vals[col] = append([]byte(nil), b...)
			}
		}
		out = append(out, vals)
	}
	return cols, out
}

func TestProviderQuery(t *testing.T) {
	p := sampleProvider(t, 50)
	assert.Equal(t, []string{"cities", "trips"}, p.names)

	cols, rows := readAll(t, p, &content.Query{
		URI: "trips", Projection: []string{"id", "city", "tip"},
		Selection: "id <= ? AND city = ?", Args: []any{int8(20), "Paris"}, Order: "id DESC", Limit: 2,
	})
	assert.Equal(t, []string{"id", "city", "tip"}, cols)
	require.Len(t, rows, 2)
	assert.Greater(t, rows[0][0], rows[1][0])
	for _, r := range rows {
		assert.Equal(t, "Paris", r[1])
		assert.LessOrEqual(t, r[0], int64(20))
	}

	rs, err := p.Query(context.Background(), &content.Query{URI: "trips", Selection: "fare > ?", Args: []any{uint16(0)}, Limit: 7})
	require.NoError(t, err)
	assert.Equal(t, int64(7), rs.(provider.Counter).Count())
	require.NoError(t, rs.Close())

	_, err = p.Query(context.Background(), &content.Query{URI: "sqlite_master"})
	assert.ErrorIs(t, err, content.ErrNotFound)
	_, err = p.Query(context.Background(), &content.Query{URI: `trips" --`})
	assert.ErrorIs(t, err, content.ErrNotFound)
	_, err = p.Query(context.Background(), &content.Query{URI: "trips", Limit: -1})
	assert.ErrorIs(t, err, content.ErrBadRequest)
	_, err = p.Query(context.Background(), &content.Query{URI: "trips", Selection: "id = ?", Args: []any{map[string]any{}}})
	assert.ErrorIs(t, err, content.ErrBadRequest)
	_, err = p.Query(context.Background(), &content.Query{URI: "trips", Selection: "id = ?", Args: []any{uint64(1) << 63}})
	assert.ErrorIs(t, err, content.ErrBadRequest)

	// A selection deeper than SQLite runs is the request's fault.
	conds := make([]string, 1500)
	args := make([]any, len(conds))
	for i := range conds {
		conds[i], args[i] = "id != ?", int64(i)
	}
	_, err = p.Query(context.Background(), &content.Query{URI: "trips", Selection: strings.Join(conds, " AND "), Args: args})
	require.Error(t, err)
	assert.ErrorIs(t, err, content.ErrBadRequest)
}

func TestProviderWrites(t *testing.T) {
	ctx := context.Background()
	p := sampleProvider(t, 10)
	id, err := p.Insert(ctx, "trips", content.Values{"city": "Lisbon", "distance_km": 1.5, "duration_s": int32(300), "fare": 5.25})
	require.NoError(t, err)
	assert.Equal(t, int64(11), id)
	n, err := p.Update(ctx, "trips", content.Values{"tip": 1.0, "passengers": uint8(2)}, "id = ?", []any{id})
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	_, rows := readAll(t, p, &content.Query{URI: "trips", Projection: []string{"city", "passengers", "tip"}, Selection: "id = ?", Args: []any{id}})
	assert.Equal(t, [][]any{{"Lisbon", int64(2), 1.0}}, rows)
	n, err = p.Delete(ctx, "trips", "id > ?", []any{10})
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)

	_, err = p.Insert(ctx, "trips", content.Values{"city": "Lisbon"}) // NOT NULL columns missing
	assert.ErrorIs(t, err, content.ErrBadRequest)
	_, err = p.Insert(ctx, "trips", content.Values{"nope": 1})
	assert.ErrorIs(t, err, content.ErrBadRequest)
	_, err = p.Insert(ctx, "nope", content.Values{"id": 1})
	assert.ErrorIs(t, err, content.ErrNotFound)
	_, err = p.Update(ctx, "trips", content.Values{}, "", nil)
	assert.ErrorIs(t, err, content.ErrBadRequest)
	_, err = p.Delete(ctx, "trips", "1 = 1", nil)
	assert.ErrorIs(t, err, content.ErrUnsupported) // valid SQL outside the grammar

	res, err := p.Call(ctx, "tables", "", nil)
	require.NoError(t, err)
	assert.Equal(t, content.Values{"tables": []any{"cities", "trips"}}, res)
	res, err = p.Call(ctx, "columns", "cities", nil)
	require.NoError(t, err)
	assert.Equal(t, []any{"id", "name", "country", "lat", "lon", "base_fare", "per_km", "per_minute"}, res["columns"])
	_, err = p.Call(ctx, "drop", "", nil)
	assert.ErrorIs(t, err, content.ErrUnsupported)

	p.readOnly = true
	_, err = p.Insert(ctx, "trips", content.Values{"city": "Lisbon"})
	assert.ErrorIs(t, err, content.ErrUnsupported)
}

func TestSampleIsDeterministic(t *testing.T) {
	a, b := newTripGen(), newTripGen()
	var x, y trip
	for range 1000 {
		a.next(&x)
		b.next(&y)
		require.Equal(t, x, y)
	}
	assert.Equal(t, int64(1000), x.id)
}

func TestEnsureSampleDropsStaleLog(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir, err := sampleDir()
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	path := filepath.Join(dir, "sample-v1-20.db")
	// What a database deleted while a provider held it leaves behind.
	require.NoError(t, os.WriteFile(path+"-wal", []byte("stale"), 0o644))

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	got, err := ensureSample(context.Background(), 20, log)
	require.NoError(t, err)
	assert.Equal(t, path, got)
	assert.NoFileExists(t, path+"-wal")
	fi, err := os.Stat(path)
	require.NoError(t, err)

	again, err := ensureSample(context.Background(), 20, log) // cached: not generated again
	require.NoError(t, err)
	assert.Equal(t, path, again)
	fi2, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, fi.ModTime(), fi2.ModTime())

	_, err = ensureSample(context.Background(), 0, log)
	assert.Error(t, err)
}

// A writer that finds the database's write lock held (by a bulk insert's
// transaction, say) past the busy timeout is refused busy, with the
// reason, rather than internal.
func TestWriterBehindALockIsBusy(t *testing.T) {
	ctx := context.Background()
	p := sampleProvider(t, 10)
	tx, err := p.Begin(ctx) // BEGIN IMMEDIATE: the write lock
	require.NoError(t, err)
	defer tx.Rollback()
	_, err = p.Insert(ctx, "trips", content.Values{"city": "Lyon"})
	require.ErrorIs(t, err, content.ErrBusy)
	assert.Contains(t, err.Error(), "locked by another writer")
	require.NoError(t, tx.Rollback())
	n, err := p.Update(ctx, "trips", content.Values{"city": "Lyon"}, "id = ?", []any{1})
	require.NoError(t, err, "served once the lock is released")
	assert.Equal(t, int64(1), n)
}
