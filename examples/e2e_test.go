package examples_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/examples/internal/exampletest"
	_ "modernc.org/sqlite"
)

// sampleRows is the size of the sample database the tests serve: small,
// so the tests stay fast; the generator yields the same first trips
// whatever the size.
const sampleRows = 300

// bins holds the paths of the binaries built for this test run.
type bins struct{ provider, consumer, cwflight string }

// TestMain removes the binaries built by the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	exampletest.Cleanup()
	os.Exit(code)
}

// build compiles the provider, the consumer and the Flight SQL gateway
// (arrow/cmd/cwflight) once per test run.
func build(t testing.TB) bins {
	t.Helper()
	b := exampletest.Build(t, "github.com/cursorwindow/cursorwindow/examples/provider",
		"github.com/cursorwindow/cursorwindow/examples/consumer", "github.com/cursorwindow/cursorwindow/arrow/cmd/cwflight")
	return bins{b[0], b[1], b[2]}
}

// syncBuffer collects a process's output while the test reads it.
type syncBuffer = exampletest.Buffer

// startProvider runs the provider on a socket in a fresh directory with
// a sample database of sampleRows trips, waits until it answers, and stops
// it (SIGTERM) when the test ends.
func startProvider(t *testing.T, extra ...string) *exampletest.Provider {
	t.Helper()
	return exampletest.StartProvider(t, build(t).provider, nil, append([]string{"--rows", strconv.Itoa(sampleRows)}, extra...)...)
}

// dbPath returns the sample database the provider generated.
func dbPath(p *exampletest.Provider) string {
	return filepath.Join(p.Cache, "cursorwindow", fmt.Sprintf("sample-v1-%d.db", sampleRows))
}

// result is what a consumer run printed and how it exited.
type result struct {
	stdout, stderr string
	code           int
}

