package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/bench/internal/mpstream"
	"github.com/cursorwindow/cursorwindow/bench/internal/table"
	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

// The benchmarks below run provider and consumer in one process so that
// one CPU profile covers both sides:
//
//	go test -run '^$' -bench Profile/read -cpuprofile cpu.prof ./cmd/cwbench
//	go tool pprof -top cpu.prof
//
// The harness itself measures across processes; these are for finding
// where the time goes.

const profileRows = 200_000

func serveInProcess(tb testing.TB, f func(ctx context.Context, ln *net.UnixListener) error) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "p.sock")
	ln, err := provider.Listen(path, 0o600)
	require.NoError(tb, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f(ctx, ln) }()
	tb.Cleanup(func() { cancel(); <-done })
	return path
}

func cwServer(tb testing.TB, t *table.Table, opts ...provider.ServerOption) *content.Client {
	srv := provider.NewServer(table.NewProvider(t), append(opts, provider.WithLogger(slog.New(slog.DiscardHandler)))...)
	path := serveInProcess(tb, srv.Serve)
	c, err := content.Dial(context.Background(), path)
	require.NoError(tb, err)
	tb.Cleanup(func() { c.Close() })
	return c
}

func BenchmarkProfile(b *testing.B) {
	ctx := context.Background()
	wide, err := table.New(table.Wide, profileRows)
	require.NoError(b, err)
	want := table.Sum(table.Wide, profileRows)
	b.Run("read", func(b *testing.B) { // a cached result in one mapped window
		c := cwServer(b, wide, provider.WithWindowSize(bigWindow(profileRows)))
		scanCursor(ctx, c, table.Wide, 0)
		for b.Loop() {
			rows, sum, err := scanCursor(ctx, c, table.Wide, 0)
			if err != nil || rows != profileRows || sum != want {
				b.Fatal(rows, sum, err)
			}
		}
		b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N*profileRows), "ns/row")
	})
	b.Run("narrow-cached", func(b *testing.B) { // a repeated query of the narrow table
		const n = 1_000_000
		narrow, err := table.New(table.Narrow, n)
		require.NoError(b, err)
		c := cwServer(b, narrow)
		scanCursor(ctx, c, table.Narrow, 0)
		for b.Loop() {
			if rows, _, err := scanCursor(ctx, c, table.Narrow, 0); err != nil || rows != n {
				b.Fatal(rows, err)
			}
		}
		b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N*n), "ns/row")
	})
	b.Run("filled", func(b *testing.B) {
		c := cwServer(b, wide, provider.WithSharedWindows(false))
		for b.Loop() {
			rows, sum, err := scanCursor(ctx, c, table.Wide, 0)
			if err != nil || rows != profileRows || sum != want {
				b.Fatal(rows, sum, err)
			}
		}
		b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N*profileRows), "ns/row")
	})
	for _, rows := range []int{1, 100} {
		for _, share := range []bool{true, false} {
			b.Run(fmt.Sprintf("rows=%d/cursorwindow/share=%v", rows, share), func(b *testing.B) {
				c := cwServer(b, wide, provider.WithSharedWindows(share))
				for b.Loop() {
					if _, _, err := scanCursor(ctx, c, table.Wide, rows); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
	for _, size := range handoffSizes { // a query answered by one cached window
		b.Run(fmt.Sprintf("handoff/window=%dKiB", size>>10), func(b *testing.B) {
			c := cwServer(b, wide, provider.WithWindowSize(size))
			q := &content.Query{URI: table.Wide, Limit: handoffRows(size, profileRows)}
			for b.Loop() {
				cur, err := c.Query(ctx, q)
				if err != nil || !cur.Next() {
					b.Fatal(err)
				}
				cur.Close()
			}
		})
	}
	for _, rows := range []int{1, 100} {
		b.Run(fmt.Sprintf("rows=%d/msgpack", rows), func(b *testing.B) {
			path := serveInProcess(b, func(ctx context.Context, ln *net.UnixListener) error { return mpstream.Serve(ctx, ln, wide) })
			c, err := mpstream.Dial(ctx, path)
			require.NoError(b, err)
			defer c.Close()
			for b.Loop() {
				if _, _, err := scanMsgpack(c, table.Wide, rows, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
