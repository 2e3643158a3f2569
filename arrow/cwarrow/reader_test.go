package cwarrow_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/arrow/cwarrow"
	"github.com/cursorwindow/cursorwindow/arrow/internal/servetest"
	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
	"github.com/cursorwindow/cursorwindow/window"
)

// open serves p, queries q and returns a Reader over the cursor, read
// with a checked allocator that the test checks for leaks at its end.
func open(t *testing.T, p provider.Provider, q *content.Query, opts ...cwarrow.Option) (*cwarrow.Reader, error) {
	t.Helper()
	sock, _ := contenttest.Serve(t, p, provider.WithWindowSize(16<<10))
	c := servetest.Dial(t, sock)
	cur, err := c.Query(context.Background(), q)
	require.NoError(t, err)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return cwarrow.NewReader(cur, append([]cwarrow.Option{cwarrow.WithAllocator(mem)}, opts...)...)
}

// readAll returns every row of r as Go values (nil for NULL, []byte for
// binary, string for strings) and the rows of each batch.
func readAll(t *testing.T, r *cwarrow.Reader) (rows [][]any, batches []int64) {
	t.Helper()
	for r.Next() {
		rec := r.RecordBatch()
		batches = append(batches, rec.NumRows())
		vals, err := servetest.Values(rec)
		require.NoError(t, err)
		rows = append(rows, vals...)
	}
	return rows, batches
}

func types(s *arrow.Schema) []string {
	var out []string
	for _, f := range s.Fields() {
		out = append(out, fmt.Sprintf("%s %s nullable=%v", f.Name, f.Type, f.Nullable))
	}
	return out
}

// TestValuesUndeclared reads a table that declares no types: the first
// batch's values decide each column's type; NULLs are validity.
func TestValuesUndeclared(t *testing.T) {
	p := contenttest.NewMemProvider()
	want := [][]any{
		{int64(1), 1.5, "één", []byte{0, 1}, nil, int64(7)},
		{nil, nil, nil, nil, nil, 2.5},
		{int64(math.MinInt64), math.Inf(-1), "", []byte{}, nil, int64(-3)},
		{int64(math.MaxInt64), math.Copysign(0, -1), "日本語", []byte("blob"), nil, nil},
	}
	p.AddTable("t", []string{"i", "f", "s", "b", "n", "mixed"}, want)
	r, err := open(t, p, &content.Query{URI: "t"})
	require.NoError(t, err)
	defer r.Release()
	assert.Equal(t, []string{
		"i int64 nullable=true", "f float64 nullable=true", "s utf8 nullable=true",
		"b binary nullable=true", "n null nullable=true", "mixed float64 nullable=true",
	}, types(r.Schema()))
	got, batches := readAll(t, r)
	require.NoError(t, r.Err())
	assert.Equal(t, []int64{4}, batches)
	want[0][5], want[2][5] = 7.0, -3.0 // an INT64 in a column of float64: exact
	assert.Equal(t, want, got)
	assert.True(t, math.Signbit(got[3][1].(float64)), "-0 keeps its sign")
}

// TestDeclaredTypesWin reads a table whose provider declares types: the
// schema follows them even where the first batch holds only NULLs, the
// declared NOT NULL shows, and the metadata names the declared type.
func TestDeclaredTypesWin(t *testing.T) {
	mp := contenttest.NewMemProvider()
	mp.AddTable("t", []string{"id", "price", "name", "payload", "flag"}, [][]any{
		{1, nil, nil, nil, 1},
		{2, 3, "x", []byte("y"), 0},
	})
	p := &servetest.Typed{Provider: mp, Types: map[string]content.ColumnType{
		"id":      {DatabaseType: "INTEGER", NullableKnown: true},
		"price":   {DatabaseType: "DOUBLE PRECISION"},
		"name":    {DatabaseType: "VARCHAR(20)"},
		"payload": {DatabaseType: "BLOB"},
		"flag":    {DatabaseType: "BOOLEAN"}, // NUMERIC affinity: the values decide
	}}
	r, err := open(t, p, &content.Query{URI: "t"})
	require.NoError(t, err)
	defer r.Release()
	assert.Equal(t, []string{
		"id int64 nullable=false", "price float64 nullable=true", "name utf8 nullable=true",
		"payload binary nullable=true", "flag int64 nullable=true",
	}, types(r.Schema()))
	dt, ok := r.Schema().Field(1).Metadata.GetValue(cwarrow.MetadataDeclaredType)
	assert.True(t, ok)
	assert.Equal(t, "DOUBLE PRECISION", dt)
	got, _ := readAll(t, r)
	require.NoError(t, r.Err())
	assert.Equal(t, [][]any{
		{int64(1), nil, nil, nil, int64(1)},
		{int64(2), 3.0, "x", []byte("y"), int64(0)},
	}, got)
}

