package sqldriver_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/sqldriver"
)

// TestProviderRefusals checks that what the example provider refuses
// reaches database/sql with its meaning and its message.
func TestProviderRefusals(t *testing.T) {
	p := startProvider(t, nil, "--rows", "300")
	db := sql.OpenDB(sqldriver.NewConnector(p.Socket))
	defer db.Close()
	for _, tt := range []struct {
		sql  string
		args []any
		is   error
		msg  string
	}{
		{"SELECT * FROM trips WHERE fare > ? + 1", []any{10}, content.ErrUnsupported,
			`content: provider: unsupported: selection "fare > ? + ?": the operator '+' at offset 9 (compare a column with ?)`},
		{"SELECT * FROM trips WHERE city GLOB ?", []any{"P*"}, content.ErrUnsupported,
			`content: provider: unsupported: selection "city GLOB ?": GLOB (compare a column with =, <, LIKE, IN or BETWEEN)`},
		{"SELECT * FROM trips WHERE city = ? AND", []any{"Paris"}, content.ErrBadRequest,
			`content: provider: bad request: selection "city = ? AND": want a condition, found the end`},
		{"SELECT count(*) FROM trips WHERE city IN (?, ?) OR fare BETWEEN ? AND ?", []any{"Paris", "Rome", 1, 2}, sqldriver.ErrUnsupported,
			`sqlparse: not supported: aggregate functions (COUNT) at offset 7 (aggregate the rows as you read them)`},
		{"SELECT * FROM trips ORDER BY random()", nil, content.ErrUnsupported,
			`content: provider: unsupported: order "random()": functions (RANDOM)`},
		{"SELECT * FROM nope", nil, content.ErrNotFound,
			`content: provider: not found: no table "nope" (tables: cities, trips)`},
		{"SELECT fare, nope FROM trips", nil, content.ErrBadRequest,
			`content: provider: bad request: table trips has no column "nope" (columns: id, started_at, city, distance_km, duration_s, passengers, fare, tip, route_hash)`},
		{"SELECT * FROM trips JOIN cities ON city = name", nil, sqldriver.ErrUnsupported,
			`sqlparse: not supported: joins (JOIN) at offset 20 (a statement reads one table)`},
	} {
		t.Run(tt.sql, func(t *testing.T) {
			_, err := db.Query(tt.sql, tt.args...)
			require.ErrorIs(t, err, tt.is)
			assert.EqualError(t, err, tt.msg)
		})
	}
	_, err := db.Exec("INSERT INTO trips (city) VALUES (?)", "Lisbon") // NOT NULL columns without defaults
	assert.ErrorIs(t, err, content.ErrBadRequest)
}

// TestProviderCancel cancels a scan of many windows mid-way: the scan
// ends with the context's error and the pooled connection serves the
// next query.
func TestProviderCancel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "edge.db")
	createEdgeDB(t, path)
	p := startProvider(t, nil, "--db", path, "--window-size", "16384")
	db := sql.OpenDB(sqldriver.NewConnector(p.Socket))
	defer db.Close()
	db.SetMaxOpenConns(1)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rows, err := db.QueryContext(ctx, "SELECT * FROM many")
	require.NoError(t, err)
	read := 0
	for rows.Next() {
		if read++; read == 50 {
			cancel()
		}
	}
	assert.ErrorIs(t, rows.Err(), context.Canceled)
	assert.Less(t, read, manyRows)
	require.NoError(t, rows.Close())

	var s string
	require.NoError(t, db.QueryRow("SELECT s FROM many WHERE id = ?", 3).Scan(&s))
	assert.Equal(t, "row 2 ··", s)
}

// TestProviderRestart restarts the provider under a pool of connections:
// a connection that finds the provider gone reports driver.ErrBadConn,
// database/sql redials, and queries succeed at once. A write on a
// connection that was alive when last used reports the provider gone
// (it may have been applied), and the next write succeeds.
func TestProviderRestart(t *testing.T) {
	p := startProvider(t, nil, "--rows", "300")
	connector := sqldriver.NewConnector(p.Socket)
	db := sql.OpenDB(connector)
	defer db.Close()
	db.SetMaxIdleConns(4)

	// Two pooled connections, and one held by the test.
	r1, err := db.Query("SELECT id FROM trips")
	require.NoError(t, err)
	r2, err := db.Query("SELECT id FROM cities")
	require.NoError(t, err)
	r1.Close()
	r2.Close()
	dc, err := connector.Connect(context.Background())
	require.NoError(t, err)
	defer dc.Close()

	p.Restart(t)

	_, err = dc.(driver.QueryerContext).QueryContext(context.Background(), "SELECT id FROM trips", nil)
	require.ErrorIs(t, err, driver.ErrBadConn)
	assert.ErrorIs(t, err, content.ErrProviderGone)
	assert.False(t, dc.(driver.Validator).IsValid())

	for range 3 { // each finds a stale connection or a new one: all succeed
		var id int64
		require.NoError(t, db.QueryRow("SELECT id FROM trips WHERE id = ?", 7).Scan(&id))
		assert.Equal(t, int64(7), id)
	}

	// Stale again, then a write.
	r1, err = db.Query("SELECT id FROM trips")
	require.NoError(t, err)
	r1.Close()
	p.Restart(t)
	// The pool drops a connection whose client saw the provider go
	// (Client.Err) before it sends a write; one that has not seen it yet
	// fails the write with ErrProviderGone, never ErrBadConn: the write
	// may have been applied, and must not be retried behind the caller.
	_, err = db.Exec("UPDATE trips SET tip = ? WHERE id = ?", 1.5, 7)
	if err != nil {
		require.ErrorIs(t, err, content.ErrProviderGone)
		assert.NotErrorIs(t, err, driver.ErrBadConn)
	}
	res, err := db.Exec("UPDATE trips SET tip = ? WHERE id = ?", 1.5, 7)
	require.NoError(t, err)
	n, err := res.RowsAffected()
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
}
