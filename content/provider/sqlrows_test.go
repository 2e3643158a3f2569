package provider_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content/provider"
	"github.com/cursorwindow/cursorwindow/window"
)

// fakeDriver serves one fixed result to any query: enough to test the
// database/sql adapter without a database.
type fakeDriver struct{}

type fakeConn struct{}

type fakeStmt struct{}

type fakeRows struct{ i int }

var fakeData = [][]driver.Value{
	{int64(1), 1.5, "one", []byte{1}, nil, true, time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)},
	{int64(2), 2.5, "two", []byte{2, 2}, nil, false, time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)},
}

func (fakeDriver) Open(string) (driver.Conn, error)         { return fakeConn{}, nil }
func (fakeConn) Prepare(string) (driver.Stmt, error)        { return fakeStmt{}, nil }
func (fakeConn) Close() error                               { return nil }
func (fakeConn) Begin() (driver.Tx, error)                  { return nil, driver.ErrSkip }
func (fakeStmt) Close() error                               { return nil }
func (fakeStmt) NumInput() int                              { return -1 }
func (fakeStmt) Exec([]driver.Value) (driver.Result, error) { return nil, driver.ErrSkip }
func (fakeStmt) Query([]driver.Value) (driver.Rows, error)  { return &fakeRows{}, nil }
func (*fakeRows) Columns() []string {
	return []string{"id", "score", "name", "data", "nothing", "flag", "at"}
}
func (*fakeRows) Close() error { return nil }
func (r *fakeRows) Next(dest []driver.Value) error {
	if r.i >= len(fakeData) {
		return io.EOF
	}
	copy(dest, fakeData[r.i])
	r.i++
	return nil
}

func init() { sql.Register("cursorwindow-fake", fakeDriver{}) }

func TestSQLRowsFillsWindows(t *testing.T) {
	db, err := sql.Open("cursorwindow-fake", "")
	require.NoError(t, err)
	defer db.Close()
	r, err := db.QueryContext(context.Background(), "SELECT *")
	require.NoError(t, err)
	rows, err := provider.SQLRows(r)
	require.NoError(t, err)
	defer rows.Close()
	assert.Equal(t, []string{"id", "score", "name", "data", "nothing", "flag", "at"}, rows.Columns())

	w, err := window.New(len(rows.Columns()))
	require.NoError(t, err)
	for rows.Next() {
		require.NoError(t, w.AllocRow())
		require.NoError(t, rows.Put(w))
	}
	require.NoError(t, rows.Err())
	b, err := w.AppendTo(nil)
	require.NoError(t, err)
	win, err := window.OpenBytes(b)
	require.NoError(t, err)
	require.Equal(t, 2, win.NumRows())
	id, _ := win.Int64(1, 0)
	score, _ := win.Float64(1, 1)
	name, _ := win.String(1, 2)
	data, _ := win.Bytes(1, 3)
	null, _ := win.IsNull(1, 4)
	flag, _ := win.Int64(0, 5)
	at, _ := win.String(0, 6)
	assert.Equal(t, int64(2), id)
	assert.Equal(t, 2.5, score)
	assert.Equal(t, "two", name)
	assert.Equal(t, []byte{2, 2}, data)
	assert.True(t, null)
	assert.Equal(t, int64(1), flag)
	assert.Equal(t, "2026-11-23T10:00:00Z", at)
}
