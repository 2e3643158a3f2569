package content_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

// BenchmarkScanProcess scans a 1,000,000-row result served by a provider
// in another process: int64, float64, a 24-byte string and a 64-byte blob
// per row, every value read. "shared" passes sealed memfds and reads in
// place; "inline" copies the same window bytes through the socket.
//
// With window sharing on (the default), a repeated query is served from
// the provider's cache of sealed windows: "cached" measures that steady
// state. "filled" runs against a provider with sharing off, so every scan
// fills every window: the cost of a query seen for the first time.
func BenchmarkScanProcess(b *testing.B) {
	const n = 1_000_000
	path, _ := startProvider(b, n)
	cold, _ := startProvider(b, n, childNoShare+"=1")
	c, cc := contenttest.Dial(b, path), contenttest.Dial(b, cold)
	for _, tc := range []struct {
		name string
		c    *content.Client
		opts []content.QueryOption
	}{
		{"filled", cc, nil},
		{"filled-prefetch-2", cc, []content.QueryOption{content.WithPrefetch(2)}},
		{"cached", c, nil},
		{"inline", cc, []content.QueryOption{content.WithCopiedWindows()}},
	} {
		b.Run(fmt.Sprintf("%s/rows=1e6", tc.name), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rows, _, err := scan(context.Background(), tc.c, &content.Query{URI: "trips"}, tc.opts...)
				if err != nil || rows != n {
					b.Fatalf("%d rows: %v", rows, err)
				}
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(n/sec, "rows/s")
			b.ReportMetric(sec*1e9/n, "ns/row")
		})
	}
}

// BenchmarkQueryRow is the round trip of a 1-row query: query, read the
// row, close, against a provider in another process. It reports the
// median and 99th percentile latency. "bare" is the same query and reads
// through a bare msgpack request/response served by the same process
// (bare_test.go): the floor the targets are ratios of.
func BenchmarkQueryRow(b *testing.B) {
	path, _ := startProvider(b, 1000)
	c := contenttest.Dial(b, path)
	bare := dialBare(b, path)
	for _, limit := range []int64{1, 100} {
		for _, tc := range []struct {
			name  string
			query func() (int64, float64, error)
		}{
			{"content", func() (int64, float64, error) {
				return scan(context.Background(), c, &content.Query{URI: "trips", Limit: limit})
			}},
			{"bare", func() (int64, float64, error) { return bare.query(limit) }},
		} {
			b.Run(fmt.Sprintf("rows=%d/%s", limit, tc.name), func(b *testing.B) {
				b.ReportAllocs()
				var lat []time.Duration
				want := wantSum(int(limit))
				for b.Loop() {
					t := time.Now()
					rows, sum, err := tc.query()
					if err != nil || rows != limit || sum != want {
						b.Fatalf("%d rows, sum %v: %v", rows, sum, err)
					}
					lat = append(lat, time.Since(t))
				}
				reportLatency(b, lat)
			})
		}
	}
}

func reportLatency(b *testing.B, lat []time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkInlineThreshold measures, for results of growing size, a query
// answered inline (bytes copied through the socket) against one answered
// with a shared memfd window (pooled, so no memfd is created per query):
// the crossover sets the provider's default inline limit.
func BenchmarkInlineThreshold(b *testing.B) {
	p := contenttest.NewMemProvider()
	p.AddTable("trips", []string{"id", "fare", "city", "payload"}, benchTable(20_000))
	// Sharing off: every query fills its windows, as distinct queries do.
	inline, _ := startServer(b, p, provider.WithInlineLimit(1<<19), provider.WithSharedWindows(false))
	shared, _ := startServer(b, p, provider.WithInlineLimit(0), provider.WithSharedWindows(false))
	ci, cs := contenttest.Dial(b, inline), contenttest.Dial(b, shared)
	for _, rows := range []int64{1, 16, 48, 64, 96, 128, 256, 1024, 3000} {
		for _, tc := range []struct {
			name string
			c    *content.Client
		}{{"inline", ci}, {"shared", cs}} {
			b.Run(fmt.Sprintf("bytes=%d/%s", rows*150, tc.name), func(b *testing.B) {
				q := &content.Query{URI: "trips", Limit: rows}
				var lat []time.Duration
				for b.Loop() {
					t := time.Now()
					n, _, err := scan(context.Background(), tc.c, q)
					require.NoError(b, err)
					require.Equal(b, rows, n)
					lat = append(lat, time.Since(t))
				}
				reportLatency(b, lat)
			})
		}
	}
}