// consumer runs the consumer with args against socket.
func consumer(t *testing.T, socket string, args ...string) result {
	t.Helper()
	b := build(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.consumer, append([]string{"--socket", socket}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return r
}

// ok runs the consumer and requires success.
func ok(t *testing.T, socket string, args ...string) string {
	t.Helper()
	r := consumer(t, socket, args...)
	require.Equal(t, 0, r.code, "consumer %v: %s", args, r.stderr)
	return r.stdout
}

// knownQuery selects the first four trips: text, numbers, a NULL tip and a
// blob.
var knownQuery = []string{"query", "trips", "--columns", "id,started_at,city,distance_km,fare,tip,route_hash",
	"--where", "id <= ? AND passengers >= ?", "--arg", "4", "--arg", "1", "--order", "id"}

func TestEndToEnd(t *testing.T) {
	p := startProvider(t)
	sock := p.Socket

	t.Run("Table", func(t *testing.T) {
		want := "" +
			"id  started_at            city       distance_km   fare   tip  route_hash\n" +
			"--  --------------------  ---------  -----------  -----  ----  ----------------\n" +
			" 1  2025-01-01T00:00:42Z  Paris            12.68  37.63  2.43  527ea18f19200c3b\n" +
			" 2  2025-01-01T00:01:10Z  Madrid           12.27  28.21  2.95  f93d052815fbacad\n" +
			" 3  2025-01-01T00:01:32Z  Amsterdam         0.66   6.46  NULL  5e351100f7b357b0\n" +
			" 4  2025-01-01T00:02:06Z  Amsterdam          0.4   6.13  NULL  69ad51ffeae4dcac\n" +
			"(4 rows)\n"
		assert.Equal(t, want, ok(t, sock, knownQuery...))
	})

	t.Run("CSV", func(t *testing.T) {
		want := "" +
			"id,started_at,city,distance_km,fare,tip,route_hash\n" +
			"1,2025-01-01T00:00:42Z,Paris,12.68,37.63,2.43,527ea18f19200c3b\n" +
			"2,2025-01-01T00:01:10Z,Madrid,12.27,28.21,2.95,f93d052815fbacad\n" +
			"3,2025-01-01T00:01:32Z,Amsterdam,0.66,6.46,,5e351100f7b357b0\n" +
			"4,2025-01-01T00:02:06Z,Amsterdam,0.4,6.13,,69ad51ffeae4dcac\n"
		assert.Equal(t, want, ok(t, sock, append(knownQuery, "--format", "csv")...))

		// The same rows as SQLite itself reads them.
		db, err := sql.Open("sqlite", "file:"+dbPath(p)+"?mode=ro")
		require.NoError(t, err)
		defer db.Close()
		rows, err := db.Query("SELECT id, started_at, city, distance_km, fare, tip, hex(route_hash) FROM trips WHERE id <= 4 ORDER BY id")
		require.NoError(t, err)
		defer rows.Close()
		direct := "id,started_at,city,distance_km,fare,tip,route_hash\n"
		for rows.Next() {
			var id int64
			var started, city, hash string
			var dist, fare float64
			var tip sql.NullFloat64
			require.NoError(t, rows.Scan(&id, &started, &city, &dist, &fare, &tip, &hash))
			tipText := ""
			if tip.Valid {
				tipText = strconv.FormatFloat(tip.Float64, 'f', -1, 64)
			}
			direct += fmt.Sprintf("%d,%s,%s,%s,%s,%s,%s\n", id, started, city,
				strconv.FormatFloat(dist, 'f', -1, 64), strconv.FormatFloat(fare, 'f', -1, 64), tipText, strings.ToLower(hash))
		}
		require.NoError(t, rows.Err())
		assert.Equal(t, want, direct)
	})

	t.Run("JSONLines", func(t *testing.T) {
		out := ok(t, sock, "query", "trips", "--columns", "id,city,tip", "--where", "id = ?", "--arg", "3", "--format", "jsonl")
		assert.Equal(t, `{"id":3,"city":"Amsterdam","tip":null}`+"\n", out)
	})

	t.Run("ScanMatchesSQLite", func(t *testing.T) {
		out := ok(t, sock, "scan", "trips")
		summary, cols := parseScan(t, out)
		db, err := sql.Open("sqlite", "file:"+dbPath(p)+"?mode=ro")
		require.NoError(t, err)
		defer db.Close()
		var rows int64
		require.NoError(t, db.QueryRow("SELECT count(*) FROM trips").Scan(&rows))
		assert.Equal(t, strconv.FormatInt(rows, 10), summary["rows"])
		assert.Equal(t, int64(sampleRows), rows)
		assert.Equal(t, "9", summary["columns"])
		assert.Contains(t, summary, "rows/s")

		for _, c := range []string{"id", "duration_s", "passengers"} { // integers: exact
			var sum, lo, hi int64
			require.NoError(t, db.QueryRow(fmt.Sprintf("SELECT sum(%s), min(%[1]s), max(%[1]s) FROM trips", c)).Scan(&sum, &lo, &hi))
			assert.Equal(t, []string{"INT64", "0", strconv.FormatInt(lo, 10), strconv.FormatInt(hi, 10), strconv.FormatInt(sum, 10)},
				[]string{cols[c].typ, cols[c].nulls, cols[c].min, cols[c].max, cols[c].sum}, c)
		}
		for _, c := range []string{"distance_km", "fare", "tip"} { // floats: to rounding
			var sum, lo, hi float64
			var nulls int64
			require.NoError(t, db.QueryRow(fmt.Sprintf("SELECT sum(%s), min(%[1]s), max(%[1]s), count(*) - count(%[1]s) FROM trips", c)).
				Scan(&sum, &lo, &hi, &nulls))
			assert.Equal(t, "FLOAT64", cols[c].typ, c)
			assert.Equal(t, strconv.FormatInt(nulls, 10), cols[c].nulls, c)
			assert.InEpsilon(t, sum, parseFloat(t, cols[c].sum), 1e-11, c)
			assert.Equal(t, lo, parseFloat(t, cols[c].min), c)
			assert.Equal(t, hi, parseFloat(t, cols[c].max), c)
		}
		var textBytes int64
		require.NoError(t, db.QueryRow("SELECT sum(length(CAST(city AS BLOB))) FROM trips").Scan(&textBytes))
		assert.Equal(t, strconv.FormatInt(textBytes, 10), cols["city"].bytes)
		assert.Equal(t, "STRING", cols["city"].typ)
		assert.Equal(t, "BLOB", cols["route_hash"].typ)
		assert.Equal(t, strconv.Itoa(8*sampleRows), cols["route_hash"].bytes)
	})

	t.Run("Tables", func(t *testing.T) {
		out := ok(t, sock, "tables")
		assert.Regexp(t, `(?m)^cities +id INTEGER, name TEXT, `, out)
		assert.Regexp(t, `(?m)^trips +id INTEGER, started_at TEXT, city TEXT, `, out)
	})

	t.Run("TableNotFound", func(t *testing.T) {
		r := consumer(t, sock, "query", "nope")
		assert.Equal(t, 4, r.code)
		assert.Equal(t, `consumer: not found: no table "nope" (tables: cities, trips)`+"\n", r.stderr)
		assert.Empty(t, r.stdout)
	})

	t.Run("RejectedSelections", func(t *testing.T) {
		for _, args := range [][]string{
			{"--where", "id = 1"},
			{"--where", "id = ? OR 1 = 1", "--arg", "1"},
			{"--where", "id = ?; DROP TABLE trips", "--arg", "1"},
			{"--where", "nope = ?", "--arg", "1"},
			{"--where", "id = ?"},
			{"--columns", "id,sqlite_version()"},
			{"--order", "id; DROP TABLE trips"},
			{"--order", "(SELECT 1)"},
		} {
			r := consumer(t, sock, append([]string{"query", "trips"}, args...)...)
			assert.Equal(t, 1, r.code, "%v", args)
			assert.True(t, strings.HasPrefix(r.stderr, "consumer: bad request: ") || strings.HasPrefix(r.stderr, "consumer: unsupported: "), "%v: %s", args, r.stderr)
		}
		assert.Contains(t, ok(t, sock, "query", "trips", "--columns", "id", "--limit", "1"), "(1 row)")
	})

	t.Run("WatchInsertDelete", func(t *testing.T) {
		b := build(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		watch := exec.CommandContext(ctx, b.consumer, "--socket", sock, "watch", "trips", "--count", "2")
		var stdout bytes.Buffer
		watch.Stdout = &stdout
		stderr, err := watch.StderrPipe()
		require.NoError(t, err)
		require.NoError(t, watch.Start())
		line, err := bufio.NewReader(stderr).ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "watching trips\n", line)

		next := strconv.Itoa(sampleRows + 1)
		assert.Equal(t, "inserted row "+next+" into trips\n",
			ok(t, sock, "insert", "trips", "city=Lisbon", "distance_km=3.2", "duration_s=600", "fare=9.6"))
		assert.Contains(t, ok(t, sock, "query", "trips", "--columns", "id,city,passengers,tip", "--where", "id > ?", "--arg", strconv.Itoa(sampleRows), "--format", "csv"),
			next+",Lisbon,1,\n") // defaults: one passenger, no tip
		assert.Equal(t, "deleted 1 row from trips\n", ok(t, sock, "delete", "trips", "--where", "id > ?", "--arg", strconv.Itoa(sampleRows)))

		require.NoError(t, watch.Wait())
		assert.Equal(t, "changed: trips\nchanged: trips\n", stdout.String())
	})

	t.Run("UpdateToNull", func(t *testing.T) {
		row1 := []string{"query", "trips", "--columns", "id,passengers,tip", "--where", "id = ?", "--arg", "1", "--format", "csv"}
		assert.Equal(t, "id,passengers,tip\n1,1,2.43\n", ok(t, sock, row1...))
		// A result in shared memory, which the provider caches for the
		// next consumer of the same query.
		scan := []string{"scan", "trips", "--columns", "id,passengers,tip"}
		_, before := parseScan(t, ok(t, sock, scan...))
		assert.Equal(t, "updated 1 row in trips\n", ok(t, sock, "update", "trips", "tip=7", "passengers=2", "--where", "id = ?", "--arg", "1"))
		// The same queries again: the provider's write dropped their cached
		// windows.
		assert.Equal(t, "id,passengers,tip\n1,2,7\n", ok(t, sock, row1...))
		_, after := parseScan(t, ok(t, sock, scan...))
		p0, err := strconv.Atoi(before["passengers"].sum)
		require.NoError(t, err)
		assert.Equal(t, strconv.Itoa(p0+1), after["passengers"].sum)
		assert.Equal(t, "updated 1 row in trips\n", ok(t, sock, "update", "trips", "tip=null", "--where", "id = ?", "--arg", "1"))
		assert.Equal(t, `{"id":1,"tip":null}`+"\n", ok(t, sock, "query", "trips", "--columns", "id,tip", "--where", "id = ? AND tip IS NULL", "--arg", "1", "--format", "jsonl"))
	})

	t.Run("BadWrite", func(t *testing.T) {
		r := consumer(t, sock, "insert", "trips", "city=Lisbon") // fare is NOT NULL
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.stderr, "consumer: bad request: ")
		assert.Contains(t, r.stderr, "NOT NULL")
		r = consumer(t, sock, "update", "trips", "nope=1", "--where", "id = ?", "--arg", "1")
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.stderr, `has no column "nope"`)
	})

	t.Run("StopRemovesSocket", func(t *testing.T) {
		p.Stop(t)
		_, err := os.Lstat(sock)
		assert.ErrorIs(t, err, fs.ErrNotExist, "socket left behind")
		assert.Contains(t, p.Log.String(), "msg=stopped")
		r := consumer(t, sock, "tables")
		assert.Equal(t, 3, r.code)
		assert.Equal(t, "consumer: no provider is listening on "+sock+" (no socket there; start one with: provider)\n", r.stderr)
	})
}

