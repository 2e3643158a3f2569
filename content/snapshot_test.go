package content_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

// The snapshot model: a query reads one version of its data from Query
// to Close, whichever path serves its windows (filled, cached,
// prefetched, after a move back or an eviction), whatever changes
// meanwhile. A provider whose rows hold their snapshot (Repositioner)
// serves every path; one without is never continued on newer data: its
// consumer gets ErrChanged where the rows it needs are gone.

const snapRows = 3000 // about 25 windows of 4 KiB: a scan spans many

// snapKind is a provider of the table "t" (i, v) with some of the
// optional interfaces.
type snapKind struct {
	name      string
	snapshots bool // its rows hold their snapshot (Repositioner)
	provider  func(*contenttest.MemProvider) provider.Provider
}

var snapKinds = []snapKind{
	{"repositioner", true, func(p *contenttest.MemProvider) provider.Provider { return p }},
	{"seeker+counter", false, func(p *contenttest.MemProvider) provider.Provider {
		return &noSnapSeeker{noSnapProvider{p, true}}
	}},
	{"seeker", false, func(p *contenttest.MemProvider) provider.Provider {
		return &noSnapSeeker{noSnapProvider{p, false}}
	}},
	{"plain+counter", false, func(p *contenttest.MemProvider) provider.Provider { return &noSnapProvider{p, true} }},
	{"plain", false, func(p *contenttest.MemProvider) provider.Provider { return &noSnapProvider{p, false} }},
}

// noSnapProvider serves a MemProvider's tables through rows that hold
// no snapshot to reposition in, counted or not.
type noSnapProvider struct {
	*contenttest.MemProvider
	counter bool
}

type bareRows struct{ provider.Rows }

func (p *noSnapProvider) Query(ctx context.Context, q *content.Query) (provider.Rows, error) {
	rows, err := p.MemProvider.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	if p.counter {
		return unpositioned{rows.(counted)}, nil
	}
	return bareRows{rows}, nil
}

// noSnapSeeker is a noSnapProvider that re-runs a query at an offset.
type noSnapSeeker struct{ noSnapProvider }

func (p *noSnapSeeker) QueryAt(ctx context.Context, q *content.Query, start int64) (provider.Rows, error) {
	rows, err := p.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	for i := int64(0); i < start && rows.Next(); i++ {
	}
	return rows, nil
}

// snapTable returns a MemProvider with the table t of n rows (i, 1).
func snapTable(n int) *contenttest.MemProvider {
	p := contenttest.NewMemProvider()
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{int64(i), int64(1)}
	}
	p.AddTable("t", []string{"i", "v"}, rows)
	return p
}

// changeTable makes version 2 of t through the server: every row's v
// becomes 2, and 500 rows are added, which in "i DESC" order moves every
// old row 500 positions on.
func changeTable(t testing.TB, srv *provider.Server, p *contenttest.MemProvider) {
	t.Helper()
	require.NoError(t, srv.Change("t", func() error {
		n, err := p.Update(context.Background(), "t", content.Values{"v": 2}, "", nil)
		if err != nil {
			return err
		}
		for i := range int64(500) {
			if _, err := p.Insert(context.Background(), "t", content.Values{"i": n + i, "v": 2}); err != nil {
				return err
			}
		}
		return nil
	}))
}

// descQuery reads t in the order an append shifts.
var descQuery = content.Query{URI: "t", Order: "i DESC"}