// TestMismatch: a field that does not fit its column stops the reader,
// after the rows before it, with an error that names the row and the
// column.
func TestMismatch(t *testing.T) {
	many := func(n int, last any) [][]any {
		rows := make([][]any, n)
		for i := range rows {
			rows[i] = []any{i}
		}
		rows[n-1][0] = last
		return rows
	}
	for _, tt := range []struct {
		name     string
		declared string
		rows     [][]any
		batch    int
		row      int64
		err      error
		msg      string
	}{
		{"text in integer", "INTEGER", many(10, "ten"), 4, 9, cwarrow.ErrMixedTypes,
			"cwarrow: row 9, column 0 (c): a STRING in a column of int64"},
		{"real in integer", "INT", many(3, 2.5), 0, 2, cwarrow.ErrMixedTypes,
			"cwarrow: row 2, column 0 (c): a FLOAT64 in a column of int64"},
		{"inexact integer in real", "REAL", [][]any{{1.5}, {int64(1)<<53 + 1}}, 0, 1, cwarrow.ErrMixedTypes,
			"cwarrow: row 1, column 0 (c): an INT64 that a float64 does not hold exactly in a column of float64"},
		{"blob in text", "TEXT", [][]any{{"a"}, {[]byte("b")}}, 0, 1, cwarrow.ErrMixedTypes,
			"cwarrow: row 1, column 0 (c): a BLOB in a column of utf8"},
		{"invalid UTF-8", "TEXT", [][]any{{"a"}, {"\xff"}}, 0, 1, cwarrow.ErrInvalidUTF8,
			"cwarrow: row 1, column 0 (c): a STRING that is not valid UTF-8 in a column of utf8"},
		{"undeclared, first batch mixed", "", [][]any{{nil}, {1}, {"x"}}, 0, 2, cwarrow.ErrMixedTypes,
			"cwarrow: row 2, column 0 (c): a STRING in a column of int64"},
		{"undeclared, invalid UTF-8 in the first batch", "", [][]any{{"ok"}, {"\xc3"}}, 0, 1, cwarrow.ErrInvalidUTF8,
			"cwarrow: row 1, column 0 (c): a STRING that is not valid UTF-8 in a column of utf8"},
		{"undeclared, a later batch", "", many(10, 1.5), 4, 9, cwarrow.ErrMixedTypes,
			"cwarrow: row 9, column 0 (c): a FLOAT64 in a column of int64"},
		{"undeclared, NULLs then a value", "", [][]any{{nil}, {nil}, {3}}, 2, 2, cwarrow.ErrMixedTypes,
			"cwarrow: row 2, column 0 (c): an INT64 in a column of null"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mp := contenttest.NewMemProvider()
			mp.AddTable("t", []string{"c"}, tt.rows)
			p := &servetest.Typed{Provider: mp, Types: map[string]content.ColumnType{"c": {DatabaseType: tt.declared}}}
			var opts []cwarrow.Option
			if tt.batch > 0 {
				opts = append(opts, cwarrow.WithBatchRows(tt.batch))
			}
			r, err := open(t, p, &content.Query{URI: "t"}, opts...)
			if err == nil { // else NewReader read the field, in the first batch
				defer r.Release()
				rows, _ := readAll(t, r)
				assert.Len(t, rows, int(tt.row), "the rows before the field")
				err = r.Err()
			}
			require.ErrorIs(t, err, tt.err)
			var fe *cwarrow.FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tt.row, fe.Row)
			assert.Equal(t, 0, fe.Column)
			assert.Equal(t, "c", fe.Name)
			assert.Equal(t, tt.msg, err.Error())
		})
	}
}

// TestNotNull: a NULL in a column declared NOT NULL is an error, not a
// value the schema says cannot be there.
func TestNotNull(t *testing.T) {
	mp := contenttest.NewMemProvider()
	mp.AddTable("t", []string{"c"}, [][]any{{1}, {nil}})
	p := &servetest.Typed{Provider: mp, Types: map[string]content.ColumnType{"c": {DatabaseType: "INTEGER", NullableKnown: true}}}
	r, err := open(t, p, &content.Query{URI: "t"})
	require.NoError(t, err)
	defer r.Release()
	rows, _ := readAll(t, r)
	assert.Equal(t, [][]any{{int64(1)}}, rows, "the rows before the NULL")
	require.ErrorIs(t, r.Err(), cwarrow.ErrNotNull)
	assert.EqualError(t, r.Err(), "cwarrow: row 1, column 0 (c): a NULL in a column declared NOT NULL in a column of int64")
}

