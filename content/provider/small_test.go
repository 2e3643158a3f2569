package provider_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
	"github.com/cursorwindow/cursorwindow/fdpass"
)

// counted counts its provider's Query calls; with notify set, each Query
// tells that server its URI changed, after opening the rows.
type counted struct {
	provider.Provider
	queries atomic.Int64
	notify  atomic.Pointer[provider.Server]
}

func (p *counted) Query(ctx context.Context, q *content.Query) (provider.Rows, error) {
	p.queries.Add(1)
	rows, err := p.Provider.Query(ctx, q)
	if s := p.notify.Load(); s != nil {
		s.NotifyChange(q.URI)
	}
	return rows, err
}

// smallTable is a table of n rows of two columns.
func smallTable(n int) *contenttest.MemProvider {
	mp := contenttest.NewMemProvider()
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{int64(i), fmt.Sprintf("row %d", i)}
	}
	mp.AddTable("t", []string{"id", "s"}, rows)
	return mp
}

// firstValues runs q and returns the ids of its rows.
func firstValues(t *testing.T, c *content.Client, q *content.Query) []int64 {
	t.Helper()
	cur, err := c.Query(context.Background(), q)
	require.NoError(t, err)
	defer cur.Close()
	var ids []int64
	for cur.Next() {
		id, err := cur.Int64(0)
		require.NoError(t, err)
		ids = append(ids, id)
	}
	require.NoError(t, cur.Err())
	assert.Equal(t, []string{"id", "s"}, cur.Columns())
	return ids
}

// A small result is kept the second time its query is filled, and a
// repeat is answered from it without the provider's Query, the same rows;
// a change the server makes drops it.
func TestSmallResultKeptForRepeats(t *testing.T) {
	p := &counted{Provider: smallTable(10)}
	path, s := contenttest.Serve(t, p)
	c := contenttest.Dial(t, path)
	q := &content.Query{URI: "t", Limit: 3}
	for range 5 {
		assert.Equal(t, []int64{0, 1, 2}, firstValues(t, c, q))
	}
	assert.Equal(t, int64(2), p.queries.Load(), "filled twice, then answered from the kept result")
	st := s.Stats()
	assert.Equal(t, 1, st.SmallCached)
	assert.Equal(t, int64(3), st.SmallHits)

	_, err := c.Delete(context.Background(), "t", "id = ?", int64(1))
	require.NoError(t, err)
	assert.Zero(t, s.Stats().SmallCached, "a write drops the kept results of its URI")
	assert.Equal(t, []int64{0, 2, 3}, firstValues(t, c, q))
	assert.Equal(t, int64(3), p.queries.Load(), "after the change, the provider is asked again")

	assert.Equal(t, 1, s.Stats().SmallCached, "kept again at once: its query was filled lately")

	s.NotifyChange("t")
	assert.Zero(t, s.Stats().SmallCached, "a notification drops them too")
	firstValues(t, c, q)
	assert.Equal(t, int64(4), p.queries.Load())
}

// Other queries are kept apart: another limit, projection or argument is
// another result, and a query answered in more than one window, or inline
// at the consumer's request, is never kept.
func TestSmallResultKeys(t *testing.T) {
	p := &counted{Provider: smallTable(20_000)}
	path, s := contenttest.Serve(t, p)
	c := contenttest.Dial(t, path)
	for range 3 {
		assert.Equal(t, []int64{0}, firstValues(t, c, &content.Query{URI: "t", Limit: 1}))
		assert.Equal(t, []int64{0, 1}, firstValues(t, c, &content.Query{URI: "t", Limit: 2}))
		assert.Equal(t, []int64{7}, firstValues(t, c, &content.Query{URI: "t", Selection: "id = ?", Args: []any{int64(7)}}))
		assert.Equal(t, []int64{8}, firstValues(t, c, &content.Query{URI: "t", Selection: "id = ?", Args: []any{int64(8)}}))
		assert.Len(t, firstValues(t, c, &content.Query{URI: "t"}), 20_000)
		cur, err := c.Query(context.Background(), &content.Query{URI: "t", Limit: 1}, content.WithCopiedWindows())
		require.NoError(t, err)
		require.NoError(t, cur.Close())
	}
	assert.Equal(t, 4, s.Stats().SmallCached)
	assert.Equal(t, int64(4), s.Stats().SmallHits)
}

// A result filled while its URI changed is not kept: its rows may be
// older than the data.
func TestSmallResultOfAChangingURINotKept(t *testing.T) {
	p := &counted{Provider: smallTable(10)}
	path, s := contenttest.Serve(t, p)
	p.notify.Store(s)
	c := contenttest.Dial(t, path)
	for range 4 {
		firstValues(t, c, &content.Query{URI: "t", Limit: 3})
	}
	assert.Equal(t, int64(4), p.queries.Load())
	assert.Zero(t, s.Stats().SmallCached)
}