// scanFrom reads cur from its current row (or its first, before the
// first Next) to the end and checks that every row read is of version 1
// and follows the last in i DESC order, ending at i = 0. It returns the
// rows read and the cursor's error.
func scanFrom(t testing.TB, cur *content.Cursor, moved bool) (int64, error) {
	t.Helper()
	var rows int64
	prev := int64(-1)
	check := func() bool {
		i, err := cur.Int64(0)
		require.NoError(t, err)
		v, err := cur.Int64(1)
		require.NoError(t, err)
		if !assert.Equal(t, int64(1), v, "row %d (i %d) of another version", cur.Position(), i) {
			return false
		}
		if prev >= 0 && !assert.Equal(t, prev-1, i, "row %d follows i %d", cur.Position(), prev) {
			return false
		}
		prev = i
		rows++
		return true
	}
	if moved && !check() {
		return rows, nil
	}
	for cur.Next() {
		if !check() {
			return rows, nil
		}
	}
	if cur.Err() == nil {
		assert.Equal(t, int64(0), prev, "the scan ends at i 0")
	}
	return rows, cur.Err()
}

// startSnap serves kind over a fresh table with 4 KiB windows.
func startSnap(t testing.TB, kind snapKind, opts ...provider.ServerOption) (*contenttest.MemProvider, *provider.Server, *content.Client) {
	p := snapTable(snapRows)
	path, srv := startServer(t, kind.provider(p), append([]provider.ServerOption{
		provider.WithWindowSize(4096), provider.WithInlineLimit(0)}, opts...)...)
	return p, srv, contenttest.Dial(t, path)
}

// A scan served its first windows from the cache (another consumer's)
// continues past them in its own version when the table changes: a
// provider without snapshots steps through the rows it opened first,
// never re-runs the query on the new data.
func TestSnapshotCacheContinuation(t *testing.T) {
	for _, kind := range snapKinds {
		t.Run(kind.name, func(t *testing.T) {
			p, srv, c := startSnap(t, kind)
			ctx := context.Background()
			b, err := c.Query(ctx, &descQuery)
			require.NoError(t, err)
			for range 1500 { // the windows b passes stay cached
				require.True(t, b.Next())
			}
			hits := srv.Stats().SharedHits
			a, err := c.Query(ctx, &descQuery)
			require.NoError(t, err)
			defer a.Close()
			require.True(t, a.Next())
			require.Greater(t, srv.Stats().SharedHits, hits, "a's first window came from the cache")
			changeTable(t, srv, p)
			require.NoError(t, b.Close())
			rows, err := scanFrom(t, a, true)
			require.NoError(t, err)
			assert.Equal(t, int64(snapRows), rows)
		})
	}
}

// A prefetching scan reads one version when the table changes under it.
func TestSnapshotPrefetch(t *testing.T) {
	for _, kind := range snapKinds {
		t.Run(kind.name, func(t *testing.T) {
			p, srv, c := startSnap(t, kind)
			a, err := c.Query(context.Background(), &descQuery, content.WithPrefetch(4))
			require.NoError(t, err)
			defer a.Close()
			for range 200 {
				require.True(t, a.Next())
			}
			changeTable(t, srv, p)
			rows, err := scanFrom(t, a, true)
			require.NoError(t, err)
			assert.Equal(t, int64(snapRows-199), rows)
		})
	}
}

// A move back to windows the cursor released, after the table changed:
// rows that hold their snapshot serve it again; without, the query ends
// with ErrChanged (never rows of the new version). Unchanged, every
// provider serves the move back. With a budget of 6 windows the early
// windows were also evicted before the change.
func TestSnapshotBackStep(t *testing.T) {
	for _, budget := range []int64{0, 6 * 4096} {
		for _, change := range []bool{false, true} {
			for _, kind := range snapKinds {
				t.Run(fmt.Sprintf("%s/budget=%d/change=%v", kind.name, budget, change), func(t *testing.T) {
					var opts []provider.ServerOption
					if budget > 0 {
						opts = append(opts, provider.WithMemoryBudget(budget))
					}
					p, srv, c := startSnap(t, kind, opts...)
					a, err := c.Query(context.Background(), &descQuery)
					require.NoError(t, err)
					defer a.Close()
					rows, err := scanFrom(t, a, false)
					require.NoError(t, err)
					require.Equal(t, int64(snapRows), rows)
					if change {
						changeTable(t, srv, p)
					}
					for _, pos := range []int64{1200, 0} {
						moved := a.Move(pos)
						if change && !kind.snapshots {
							require.False(t, moved)
							require.ErrorIs(t, a.Err(), content.ErrChanged)
							return
						}
						require.True(t, moved, "move to %d: %v", pos, a.Err())
						rows, err := scanFrom(t, a, true)
						require.NoError(t, err)
						assert.Equal(t, snapRows-pos, rows)
					}
				})
			}
		}
	}
}

