package content_test

import (
	"context"
	"fmt"
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

// versionedProvider serves a table "t" of n rows (i, version): every row
// of a query carries the version current when the query was opened, so
// the rows of one query are a consistent snapshot and a scan that sees two
// versions was served windows of two snapshots.
type versionedProvider struct {
	provider.ReadOnly
	n       int64
	version atomic.Int64

	// If gate is set, the first query's rows stop before row gateRow:
	// they send on reached and wait for release.
	gateRow int64
	gate    sync.Once
	reached chan struct{}
	release chan struct{}
}

func (p *versionedProvider) Query(_ context.Context, q *content.Query) (provider.Rows, error) {
	if q.URI != "t" {
		return nil, fmt.Errorf("%w: %s", content.ErrNotFound, q.URI)
	}
	r := &versionedRows{n: p.n, v: p.version.Load(), i: -1, stopAt: -1}
	if p.reached != nil {
		p.gate.Do(func() { r.stopAt, r.p = p.gateRow, p })
	}
	return r, nil
}

type versionedRows struct {
	n, v, i int64
	stopAt  int64
	p       *versionedProvider
}

func (r *versionedRows) Columns() []string { return []string{"i", "version"} }
func (r *versionedRows) Next() bool {
	r.i++
	if r.i == r.stopAt {
		r.p.reached <- struct{}{}
		<-r.p.release
	}
	return r.i < r.n
}
func (r *versionedRows) Put(w *window.Writer) error {
	if err := w.PutInt64(0, r.i); err != nil {
		return err
	}
	return w.PutInt64(1, r.v)
}
func (r *versionedRows) Err() error   { return nil }
func (r *versionedRows) Close() error { return nil }

// versionsOf scans cur and returns the versions its rows carry, with the
// number of rows.
func versionsOf(t testing.TB, cur *content.Cursor) (map[int64]int, int64) {
	t.Helper()
	seen := map[int64]int{}
	var rows int64
	for cur.Next() {
		v, err := cur.Int64(1)
		require.NoError(t, err)
		seen[v]++
		rows++
	}
	require.NoError(t, cur.Err())
	return seen, rows
}

// A fill that started before NotifyChange and ended after it must not be
// cached: here the first query's second window is filled while the table
// changes, and a query opened after the change must see only new rows.
func TestNoStaleWindowAfterNotifyChange(t *testing.T) {
	// Two INT64 columns take at least 16 bytes a row: the first window
	// holds fewer than perWindow rows, and the gate is in the second.
	const perWindow = provider.DefaultWindowSize / 16
	const n = 2 * perWindow
	p := &versionedProvider{n: n, gateRow: perWindow + perWindow/4, reached: make(chan struct{}), release: make(chan struct{})}
	p.version.Store(1)
	path, srv := startServer(t, p)
	c := contenttest.Dial(t, path)
	ctx := context.Background()

	first, err := c.Query(ctx, &content.Query{URI: "t"}, content.WithPrefetch(0))
	require.NoError(t, err)
	done := make(chan map[int64]int, 1)
	go func() {
		seen, _ := versionsOf(t, first)
		done <- seen
	}()
	<-p.reached // the second window's fill is at row 70,000
	p.version.Store(2)
	srv.NotifyChange("t")
	close(p.release)
	assert.Equal(t, map[int64]int{1: n}, <-done, "the first query reads its own snapshot")
	require.NoError(t, first.Close())

	second, err := c.Query(ctx, &content.Query{URI: "t"})
	require.NoError(t, err)
	defer second.Close()
	seen, rows := versionsOf(t, second)
	assert.Equal(t, int64(n), rows)
	assert.Equal(t, map[int64]int{2: n}, seen, "a query opened after the change sees only new rows")
}

// A provider changing its table while consumers scan it over and over:
// no scan may mix two versions of the table.
func TestNoMixedScansUnderChanges(t *testing.T) {
	scans := 10_000
	if raceEnabled || testing.Short() {
		scans = 1_000
	}
	// Small windows: each scan spans several windows.
	p := &versionedProvider{n: 600}
	path, srv := startServer(t, p, provider.WithWindowSize(4096), provider.WithInlineLimit(0))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var changes sync.WaitGroup
	changes.Add(1)
	go func() { // the provider's writer
		defer changes.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				srv.Change("t", func() error {
					p.version.Add(1)
					return nil
				})
			}
		}
	}()
	const consumers = 4
	var mixed, total atomic.Int64
	var wg sync.WaitGroup
	for range consumers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := content.Dial(ctx, path)
			if !assert.NoError(t, err) {
				return
			}
			defer c.Close()
			cur, err := c.Query(ctx, &content.Query{URI: "t"})
			if !assert.NoError(t, err) {
				return
			}
			defer cur.Close()
			for range scans / consumers {
				seen, rows := versionsOf(t, cur)
				if !assert.Equal(t, p.n, rows) {
					return
				}
				if len(seen) != 1 {
					mixed.Add(1)
				}
				total.Add(1)
				if !assert.NoError(t, cur.Requery(ctx)) {
					return
				}
			}
		}()
	}
	wg.Wait()
	cancel()
	changes.Wait()
	assert.Zero(t, mixed.Load(), "scans mixing two versions of the table, of %d", total.Load())
	t.Logf("%d scans, %d windows served from the cache", total.Load(), srv.Stats().SharedHits)
}
