package sqldriver_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/examples/internal/exampletest"
	"github.com/cursorwindow/cursorwindow/sqldriver"
)

// The benchmarks read the example provider's sample database of
// 1,000,000 trips, generated once (about 2 s) into the user's cache
// directory, where `make demo` and the provider put it too. They are not
// part of `make test`; run them by hand:
//
//	cd examples && go test -run '^$' -bench 'Trips|OneRow' -benchtime 3x ./sqldriver/
//
// BenchmarkTrips reads every row of trips through database/sql and this
// driver (a repeated query, served from the provider's shared windows,
// and a first-time query, which the provider reads from SQLite), and
// through database/sql and modernc.org/sqlite reading the same file in
// this process; each with Scan into typed variables (strings and []byte
// copied) and with the strings and blobs into sql.RawBytes. For
// reference, content/repeated reads the same values through a
// content.Cursor, without database/sql.

const tripRows = 1_000_000

// fresh numbers the first-time queries: each asks for id > -n, the whole
// table under a key the provider has no cached windows for.
var fresh atomic.Int64

// tripsProvider starts the provider on the 1,000,000-trip sample
// database and returns it and the database's path.
func tripsProvider(b *testing.B) (*exampletest.Provider, string) {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = b.TempDir()
	}
	p := startProvider(b, []string{"XDG_CACHE_HOME=" + cache}, "--rows", strconv.Itoa(tripRows))
	return p, filepath.Join(cache, "cursorwindow", "sample-v1-"+strconv.Itoa(tripRows)+".db")
}

// scanner reads one row of trips into its variables.
type scanner interface {
	scan(rows *sql.Rows) error
}

// typed scans into the Go types of the columns: strings and []byte are
// copies.
type typed struct {
	id, duration, passengers int64
	startedAt, city          string
	distance, fare           float64
	tip                      sql.NullFloat64
	hash                     []byte
	ptrs                     []any
}

func newTyped() *typed {
	t := &typed{}
	t.ptrs = []any{&t.id, &t.startedAt, &t.city, &t.distance, &t.duration, &t.passengers, &t.fare, &t.tip, &t.hash}
	return t
}

func (t *typed) scan(rows *sql.Rows) error { return rows.Scan(t.ptrs...) }

// raw scans the STRING and BLOB columns into sql.RawBytes, views of the
// window, and the numbers into their Go types: nothing is copied.
type raw struct {
	id, duration, passengers int64
	startedAt, city, hash    sql.RawBytes
	distance, fare           float64
	tip                      sql.NullFloat64
	ptrs                     []any
}

func newRaw() *raw {
	r := &raw{}
	r.ptrs = []any{&r.id, &r.startedAt, &r.city, &r.distance, &r.duration, &r.passengers, &r.fare, &r.tip, &r.hash}
	return r
}

func (r *raw) scan(rows *sql.Rows) error { return rows.Scan(r.ptrs...) }

// readAll reads every row of a query and returns how many.
func readAll(b *testing.B, db *sql.DB, s scanner, query string, args ...any) int {
	rows, err := db.Query(query, args...)
	require.NoError(b, err)
	n := 0
	for rows.Next() {
		if err := s.scan(rows); err != nil {
			b.Fatal(err)
		}
		n++
	}
	require.NoError(b, rows.Err())
	rows.Close()
	return n
}

// measure runs read in a benchmark loop and reports per-row figures.
func measure(b *testing.B, read func() int) {
	read() // warm up: caches, pools, the first window
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	rows := 0
	for b.Loop() {
		rows += read()
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rows), "ns/row")
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(rows), "allocs/row")
}