// TestBatches: a batch holds a window's rows at most, ends at the row
// count and before the byte limit, and the rows come out whole and in
// order, across many windows.
func TestBatches(t *testing.T) {
	const n = 5000
	mp := contenttest.NewMemProvider()
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{i, fmt.Sprintf("row %d", i)}
	}
	mp.AddTable("t", []string{"id", "s"}, rows)
	for _, tt := range []struct {
		name string
		opts []cwarrow.Option
		max  int64 // rows a batch holds at most
	}{
		{"default", nil, n},
		{"rows=333", []cwarrow.Option{cwarrow.WithBatchRows(333)}, 333},
		// A row takes 8 + 4 + len("row NNNN") ≤ 20 bytes: 1000 bytes hold 50 to 58 of them.
		{"bytes=1000", []cwarrow.Option{cwarrow.WithBatchBytes(1000)}, 58},
		{"large", []cwarrow.Option{cwarrow.WithLargeTypes(), cwarrow.WithBatchRows(1000)}, 1000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := open(t, mp, &content.Query{URI: "t"}, tt.opts...)
			require.NoError(t, err)
			defer r.Release()
			got, batches := readAll(t, r)
			require.NoError(t, r.Err())
			require.Len(t, got, n)
			for i, row := range got {
				require.Equal(t, []any{int64(i), fmt.Sprintf("row %d", i)}, row)
			}
			// Batches follow the windows (16 KiB: 8 + 4 + 8 bytes a row
			// hold at most about 800 of these rows), cut by the limits.
			assert.Greater(t, len(batches), n/1000, "one batch per window at least")
			var total int64
			for i, b := range batches {
				assert.LessOrEqual(t, b, min(tt.max, 1000), "batch %d", i)
				total += b
			}
			assert.Equal(t, int64(n), total)
		})
	}
}

// TestStartsAfterCurrentRow: a cursor that read rows already hands on
// the rows after its current one.
func TestStartsAfterCurrentRow(t *testing.T) {
	mp := contenttest.NewMemProvider()
	mp.AddTable("t", []string{"a"}, [][]any{{0}, {1}, {2}, {3}})
	sock, _ := contenttest.Serve(t, mp)
	cur, err := servetest.Dial(t, sock).Query(context.Background(), &content.Query{URI: "t"})
	require.NoError(t, err)
	require.True(t, cur.Next())
	require.True(t, cur.Next())
	r, err := cwarrow.NewReader(cur)
	require.NoError(t, err)
	defer r.Release()
	rows, _ := readAll(t, r)
	require.NoError(t, r.Err())
	assert.Equal(t, [][]any{{int64(2)}, {int64(3)}}, rows)
}

// TestEmpty: a result without rows has a schema and no batch; columns
// without a declared type are of type Null.
func TestEmpty(t *testing.T) {
	mp := contenttest.NewMemProvider()
	mp.AddTable("t", []string{"a", "b"}, [][]any{{1, "x"}})
	p := &servetest.Typed{Provider: mp, Types: map[string]content.ColumnType{"a": {DatabaseType: "INTEGER"}}}
	r, err := open(t, p, &content.Query{URI: "t", Selection: "a > ?", Args: []any{5}})
	require.NoError(t, err)
	defer r.Release()
	assert.Equal(t, []string{"a int64 nullable=true", "b null nullable=true"}, types(r.Schema()))
	assert.False(t, r.Next())
	assert.NoError(t, r.Err())
}

// TestReleaseClosesCursor: releasing a reader mid-result closes its
// cursor, and the provider closes the query's rows long before their
// end.
func TestReleaseClosesCursor(t *testing.T) {
	const n = 50_000
	mp := contenttest.NewMemProvider()
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{i, "a row of some length to fill windows"}
	}
	mp.AddTable("t", []string{"id", "s"}, rows)
	p := contenttest.NewWatched(mp)
	sock, srv := contenttest.Serve(t, p, provider.WithWindowSize(16<<10))
	c := servetest.Dial(t, sock)
	cur, err := c.Query(context.Background(), &content.Query{URI: "t"})
	require.NoError(t, err)
	r, err := cwarrow.NewReader(cur, cwarrow.WithBatchRows(100))
	require.NoError(t, err)
	require.True(t, r.Next())
	r.Retain()
	r.Release() // one reference left
	require.True(t, r.Next())
	r.Release()
	select {
	case read := <-p.Closed:
		assert.Less(t, read, int64(n))
	case <-timeout():
		t.Fatal("the provider's rows were not closed")
	}
	require.Eventually(t, func() bool { return srv.Stats().WindowsOut == 0 }, waitFor, tick)
	_, err = cur.Int64(0)
	assert.ErrorIs(t, err, content.ErrClosed)
}

