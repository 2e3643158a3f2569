package content_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/parcel"
)

// Errors in the caller's terms: what went wrong and what to do, never the
// wire's internals, checked before anything is sent.
func TestErrorsInTheCallersTerms(t *testing.T) {
	path, _ := startServer(t, newProvider(10))
	c := contenttest.Dial(t, path)
	ctx := context.Background()
	type point struct{ X, Y int }

	_, err := c.Insert(ctx, "trips", content.Values{"city": point{1, 2}})
	require.ErrorIs(t, err, content.ErrBadRequest)
	assert.EqualError(t, err, `content: bad request: value of "city": a content_test.point (values are nil, integers, floats, bool, strings and []byte)`)

	_, err = c.Update(ctx, "trips", content.Values{"fare": 1.5}, "id = ?", map[string]int{"a": 1})
	require.ErrorIs(t, err, content.ErrBadRequest)
	assert.Contains(t, err.Error(), "argument 1: a map[string]int")

	_, err = c.Query(ctx, &content.Query{URI: "trips", Selection: "id = ?", Args: []any{&point{}}})
	require.ErrorIs(t, err, content.ErrBadRequest)
	assert.Contains(t, err.Error(), "argument 1: a *content_test.point")

	_, err = c.Query(ctx, &content.Query{URI: "trips", Limit: -1})
	require.ErrorIs(t, err, content.ErrBadRequest)
	assert.Contains(t, err.Error(), "limit -1")

	_, err = c.Insert(ctx, "trips", content.Values{"payload": make([]byte, 2<<20)})
	require.ErrorIs(t, err, content.ErrBadRequest)
	assert.ErrorIs(t, err, parcel.ErrTooLarge)
	assert.Contains(t, err.Error(), "BulkInsert")
	assert.False(t, strings.Contains(err.Error(), "parcel"), "%v", err)

	// The connection goes on.
	cur, err := c.Query(ctx, &content.Query{URI: "trips"})
	require.NoError(t, err)
	cur.Close()
}
