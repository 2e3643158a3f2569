package content_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
)

// NULL is reported as NULL by the Null accessors and IsNull; the plain
// accessors read it as the zero value, as Android's do.
func TestNullReportedAsNull(t *testing.T) {
	p := contenttest.NewMemProvider()
	p.AddTable("t", []string{"i", "f", "s"}, [][]any{{nil, nil, nil}, {int64(0), 0.0, ""}})
	path, _ := startServer(t, p)
	cur, err := contenttest.Dial(t, path).Query(context.Background(), &content.Query{URI: "t"})
	require.NoError(t, err)
	defer cur.Close()

	require.True(t, cur.Next())
	null, err := cur.IsNull(0)
	require.NoError(t, err)
	assert.True(t, null)
	i, err := cur.NullInt64(0)
	require.NoError(t, err)
	assert.Equal(t, sql.NullInt64{}, i)
	f, err := cur.NullFloat64(1)
	require.NoError(t, err)
	assert.Equal(t, sql.NullFloat64{}, f)
	s, err := cur.NullString(2)
	require.NoError(t, err)
	assert.Equal(t, sql.NullString{}, s)
	zero, err := cur.Int64(0)
	require.NoError(t, err)
	assert.Zero(t, zero)

	require.True(t, cur.Next())
	i, err = cur.NullInt64(0)
	require.NoError(t, err)
	assert.Equal(t, sql.NullInt64{Int64: 0, Valid: true}, i)
	s, err = cur.NullString(2)
	require.NoError(t, err)
	assert.Equal(t, sql.NullString{String: "", Valid: true}, s)

	_, err = cur.Int64(7)
	require.Error(t, err)
	assert.Equal(t, "content: row 1, column 7: row or column out of range", err.Error(), "in the cursor's terms, one prefix")
}

// Cursor.Row reads the current row through window.Row: what its accessors
// say yes to is what the Cursor's accessors return; off a row there is no
// Row.
func TestCursorRow(t *testing.T) {
	p := contenttest.NewMemProvider()
	p.AddTable("t", []string{"i", "f", "s"}, [][]any{{int64(7), 1.5, "seven"}, {nil, nil, ""}})
	path, _ := startServer(t, p)
	cur, err := contenttest.Dial(t, path).Query(context.Background(), &content.Query{URI: "t"})
	require.NoError(t, err)
	defer cur.Close()
	_, ok := cur.Row()
	assert.False(t, ok, "before the first row")

	require.True(t, cur.Next())
	r, ok := cur.Row()
	require.True(t, ok)
	i, ok := r.Int64(0)
	assert.True(t, ok)
	assert.Equal(t, int64(7), i)
	f, ok := r.Float64(1)
	assert.True(t, ok)
	assert.Equal(t, 1.5, f)
	s, ok := r.Bytes(2)
	assert.True(t, ok)
	assert.Equal(t, "seven", string(s))

	require.True(t, cur.Next())
	r, ok = cur.Row()
	require.True(t, ok)
	for col := range 3 {
		_, ok1 := r.Int64(col)
		_, ok2 := r.Float64(col)
		_, ok3 := r.Bytes(col)
		assert.False(t, ok1 || ok2 || ok3, "column %d: NULL or empty is the Cursor's accessors' to read", col)
	}
	b, err := cur.Bytes(2)
	require.NoError(t, err)
	assert.NotNil(t, b, "an empty string is empty, not NULL")
	assert.Empty(t, b)

	assert.False(t, cur.Next())
	_, ok = cur.Row()
	assert.False(t, ok, "after the last row")
	require.NoError(t, cur.Close())
	_, ok = cur.Row()
	assert.False(t, ok, "after Close")
}