func TestNoProvider(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.sock")
	r := consumer(t, missing, "query", "trips")
	assert.Equal(t, 3, r.code)
	assert.Equal(t, "consumer: no provider is listening on "+missing+" (no socket there; start one with: provider)\n", r.stderr)
	assert.Empty(t, r.stdout)

	// A socket file nobody listens on: what a killed provider leaves.
	stale := filepath.Join(dir, "stale.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	require.NoError(t, err)
	ln.SetUnlinkOnClose(false)
	ln.Close()
	r = consumer(t, stale, "scan", "trips")
	assert.Equal(t, 3, r.code)
	assert.Equal(t, "consumer: no provider is listening on "+stale+" (a stale socket, left by a provider that did not stop cleanly: it may be removed; start one with: provider)\n", r.stderr)

	// A regular file, and a path longer than a socket's.
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	r = consumer(t, file, "tables")
	assert.Equal(t, 3, r.code)
	assert.Equal(t, "consumer: no provider at "+file+": it is not a socket: socket operation on non-socket\n", r.stderr)
	long := filepath.Join(dir, strings.Repeat("x", 120))
	r = consumer(t, long, "tables")
	assert.Equal(t, 3, r.code)
	assert.Contains(t, r.stderr, "a unix socket's path has at most 107")
}

func TestRefusedUID(t *testing.T) {
	other := strconv.Itoa(os.Geteuid() + 1000)
	p := startProvider(t, "--allow-uid", other)
	r := consumer(t, p.Socket, "tables")
	assert.Equal(t, 5, r.code)
	assert.Equal(t, fmt.Sprintf("consumer: the provider at %s refused access: permission denied: uid %d not allowed\n", p.Socket, os.Geteuid()), r.stderr)
	assert.Empty(t, r.stdout)
	p.Stop(t)
	assert.Contains(t, p.Log.String(), "connection refused")
}

// TestFilesystemRefusal: a consumer of another uid that the socket's
// directory keeps out is told that the filesystem refused it, with its
// own exit status (6), not that the provider did (5).
func TestFilesystemRefusal(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("runs the consumer as uid 65534, which needs root")
	}
	p := startProvider(t, "--allow-uid", "65534") // a 0666 socket in a 0700 directory
	// A copy of the consumer that uid 65534 may run.
	dir, err := os.MkdirTemp("", "cursorwindow-consumer-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	bin, err := os.ReadFile(build(t).consumer)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "consumer"), bin, 0o755))

	cmd := exec.Command(filepath.Join(dir, "consumer"), "--socket", p.Socket, "tables")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Skipf("cannot run a process as uid 65534 here: %v", err)
	}
	require.Error(t, err, "the consumer connected: %s", stdout.String())
	assert.Equal(t, 6, ee.ExitCode(), stderr.String())
	assert.Equal(t, "consumer: cannot connect to "+p.Socket+": permission denied by the filesystem: uid 65534 may not open the socket or search a directory above it (the provider did not refuse: it was never reached)\n", stderr.String())
	assert.Empty(t, stdout.String())
}

