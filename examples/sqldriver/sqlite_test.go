package sqldriver_test

import (
	"database/sql"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/sqldriver"
)

// These tests run every statement form through the driver against the
// example SQLite provider, and the same statement on the same SQLite file
// through modernc.org/sqlite's database/sql driver, and compare the
// results value by value.

// manyRows is the size of the table that spans many windows.
const manyRows = 5000

// createEdgeDB writes a SQLite database of values at the edges of what
// the driver converts: NULLs, extreme and subnormal floats, integers at
// both ends, empty and non-ASCII strings, empty, binary and large blobs,
// a column whose fields have different types, and a table that spans
// many windows.
func createEdgeDB(t testing.TB, path string) {
	db := openSQLite(t, path, true)
	_, err := db.Exec(`
		CREATE TABLE vals (
			id INTEGER PRIMARY KEY,
			i  INTEGER,
			f  REAL,
			s  TEXT NOT NULL DEFAULT '',
			t  TEXT,
			b  BLOB,
			n  NUMERIC,
			u
		);
		CREATE TABLE many (id INTEGER PRIMARY KEY, s TEXT NOT NULL, f REAL);`)
	require.NoError(t, err)
	big := make([]byte, 100<<10) // more than the tests' windows of 16 KiB
	for i := range big {
		big[i] = byte(i * 7)
	}
	for _, r := range [][]any{
		{0, 0.0, "", "", []byte{}, 0, nil},
		{int64(math.MinInt64), -0.5, "héllo wörld", "ÅÄÖ", []byte{0, 0xff, 0}, 1, int64(42)},
		{int64(math.MaxInt64), math.MaxFloat64, "日本語のテキスト", nil, []byte("\x00binary\x01"), 2.5, 4.25},
		{nil, nil, "emoji 🚀👩‍👩‍👧 and combining é", nil, nil, nil, "text in an untyped column"},
		{-1, math.SmallestNonzeroFloat64, "line\nbreak\ttab\x00nul", "\u202eright-to-left", []byte{0xde, 0xad, 0xbe, 0xef}, "12", []byte{1, 2, 3}},
		{255, math.Inf(1), strings.Repeat("long ", 5000), "x", big, -7, nil},
		{256, math.Inf(-1), "'quoted' \"double\"", "%like_", []byte("blob"), 1e100, 3.0},
		{1 << 40, 0.1, "Ünïcödé", "ünïcödé", []byte{}, nil, ""},
	} {
		_, err := db.Exec("INSERT INTO vals (i, f, s, t, b, n, u) VALUES (?, ?, ?, ?, ?, ?, ?)", r...)
		require.NoError(t, err)
	}
	tx, err := db.Begin()
	require.NoError(t, err)
	for i := range manyRows {
		var f any = float64(i) / 3
		if i%7 == 0 {
			f = nil
		}
		_, err := tx.Exec("INSERT INTO many (s, f) VALUES (?, ?)", fmt.Sprintf("row %d %s", i, strings.Repeat("·", i%50)), f)
		require.NoError(t, err)
	}
	require.NoError(t, tx.Commit())
	require.NoError(t, db.Close())
}

// text and real are how compared values print: text for STRING and BLOB
// (the driver returns both as []byte), real with its bits, so that -0
// and 0 differ.
type (
	text string
	real struct {
		V    float64
		Bits uint64
	}
)

func norm(v any) any {
	switch x := v.(type) {
	case nil, int64:
		return x
	case float64:
		return real{x, math.Float64bits(x)}
	case string:
		return text(x)
	case []byte:
		return text(x)
	}
	return fmt.Sprintf("unexpected %T %v", v, v)
}

// dump runs query and returns its columns and rows, every value scanned
// into *any and normalised.
func dump(t testing.TB, db *sql.DB, query string, args ...any) ([]string, [][]any) {
	t.Helper()
	rows, err := db.Query(query, args...)
	require.NoError(t, err, query)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		for i, v := range vals {
			vals[i] = norm(v)
		}
		out = append(out, vals)
	}
	require.NoError(t, rows.Err())
	return cols, out
}

// rawDump runs query and returns every value scanned into sql.RawBytes,
// as strings. (NULL and empty are both "": modernc.org/sqlite reads an
// empty BLOB as nil. dump tells NULL from empty.)
func rawDump(t testing.TB, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(query, args...)
	require.NoError(t, err, query)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	raw := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	var out []string
	for rows.Next() {
		require.NoError(t, rows.Scan(ptrs...))
		for _, r := range raw {
			out = append(out, string(r))
		}
	}
	require.NoError(t, rows.Err())
	return out
}

// same runs query through both databases and requires the same columns
// and values.
func same(t *testing.T, ours, direct *sql.DB, query string, args ...any) {
	t.Helper()
	wantCols, want := dump(t, direct, query, args...)
	gotCols, got := dump(t, ours, query, args...)
	require.Equal(t, wantCols, gotCols, query)
	require.Equal(t, len(want), len(got), query)
	for i := range want {
		require.Equal(t, want[i], got[i], "%s: row %d", query, i)
	}
	assert.Equal(t, rawDump(t, direct, query, args...), rawDump(t, ours, query, args...), "%s, scanned into RawBytes", query)
}

