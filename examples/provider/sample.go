package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"math/bits"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/cursorwindow/cursorwindow/examples/internal/progress"
)

// sampleVersion names the generator: change it whenever the generated data
// changes, so cached databases of an older generator are not reused.
const sampleVersion = 1

// sampleSchema is the sample database: taxi trips in European cities and
// the cities' tariffs.
const sampleSchema = `
CREATE TABLE cities (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	country    TEXT NOT NULL,
	lat        REAL NOT NULL,
	lon        REAL NOT NULL,
	base_fare  REAL NOT NULL,
	per_km     REAL NOT NULL,
	per_minute REAL NOT NULL
);
CREATE TABLE trips (
	id          INTEGER PRIMARY KEY,
	started_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
	city        TEXT NOT NULL,
	distance_km REAL NOT NULL,
	duration_s  INTEGER NOT NULL,
	passengers  INTEGER NOT NULL DEFAULT 1,
	fare        REAL NOT NULL,
	tip         REAL,
	route_hash  BLOB NOT NULL DEFAULT (zeroblob(8))
);`

// city is a row of the cities table; weight is its share of the trips.
type city struct {
	name, country              string
	lat, lon                   float64
	baseFare, perKm, perMinute float64
	weight                     int
}

var sampleCities = []city{
	{"Amsterdam", "NL", 52.3676, 4.9041, 3.19, 2.35, 0.39, 9},
	{"Athens", "GR", 37.9838, 23.7275, 1.85, 0.90, 0.20, 7},
	{"Berlin", "DE", 52.5200, 13.4050, 4.30, 2.80, 0.50, 14},
	{"Dublin", "IE", 53.3498, -6.2603, 4.40, 1.32, 0.30, 6},
	{"Lisbon", "PT", 38.7223, -9.1393, 3.25, 0.47, 0.25, 8},
	{"Madrid", "ES", 40.4168, -3.7038, 2.50, 1.30, 0.35, 12},
	{"Milan", "IT", 45.4642, 9.1900, 3.90, 1.28, 0.55, 8},
	{"Paris", "FR", 48.8566, 2.3522, 4.18, 1.26, 0.60, 16},
	{"Prague", "CZ", 50.0755, 14.4378, 2.40, 1.45, 0.30, 6},
	{"Stockholm", "SE", 59.3293, 18.0686, 4.50, 1.40, 0.45, 5},
	{"Vienna", "AT", 48.2082, 16.3738, 3.80, 1.60, 0.42, 5},
	{"Warsaw", "PL", 52.2297, 21.0122, 2.10, 0.85, 0.25, 4},
}

// sampleEpoch is when the first trip starts.
var sampleEpoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// sampleSeed seeds the generator: the same rows on every machine.
const sampleSeed = 0x5eed_c0ffee

// rng is SplitMix64: tiny, fast and fully specified here, so the sample
// data never depends on a library's choice of algorithm.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// float returns a number in [0, 1).
func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }

// intn returns a number in [0, n).
func (r *rng) intn(n int) int {
	hi, _ := bits.Mul64(r.next(), uint64(n))
	return int(hi)
}

// cents rounds to two decimals.
func cents(x float64) float64 { return math.Round(x*100) / 100 }

// trip is one generated row of the trips table.
type trip struct {
	id         int64
	startedAt  string
	city       string
	distanceKm float64
	durationS  int64
	passengers int64
	fare       float64
	tip        any // nil or float64
	routeHash  []byte
}

// tripGen generates the trips in id order.
type tripGen struct {
	r       rng
	pick    []int // city index by weight ticket
	id      int64
	started time.Time
}

func newTripGen() *tripGen {
	g := &tripGen{r: rng{sampleSeed}, started: sampleEpoch}
	for i, c := range sampleCities {
		for range c.weight {
			g.pick = append(g.pick, i)
		}
	}
	return g
}

// next fills t with the next trip; t.routeHash is reused.
func (g *tripGen) next(t *trip) {
	r := &g.r
	g.id++
	g.started = g.started.Add(time.Duration(15+r.intn(30)) * time.Second)
	c := &sampleCities[g.pick[r.intn(len(g.pick))]]
	u := r.float()
	dist := cents(0.4 + 24*u*u*u) // mostly short trips, a few long ones
	speed := 12 + 23*r.float()    // km/h
	dur := int64(dist/speed*3600) + int64(60+r.intn(240))
	pax := int64(1)
	switch p := r.intn(100); {
	case p >= 97:
		pax = 4
	case p >= 90:
		pax = 3
	case p >= 70:
		pax = 2
	}
	fare := c.baseFare + c.perKm*dist + c.perMinute*float64(dur)/60
	if r.intn(10) == 0 { // surge pricing
		fare *= 1.2 + 0.8*r.float()
	}
	fare = cents(fare)
	t.tip = nil
	if r.intn(5) >= 2 {
		t.tip = cents(fare * (0.05 + 0.15*r.float()))
	}
	if cap(t.routeHash) < 8 {
		t.routeHash = make([]byte, 8)
	}
	h := r.next()
	for i := range 8 {
		t.routeHash[i] = byte(h >> (8 * i))
	}
	t.id, t.city, t.distanceKm, t.durationS, t.passengers, t.fare = g.id, c.name, dist, dur, pax, fare
	t.startedAt = g.started.Format("2006-01-02T15:04:05Z")
}

