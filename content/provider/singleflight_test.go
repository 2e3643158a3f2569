package provider_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
	"github.com/cursorwindow/cursorwindow/window"
)

// gated is a provider whose rows are not put into a window until gate is
// closed; it counts the rows put and tells queried of each Query.
type gated struct {
	provider.Provider
	gate    chan struct{}
	queried chan struct{}
	puts    atomic.Int64
}

func (g *gated) Query(ctx context.Context, q *content.Query) (provider.Rows, error) {
	rows, err := g.Provider.Query(ctx, q)
	g.queried <- struct{}{}
	if err != nil {
		return nil, err
	}
	return &gatedRows{Rows: rows, g: g}, nil
}

type gatedRows struct {
	provider.Rows
	g *gated
}

func (r *gatedRows) Put(w *window.Writer) error {
	<-r.g.gate
	r.g.puts.Add(1)
	return r.Rows.Put(w)
}

// Two consumers asking for the same window at once: the second waits for
// the first's fill and is sent that window; no row is put into a window
// twice, and every later window is shared too.
func TestOneFillPerWindow(t *testing.T) {
	const n = 20_000
	mp := contenttest.NewMemProvider()
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{int64(i), "a row of some length"}
	}
	mp.AddTable("t", []string{"id", "s"}, rows)
	g := &gated{Provider: mp, gate: make(chan struct{}), queried: make(chan struct{}, 2)}
	path, s := contenttest.Serve(t, g, provider.WithWindowSize(64<<10))
	ctx := context.Background()

	type result struct {
		cur *content.Cursor
		err error
	}
	query := func() <-chan result {
		c := contenttest.Dial(t, path)
		ch := make(chan result, 1)
		go func() {
			cur, err := c.Query(ctx, &content.Query{URI: "t"})
			ch <- result{cur, err}
		}()
		return ch
	}
	a := query()
	<-g.queried // a's fill has begun, and waits at the gate
	b := query()
	<-g.queried
	require.Eventually(t, func() bool { return s.FillWaiters() == 1 }, 10*time.Second, time.Millisecond,
		"b waits for a's fill of the first window")
	close(g.gate)

	var wg sync.WaitGroup
	for _, ch := range []<-chan result{a, b} {
		r := <-ch
		require.NoError(t, r.err)
		wg.Go(func() {
			defer r.cur.Close()
			var next int64
			for r.cur.Next() {
				id, err := r.cur.Int64(0)
				if !assert.NoError(t, err) || !assert.Equal(t, next, id) {
					return
				}
				next++
			}
			assert.NoError(t, r.cur.Err())
			assert.Equal(t, int64(n), next)
		})
	}
	wg.Wait()
	assert.Equal(t, int64(n), g.puts.Load(), "every row put into one window once")
	assert.Positive(t, s.Stats().SharedHits)
}