func copyFile(t testing.TB, from, to string) {
	b, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, b, 0o600))
}

// TestSQLiteEdges compares every statement form with SQLite's own
// answers on a database of edge values.
func TestSQLiteEdges(t *testing.T) {
	dir := t.TempDir()
	served, twin := filepath.Join(dir, "served.db"), filepath.Join(dir, "twin.db")
	createEdgeDB(t, served)
	copyFile(t, served, twin) // the writes run on the twin directly
	p := startProvider(t, nil, "--db", served, "--window-size", "16384")
	ours := sql.OpenDB(sqldriver.NewConnector(p.Socket))
	defer ours.Close()
	direct := openSQLite(t, served, false)

	t.Run("Select", func(t *testing.T) {
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{"SELECT * FROM vals", nil},
			{"select id, s, b from vals where id >= ? order by id desc limit 3", []any{2}},
			{`SELECT "s", "t" FROM "vals" WHERE "i" = ?`, []any{int64(math.MinInt64)}},
			{"SELECT id, s FROM vals WHERE s LIKE ?", []any{"%ü%"}},
			{"SELECT id, s FROM vals WHERE s = ?", []any{"日本語のテキスト"}},
			{"SELECT id, b FROM vals WHERE b = ?", []any{[]byte{0xde, 0xad, 0xbe, 0xef}}},
			{"SELECT id, f FROM vals WHERE f > ? ORDER BY f, id", []any{0.05}},
			{"SELECT * FROM vals WHERE f IS NULL AND i IS NULL", nil},
			{"SELECT id, f, n, u FROM vals ORDER BY f DESC, id", nil},
			{"SELECT id, u FROM vals WHERE t IS NOT NULL ORDER BY u, id LIMIT ?", []any{4}},
			{"SELECT * FROM vals LIMIT 0", nil},
			{"SELECT i, t FROM vals WHERE id = ?;", []any{999}},
			{"SELECT * FROM many", nil},
			{"SELECT id, f FROM many WHERE f IS NULL ORDER BY id DESC LIMIT 100", nil},
		} {
			t.Run(q.sql, func(t *testing.T) { same(t, ours, direct, q.sql, q.args...) })
		}
	})

	t.Run("Typed", func(t *testing.T) {
		type row struct {
			id    int64
			i     sql.NullInt64
			f     sql.NullFloat64
			s     string
			t     sql.NullString
			b     []byte
			n, u  any
			bytes []byte // s scanned into *[]byte
		}
		read := func(db *sql.DB) []row {
			rows, err := db.Query("SELECT id, i, f, s, t, b, n, u, s FROM vals ORDER BY id")
			require.NoError(t, err)
			defer rows.Close()
			var out []row
			for rows.Next() {
				var r row
				require.NoError(t, rows.Scan(&r.id, &r.i, &r.f, &r.s, &r.t, &r.b, &r.n, &r.u, &r.bytes))
				if s, ok := r.n.(string); ok { // SQLite's TEXT is []byte here
					r.n = []byte(s)
				}
				if s, ok := r.u.(string); ok {
					r.u = []byte(s)
				}
				out = append(out, r)
			}
			require.NoError(t, rows.Err())
			return out
		}
		want, got := read(direct), read(ours)
		require.Len(t, got, len(want))
		for i := range want {
			if len(want[i].b) == 0 && len(got[i].b) == 0 {
				// modernc.org/sqlite reads an empty BLOB as nil; Select
				// checks NULL against empty.
				want[i].b, got[i].b = nil, nil
			}
			assert.Equal(t, want[i], got[i], "row %d", i)
		}
	})

	t.Run("ColumnTypes", func(t *testing.T) {
		types := func(db *sql.DB) []string {
			rows, err := db.Query("SELECT * FROM vals LIMIT 1")
			require.NoError(t, err)
			defer rows.Close()
			cts, err := rows.ColumnTypes()
			require.NoError(t, err)
			var out []string
			for _, ct := range cts {
				nullable, ok := ct.Nullable()
				out = append(out, fmt.Sprintf("%s %s nullable=%v,%v", ct.Name(), ct.DatabaseTypeName(), nullable, ok))
			}
			return out
		}
		// modernc.org/sqlite reports every column nullable; the
		// provider declares what the schema says (PRAGMA table_info):
		// NOT NULL, and the INTEGER PRIMARY KEY (the rowid), are not.
		assert.Equal(t, []string{"id INTEGER nullable=false,true", "i INTEGER nullable=true,true", "f REAL nullable=true,true",
			"s TEXT nullable=false,true", "t TEXT nullable=true,true", "b BLOB nullable=true,true",
			"n NUMERIC nullable=true,true", "u  nullable=true,true"}, types(ours))
		direct := types(direct)
		for i, col := range types(ours) {
			nameAndType, _, _ := strings.Cut(direct[i], " nullable")
			assert.True(t, strings.HasPrefix(col, nameAndType+" nullable"), "column %d: %s against SQLite's %s", i, col, direct[i])
		}

		rows, err := ours.Query("SELECT id, i, f, s, t, b, n, u FROM vals LIMIT 1")
		require.NoError(t, err)
		defer rows.Close()
		cts, err := rows.ColumnTypes()
		require.NoError(t, err)
		var scan []string
		for _, ct := range cts {
			scan = append(scan, ct.ScanType().String())
		}
		// What the provider declares decides: a NOT NULL column scans
		// as its plain Go type, a nullable one as sql.Null*.
		assert.Equal(t, []string{"int64", "sql.NullInt64", "sql.NullFloat64", "string", "sql.NullString",
			"[]uint8", "interface {}", "interface {}"}, scan)
	})

	t.Run("Write", func(t *testing.T) {
		twinDB := openSQLite(t, twin, true)
		for _, w := range []struct {
			sql   string
			args  []any
			check string // the table to compare after the write; vals if empty
		}{
			{"INSERT INTO vals (i, f, s, t, b, n, u) VALUES (?, ?, ?, ?, ?, ?, ?)",
				[]any{7, 2.75, "written ✍️ über", nil, []byte{0, 1, 2}, "3", 1.5}, ""},
			{"insert into vals (s) values (?)", []any{"only s"}, ""},
			{"INSERT INTO vals DEFAULT VALUES", nil, ""},
			{"INSERT INTO vals (id, s, f) VALUES (?, ?, ?)", []any{1000, "chosen id", math.Inf(-1)}, ""},
			{"UPDATE vals SET s = ?, f = ? WHERE id = ?", []any{"changed ☃", -0.25, 3}, ""},
			{"UPDATE vals SET b = ? WHERE s LIKE ?", []any{[]byte("like"), "%ü%"}, ""},
			{"UPDATE vals SET u = ?, t = ?", []any{nil, "every row"}, ""},
			{"UPDATE vals SET i = ? WHERE id = ?", []any{1, -5}, ""}, // no row
			{"DELETE FROM vals WHERE id > ? AND f IS NULL", []any{8}, ""},
			{"DELETE FROM vals WHERE id = ?;", []any{1000}, ""},
			{"DELETE FROM many WHERE id > ?", []any{10}, "SELECT * FROM many"},
		} {
			t.Run(w.sql, func(t *testing.T) {
				want, err := twinDB.Exec(w.sql, w.args...)
				require.NoError(t, err)
				got, err := ours.Exec(w.sql, w.args...)
				require.NoError(t, err)
				wantN, _ := want.RowsAffected()
				gotN, err := got.RowsAffected()
				require.NoError(t, err)
				assert.Equal(t, wantN, gotN, "rows affected")
				if strings.HasPrefix(strings.ToUpper(w.sql), "INSERT") {
					wantID, _ := want.LastInsertId()
					gotID, err := got.LastInsertId()
					require.NoError(t, err)
					assert.Equal(t, wantID, gotID, "last insert id")
				} else {
					_, err := got.LastInsertId()
					assert.ErrorContains(t, err, "ids of INSERTs only")
				}
				// The provider's table now equals the twin's.
				if w.check == "" {
					w.check = "SELECT * FROM vals ORDER BY id"
				}
				same(t, ours, twinDB, w.check)
			})
		}
	})
}

