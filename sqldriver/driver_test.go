package sqldriver_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
	"github.com/cursorwindow/cursorwindow/sqldriver"
	"github.com/cursorwindow/cursorwindow/sqldriver/sqlparse"
)

// serve runs a content server for p in this process (contenttest.Serve)
// and returns its socket.
func serve(t testing.TB, p provider.Provider, opts ...provider.ServerOption) string {
	t.Helper()
	sock, _ := contenttest.Serve(t, p, opts...)
	return sock
}

// planets serves a small in-memory table, which declares no column
// types, and returns a database of it.
func planets(t testing.TB) (*sql.DB, *contenttest.MemProvider) {
	t.Helper()
	p := contenttest.NewMemProvider()
	p.AddTable("planets", []string{"name", "moons", "radius", "rings"}, [][]any{
		{"Mercury", 0, 2439.7, nil}, {"Earth", 1, 6371.0, nil}, {"Mars", 2, 3389.5, nil},
		{"Jupiter", 95, 69911.0, []byte("faint")}, {"Saturn", 274, 58232.0, []byte("bright")},
	})
	db := sql.OpenDB(sqldriver.NewConnector(serve(t, p)))
	t.Cleanup(func() { db.Close() })
	return db, p
}

func TestParseDSN(t *testing.T) {
	for _, tt := range []struct {
		dsn, socket, err string
	}{
		{dsn: "/run/p.sock", socket: "/run/p.sock"},
		{dsn: "@abstract?timeout=2s&prefetch=3&checked_views=true", socket: "@abstract"},
		{dsn: "", socket: ""},
		{dsn: "?prefetch=0", socket: ""},
		{dsn: "relative/p.sock?timeout=0", socket: "relative/p.sock"},
		{dsn: "/p?timeout=soon", err: `timeout=soon: want a duration such as 5s, or 0 for none`},
		{dsn: "/p?timeout=-1s", err: `timeout=-1s: want a duration`},
		{dsn: "/p?prefetch=-1", err: `prefetch=-1: want a number of windows, 0 or more`},
		{dsn: "/p?checked_views=maybe", err: `checked_views=maybe: want true or false`},
		{dsn: "/p?prefetch=1&prefetch=2", err: `prefetch given 2 times`},
		{dsn: "/p?user=me", err: `unknown parameter "user" (have timeout, prefetch, checked_views)`},
		{dsn: "/p?%zz", err: `invalid URL escape`},
	} {
		t.Run(tt.dsn, func(t *testing.T) {
			c, err := sqldriver.ParseDSN(tt.dsn)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.socket, c.Socket())
		})
	}
}

func TestOpenDSN(t *testing.T) {
	p := contenttest.NewMemProvider()
	p.AddTable("t", []string{"a"}, [][]any{{1}, {2}})
	db, err := sql.Open(sqldriver.DriverName, serve(t, p)+"?timeout=5s&prefetch=2&checked_views=1")
	require.NoError(t, err)
	defer db.Close()
	var n int64
	require.NoError(t, db.QueryRow("SELECT a FROM t ORDER BY a DESC").Scan(&n))
	assert.Equal(t, int64(2), n)

	_, err = sql.Open(sqldriver.DriverName, "/p?bogus=1") // the DSN is parsed at once
	assert.ErrorContains(t, err, `unknown parameter "bogus"`)

	nowhere := sql.OpenDB(sqldriver.NewConnector(filepath.Join(t.TempDir(), "none.sock")))
	defer nowhere.Close()
	assert.ErrorIs(t, nowhere.Ping(), content.ErrNoProvider)
}

