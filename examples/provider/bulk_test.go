package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/provider"
	"github.com/cursorwindow/cursorwindow/window"
)

var tripCols = []string{"id", "started_at", "city", "distance_km", "duration_s", "passengers", "fare", "tip", "route_hash"}

// serveProvider serves p in this process and returns a client of it.
func serveProvider(t testing.TB, p *sqliteProvider) *content.Client {
	t.Helper()
	path := filepath.Join(t.TempDir(), "run", "provider.sock")
	ln, err := provider.Listen(path, 0o600)
	require.NoError(t, err)
	s := provider.NewServer(p, provider.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	c, err := content.Dial(context.Background(), path)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// appendTrips appends n generated trips, with ids after first, to b.
func appendTrips(t testing.TB, b *content.Bulk, first int64, n int, bad int) {
	g := newTripGen()
	var tr trip
	for i := range n {
		g.next(&tr)
		err := b.PutRow(func(w *window.Writer) error { // no value boxed
			r := w.Row()
			r.Int64(first + tr.id)
			r.String(tr.startedAt)
			if i == bad {
				r.Null() // NOT NULL
			} else {
				r.String(tr.city)
			}
			r.Float64(tr.distanceKm)
			r.Int64(tr.durationS)
			r.Int64(tr.passengers)
			r.Float64(tr.fare)
			if tip, ok := tr.tip.(float64); ok {
				r.Float64(tip)
			} else {
				r.Null()
			}
			r.Blob(tr.routeHash)
			return r.Err()
		})
		if err != nil {
			return // the failure is Close's to report
		}
	}
}

func countTrips(t testing.TB, c *content.Client) int64 {
	cur, err := c.Query(context.Background(), &content.Query{URI: "trips", Projection: []string{"id"}})
	require.NoError(t, err)
	defer cur.Close()
	var n int64
	for cur.Next() {
		n++
	}
	require.NoError(t, cur.Err())
	return n
}

// A bulk insert lands in one transaction: all of it, or, when a row
// breaks a constraint, none of it, the row named.
func TestBulkInsertIntoSQLite(t *testing.T) {
	c := serveProvider(t, sampleProvider(t, 10))
	ctx := context.Background()
	b, err := c.BulkInsert(ctx, "trips", tripCols)
	require.NoError(t, err)
	appendTrips(t, b, 1000, 5_000, -1)
	n, err := b.Close()
	require.NoError(t, err)
	assert.Equal(t, int64(5_000), n)
	assert.Equal(t, int64(5_010), countTrips(t, c))

	// The generated rows read back as the generator made them.
	cur, err := c.Query(ctx, &content.Query{URI: "trips", Selection: "id > ?", Args: []any{int64(1000)}})
	require.NoError(t, err)
	g := newTripGen()
	var tr trip
	for cur.Next() {
		g.next(&tr)
		id, _ := cur.Int64(0)
		city, _ := cur.String(2)
		fare, _ := cur.Float64(6)
		hash, _ := cur.Bytes(8)
		require.Equal(t, 1000+tr.id, id)
		require.Equal(t, tr.city, city)
		require.Equal(t, tr.fare, fare)
		require.Equal(t, tr.routeHash, hash)
	}
	require.NoError(t, cur.Err())
	require.NoError(t, cur.Close())

	for _, bad := range []int{0, 3_333, 4_999} { // in a full statement, and in the rest
		b, err = c.BulkInsert(ctx, "trips", tripCols)
		require.NoError(t, err)
		appendTrips(t, b, 100_000, 5_000, bad)
		_, err = b.Close()
		var we *content.WriteError
		require.ErrorAs(t, err, &we, "row %d", bad)
		assert.Equal(t, int64(bad), we.Index)
		assert.Zero(t, we.Kept)
		assert.ErrorIs(t, err, content.ErrBadRequest)
		assert.Equal(t, int64(5_010), countTrips(t, c), "nothing of the failed load is kept")
	}

	b, err = c.BulkInsert(ctx, "trips", []string{"id", "nope"})
	if err == nil {
		require.NoError(t, b.Append(1, 2))
		_, err = b.Close()
	}
	require.ErrorIs(t, err, content.ErrBadRequest)
}

// A batch is one SQLite transaction: a failing third operation undoes
// the first two.
func TestApplyBatchSQLite(t *testing.T) {
	c := serveProvider(t, sampleProvider(t, 10))
	ctx := context.Background()
	trip := content.Values{"city": "Lisbon", "distance_km": 1.5, "duration_s": 300, "fare": 5.25}
	res, err := c.ApplyBatch(ctx, []content.Operation{
		{Op: content.OpInsert, URI: "trips", Values: trip},
		{Op: content.OpUpdate, URI: "trips", Values: content.Values{"tip": 0.5}, Selection: "id = ?", Args: []any{nil}, ArgRefs: map[int]int{0: 0}},
	})
	require.NoError(t, err)
	assert.Equal(t, []int64{11, 1}, res)

	_, err = c.ApplyBatch(ctx, []content.Operation{
		{Op: content.OpInsert, URI: "trips", Values: trip},
		{Op: content.OpDelete, URI: "trips", Selection: "id <= ?", Args: []any{5}},
		{Op: content.OpInsert, URI: "trips", Values: content.Values{"city": "no fare"}},
	})
	var we *content.WriteError
	require.ErrorAs(t, err, &we)
	assert.Equal(t, int64(2), we.Index)
	assert.Equal(t, int64(11), countTrips(t, c))
}

// BenchmarkLoadTrips loads generated trips into an empty trips table:
// through single Insert calls, a bulk insert, and the sample generator
// (the floor: the provider making the rows itself, without a consumer),
// also under the provider's journal (generate-wal).
// ns/op is per row. Run the three in one go:
//
//	go test -run '^$' -bench LoadTrips -benchtime 1000000x ./provider/
func BenchmarkLoadTrips(b *testing.B) {
	ctx := context.Background()
	empty := func(b *testing.B) *sqliteProvider {
		path := filepath.Join(b.TempDir(), "load.db")
		require.NoError(b, generateSample(ctx, path, 0))
		p, err := openSQLite(ctx, path, false, slog.New(slog.NewTextHandler(io.Discard, nil)))
		require.NoError(b, err)
		b.Cleanup(func() { p.Close() })
		return p
	}
	b.Run("insert", func(b *testing.B) {
		c := serveProvider(b, empty(b))
		n := min(b.N, 50_000) // a round trip a row: time a slice of the load
		g := newTripGen()
		var tr trip
		b.ResetTimer()
		start := time.Now()
		for range n {
			g.next(&tr)
			_, err := c.Insert(ctx, "trips", content.Values{
				"id": tr.id, "started_at": tr.startedAt, "city": tr.city, "distance_km": tr.distanceKm,
				"duration_s": tr.durationS, "passengers": tr.passengers, "fare": tr.fare, "tip": tr.tip, "route_hash": tr.routeHash,
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		perRow := time.Since(start) / time.Duration(n)
		b.StopTimer()
		b.ReportMetric(float64(perRow.Nanoseconds()), "ns/row")
		b.ReportMetric(float64(n), "rows-timed")
	})
	b.Run("bulk", func(b *testing.B) {
		c := serveProvider(b, empty(b))
		b.ResetTimer()
		bulk, err := c.BulkInsert(ctx, "trips", tripCols)
		require.NoError(b, err)
		appendTrips(b, bulk, 0, b.N, -1)
		n, err := bulk.Close()
		require.NoError(b, err)
		require.Equal(b, int64(b.N), n)
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/row")
	})
	b.Run("generate", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "gen.db")
		b.ResetTimer()
		require.NoError(b, generateSample(ctx, path, b.N))
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/row")
	})
	// The generator again, under the journal the provider's database has
	// (WAL, the default synchronous): what the journal costs a load.
	b.Run("generate-wal", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "gen.db")
		b.ResetTimer()
		require.NoError(b, generateWith(ctx, path, b.N, "_pragma=journal_mode(WAL)"))
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/row")
	})
}