// expiringProvider's rows let their snapshot go after `after` rows (Err
// reports ErrSnapshotExpired once Next is false), and on Reposition, as
// long as the provider has expiries left.
type expiringProvider struct {
	*contenttest.MemProvider
	after   int
	left    atomic.Int64 // expiries left
	expired atomic.Int64
}

type expiringRows struct {
	provider.Rows
	p       *expiringProvider
	n       int
	expired bool
}

func (p *expiringProvider) Query(ctx context.Context, q *content.Query) (provider.Rows, error) {
	rows, err := p.MemProvider.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	return &expiringRows{Rows: rows, p: p}, nil
}

func (r *expiringRows) Next() bool {
	if r.expired {
		return false
	}
	if r.n++; r.n > r.p.after && r.p.left.Add(-1) >= 0 {
		r.expired = true
		r.p.expired.Add(1)
		return false
	}
	return r.Rows.Next()
}

func (r *expiringRows) Err() error {
	if r.expired {
		return fmt.Errorf("test: %w", provider.ErrSnapshotExpired)
	}
	return r.Rows.Err()
}

func (r *expiringRows) Count() int64 { return r.Rows.(provider.Counter).Count() }

func (r *expiringRows) Reposition(ctx context.Context, start int64) error {
	if r.expired {
		return provider.ErrSnapshotExpired
	}
	return r.Rows.(provider.Repositioner).Reposition(ctx, start)
}

// Rows whose snapshot expired are opened again while the data is
// unchanged (the consumer sees nothing of it), and end the query with
// ErrChanged once it changed.
func TestSnapshotExpired(t *testing.T) {
	for _, change := range []bool{false, true} {
		t.Run(fmt.Sprintf("change=%v", change), func(t *testing.T) {
			p := &expiringProvider{MemProvider: snapTable(snapRows), after: 1000}
			p.left.Store(2)
			path, srv := startServer(t, p, provider.WithWindowSize(4096), provider.WithInlineLimit(0))
			c := contenttest.Dial(t, path)
			a, err := c.Query(context.Background(), &descQuery, content.WithPrefetch(0))
			require.NoError(t, err)
			defer a.Close()
			for range 200 {
				require.True(t, a.Next())
			}
			if change {
				changeTable(t, srv, p.MemProvider)
			}
			rows, err := scanFrom(t, a, true)
			if change {
				require.ErrorIs(t, err, content.ErrChanged)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, int64(snapRows-199), rows)
			assert.GreaterOrEqual(t, p.expired.Load(), int64(2), "the snapshot expired and was opened again")
		})
	}
}

// A provider whose snapshots expire as soon as they are opened fails its
// query with ErrInternal instead of opening it again forever.
func TestSnapshotAlwaysExpired(t *testing.T) {
	p := &expiringProvider{MemProvider: snapTable(snapRows), after: 0}
	p.left.Store(1 << 20)
	path, _ := startServer(t, p, provider.WithWindowSize(4096), provider.WithInlineLimit(0))
	c := contenttest.Dial(t, path)
	a, err := c.Query(context.Background(), &descQuery)
	if err == nil {
		defer a.Close()
		a.Next()
		err = a.Err()
	}
	require.ErrorIs(t, err, content.ErrInternal)
	assert.Contains(t, err.Error(), "expired")
}

// lyingProvider's rows count fewer (or more) rows than they hold.
type lyingProvider struct {
	*contenttest.MemProvider
	by int64
}

type lyingRows struct {
	provider.Rows
	count int64
}