func BenchmarkTrips(b *testing.B) {
	p, path := tripsProvider(b)
	ours := sql.OpenDB(sqldriver.NewConnector(p.Socket))
	defer ours.Close()
	direct := openSQLite(b, path, false)
	for _, sc := range []struct {
		name string
		new  func() scanner
	}{
		{"typed", func() scanner { return newTyped() }},
		{"rawbytes", func() scanner { return newRaw() }},
	} {
		b.Run("driver/repeated/scan="+sc.name, func(b *testing.B) {
			s := sc.new()
			measure(b, func() int { return readAll(b, ours, s, "SELECT * FROM trips") })
		})
		b.Run("driver/first/scan="+sc.name, func(b *testing.B) {
			s := sc.new()
			// A different argument each time: a query no window is
			// cached for, which the provider reads from SQLite.
			measure(b, func() int {
				return readAll(b, ours, s, "SELECT * FROM trips WHERE id > ?", -fresh.Add(1))
			})
		})
		b.Run("sqlite/scan="+sc.name, func(b *testing.B) {
			s := sc.new()
			measure(b, func() int { return readAll(b, direct, s, "SELECT * FROM trips") })
		})
	}
	b.Run("content/repeated", func(b *testing.B) {
		ctx := context.Background()
		c, err := content.Dial(ctx, p.Socket)
		require.NoError(b, err)
		defer c.Close()
		var r raw
		measure(b, func() int {
			cur, err := c.Query(ctx, &content.Query{URI: "trips"})
			require.NoError(b, err)
			n := 0
			for cur.Next() {
				r.id, _ = cur.Int64(0)
				r.startedAt, _ = cur.Bytes(1)
				r.city, _ = cur.Bytes(2)
				r.distance, _ = cur.Float64(3)
				r.duration, _ = cur.Int64(4)
				r.passengers, _ = cur.Int64(5)
				r.fare, _ = cur.Float64(6)
				null, _ := cur.IsNull(7)
				r.tip.Float64, _ = cur.Float64(7)
				r.tip.Valid = !null
				r.hash, _ = cur.Bytes(8)
				n++
			}
			require.NoError(b, cur.Err())
			cur.Close()
			return n
		})
	})
}

// BenchmarkOneRow measures the latency of a query of one row by its id,
// through database/sql and this driver, and through the content client
// directly: what database/sql and the driver add. ids=1 asks for the
// same row every time (the provider answers from its cache of shared
// results), ids=1000 for 1,000 rows in turn (the provider asks SQLite).
func BenchmarkOneRow(b *testing.B) {
	p, _ := tripsProvider(b)
	for _, ids := range []int{1, 1000} {
		b.Run("ids="+strconv.Itoa(ids)+"/driver", func(b *testing.B) {
			db := sql.OpenDB(sqldriver.NewConnector(p.Socket))
			defer db.Close()
			t := newTyped()
			for i := 0; b.Loop(); i++ {
				if err := db.QueryRow("SELECT * FROM trips WHERE id = ?", i%ids+1).Scan(t.ptrs...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
		})
		b.Run("ids="+strconv.Itoa(ids)+"/content", func(b *testing.B) {
			ctx := context.Background()
			c, err := content.Dial(ctx, p.Socket)
			require.NoError(b, err)
			defer c.Close()
			var t typed
			for i := 0; b.Loop(); i++ {
				cur, err := c.Query(ctx, &content.Query{URI: "trips", Selection: "id = ?", Args: []any{i%ids + 1}})
				if err != nil {
					b.Fatal(err)
				}
				if !cur.Next() {
					b.Fatal(cur.Err())
				}
				t.id, _ = cur.Int64(0)
				t.startedAt, _ = cur.String(1)
				t.city, _ = cur.String(2)
				t.distance, _ = cur.Float64(3)
				t.duration, _ = cur.Int64(4)
				t.passengers, _ = cur.Int64(5)
				t.fare, _ = cur.Float64(6)
				if null, _ := cur.IsNull(7); !null {
					t.tip.Float64, _ = cur.Float64(7)
				}
				h, _ := cur.Bytes(8)
				t.hash = append(t.hash[:0], h...)
				cur.Close()
			}
			b.ReportAllocs()
		})
	}
}
