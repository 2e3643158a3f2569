package content_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

// seekingProvider is a MemProvider that can start a query at a position
// (a provider.Seeker), and records where, but whose rows hold no snapshot
// (they are not a provider.Repositioner): a provider that re-runs its
// query at an offset, as SQL providers without a read transaction do.
type seekingProvider struct {
	*contenttest.MemProvider
	mu     sync.Mutex
	starts []int64
}

// unpositioned are rows that know their count and nothing more: no
// snapshot to reposition in.
type unpositioned struct {
	counted
}

type counted interface {
	provider.Rows
	provider.Counter
}

func (p *seekingProvider) Query(ctx context.Context, q *content.Query) (provider.Rows, error) {
	rows, err := p.MemProvider.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	return unpositioned{rows.(counted)}, nil
}

func (p *seekingProvider) QueryAt(ctx context.Context, q *content.Query, start int64) (provider.Rows, error) {
	p.mu.Lock()
	p.starts = append(p.starts, start)
	p.mu.Unlock()
	rows, err := p.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	for i := int64(0); i < start && rows.Next(); i++ { // a real provider skips inside its store
	}
	return rows, nil
}

// A result larger than the window budget is still served in part from
// the cache when it is scanned again: eviction keeps its prefix (a plain
// LRU would keep nothing: each new window evicts the one the next scan
// needs first). With a Seeker provider, the scan then jumps past the
// cached prefix instead of stepping through it.
func TestRepeatedScanLargerThanTheBudget(t *testing.T) {
	const n = 10_000
	p := &seekingProvider{MemProvider: contenttest.NewMemProvider()}
	p.AddTable("trips", []string{"id", "fare", "city", "payload"}, tripRows(n))
	const windowSize = 64 << 10
	path, srv := startServer(t, p, provider.WithWindowSize(windowSize), provider.WithMemoryBudget(6*windowSize))
	c := contenttest.Dial(t, path)
	for scan := range 2 {
		hits := srv.Stats().SharedHits
		cur, err := c.Query(context.Background(), &content.Query{URI: "trips"})
		require.NoError(t, err)
		var i int64
		for cur.Next() {
			checkRow(t, cur, i)
			i++
		}
		require.NoError(t, cur.Err())
		require.Equal(t, int64(n), i)
		require.NoError(t, cur.Close())
		if scan == 1 {
			assert.GreaterOrEqual(t, srv.Stats().SharedHits-hits, int64(3), "the prefix was served from the cache")
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	require.NotEmpty(t, p.starts, "the second scan jumped past the cached prefix")
	assert.Greater(t, p.starts[0], int64(1000))
}