// TestCursorError: the cursor's error ends the rows and is the reader's.
func TestCursorError(t *testing.T) {
	mp := contenttest.NewMemProvider()
	rows := make([][]any, 20_000)
	for i := range rows {
		rows[i] = []any{i, "a row of some length to fill windows"}
	}
	mp.AddTable("t", []string{"id", "s"}, rows)
	sock, _ := contenttest.Serve(t, mp, provider.WithWindowSize(16<<10))
	c := servetest.Dial(t, sock)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cur, err := c.Query(ctx, &content.Query{URI: "t"})
	require.NoError(t, err)
	r, err := cwarrow.NewReader(cur, cwarrow.WithBatchRows(100))
	require.NoError(t, err)
	defer r.Release()
	require.True(t, r.Next())
	cancel()
	for r.Next() {
	}
	assert.ErrorIs(t, r.Err(), context.Canceled)
}

const (
	waitFor = 10 * time.Second
	tick    = 10 * time.Millisecond
)

func timeout() <-chan time.Time { return time.After(waitFor) }

func TestDeclaredType(t *testing.T) {
	for decl, want := range map[string]window.FieldType{
		"INTEGER": window.TypeInt64, "bigint": window.TypeInt64, "UNSIGNED BIG INT": window.TypeInt64,
		"FLOATING POINT": window.TypeInt64, // SQLite's rule 1: INT comes first
		"TEXT":           window.TypeString, "varchar(255)": window.TypeString, "NCHAR(55)": window.TypeString, "CLOB": window.TypeString,
		"BLOB": window.TypeBlob,
		"REAL": window.TypeFloat64, "DOUBLE": window.TypeFloat64, "DOUBLE PRECISION": window.TypeFloat64, "FLOAT": window.TypeFloat64,
	} {
		got, ok := cwarrow.DeclaredType(decl)
		assert.True(t, ok, decl)
		assert.Equal(t, want, got, decl)
	}
	for _, decl := range []string{"", "NUMERIC", "DECIMAL(10,5)", "BOOLEAN", "DATE", "DATETIME"} {
		_, ok := cwarrow.DeclaredType(decl)
		assert.False(t, ok, decl)
	}
}

// TestBatchesOverWindows: batches point into the provider's windows, so
// a batch kept past the Reader (and its cursor) keeps its window, with
// its values, until the batch is released; the allocator holds only
// the copied offsets. WithCopiedBatches keeps no window.
func TestBatchesOverWindows(t *testing.T) {
	const n = 20_000
	mp := contenttest.NewMemProvider()
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{i, fmt.Sprintf("row %d", i), float64(i) / 4}
	}
	mp.AddTable("t", []string{"id", "s", "f"}, rows)
	p := &servetest.Typed{Provider: mp, Types: map[string]content.ColumnType{
		"id": {DatabaseType: "INTEGER"}, "s": {DatabaseType: "TEXT"}, "f": {DatabaseType: "REAL"}}}
	sock, srv := contenttest.Serve(t, p, provider.WithWindowSize(64<<10),
		provider.WithLimits(provider.Limits{ConnWindows: 256, UIDWindows: 256})) // every window shared
	c := servetest.Dial(t, sock)

	for _, copied := range []bool{false, true} {
		t.Run(fmt.Sprintf("copied=%v", copied), func(t *testing.T) {
			cur, err := c.Query(context.Background(), &content.Query{URI: "t"})
			require.NoError(t, err)
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			opts := []cwarrow.Option{cwarrow.WithAllocator(mem)}
			if copied {
				opts = append(opts, cwarrow.WithCopiedBatches())
			}
			r, err := cwarrow.NewReader(cur, opts...)
			require.NoError(t, err)
			var kept []arrow.RecordBatch
			for r.Next() {
				rec := r.RecordBatch()
				rec.Retain()
				kept = append(kept, rec)
			}
			require.NoError(t, r.Err())
			r.Release()
			require.Greater(t, len(kept), 3, "several windows")

			if copied {
				assert.GreaterOrEqual(t, mem.CurrentAlloc(), n*(8+8+4+len("row 0")), "every value copied")
				require.Eventually(t, func() bool { return srv.Stats().WindowsOut == 0 }, waitFor, tick)
			} else {
				assert.LessOrEqual(t, mem.CurrentAlloc(), 2*4*(n+len(kept))+64*len(kept), "the offsets only")
				require.Eventually(t, func() bool { return srv.Stats().WindowsOut == len(kept) }, waitFor, tick,
					"%d batches kept, %+v", len(kept), srv.Stats())
			}
			var got [][]any
			for _, rec := range kept {
				vals, err := servetest.Values(rec)
				require.NoError(t, err)
				got = append(got, vals...)
				rec.Release()
			}
			require.Len(t, got, n)
			for i, row := range got {
				require.Equal(t, []any{int64(i), fmt.Sprintf("row %d", i), float64(i) / 4}, row)
			}
			require.Eventually(t, func() bool { return srv.Stats().WindowsOut == 0 }, waitFor, tick)
			mem.AssertSize(t, 0)
		})
	}
}