// Without sharing, nothing is kept.
func TestSmallResultNotKeptWithoutSharing(t *testing.T) {
	p := &counted{Provider: smallTable(10)}
	path, s := contenttest.Serve(t, p, provider.WithSharedWindows(false))
	c := contenttest.Dial(t, path)
	for range 4 {
		firstValues(t, c, &content.Query{URI: "t", Limit: 3})
	}
	assert.Equal(t, int64(4), p.queries.Load())
	assert.Zero(t, s.Stats().SmallCached)
}

// The kept results are bounded: many distinct repeated queries keep at
// most maxSmallResults, the newest.
func TestSmallResultsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("fills 2 × 4,100 queries")
	}
	p := &counted{Provider: smallTable(10)}
	path, s := contenttest.Serve(t, p)
	c := contenttest.Dial(t, path)
	const n = provider.MaxSmallResults + 4
	for i := range n {
		for range 2 { // kept the second time
			cur, err := c.Query(context.Background(), &content.Query{URI: "t", Limit: int64(1 + i)})
			require.NoError(t, err)
			require.NoError(t, cur.Close())
		}
	}
	assert.Equal(t, provider.MaxSmallResults, s.Stats().SmallCached)
}

// The server's Permission is asked on every query, a repeat answered from
// its kept result too: a uid refused now is refused, whatever was kept
// for it.
func TestSmallResultAfterPermission(t *testing.T) {
	p := &counted{Provider: smallTable(10)}
	var refuse atomic.Bool
	perm := func(_ fdpass.Cred, _ content.Op, _ string) error {
		if refuse.Load() {
			return errors.New("not now")
		}
		return nil
	}
	path, s := contenttest.Serve(t, p, provider.WithPermission(perm))
	c := contenttest.Dial(t, path)
	q := &content.Query{URI: "t", Limit: 3}
	for range 3 {
		firstValues(t, c, q)
	}
	require.Equal(t, int64(1), s.Stats().SmallHits)
	refuse.Store(true)
	_, err := c.Query(context.Background(), q)
	require.ErrorIs(t, err, content.ErrPermission)
	assert.Equal(t, int64(1), s.Stats().SmallHits)
	assert.Equal(t, int64(2), p.queries.Load())
}

// A repeat answered from its kept result opens no query: it is answered
// while the connection holds as many open queries as it may.
func TestSmallResultAtTheQueryLimit(t *testing.T) {
	p := &counted{Provider: smallTable(20_000)}
	path, s := contenttest.Serve(t, p, provider.WithLimits(provider.Limits{ConnQueries: 2}), provider.WithWindowSize(64<<10))
	c := contenttest.Dial(t, path, content.WithBusyWait(0)) // busy is answered at once
	q := &content.Query{URI: "t", Limit: 1}
	firstValues(t, c, q)
	firstValues(t, c, q)
	for range 2 { // two scans left open: the connection's limit
		cur, err := c.Query(context.Background(), &content.Query{URI: "t"})
		require.NoError(t, err)
		defer cur.Close()
	}
	assert.Equal(t, []int64{0}, firstValues(t, c, q))
	assert.Equal(t, int64(1), s.Stats().SmallHits)
	_, err := c.Query(context.Background(), &content.Query{URI: "t", Limit: 2})
	require.ErrorIs(t, err, content.ErrBusy, "a query that is not kept is refused at the limit")
}

// A result held whole in one shared window is given again, to a caller
// the provider answered with it, without a Query: the window is the
// result while it is cached; a change drops it, and the provider is asked
// again.
func TestWholeWindowResultRepeatsWithoutQuery(t *testing.T) {
	p := &counted{Provider: smallTable(10)}
	path, s := contenttest.Serve(t, p, provider.WithInlineLimit(0)) // every window shared
	c := contenttest.Dial(t, path)
	q := &content.Query{URI: "t", Limit: 3}
	for range 4 {
		assert.Equal(t, []int64{0, 1, 2}, firstValues(t, c, q))
	}
	assert.Equal(t, int64(1), p.queries.Load(), "filled once, then given without a Query")
	assert.Zero(t, s.Stats().SmallCached, "a shared window, not a kept small result")

	s.NotifyChange("t")
	assert.Equal(t, []int64{0, 1, 2}, firstValues(t, c, q))
	assert.Equal(t, int64(2), p.queries.Load(), "after a change, the provider is asked again")
	firstValues(t, c, q)
	assert.Equal(t, int64(2), p.queries.Load())
	require.Eventually(t, func() bool { return s.Stats().WindowsOut == 0 }, 10*time.Second, time.Millisecond, "every window released")
}