// TestValues checks the Go values rows carry, the scans database/sql
// makes of them, and the column types of a provider that declares none.
func TestValues(t *testing.T) {
	db, _ := planets(t)
	rows, err := db.Query("SELECT * FROM planets ORDER BY moons")
	require.NoError(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	assert.Equal(t, []string{"name", "moons", "radius", "rings"}, cols)
	cts, err := rows.ColumnTypes()
	require.NoError(t, err)
	for _, ct := range cts {
		assert.Equal(t, "", ct.DatabaseTypeName(), ct.Name())
		_, ok := ct.Nullable()
		assert.False(t, ok, ct.Name())
		assert.Equal(t, "interface {}", ct.ScanType().String(), ct.Name())
	}
	var got [][]any
	for rows.Next() {
		vals := make([]any, 4)
		require.NoError(t, rows.Scan(&vals[0], &vals[1], &vals[2], &vals[3]))
		got = append(got, vals)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, [][]any{
		{[]byte("Mercury"), int64(0), 2439.7, nil},
		{[]byte("Earth"), int64(1), 6371.0, nil},
		{[]byte("Mars"), int64(2), 3389.5, nil},
		{[]byte("Jupiter"), int64(95), 69911.0, []byte("faint")},
		{[]byte("Saturn"), int64(274), 58232.0, []byte("bright")},
	}, got)

	// LIMIT 0: the columns, no rows.
	rows, err = db.Query("SELECT name, moons FROM planets LIMIT 0")
	require.NoError(t, err)
	cols, err = rows.Columns()
	require.NoError(t, err)
	assert.Equal(t, []string{"name", "moons"}, cols)
	assert.False(t, rows.Next())
	require.NoError(t, rows.Err())
	rows.Close()

	// LIMIT ? and prepared statements.
	st, err := db.Prepare("SELECT name FROM planets WHERE moons >= ? ORDER BY moons DESC LIMIT ?")
	require.NoError(t, err)
	defer st.Close()
	for limit, want := range map[int][]string{0: nil, 1: {"Saturn"}, 2: {"Saturn", "Jupiter"}} {
		rows, err := st.Query(1, limit)
		require.NoError(t, err)
		var names []string
		for rows.Next() {
			var s string
			require.NoError(t, rows.Scan(&s))
			names = append(names, s)
		}
		require.NoError(t, rows.Err())
		rows.Close()
		assert.Equal(t, want, names, "LIMIT %d", limit)
	}
	_, err = st.Query(1)
	assert.ErrorContains(t, err, "sql: expected 2 arguments, got 1")
	_, err = st.Query(1, -1)
	assert.ErrorIs(t, err, content.ErrBadRequest)
}

// TestArguments checks the conversions of arguments.
func TestArguments(t *testing.T) {
	db, p := planets(t)
	p.AddTable("kinds", []string{"b", "t", "i", "u"}, nil)
	when := time.Date(2025, 6, 1, 12, 30, 0, 5, time.UTC)
	res, err := db.Exec("INSERT INTO kinds (b, t, i, u) VALUES (?, ?, ?, ?)", true, when, int8(-3), uint32(7))
	require.NoError(t, err)
	id, err := res.LastInsertId()
	require.NoError(t, err)
	assert.Equal(t, int64(0), id)
	n, err := res.RowsAffected()
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	var b, i, u int64
	var ts string
	require.NoError(t, db.QueryRow("SELECT * FROM kinds").Scan(&b, &ts, &i, &u))
	assert.Equal(t, []any{int64(1), "2025-06-01T12:30:00.000000005Z", int64(-3), int64(7)}, []any{b, ts, i, u})

	_, err = db.Query("SELECT * FROM kinds WHERE b = ?", sql.Named("b", 1))
	assert.ErrorIs(t, err, sqldriver.ErrUnsupported)
	assert.ErrorContains(t, err, `named argument "b": write ? and pass the arguments in order`)
	_, err = db.Exec("INSERT INTO kinds (b) VALUES (?)", struct{}{})
	assert.ErrorContains(t, err, "unsupported type struct {}")
}

// TestRefusals checks what the driver refuses before anything is sent.
func TestRefusals(t *testing.T) {
	db, _ := planets(t)
	for _, tt := range []struct {
		sql, err string
		query    bool
	}{
		{"SELECT name FROM planets p JOIN moons m", "sqlparse: not supported: table aliases at offset 25", true},
		{"SELECT max(moons) FROM planets", "sqlparse: not supported: aggregate functions (MAX) at offset 7 (aggregate the rows as you read them)", true},
		{"SELECT * FROM planets; DROP TABLE planets", "sqlparse: not supported: multiple statements at offset 23 (run one statement per call)", true},
		{"UPDATE planets SET moons = moons + ?", "sqlparse: not supported: expressions in SET at offset 27 (write ? and pass the value as an argument)", false},
		{"INSERT INTO planets (name) VALUES (?)", "sqldriver: INSERT with Query: run writes with Exec", true},
		{"SELECT * FROM planets", "sqldriver: SELECT with Exec: run queries with Query", false},
		{"BEGIN TRANSACTION", "sqlparse: not supported: transactions (BEGIN) at offset 0 (use database/sql's Begin: the driver sends a transaction's writes as one batch at Commit)", false},
	} {
		t.Run(tt.sql, func(t *testing.T) {
			var err error
			if tt.query {
				_, err = db.Query(tt.sql, "x")
			} else {
				_, err = db.Exec(tt.sql, "x")
			}
			require.ErrorIs(t, err, sqldriver.ErrUnsupported)
			assert.ErrorIs(t, err, content.ErrUnsupported)
			assert.EqualError(t, err, tt.err)
		})
	}
	_, err := db.Query("SELEKT 1")
	require.ErrorIs(t, err, sqlparse.ErrSyntax)
	assert.ErrorIs(t, err, content.ErrBadRequest)

	_, err = db.BeginTx(context.Background(), &sql.TxOptions{ReadOnly: true})
	assert.ErrorIs(t, err, sqldriver.ErrUnsupported)

	// The provider's own refusals keep their meaning.
	_, err = db.Query("SELECT * FROM comets")
	assert.ErrorIs(t, err, content.ErrNotFound)
	_, err = db.Query("SELECT mass FROM planets")
	assert.ErrorIs(t, err, content.ErrBadRequest)
	_, err = db.Exec("UPDATE planets SET mass = ?", 1)
	assert.ErrorIs(t, err, content.ErrBadRequest)
}

// Statements with their values written in them, as tools that send SQL
// text write them: the values are bound as arguments, never spliced.
func TestLiteralStatements(t *testing.T) {
	db, _ := planets(t)
	_, err := db.Exec("INSERT INTO planets (name, moons, radius, rings) VALUES ('Pluto', 5, 1188.3, NULL)")
	require.NoError(t, err)
	res, err := db.Exec("UPDATE planets SET moons = 6 WHERE name = 'Pluto'")
	require.NoError(t, err)
	n, err := res.RowsAffected()
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	var moons int64
	var radius float64
	require.NoError(t, db.QueryRow("SELECT moons, radius FROM planets WHERE name = 'Pluto'").Scan(&moons, &radius))
	assert.Equal(t, int64(6), moons)
	assert.Equal(t, 1188.3, radius)
	var name string
	require.NoError(t, db.QueryRow("SELECT name FROM planets WHERE moons > ?", 100).Scan(&name))
	assert.Equal(t, "Saturn", name)
	// A value that looks like SQL is a value.
	require.ErrorIs(t, db.QueryRow("SELECT name FROM planets WHERE name = 'x'' OR 1=1 --'").Scan(&name), sql.ErrNoRows)
	res, err = db.Exec("DELETE FROM planets WHERE name = 'Pluto'")
	require.NoError(t, err)
	n, _ = res.RowsAffected()
	assert.Equal(t, int64(1), n)
}

// TestWrites checks the results of writes.
func TestWrites(t *testing.T) {
	db, _ := planets(t)
	count := func(n int64, err error) int64 {
		t.Helper()
		require.NoError(t, err)
		return n
	}
	res, err := db.Exec("UPDATE planets SET rings = ? WHERE moons > ?", []byte("some"), 1)
	require.NoError(t, err)
	assert.Equal(t, int64(3), count(res.RowsAffected()))
	_, err = res.LastInsertId()
	assert.EqualError(t, err, "sqldriver: LastInsertId after UPDATE: the provider reports ids of INSERTs only")
	res, err = db.Exec("DELETE FROM planets WHERE moons = ?", 0)
	require.NoError(t, err)
	assert.Equal(t, int64(1), count(res.RowsAffected()))
	res, err = db.Exec("INSERT INTO planets DEFAULT VALUES")
	require.NoError(t, err)
	assert.Equal(t, int64(5), count(res.LastInsertId()), "ids count the inserts: the sixth row, whatever was deleted")
	var rings sql.RawBytes
	rows, err := db.Query("SELECT rings FROM planets WHERE name = ?", "Mars")
	require.NoError(t, err)
	require.True(t, rows.Next())
	require.NoError(t, rows.Scan(&rings))
	assert.Equal(t, "some", string(rings))
	rows.Close()
}

// TestCancelStopsProvider cancels a scan: the scan ends with the
// context's error, the provider's query is closed long before its end,
// and the connection serves the next query.
func TestCancelStopsProvider(t *testing.T) {
	const total = 100_000
	mp := contenttest.NewMemProvider()
	p := contenttest.NewWatched(mp)
	rows := make([][]any, total)
	for i := range rows {
		rows[i] = []any{i, fmt.Sprintf("row %d of a table too big to read at once", i)}
	}
	mp.AddTable("big", []string{"id", "s"}, rows)
	db := sql.OpenDB(sqldriver.NewConnector(serve(t, p, provider.WithWindowSize(16<<10))))
	defer db.Close()
	db.SetMaxOpenConns(1) // the next query must reuse the connection

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, err := db.QueryContext(ctx, "SELECT id, s FROM big")
	require.NoError(t, err)
	var read int
	for r.Next() {
		var id int64
		var s sql.RawBytes
		if err := r.Scan(&id, &s); read >= 100 && err != nil {
			require.ErrorIs(t, err, context.Canceled) // database/sql closed the rows
			break
		} else {
			require.NoError(t, err)
		}
		if read++; read == 100 {
			cancel()
		}
	}
	assert.ErrorIs(t, r.Err(), context.Canceled)
	assert.Less(t, read, total)
	r.Close()
	select {
	case n := <-p.Closed:
		assert.Less(t, n, int64(total), "the provider read the whole table")
	case <-time.After(10 * time.Second):
		t.Fatal("the provider's query was not closed")
	}

	var id int64
	require.NoError(t, db.QueryRow("SELECT id FROM big WHERE id = ?", 77).Scan(&id))
	assert.Equal(t, int64(77), id)
}

// TestBadConnDriverLevel checks what the driver's connection reports once
// the provider is gone.
func TestBadConnDriverLevel(t *testing.T) {
	p := contenttest.NewMemProvider()
	p.AddTable("t", []string{"a"}, [][]any{{1}})
	dir, err := os.MkdirTemp("", "sqldriver")
	require.NoError(t, err)
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "p.sock")
	ln, err := provider.Listen(sock, 0o600)
	require.NoError(t, err)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- provider.NewServer(p, provider.WithLogger(slog.New(slog.DiscardHandler))).Serve(ctx, ln)
	}()

	dc, err := sqldriver.NewConnector(sock).Connect(context.Background())
	require.NoError(t, err)
	defer dc.Close()
	stop()
	<-done

	_, err = dc.(driver.QueryerContext).QueryContext(context.Background(), "SELECT a FROM t", nil)
	require.ErrorIs(t, err, driver.ErrBadConn)
	assert.ErrorIs(t, err, content.ErrProviderGone)
	assert.False(t, dc.(driver.Validator).IsValid())
	assert.ErrorIs(t, dc.(driver.SessionResetter).ResetSession(context.Background()), driver.ErrBadConn)
	_, err = dc.(driver.ExecerContext).ExecContext(context.Background(), "DELETE FROM t", nil)
	assert.Equal(t, driver.ErrBadConn, err, "a write on a connection known to be gone is retried: nothing was sent")
}

