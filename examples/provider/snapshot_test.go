package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

// soakTime is how long each snapshot stress run lasts: a few seconds in
// make test, CURSORWINDOW_SOAK (e.g. 40s) for the full run.
func soakTime(t *testing.T) time.Duration {
	if s := os.Getenv("CURSORWINDOW_SOAK"); s != "" {
		d, err := time.ParseDuration(s)
		require.NoError(t, err, "CURSORWINDOW_SOAK")
		return d
	}
	if testing.Short() {
		return time.Second
	}
	return 3 * time.Second
}

// scanTally counts the outcomes of repeated scans.
type scanTally struct {
	scans, bad, changed, busy, failed, rows atomic.Int64
}

// scanDesc reads ids ORDER BY id DESC once and checks that they are one
// version of the table: every id once, from the count down to 1 (the
// sample's ids are 1..n, and inserts append n+1). It returns the error
// that ended the scan, if any; a scan of another shape is counted bad.
func scanDesc(ctx context.Context, t *testing.T, c *content.Client, tally *scanTally) error {
	cur, err := c.Query(ctx, &content.Query{URI: "trips", Projection: []string{"id", "started_at", "city"}, Order: "id DESC"})
	if err != nil {
		return err
	}
	defer cur.Close()
	var prev, rows int64
	for cur.Next() {
		id, err := cur.Int64(0)
		if err != nil {
			return err
		}
		if rows == 0 && cur.Count() >= 0 && id != cur.Count() {
			t.Errorf("a scan of %d rows starts at id %d", cur.Count(), id)
			tally.bad.Add(1)
			return nil
		}
		if rows > 0 && id != prev-1 {
			t.Errorf("id %d after %d at row %d: a repeated or missing id", id, prev, rows)
			tally.bad.Add(1)
			return nil
		}
		prev = id
		rows++
	}
	if err := cur.Err(); err != nil {
		return err
	}
	if prev != 1 || rows != cur.Count() {
		t.Errorf("a scan of %d rows (count %d) ends at id %d", rows, cur.Count(), prev)
		tally.bad.Add(1)
		return nil
	}
	tally.rows.Add(rows)
	return nil
}

// The snapshot stress test: the example provider with small windows (a
// scan spans many), a trip appended every 100 ms and then every 20 ms
// through the server, 4 consumers scanning ORDER BY id DESC in a loop,
// where an append moves every row. No scan may read an id twice or miss
// one, and the only error allowed is content.ErrChanged, whose share is
// reported. A third run bounds the snapshots' age to 250 ms, so that scans
// outliving their snapshot fail changed (the table changed since they
// began), and one that cannot even be opened within it under load is
// busy: the documented errors, never mixed rows.
func TestSnapshotsUnderAppends(t *testing.T) {
	for _, tc := range []struct {
		every time.Duration
		age   time.Duration
	}{
		{100 * time.Millisecond, defaultSnapshotAge},
		{20 * time.Millisecond, defaultSnapshotAge},
		{100 * time.Millisecond, 250 * time.Millisecond},
	} {
		t.Run(fmt.Sprintf("every=%v/age=%v", tc.every, tc.age), func(t *testing.T) {
			p := sampleProvider(t, 200_000) // a scan takes long enough to meet several inserts
			p.snapshotAge = tc.age
			path := serveSQLite(t, p, provider.WithWindowSize(64<<10))

			ctx, cancel := context.WithTimeout(context.Background(), soakTime(t))
			defer cancel()
			var wg sync.WaitGroup
			var inserts atomic.Int64
			wg.Add(1)
			go func() { // the writer
				defer wg.Done()
				c, err := content.Dial(context.Background(), path)
				if !assert.NoError(t, err) {
					return
				}
				defer c.Close()
				tick := time.NewTicker(tc.every)
				defer tick.Stop()
				for {
					select {
					case <-ctx.Done():
						return
					case <-tick.C:
					}
					_, err := c.Insert(context.Background(), "trips", content.Values{
						"city": "Lisbon", "distance_km": 1.5, "duration_s": 300, "fare": 7.25})
					if !assert.NoError(t, err) {
						return
					}
					inserts.Add(1)
				}
			}()
			var tally scanTally
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c, err := content.Dial(context.Background(), path)
					if !assert.NoError(t, err) {
						return
					}
					defer c.Close()
					for ctx.Err() == nil {
						err := scanDesc(context.Background(), t, c, &tally)
						tally.scans.Add(1)
						switch {
						case errors.Is(err, content.ErrChanged):
							tally.changed.Add(1)
						case tc.age != defaultSnapshotAge && (errors.Is(err, content.ErrBusy) ||
							errors.Is(err, content.ErrInternal) && strings.Contains(err.Error(), "expired")):
							// An age limit shorter than opening the query
							// under load: busy when it opens, internal when
							// its re-opens keep expiring (the bound on
							// them): the documented answers.
							tally.busy.Add(1)
							t.Logf("scan: %v", err)
						case err != nil:
							tally.failed.Add(1)
							t.Errorf("scan: %v", err)
						}
					}
				}()
			}
			wg.Wait()
			scans := tally.scans.Load()
			t.Logf("%d scans (%d rows read), %d inserts: %d with a repeated or missing id, %d changed (%.1f%%), %d expired while opening, %d other errors",
				scans, tally.rows.Load(), inserts.Load(), tally.bad.Load(), tally.changed.Load(),
				100*float64(tally.changed.Load())/float64(max(scans, 1)), tally.busy.Load(), tally.failed.Load())
			assert.Zero(t, tally.bad.Load(), "scans with a repeated or missing id")
			assert.Zero(t, tally.failed.Load(), "errors other than ErrChanged")
			assert.Greater(t, scans, int64(4))
			if tc.age == defaultSnapshotAge {
				assert.Zero(t, tally.changed.Load(), "a snapshot that holds never fails changed")
			}
		})
	}
}

