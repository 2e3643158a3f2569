package content_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

// One Client shared by 64 goroutines, as a program shares a sql.DB: each
// scans a result of many windows, four times, at once with the others,
// against the provider's default limits (16 windows a connection). The
// cursors take turns for the connection's windows instead of failing
// busy, whether they share windows (the same query) or not.
func TestOneClientManyCursors(t *testing.T) {
	const n, goroutines = 5000, 64
	path, _ := startServer(t, newProvider(n), provider.WithWindowSize(16<<10))
	c := contenttest.Dial(t, path)
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			for i := range 4 {
				q := &content.Query{URI: "trips"}
				if g%2 == 1 {
					q.Limit = int64(n - g - i) // a query of its own: no window shared
				}
				cur, err := c.Query(context.Background(), q)
				if err != nil {
					errs <- fmt.Errorf("goroutine %d: %w", g, err)
					return
				}
				var rows int64
				for cur.Next() {
					id, err := cur.Int64(0)
					if err != nil || id != rows {
						errs <- fmt.Errorf("goroutine %d: row %d has id %d: %v", g, rows, id, err)
						cur.Close()
						return
					}
					rows++
				}
				err = cur.Err()
				cur.Close()
				if err == nil && (q.Limit == 0 && rows != n || q.Limit > 0 && rows != q.Limit) {
					err = fmt.Errorf("%d rows", rows)
				}
				if err != nil {
					errs <- fmt.Errorf("goroutine %d: %w", g, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A cursor that waits for a window nobody gives back (one goroutine holds
// every window of the connection in cursors it does not close) fails
// with ErrBusy once the busy wait has passed, naming the fix: never a
// hang. With no busy wait it fails at once, as the provider answered.
func TestBusyWaitEnds(t *testing.T) {
	for _, wait := range []time.Duration{0, 50 * time.Millisecond} {
		t.Run(fmt.Sprint(wait), func(t *testing.T) {
			path, _ := startServer(t, newProvider(5000), provider.WithWindowSize(16<<10), provider.WithInlineLimit(0), // every window shared
				provider.WithLimits(provider.Limits{ConnWindows: 4}))
			c, err := content.Dial(context.Background(), path, content.WithBusyWait(wait))
			require.NoError(t, err)
			defer c.Close()
			var held []*content.Cursor
			defer func() {
				for _, cur := range held {
					cur.Close()
				}
			}()
			for range 4 { // a window each
				cur, err := c.Query(context.Background(), &content.Query{URI: "trips"}, content.WithPrefetch(0))
				require.NoError(t, err)
				require.True(t, cur.Next())
				held = append(held, cur)
			}
			_, err = c.Query(context.Background(), &content.Query{URI: "trips"})
			require.ErrorIs(t, err, content.ErrBusy)
			assert.Contains(t, err.Error(), "the connection holds 4 windows")
			if wait > 0 {
				assert.Contains(t, err.Error(), "close the cursors you are done with")
			}
			if wait > 0 {
				// A held cursor moving on waits too, but gives its own
				// window back first: it gets the next one.
				for held[0].Next() {
				}
				require.NoError(t, held[0].Err())
			}
		})
	}
}