// TestAllocs guards the allocations of a scan: one per value that
// database/sql's driver.Value must box (integers from 256 up, floats,
// STRING and BLOB views), none for NULL, small integers and the views
// themselves (sql.RawBytes copies nothing).
func TestAllocs(t *testing.T) {
	p := contenttest.NewMemProvider()
	rows := make([][]any, 5000)
	for i := range rows {
		rows[i] = []any{1000 + i, "text", []byte("blob"), 1.5 + float64(i), nil, i % 200}
	}
	p.AddTable("t", []string{"big", "s", "b", "f", "n", "small"}, rows)
	db := sql.OpenDB(sqldriver.NewConnector(serve(t, p)))
	defer db.Close()
	r, err := db.Query("SELECT * FROM t")
	require.NoError(t, err)
	defer r.Close()
	var big, small int64
	var f float64
	var s, b, n sql.RawBytes
	allocs := testing.AllocsPerRun(1000, func() {
		if !r.Next() {
			t.Fatal(r.Err())
		}
		if err := r.Scan(&big, &s, &b, &f, &n, &small); err != nil {
			t.Fatal(err)
		}
	})
	assert.Equal(t, 4.0, allocs, "big, s, b, f")
}

// A database/sql scan reads one version of the table, as every cursor
// does: rows updated and inserted through another connection of the pool
// in the middle of the scan are not in it.
func TestRowsReadOneVersion(t *testing.T) {
	const n = 3000
	p := contenttest.NewMemProvider()
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{i, 1}
	}
	p.AddTable("t", []string{"i", "v"}, rows)
	db := sql.OpenDB(sqldriver.NewConnector(serve(t, p, provider.WithWindowSize(4096), provider.WithInlineLimit(0))))
	defer db.Close()

	r, err := db.Query("SELECT i, v FROM t ORDER BY i DESC")
	require.NoError(t, err)
	defer r.Close()
	want := int64(n - 1)
	for r.Next() {
		var i, v int64
		require.NoError(t, r.Scan(&i, &v))
		require.Equal(t, want, i)
		require.Equal(t, int64(1), v, "row i %d of another version", i)
		if want == n-200 { // a change in the middle of the scan, on another connection
			_, err := db.Exec("UPDATE t SET v = ?", 2)
			require.NoError(t, err)
			_, err = db.Exec("INSERT INTO t (i, v) VALUES (?, ?)", n, 2)
			require.NoError(t, err)
		}
		want--
	}
	require.NoError(t, r.Err())
	assert.Equal(t, int64(-1), want, "every row once")

	var count int
	require.NoError(t, db.QueryRow("SELECT i FROM t ORDER BY i DESC LIMIT 1").Scan(&count))
	assert.Equal(t, n, count, "a query after the change sees it")
}

// 64 goroutines scan through one sql.DB at once, against a provider whose
// per-uid window limit (32) is below what their cursors would hold
// together: they take turns (content.WithBusyWait) instead of failing
// busy.
func TestOneDBManyGoroutines(t *testing.T) {
	const n, goroutines = 3000, 64
	p := contenttest.NewMemProvider()
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{i, fmt.Sprintf("row %d, long enough to fill windows", i)}
	}
	p.AddTable("t", []string{"i", "s"}, rows)
	db := sql.OpenDB(sqldriver.NewConnector(serve(t, p, provider.WithWindowSize(16<<10),
		provider.WithLimits(provider.Limits{UIDWindows: 32}))))
	defer db.Close()
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			r, err := db.Query("SELECT i, s FROM t")
			if err != nil {
				errs <- err
				return
			}
			defer r.Close()
			var want int64
			for r.Next() {
				var i int64
				var s sql.RawBytes
				if err := r.Scan(&i, &s); err != nil || i != want {
					errs <- fmt.Errorf("goroutine %d: row %d is %d: %v", g, want, i, err)
					return
				}
				want++
			}
			if err := r.Err(); err != nil || want != n {
				errs <- fmt.Errorf("goroutine %d: %d rows: %v", g, want, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