// otherUID runs the consumer as uid 65534 (nobody) with env, from a copy
// of the binary that uid may execute. It skips the test where that is not
// possible (not root, or no setuid allowed).
func otherUID(t *testing.T, env []string, args ...string) result {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("runs the consumer as uid 65534, which needs root")
	}
	dir, err := os.MkdirTemp("", "cursorwindow-consumer-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	bin, err := os.ReadFile(build(t).consumer)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "consumer"), bin, 0o755))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "consumer"), args...)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Skipf("cannot run a process as uid 65534 here: %v", err)
	}
	return r
}

// A provider serving another uid, from the defaults its flags imply: the
// shared socket location, reachable by every uid, where the consumer of
// uid 65534 finds it without --socket; per-URI permissions decide what
// that uid may read, write and watch; a window cached for the provider's
// own uid never reaches it.
func TestServesAnotherUID(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("runs a consumer as uid 65534, which needs root")
	}
	base, err := os.MkdirTemp("", "cursorwindow-shared-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(base) })
	require.NoError(t, os.Chmod(base, 0o755)) // as /run is
	runtimeDir := filepath.Join(base, "cursorwindow")
	env := []string{"PATH=/usr/bin:/bin", "CURSORWINDOW_RUNTIME_DIR=" + runtimeDir, "TMPDIR=" + base}

	b := build(t)
	dir := t.TempDir()
	log := &syncBuffer{}
	cmd := exec.Command(b.provider, "--rows", strconv.Itoa(sampleRows),
		"--read-only-uid", "65534", "--allow", "cities=0")
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"), "CURSORWINDOW_RUNTIME_DIR="+runtimeDir)
	cmd.Stderr = log
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		assert.NoError(t, <-done, "provider\n%s", log)
	})
	socket := filepath.Join(runtimeDir, "provider.sock")
	require.Eventually(t, func() bool {
		c, err := net.Dial("unix", socket)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 30*time.Second, 20*time.Millisecond, "provider not listening at the shared location\n%s", log)
	st, err := os.Stat(runtimeDir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o711), st.Mode().Perm(), "others may traverse the directory, not list or write it")

	// The provider's own uid reads cities first: its windows are cached.
	require.Contains(t, ok(t, socket, "query", "cities", "--limit", "2"), "name")

	r := otherUID(t, env, "query", "trips", "--limit", "2", "--columns", "id")
	require.Equal(t, 0, r.code, "uid 65534 reads trips through the default location: %s", r.stderr)
	assert.Equal(t, "id\n--\n 1\n 2\n(2 rows)\n", r.stdout)

	r = otherUID(t, env, "query", "cities", "--limit", "2")
	assert.Equal(t, 5, r.code, r.stderr)
	assert.Contains(t, r.stderr, "cities is not shared with uid 65534")
	assert.Empty(t, r.stdout, "no cached window of cities reached uid 65534")

	r = otherUID(t, env, "tables")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "trips")
	assert.NotContains(t, r.stdout, "cities", "a table uid 65534 may not read is not listed to it")
	r = otherUID(t, env, "query", "CITIES")
	assert.NotEqual(t, 0, r.code)
	assert.Contains(t, r.stderr, `no table "CITIES" (tables: trips)`, "nor named in a not_found")
	assert.NotContains(t, r.stderr, "cities", "nor named in a not_found")

	r = otherUID(t, env, "insert", "trips", "city=Lyon")
	assert.Equal(t, 5, r.code, r.stderr)
	assert.Contains(t, r.stderr, "uid 65534 has read-only access")

	r = otherUID(t, env, "watch", "trips", "--timeout", "100ms")
	assert.Equal(t, 0, r.code, "uid 65534 may watch trips: %s", r.stderr)
	r = otherUID(t, env, "watch", "cities", "--timeout", "100ms")
	assert.Equal(t, 5, r.code, "uid 65534 may not watch cities: %s", r.stderr)
}

