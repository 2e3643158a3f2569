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
	cur, err := dial(t, path).Query(context.Background(), &content.Query{URI: "t"})
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
