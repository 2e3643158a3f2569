package content_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
	"github.com/cursorwindow/cursorwindow/window"
)

// ownWindows lists the POSIX shm objects and System V segments this
// process has made and not removed.
func ownWindows(t testing.TB) []string {
	var out []string
	pid := strconv.Itoa(os.Getpid())
	ents, err := os.ReadDir("/dev/shm")
	require.NoError(t, err)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), window.DefaultName) && strings.Contains(e.Name(), "-"+pid+"-") {
			out = append(out, e.Name())
		}
	}
	b, err := os.ReadFile("/proc/sysvipc/shm")
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n")[1:] {
		if f := strings.Fields(line); len(f) > 4 && f[4] == pid {
			out = append(out, "sysv:"+f[1])
		}
	}
	return out
}

func TestWindowsAnnouncedByNameOrKey(t *testing.T) {
	for _, k := range []window.Kind{window.KindShm, window.KindSysV} {
		t.Run(k.String(), func(t *testing.T) {
			require.Empty(t, ownWindows(t))
			const n = 40_000
			fds := countFDs(t)
			path := filepath.Join(t.TempDir(), "run", "provider.sock")
			ln, err := provider.Listen(path, 0o600)
			require.NoError(t, err)
			s := provider.NewServer(newProvider(n), provider.WithLogger(quiet),
				provider.WithWindowSize(256<<10), provider.WithBacking(k))
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- s.Serve(ctx, ln) }()

			a, b := contenttest.Dial(t, path), contenttest.Dial(t, path)
			ca, err := a.Query(context.Background(), &content.Query{URI: "trips"})
			require.NoError(t, err)
			assert.NotEmpty(t, ownWindows(t), "the windows are named while they are held")
			// b reads beside a, asking further ahead: a window one asks
			// for while the other fills it is filled once, and sent to both.
			cb, err := b.Query(context.Background(), &content.Query{URI: "trips"}, content.WithPrefetch(3))
			require.NoError(t, err)
			for i := range int64(n) {
				require.True(t, ca.Next())
				require.True(t, cb.Next())
				checkRow(t, ca, i)
				checkRow(t, cb, i)
			}
			require.False(t, ca.Next())
			require.NoError(t, ca.Err())
			require.NoError(t, ca.Close())
			require.NoError(t, cb.Close())
			assert.Greater(t, s.Stats().SharedHits, int64(5), "one physical window, two consumers")

			// Moving back re-announces windows the consumer mapped
			// before: its mapping is reused.
			cur, err := a.Query(context.Background(), &content.Query{URI: "trips"})
			require.NoError(t, err)
			for _, pos := range []int64{39_999, 3, 20_000, 0} {
				require.True(t, cur.Move(pos))
				checkRow(t, cur, pos)
			}
			require.NoError(t, cur.Close())
			require.NoError(t, a.Close())
			require.NoError(t, b.Close())

			cancel()
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(10 * time.Second):
				t.Fatal("server did not stop")
			}
			assert.Empty(t, ownWindows(t), "the provider removes its names and segments")
			// At most as many as before: an earlier test's connection may
			// still have been closing when fds was counted, and a
			// descriptor of another test's (a collected client's socket,
			// say) may come and go meanwhile; a leak stays.
			if !assert.Eventually(t, func() bool { return countFDs(t) <= fds }, 5*time.Second, 10*time.Millisecond) {
				t.Errorf("a descriptor left open on either side: %d, before %d: %v", countFDs(t), fds, fdTargets(t))
			}
		})
	}
}

// TestNamedWindowsRefuseForeignObjects checks that a consumer refuses a
// window object that is open to others, even if a provider announces it.
func TestNamedWindowsRefuseForeignObjects(t *testing.T) {
	w, err := window.Create(1, window.WithBacking(window.ShmBacking()))
	require.NoError(t, err)
	defer w.Close()
	require.NoError(t, w.AllocRow())
	require.NoError(t, w.Seal())
	require.NoError(t, os.Chmod("/dev/shm/"+w.Location().Name, 0o666))
	_, err = window.OpenLocation(w.Location())
	require.ErrorIs(t, err, window.ErrPermission)
}
