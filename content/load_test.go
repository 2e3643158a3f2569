package content_test

import (
	"context"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

// TestLoad runs 64 concurrent consumers of 1,000 queries each against one
// provider: mostly point queries (inline), every 20th a 2,000-row result
// in shared windows. Zero errors, memory within the budget, and the p99
// latency reported. (The table is small because MemProvider filters by
// scanning it: the provider, not the transport, would dominate.)
func TestLoad(t *testing.T) {
	const consumers, queries = 64, 1000
	p := contenttest.NewMemProvider()
	p.AddTable("trips", []string{"id", "fare", "city", "payload"}, benchTable(4_000))
	budget := int64(64 << 20)
	path, s := startServer(t, p, provider.WithWindowSize(256<<10), provider.WithMemoryBudget(budget))
	var (
		mu   sync.Mutex
		lat  []time.Duration
		wg   sync.WaitGroup
		errs = make(chan error, consumers)
	)
	for g := range consumers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := content.Dial(context.Background(), path)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			mine := make([]time.Duration, 0, queries)
			for i := range queries {
				q := &content.Query{URI: "trips", Selection: "id = ?", Args: []any{(g*queries + i) % 4_000}}
				want := int64(1)
				if i%20 == 0 {
					q = &content.Query{URI: "trips", Selection: "id >= ?", Args: []any{i % 1000}, Limit: 2000}
					want = 2000
				}
				start := time.Now()
				rows, _, err := scan(context.Background(), c, q)
				if err != nil || rows != want {
					errs <- err
					return
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Len(t, lat, consumers*queries)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	st := s.Stats()
	assert.LessOrEqual(t, st.PoolBytes, budget)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("%d queries: p50 %v, p99 %v, max %v; pool %d MiB of %d; heap in use %d MiB; shared hits %d",
		len(lat), lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1],
		st.PoolBytes>>20, budget>>20, ms.HeapInuse>>20, st.SharedHits)
}
