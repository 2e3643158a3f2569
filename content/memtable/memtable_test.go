package memtable_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/memtable"
	"github.com/cursorwindow/cursorwindow/content/provider"
	"github.com/cursorwindow/cursorwindow/window"
)

var tripCols = []memtable.Column{
	{Name: "id", Type: memtable.Integer, NotNull: true},
	{Name: "city", Type: memtable.Text},
	{Name: "fare", Type: memtable.Real},
	{Name: "note"},
}

func newTrips(t testing.TB) *memtable.Provider {
	t.Helper()
	p := memtable.New()
	require.NoError(t, p.AddTable("trips", tripCols, [][]any{
		{1, "Paris", 10.5, nil},
		{2, "Lyon", 7, "x"},
		{3, "paris", nil, []byte("b")},
		{4, nil, 3.25, 1},
	}))
	return p
}

// serve serves p on a socket in a temporary directory and dials it; both
// end with the test.
func serve(t testing.TB, p provider.Provider, opts ...provider.ServerOption) (*content.Client, *provider.Server) {
	t.Helper()
	path, srv := contenttest.Serve(t, p, opts...)
	c, err := content.Dial(context.Background(), path)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c, srv
}

// scan reads every row of a query as values.
func scan(t testing.TB, c *content.Client, q *content.Query) [][]any {
	t.Helper()
	cur, err := c.Query(context.Background(), q)
	require.NoError(t, err)
	defer cur.Close()
	var out [][]any
	for cur.Next() {
		out = append(out, rowOf(t, cur))
	}
	require.NoError(t, cur.Err())
	return out
}

func rowOf(t testing.TB, cur *content.Cursor) []any {
	t.Helper()
	row := make([]any, len(cur.Columns()))
	for i := range row {
		typ, err := cur.Type(i)
		require.NoError(t, err)
		switch typ {
		case window.TypeNull:
		case window.TypeInt64:
			row[i], err = cur.Int64(i)
		case window.TypeFloat64:
			row[i], err = cur.Float64(i)
		case window.TypeString:
			row[i], err = cur.String(i)
		default:
			row[i], err = cur.Bytes(i)
		}
		require.NoError(t, err)
	}
	return row
}

func ids(rows [][]any) []int64 {
	var out []int64
	for _, r := range rows {
		out = append(out, r[0].(int64))
	}
	return out
}

func TestQuery(t *testing.T) {
	c, _ := serve(t, newTrips(t))
	for _, tc := range []struct {
		q    content.Query
		want []int64
	}{
		{content.Query{}, []int64{1, 2, 3, 4}},
		{content.Query{Selection: "city LIKE ? OR fare < ?", Args: []any{"PARIS", 5}}, []int64{1, 3, 4}},
		{content.Query{Selection: "fare IS NOT NULL", Order: "fare DESC"}, []int64{1, 2, 4}},
		{content.Query{Order: "city, id DESC"}, []int64{4, 2, 1, 3}}, // NULL first, bytewise
		{content.Query{Order: "id DESC", Limit: 2}, []int64{4, 3}},
		{content.Query{Selection: "id IN (?, ?) AND NOT note IS NULL", Args: []any{2, 3}}, []int64{2, 3}},
	} {
		tc.q.URI = "trips"
		assert.Equal(t, tc.want, ids(scan(t, c, &tc.q)), "%s", tc.q.String())
	}

	// Projection in the order asked, names as the table spells them,
	// types and NOT NULL declared, values as stored (2 in a REAL column
	// is a float, 1 in an untyped one an integer).
	cur, err := c.Query(context.Background(), &content.Query{URI: "trips", Projection: []string{"FARE", "note", "id"}, Selection: "id = ?", Args: []any{2}})
	require.NoError(t, err)
	defer cur.Close()
	assert.Equal(t, []string{"fare", "note", "id"}, cur.Columns())
	assert.Equal(t, []content.ColumnType{
		{DatabaseType: "REAL", Nullable: true, NullableKnown: true},
		{DatabaseType: "", Nullable: true, NullableKnown: true},
		{DatabaseType: "INTEGER", Nullable: false, NullableKnown: true},
	}, cur.ColumnTypes())
	assert.Equal(t, int64(1), cur.Count())
	require.True(t, cur.Next())
	assert.Equal(t, []any{7.0, "x", int64(2)}, rowOf(t, cur))

	for _, q := range []content.Query{
		{URI: "nope"},
		{URI: "trips", Projection: []string{"nope"}},
		{URI: "trips", Selection: "nope = ?", Args: []any{1}},
		{URI: "trips", Selection: "id = ?"},
		{URI: "trips", Selection: "id = 1"},
		{URI: "trips", Order: "nope"},
		{URI: "trips", Limit: -1},
	} {
		_, err := c.Query(context.Background(), &q)
		assert.Error(t, err, "%s", q.String())
	}
	_, err = c.Query(context.Background(), &content.Query{URI: "nope"})
	assert.ErrorIs(t, err, content.ErrNotFound)
	_, err = c.Query(context.Background(), &content.Query{URI: "trips", Selection: "id = 1"})
	assert.ErrorIs(t, err, content.ErrUnsupported)
	_, err = c.Query(context.Background(), &content.Query{URI: "trips", Selection: "id = ?"})
	assert.ErrorIs(t, err, content.ErrBadRequest)
}

