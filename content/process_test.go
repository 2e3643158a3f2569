package content_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

// Environment of the provider child process.
const (
	childSocket  = "CURSORWINDOW_CONTENT_SOCKET"
	childRows    = "CURSORWINDOW_CONTENT_ROWS"
	childNoShare = "CURSORWINDOW_CONTENT_NOSHARE"
)

// TestMain runs the provider child when asked to, and otherwise the tests,
// then fails the run if any goroutine outlives them: every goroutine the
// package starts (a connection's reader, writer and notifier, a query's
// worker, a Watch's deliverer) must have ended once the servers and
// clients the tests started are closed.
func TestMain(m *testing.M) {
	if path := os.Getenv(childSocket); path != "" {
		os.Exit(runProvider(path))
	}
	goleak.VerifyTestMain(m)
}

// benchTable builds the benchmark table: id, a float, a ~24-byte string
// and a 64-byte blob per row.
func benchTable(n int) [][]any {
	rows := make([][]any, n)
	blob := []byte(strings.Repeat("b", 64))
	for i := range rows {
		rows[i] = []any{int64(i), float64(i) * 0.25, fmt.Sprintf("station-%08d-abcdefgh", i%100_000), blob}
	}
	return rows
}

// runProvider is the child: it serves the benchmark table until SIGTERM.
func runProvider(path string) int {
	n, _ := strconv.Atoi(os.Getenv(childRows))
	rows := benchTable(n)
	p := contenttest.NewMemProvider()
	p.AddTable("trips", []string{"id", "fare", "city", "payload"}, rows)
	ln, err := provider.Listen(path, 0o600)
	if err != nil {
		fmt.Println("listen:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := serveBare(ctx, bareSocket(path), rows); err != nil { // BenchmarkQueryRow's baseline
		fmt.Println("listen:", err)
		return 1
	}
	fmt.Println("ready")
	share := os.Getenv(childNoShare) == ""
	srv := provider.NewServer(p, provider.WithLogger(quiet), provider.WithSharedWindows(share))
	if err := srv.Serve(ctx, ln); err != nil {
		fmt.Println("serve:", err)
		return 1
	}
	return 0
}

// startProvider runs the provider in a child process and returns its
// socket and the process.
func startProvider(tb testing.TB, rows int, env ...string) (string, *exec.Cmd) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "run", "provider.sock")
	return path, startChild(tb, append([]string{childSocket + "=" + path, childRows + "=" + strconv.Itoa(rows)}, env...)...)
}

// startChild runs the test binary as a child with env added, waits until
// it prints "ready", and stops it (SIGTERM) when the test ends.
func startChild(tb testing.TB, env ...string) *exec.Cmd {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	require.NoError(tb, err)
	cmd.Stderr = os.Stderr
	require.NoError(tb, cmd.Start())
	tb.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(tb, err)
	require.Equal(tb, "ready\n", line)
	return cmd
}

// scan reads every value of the query and returns the row count and a sum
// over the ids, fares and string and blob lengths.
func scan(ctx context.Context, c *content.Client, q *content.Query, opts ...content.QueryOption) (int64, float64, error) {
	cur, err := c.Query(ctx, q, opts...)
	if err != nil {
		return 0, 0, err
	}
	defer cur.Close()
	var rows int64
	var sum float64
	for cur.Next() {
		id, err := cur.Int64(0)
		if err != nil {
			return rows, sum, err
		}
		fare, _ := cur.Float64(1)
		city, _ := cur.StringView(2)
		blob, _ := cur.Bytes(3)
		sum += float64(id) + fare + float64(len(city)+len(blob))
		rows++
	}
	return rows, sum, cur.Err()
}

func wantSum(n int) float64 {
	var sum float64
	for i := range n {
		sum += float64(i) + float64(i)*0.25 + float64(len(fmt.Sprintf("station-%08d-abcdefgh", i%100_000))+64)
	}
	return sum
}

func TestScanFromAnotherProcess(t *testing.T) {
	const n = 100_000
	path, _ := startProvider(t, n)
	c := contenttest.Dial(t, path)
	for _, opts := range [][]content.QueryOption{nil, {content.WithCopiedWindows()}} {
		rows, sum, err := scan(context.Background(), c, &content.Query{URI: "trips"}, opts...)
		require.NoError(t, err)
		assert.Equal(t, int64(n), rows)
		assert.Equal(t, wantSum(n), sum)
	}
}

func TestProviderKilledMidScan(t *testing.T) {
	const n = 200_000
	path, cmd := startProvider(t, n)
	c := contenttest.Dial(t, path)
	cur, err := c.Query(context.Background(), &content.Query{URI: "trips"}, content.WithPrefetch(0))
	require.NoError(t, err)
	defer cur.Close()
	require.True(t, cur.Next())
	require.NoError(t, cmd.Process.Kill())
	killed := time.Now()
	// The window in hand is still whole and readable.
	var rows int64
	for cur.Next() {
		id, err := cur.Int64(0)
		require.NoError(t, err)
		require.Equal(t, rows+1, id)
		rows++
	}
	require.ErrorIs(t, cur.Err(), content.ErrProviderGone)
	assert.Greater(t, rows, int64(1000), "rows of the held window were read")
	assert.Less(t, time.Since(killed), 5*time.Second)
	t.Logf("read %d rows of the held window after SIGKILL; ErrProviderGone after %v", rows, time.Since(killed))
}