// sampleDir returns the cache directory that holds sample databases:
// $XDG_CACHE_HOME/cursorwindow or ~/.cache/cursorwindow.
func sampleDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for the sample database (set XDG_CACHE_HOME or use --db): %w", err)
	}
	return filepath.Join(d, "cursorwindow"), nil
}

// ensureSample returns the path of the sample database of n trips,
// generating it first if the cache does not hold it yet.
func ensureSample(ctx context.Context, n int, log *slog.Logger) (string, error) {
	if n < 1 {
		return "", fmt.Errorf("--rows %d: want at least 1", n)
	}
	dir, err := sampleDir()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, fmt.Sprintf("sample-v%d-%d.db", sampleVersion, n))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// Generate into a temporary file and rename it into place: an
	// interrupted run leaves no half-made database behind.
	tmp := path + ".tmp-" + strconv.Itoa(os.Getpid())
	defer os.Remove(tmp)
	log.Info("generating the sample database (once)", "path", path, "trips", n)
	start := time.Now()
	if err := generateSample(ctx, tmp, n); err != nil {
		return "", fmt.Errorf("generating %s: %w", path, err)
	}
	// A write-ahead log or journal left from an earlier database of that
	// name (deleted by hand while a provider held it) would be replayed
	// into the new one.
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", err
	}
	fi, _ := os.Stat(path)
	elapsed := time.Since(start)
	log.Info("sample database ready", "trips", n, "took", elapsed.Round(time.Millisecond),
		"rows_per_s", int64(float64(n)/elapsed.Seconds()), "bytes", fi.Size())
	return path, nil
}

// generateSample writes the sample database of n trips to path: one
// transaction, prepared statements, no journal (the file is renamed into
// place only once complete), then WAL mode so that readers and the
// provider's writes do not block each other.
func generateSample(ctx context.Context, path string, n int) error {
	return generateWith(ctx, path, n, "_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)")
}

// generateWith is generateSample with the database opened with pragmas
// (a DSN query): BenchmarkLoadTrips also generates under the provider's
// own journal (WAL), to tell the journal's cost from the load's.
func generateWith(ctx context.Context, path string, n int, pragmas string) error {
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + pragmas
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, sampleSchema); err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	cs, err := tx.PrepareContext(ctx, `INSERT INTO cities VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	for i, c := range sampleCities {
		if _, err := cs.ExecContext(ctx, i+1, c.name, c.country, c.lat, c.lon, c.baseFare, c.perKm, c.perMinute); err != nil {
			return err
		}
	}
	// Rows go in batches of a multi-row INSERT: one statement call per
	// batch, not per row.
	const batch = 100
	const ncols = 9
	stmt := "INSERT INTO trips VALUES "
	for i := range batch {
		if i > 0 {
			stmt += ", "
		}
		stmt += "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
	}
	full, err := tx.PrepareContext(ctx, stmt)
	if err != nil {
		return err
	}
	one, err := tx.PrepareContext(ctx, "INSERT INTO trips VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
	if err != nil {
		return err
	}
	bar := progress.New(os.Stderr, "generating trips", int64(n))
	defer bar.Done()
	g := newTripGen()
	args := make([]any, 0, batch*ncols)
	hashes := make([][]byte, batch) // the driver may keep a []byte until Exec returns
	var t trip
	for done := 0; done < n; {
		k := min(batch, n-done)
		args = args[:0]
		for i := range k {
			t.routeHash = hashes[i]
			g.next(&t)
			hashes[i] = t.routeHash
			args = append(args, t.id, t.startedAt, t.city, t.distanceKm, t.durationS, t.passengers, t.fare, t.tip, t.routeHash)
		}
		if k == batch {
			if _, err := full.ExecContext(ctx, args...); err != nil {
				return err
			}
		} else {
			for i := range k {
				if _, err := one.ExecContext(ctx, args[i*ncols:(i+1)*ncols]...); err != nil {
					return err
				}
			}
		}
		done += k
		if done%(100*batch) == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			bar.Update(int64(done))
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, "PRAGMA journal_mode=WAL"); err != nil {
		return err
	}
	return db.Close()
}