func TestAddTableRefuses(t *testing.T) {
	p := memtable.New()
	for _, tc := range []struct {
		cols []memtable.Column
		rows [][]any
	}{
		{nil, nil},
		{[]memtable.Column{{Name: "a", Type: "VARCHAR"}}, nil},
		{[]memtable.Column{{Name: "a"}, {Name: "A"}}, nil},
		{tripCols, [][]any{{1, "x"}}},             // too few values
		{tripCols, [][]any{{nil, "x", 1.0, nil}}}, // NULL id
		{tripCols, [][]any{{1.5, "x", 1.0, nil}}}, // a fraction in an INTEGER
		{tripCols, [][]any{{1, 2, 1.0, nil}}},     // a number in TEXT
		{tripCols, [][]any{{1, "x", "y", nil}}},   // text in REAL
	} {
		assert.ErrorIs(t, p.AddTable("t", tc.cols, tc.rows), content.ErrBadRequest, "%v %v", tc.cols, tc.rows)
	}
	require.NoError(t, p.AddTable("t", []memtable.Column{{Name: "b", Type: "blob"}}, [][]any{{[]byte("x")}, {nil}}))
	v, err := p.Call(context.Background(), "columns", "t", nil)
	require.NoError(t, err)
	assert.Equal(t, []any{"BLOB"}, v["types"], "types are upper-cased")
}

func TestWrites(t *testing.T) {
	p := newTrips(t)
	c, _ := serve(t, p)
	ctx := context.Background()

	id, err := c.Insert(ctx, "trips", content.Values{"id": 5, "CITY": "Nice", "fare": 2})
	require.NoError(t, err)
	assert.Equal(t, int64(4), id, "ids count the table's rows from 0")
	n, err := c.Update(ctx, "trips", content.Values{"fare": 1.5, "note": "cheap"}, "fare < ? OR fare IS NULL", 5)
	require.NoError(t, err)
	assert.Equal(t, int64(3), n)
	n, err = c.Delete(ctx, "trips", "city = ?", "Lyon")
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	assert.Equal(t, [][]any{
		{int64(1), "Paris", 10.5, nil},
		{int64(3), "paris", 1.5, "cheap"},
		{int64(4), nil, 1.5, "cheap"},
		{int64(5), "Nice", 1.5, "cheap"},
	}, scan(t, c, &content.Query{URI: "trips"}))

	for _, w := range []func() error{
		func() error { _, err := c.Insert(ctx, "trips", content.Values{"city": "x"}); return err },        // no id: NOT NULL
		func() error { _, err := c.Insert(ctx, "trips", content.Values{"id": "x"}); return err },          // text in INTEGER
		func() error { _, err := c.Insert(ctx, "trips", content.Values{"id": 6, "nope": 1}); return err }, // unknown column
		func() error { _, err := c.Update(ctx, "trips", content.Values{"id": nil}, ""); return err },      // NULL into NOT NULL
		func() error { _, err := c.Update(ctx, "trips", content.Values{}, ""); return err },               // nothing to set
		func() error { _, err := c.Delete(ctx, "trips", "id = ? AND", 1); return err },                    // malformed
		func() error {
			_, err := c.Update(ctx, "trips", content.Values{"fare": 1}, "fare = ?", 1, 2)
			return err
		}, // too many args
	} {
		assert.ErrorIs(t, w(), content.ErrBadRequest)
	}
	_, err = c.Delete(ctx, "nope", "")
	assert.ErrorIs(t, err, content.ErrNotFound)
	assert.Len(t, scan(t, c, &content.Query{URI: "trips"}), 4, "refused writes changed nothing")
}