func TestUsage(t *testing.T) {
	r := consumer(t, "unused.sock", "frobnicate")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, `unknown command "frobnicate"`)
	r = consumer(t, "unused.sock", "query")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "query wants one table")
	r = consumer(t, "unused.sock", "query", "trips", "--format", "xml")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, `unknown --format "xml"`)
}

// scanColumn is one line of the scan summary's column table.
type scanColumn struct{ typ, nulls, bytes, min, max, sum string }

// parseScan reads the scan summary: "key value" lines, a blank line, then
// the column table.
func parseScan(t *testing.T, out string) (map[string]string, map[string]scanColumn) {
	t.Helper()
	head, table, found := strings.Cut(out, "\n\n")
	require.True(t, found, out)
	summary := map[string]string{}
	for _, l := range strings.Split(head, "\n") {
		f := strings.Fields(l)
		require.GreaterOrEqual(t, len(f), 2, l)
		summary[f[0]] = f[1]
	}
	cols := map[string]scanColumn{}
	lines := strings.Split(strings.TrimSpace(table), "\n")
	require.Greater(t, len(lines), 2, out)
	require.Regexp(t, regexp.MustCompile(`^column +type +nulls +bytes +min +max +sum$`), lines[0])
	for _, l := range lines[2:] {
		f := strings.Fields(l)
		require.Len(t, f, 7, l)
		cols[f[0]] = scanColumn{f[1], f[2], f[3], f[4], f[5], f[6]}
	}
	return summary, cols
}

func parseFloat(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	require.NoError(t, err, s)
	return f
}