// serveSQLite serves p on a socket in a temporary directory until the
// test ends, and returns the socket's path.
func serveSQLite(t *testing.T, p *sqliteProvider, opts ...provider.ServerOption) string {
	t.Helper()
	path, _ := contenttest.Serve(t, p, append([]provider.ServerOption{
		provider.WithLogger(slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelWarn})))}, opts...)...)
	return path
}

// A query's snapshot holds through changes, moves back included; once
// its age limit ends it, the scan goes on in a new snapshot if the table
// is unchanged since the query began, and fails with ErrChanged if not.
func TestSnapshotExpiry(t *testing.T) {
	const n = 5000
	for _, tc := range []struct {
		change, expire bool
	}{{false, false}, {true, false}, {false, true}, {true, true}} {
		t.Run(fmt.Sprintf("change=%v/expire=%v", tc.change, tc.expire), func(t *testing.T) {
			p := sampleProvider(t, n)
			path := serveSQLite(t, p, provider.WithWindowSize(4096), provider.WithInlineLimit(0))
			ctx := context.Background()
			c, err := content.Dial(ctx, path)
			require.NoError(t, err)
			defer c.Close()
			cur, err := c.Query(ctx, &content.Query{URI: "trips", Projection: []string{"id"}, Order: "id DESC"}, content.WithPrefetch(0))
			require.NoError(t, err)
			defer cur.Close()
			want := int64(n)
			read := func() {
				for cur.Next() {
					id, err := cur.Int64(0)
					require.NoError(t, err)
					require.Equal(t, want, id, "row %d", cur.Position())
					want--
				}
			}
			for range 100 {
				require.True(t, cur.Next())
				want--
			}
			if tc.change {
				_, err := c.Insert(ctx, "trips", content.Values{"city": "Lisbon", "distance_km": 1.5, "duration_s": 300, "fare": 7.25})
				require.NoError(t, err)
			}
			if tc.expire {
				p.expireSnapshots()
			}
			read()
			if tc.change && tc.expire {
				require.ErrorIs(t, cur.Err(), content.ErrChanged)
				return
			}
			require.NoError(t, cur.Err())
			require.Equal(t, int64(0), want, "every id once, down to 1")
			if tc.expire {
				p.expireSnapshots() // the move back opens a new snapshot too
			}
			require.True(t, cur.Move(0), "move back: %v", cur.Err())
			id, err := cur.Int64(0)
			require.NoError(t, err)
			assert.Equal(t, int64(n), id, "the move back reads the query's version")
		})
	}
}

// testLog writes the provider's warnings and errors to the test's log.
type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}