// A batch is all or nothing, through the server's ApplyBatch.
func TestBatch(t *testing.T) {
	c, _ := serve(t, newTrips(t))
	ctx := context.Background()
	got, err := c.ApplyBatch(ctx, []content.Operation{
		{Op: content.OpInsert, URI: "trips", Values: content.Values{"id": 9}},
		{Op: content.OpUpdate, URI: "trips", Values: content.Values{"fare": 0}, Selection: "id = ?", Args: []any{9}},
		{Op: content.OpDelete, URI: "trips", Selection: "id < ?", Args: []any{3}},
	})
	require.NoError(t, err)
	assert.Equal(t, []int64{4, 1, 2}, got)
	before := scan(t, c, &content.Query{URI: "trips"})
	assert.Equal(t, []int64{3, 4, 9}, ids(before))

	_, err = c.ApplyBatch(ctx, []content.Operation{
		{Op: content.OpInsert, URI: "trips", Values: content.Values{"id": 10}},
		{Op: content.OpDelete, URI: "trips"},
		{Op: content.OpInsert, URI: "trips", Values: content.Values{"id": nil}}, // refused: all undone
	})
	require.ErrorIs(t, err, content.ErrBadRequest)
	assert.Equal(t, before, scan(t, c, &content.Query{URI: "trips"}))
	id, err := c.Insert(ctx, "trips", content.Values{"id": 11})
	require.NoError(t, err)
	assert.Equal(t, int64(5), id, "a rolled back insert's id is free again")
}

// A bulk insert keeps all its rows or none.
func TestBulkInsert(t *testing.T) {
	c, _ := serve(t, newTrips(t), provider.WithWindowSize(4096))
	ctx := context.Background()
	b, err := c.BulkInsert(ctx, "trips", []string{"id", "city"})
	require.NoError(t, err)
	for i := range 1000 {
		require.NoError(t, b.Append(100+i, fmt.Sprintf("city-%d", i)))
	}
	n, err := b.Close()
	require.NoError(t, err)
	assert.Equal(t, int64(1000), n)
	assert.Len(t, scan(t, c, &content.Query{URI: "trips"}), 1004)

	b, err = c.BulkInsert(ctx, "trips", []string{"id", "city"})
	require.NoError(t, err)
	for i := range 500 {
		require.NoError(t, b.Append(2000+i, "x"))
	}
	require.NoError(t, b.Append(nil, "no id")) // NOT NULL: the whole load is refused
	_, err = b.Close()
	require.ErrorIs(t, err, content.ErrBadRequest)
	assert.Len(t, scan(t, c, &content.Query{URI: "trips"}), 1004)

	b, err = c.BulkInsert(ctx, "trips", []string{"id", "ID"})
	if err == nil { // refused at the start or at the end
		require.NoError(t, b.Append(3000, 3001))
		_, err = b.Close()
	}
	require.ErrorIs(t, err, content.ErrBadRequest, "a column named twice")
	assert.Len(t, scan(t, c, &content.Query{URI: "trips"}), 1004)
}