// TestSQLiteSample compares queries on the sample database the e2e tests
// serve (300 trips and 12 cities).
func TestSQLiteSample(t *testing.T) {
	p := startProvider(t, nil, "--rows", "300")
	ours := sql.OpenDB(sqldriver.NewConnector(p.Socket))
	defer ours.Close()
	direct := openSQLite(t, sampleDB(p, 300), false)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"SELECT * FROM trips", nil},
		{"SELECT * FROM cities ORDER BY name", nil},
		{"SELECT id, city, fare, tip FROM trips WHERE city = ? AND fare > ? ORDER BY fare DESC, id LIMIT 5", []any{"Paris", 20}},
		{"SELECT route_hash, started_at FROM trips WHERE tip IS NULL AND passengers >= ? ORDER BY started_at DESC, id", []any{3}},
		{"SELECT name, country, lat, lon FROM cities WHERE name LIKE ?", []any{"%a%"}},
		// OR, NOT, parentheses, IN and BETWEEN (sqlx.In writes IN (?, ?, ?)), and literals.
		{"SELECT id, city FROM trips WHERE id IN (?, ?, ?) ORDER BY id", []any{3, 17, 250}},
		{"SELECT id FROM trips WHERE (city = ? OR city = ?) AND NOT fare BETWEEN ? AND ? ORDER BY id", []any{"Paris", "Rome", 10, 30}},
		{"SELECT id FROM trips WHERE city NOT IN ('Paris', 'Lisbon') AND (tip IS NULL OR tip > 2.5) ORDER BY id", nil},
		{"SELECT id, fare FROM trips WHERE id = 7 OR id BETWEEN 290 AND 1000 ORDER BY id DESC", nil},
	} {
		t.Run(q.sql, func(t *testing.T) { same(t, ours, direct, q.sql, q.args...) })
	}
}
