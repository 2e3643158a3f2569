package content_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

// childHold makes the test binary a consumer that takes a window and
// waits to be killed.
const childHold = "CURSORWINDOW_CONTENT_HOLD"

func init() {
	if path := os.Getenv(childHold); path != "" {
		os.Exit(holdWindow(path))
	}
}

func holdWindow(path string) int {
	c, err := content.Dial(context.Background(), path)
	if err != nil {
		fmt.Println("dial:", err)
		return 1
	}
	cur, err := c.Query(context.Background(), &content.Query{URI: "trips"})
	if err != nil || !cur.Next() {
		fmt.Println("query:", err)
		return 1
	}
	fmt.Println("holding")
	time.Sleep(time.Minute)
	return 0
}

func countMemfdMaps(t testing.TB) int {
	b, err := os.ReadFile("/proc/self/maps")
	require.NoError(t, err)
	return strings.Count(string(b), "/memfd:")
}

// serverHeld returns the fds and memfd mappings the server keeps on
// purpose: one each per idle pooled or cached window.
func serverHeld(s *provider.Server) int {
	st := s.Stats()
	return st.PoolIdle + st.CachedIdle
}

func TestNoLeaksAfter10000Queries(t *testing.T) {
	path, s := startServer(t, newProvider(20_000), provider.WithWindowSize(64<<10))
	fds0, maps0 := countFDs(t), countMemfdMaps(t)
	ctx := context.Background()
	c, err := content.Dial(ctx, path)
	require.NoError(t, err)
	for i := range 10_000 {
		switch i % 5 {
		case 0: // a point query, inline
			rows, _, err := scan(ctx, c, &content.Query{URI: "trips", Selection: "id = ?", Args: []any{i}})
			require.NoError(t, err)
			require.Equal(t, int64(1), rows)
		case 1: // shared windows, abandoned half-way
			cur, err := c.Query(ctx, &content.Query{URI: "trips", Limit: 3000})
			require.NoError(t, err)
			for range 1500 {
				require.True(t, cur.Next())
			}
			require.NoError(t, cur.Close())
		case 2: // errors
			_, err := c.Query(ctx, &content.Query{URI: "missing"})
			require.ErrorIs(t, err, content.ErrNotFound)
			_, err = c.Query(ctx, &content.Query{URI: "trips", Order: "nope"})
			require.ErrorIs(t, err, content.ErrBadRequest)
		case 3: // a deadline that has passed
			dctx, cancel := context.WithTimeout(ctx, 0)
			_, err := c.Query(dctx, &content.Query{URI: "trips"})
			cancel()
			require.Error(t, err)
		case 4: // random moves
			cur, err := c.Query(ctx, &content.Query{URI: "trips"})
			require.NoError(t, err)
			require.True(t, cur.Move(int64(i%20_000)))
			require.True(t, cur.Move(int64((i*7)%20_000)))
			require.NoError(t, cur.Close())
		}
	}
	require.NoError(t, c.Close())
	require.Eventually(t, func() bool {
		st := s.Stats()
		return st.Conns == 0 && st.WindowsOut == 0 &&
			countFDs(t) <= fds0+serverHeld(s) && countMemfdMaps(t) <= maps0+serverHeld(s)
	}, 10*time.Second, 20*time.Millisecond, "fds %d (was %d), memfd maps %d (was %d), server keeps %d",
		countFDs(t), fds0, countMemfdMaps(t), maps0, serverHeld(s))
}

func TestKilledConsumersReleaseEverything(t *testing.T) {
	n := 1000
	if testing.Short() || raceEnabled {
		n = 100 // each child is a race-instrumented binary: 10x slower to start
	}
	path, s := startServer(t, newProvider(50_000), provider.WithWindowSize(64<<10))
	fds0, maps0 := countFDs(t), countMemfdMaps(t)
	start := time.Now()
	for i := range n {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childHold+"="+path)
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		line, err := bufio.NewReader(out).ReadString('\n')
		require.NoError(t, err, "consumer %d", i)
		require.Equal(t, "holding\n", line)
		require.NoError(t, cmd.Process.Kill())
		cmd.Wait()
	}
	require.Eventually(t, func() bool {
		st := s.Stats()
		return st.Conns == 0 && st.WindowsOut == 0 &&
			countFDs(t) <= fds0+serverHeld(s) && countMemfdMaps(t) <= maps0+serverHeld(s)
	}, 10*time.Second, 20*time.Millisecond, "fds %d (was %d), memfd maps %d (was %d), server keeps %d",
		countFDs(t), fds0, countMemfdMaps(t), maps0, serverHeld(s))
	st := s.Stats()
	assert.LessOrEqual(t, st.PoolBytes, st.PoolMaxSize)
	t.Logf("%d consumers killed while holding windows in %v; server keeps %d idle windows (%d MiB)",
		n, time.Since(start).Round(time.Millisecond), serverHeld(s), st.PoolBytes>>20)
}