func TestTx(t *testing.T) {
	p := newTrips(t)
	ctx := context.Background()
	tx, err := p.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Delete(ctx, "trips", "", nil)
	require.NoError(t, err)
	require.NoError(t, tx.Rollback())
	assert.ErrorIs(t, tx.Commit(), memtable.ErrTxDone)
	_, err = tx.Insert(ctx, "trips", content.Values{"id": 1})
	assert.ErrorIs(t, err, memtable.ErrTxDone)

	tx, err = p.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Delete(ctx, "trips", "id > ?", []any{1})
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
	assert.ErrorIs(t, tx.Rollback(), memtable.ErrTxDone)
	rows, err := p.Query(ctx, &content.Query{URI: "trips"})
	require.NoError(t, err)
	assert.Equal(t, int64(1), rows.(provider.Counter).Count())
}

// The program's own writes go through Change: all or nothing, restricted
// to its table, and told to the server, which notifies watchers.
func TestChange(t *testing.T) {
	p := newTrips(t)
	c, srv := serve(t, p)
	p.OnChange(srv.Change)
	ctx := context.Background()
	w, err := c.Register(ctx, "trips", false)
	require.NoError(t, err)
	defer w.Close()

	err = p.Change("trips", func(tx *memtable.Tx) error {
		if _, err := tx.Delete(ctx, "trips", "", nil); err != nil {
			return err
		}
		return fmt.Errorf("changed my mind")
	})
	require.EqualError(t, err, "changed my mind")
	assert.Len(t, scan(t, c, &content.Query{URI: "trips"}), 4, "undone")

	err = p.Change("trips", func(tx *memtable.Tx) error {
		_, err := tx.Insert(ctx, "other", content.Values{"id": 1})
		return err
	})
	require.ErrorIs(t, err, content.ErrBadRequest, "a change writes only its table")

	require.NoError(t, p.Change("trips", func(tx *memtable.Tx) error {
		_, err := tx.Update(ctx, "trips", content.Values{"note": "seen"}, "id = ?", []any{1})
		return err
	}))
	select {
	case uri := <-w.C():
		assert.Equal(t, "trips", uri)
	case <-time.After(10 * time.Second): // a failure's bound, not a wait for success
		t.Fatal("no notification")
	}
	assert.Equal(t, "seen", scan(t, c, &content.Query{URI: "trips", Selection: "id = ?", Args: []any{1}})[0][3])

	assert.Panics(t, func() {
		_ = p.Change("trips", func(tx *memtable.Tx) error {
			_, _ = tx.Delete(ctx, "trips", "", nil)
			panic("boom")
		})
	})
	assert.Len(t, scan(t, c, &content.Query{URI: "trips"}), 4, "a panic rolls back, and releases the lock")
}

func TestCall(t *testing.T) {
	p := newTrips(t)
	require.NoError(t, p.AddTable("a", []memtable.Column{{Name: "x"}}, nil))
	ctx := context.Background()
	v, err := p.Call(ctx, "tables", "", nil)
	require.NoError(t, err)
	assert.Equal(t, content.Values{"tables": []any{"a", "trips"}}, v)
	v, err = p.Call(ctx, "columns", "trips", nil)
	require.NoError(t, err)
	assert.Equal(t, content.Values{
		"columns": []any{"id", "city", "fare", "note"},
		"types":   []any{"INTEGER", "TEXT", "REAL", ""},
		"notnull": []any{true, false, false, false},
	}, v)
	_, err = p.Call(ctx, "columns", "nope", nil)
	assert.ErrorIs(t, err, content.ErrNotFound)
	_, err = p.Call(ctx, "vacuum", "", nil)
	assert.ErrorIs(t, err, content.ErrUnsupported)
}
