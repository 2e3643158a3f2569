package content_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
	"github.com/cursorwindow/cursorwindow/fdpass"
)

// A Permission sees every query, write, call and registration, and every
// notification before it is delivered; what it refuses never reaches the
// provider or a cached window.
func TestPermissionPerURIAndOperation(t *testing.T) {
	p := contenttest.NewMemProvider()
	p.AddTable("trips", []string{"id", "fare", "city", "payload"}, tripRows(10))
	p.AddTable("payroll", []string{"id", "fare", "city", "payload"}, tripRows(10))
	var mu sync.Mutex
	var denied []string
	perm := func(_ fdpass.Cred, op content.Op, uri string) error {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case uri == "payroll" && op != content.OpCall,
			uri == "trips/secret",
			op == content.OpDelete,
			op == content.OpCall && uri == "tables":
			denied = append(denied, op.String()+" "+uri)
			return errors.New("not for you")
		}
		return nil
	}
	path, srv := startServer(t, p, provider.WithPermission(perm), provider.WithInlineLimit(0))
	c := contenttest.Dial(t, path)
	ctx := context.Background()

	rows, _, err := scan(ctx, c, &content.Query{URI: "trips"})
	require.NoError(t, err)
	assert.Equal(t, int64(10), rows)

	_, err = c.Query(ctx, &content.Query{URI: "payroll"})
	require.ErrorIs(t, err, content.ErrPermission)
	assert.Contains(t, err.Error(), `may not query "payroll": not for you`)
	assert.Equal(t, 1, srv.Stats().Cached, "only trips' window was cached")

	_, err = c.Insert(ctx, "payroll", content.Values{"id": 11})
	require.ErrorIs(t, err, content.ErrPermission)
	_, err = c.Delete(ctx, "trips", "")
	require.ErrorIs(t, err, content.ErrPermission)
	_, err = c.Call(ctx, "tables", "", nil)
	require.ErrorIs(t, err, content.ErrPermission)
	_, err = c.Register(ctx, "payroll", false)
	require.ErrorIs(t, err, content.ErrPermission)

	w, err := c.Register(ctx, "trips", true)
	require.NoError(t, err)
	defer w.Close()
	srv.NotifyChange("trips/secret") // below the registration, but refused
	srv.NotifyChange("trips/7")
	assert.Equal(t, "trips/7", <-w.C(), "the refused notification was never sent")
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"query payroll", "insert payroll", "delete trips", "call tables", "register payroll", "register trips/secret"}, denied)
}