func (r lyingRows) Count() int64 { return r.count }

func (p *lyingProvider) Query(ctx context.Context, q *content.Query) (provider.Rows, error) {
	rows, err := p.MemProvider.Query(ctx, q)
	if err != nil || q.URI != "t" {
		return rows, err
	}
	return lyingRows{bareRows{rows}, rows.(provider.Counter).Count() + p.by}, nil
}

// A count that disagrees with the rows is the provider's bug: it costs
// the query ErrInternal, named on the provider's side, never a protocol
// error that would end the consumer's connection and every other cursor
// on it.
func TestCountDisagreesWithRows(t *testing.T) {
	for _, by := range []int64{-10, 10} {
		t.Run(fmt.Sprintf("by=%d", by), func(t *testing.T) {
			mp := snapTable(snapRows)
			mp.AddTable("trips", []string{"id", "fare", "city", "payload"}, tripRows(5000))
			path, _ := startServer(t, &lyingProvider{mp, by}, provider.WithWindowSize(4096), provider.WithInlineLimit(0))
			c := contenttest.Dial(t, path)
			ctx := context.Background()
			other, err := c.Query(ctx, &content.Query{URI: "trips"})
			require.NoError(t, err)
			defer other.Close()
			require.True(t, other.Next())

			a, err := c.Query(ctx, &content.Query{URI: "t"})
			require.NoError(t, err)
			defer a.Close()
			for a.Next() {
			}
			require.ErrorIs(t, a.Err(), content.ErrInternal)
			assert.False(t, errors.Is(a.Err(), content.ErrProtocol))
			assert.Contains(t, a.Err().Error(), "counted")

			var i int64
			for ok := true; ok; ok = other.Next() {
				checkRow(t, other, i)
				i++
			}
			require.NoError(t, other.Err(), "the other cursor on the connection goes on")
			assert.Equal(t, int64(5000), i)
		})
	}
}

// countingProvider counts the Query calls of a provider without
// snapshots.
type countingProvider struct {
	noSnapProvider
	queries atomic.Int64
}

func (p *countingProvider) Query(ctx context.Context, q *content.Query) (provider.Rows, error) {
	p.queries.Add(1)
	return p.noSnapProvider.Query(ctx, q)
}

// Cursors sharing a client over the window limit: a fill that cannot get
// a shared window sends the rows it has read inline instead of dropping
// them, so the consumer's retry never makes a provider without snapshots
// run its query again (nor fail ErrChanged after a change it had no
// reason to see).
func TestBusyFillKeepsItsRows(t *testing.T) {
	const n = 20_000
	mp := snapTable(n)
	p := &countingProvider{noSnapProvider: noSnapProvider{mp, false}}
	// 3 windows: a's window and its prefetch, b's first window (from the
	// cache); every prefetch after that is over the limit.
	path, srv := startServer(t, p, provider.WithWindowSize(64<<10), provider.WithLimits(provider.Limits{ConnWindows: 3}))
	c := contenttest.Dial(t, path)
	ctx := context.Background()
	a, err := c.Query(ctx, &descQuery)
	require.NoError(t, err)
	defer a.Close()
	b, err := c.Query(ctx, &descQuery)
	require.NoError(t, err)
	defer b.Close()
	want := int64(n - 1)
	for ok := true; ok; want-- {
		for _, cur := range []*content.Cursor{a, b} {
			require.True(t, cur.Next(), "row %d: %v", n-1-want, cur.Err())
			i, err := cur.Int64(0)
			require.NoError(t, err)
			require.Equal(t, want, i)
			v, err := cur.Int64(1)
			require.NoError(t, err)
			require.Equal(t, int64(1), v, "row i %d of another version", i)
		}
		if want == n-5000 {
			changeTable(t, srv, mp)
		}
		ok = want > 0
	}
	assert.False(t, a.Next())
	require.NoError(t, a.Err())
	assert.Equal(t, int64(2), p.queries.Load(), "each query ran once")
}
