package content_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

// TestThousandWatchersTenThousandChanges: 1,000 watchers of one URI, half
// of them raw connections that register and then never read, half
// content.Client watches that read, through 10,000 changes (100 under the
// race detector: each change of 1,000 watchers costs about 40 ms there,
// 1.2 ms without it, mostly a notifier goroutine started per connection
// and the 500 notifications written, read and delivered).
//
// Bounds: goroutines stay under the count before the watchers connected
// plus 7 per reading watcher (its client's reader and writer, its Watch's
// deliverer, this test's receiver; for its connection, the server's
// reader, the goroutine that handed reading over to it if a request ran
// past the inline budget, and the notifier) plus 3 per non-reading one
// (the server's two and its notifier), plus 64 to spare: a goroutine per
// change or per notification would be tens of thousands. The heap in
// use, after a collection, grows by less than 128 MiB over what the
// connected watchers cost: pending notifications are coalesced per URI
// (at most 16 short ones, the burst's and the last here), the server
// shares the strings NotifyChange was given, and most of it is the
// consumers' decoded copies of the burst's 8 KiB URIs. Every reading
// watcher receives the last change; every non-reading one is
// disconnected once its socket is full for the write timeout.
// One piece: the bounds are checked while the watchers, the changes and
// the disconnections happen together.
func TestThousandWatchersTenThousandChanges(t *testing.T) {
	const readers, stuck = 500, 500
	changes := 10_000
	if raceEnabled {
		changes = 100
	}
	path, s := startServer(t, newProvider(1), provider.WithTimeouts(10*time.Second, 2*time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard only
	defer cancel()
	g0 := runtime.NumGoroutine()
	bound := g0 + 7*readers + 3*stuck + 64

	// The non-reading watchers take the answers to hello and register,
	// and then never read again.
	for range stuck {
		c := rawDial(t, path)
		defer c.Close()
		require.NoError(t, c.SetDeadline(time.Now().Add(time.Minute)))
		rawSend(t, c, 1, map[string]any{"v": wireVersion})
		rawSend(t, c, 10, map[string]any{"r": 2, "u": "t", "d": true})
		typ, _ := rawRecv(t, c)
		require.Equal(t, uint16(2), typ)
		typ, m := rawRecv(t, c)
		require.Equal(t, uint16(9), typ, "ok: %v", m)
	}

	var (
		finalSent atomic.Bool
		receivers sync.WaitGroup
		sawFinal  = make([]chan struct{}, readers)
		watches   = make([]*content.Watch, readers)
	)
	t.Cleanup(receivers.Wait) // after the clients' cleanups: their watches end
	for i := range readers {
		c := contenttest.Dial(t, path)
		w, err := c.Register(ctx, "t", true)
		require.NoError(t, err)
		watches[i], sawFinal[i] = w, make(chan struct{})
		receivers.Add(1)
		go func() {
			defer receivers.Done()
			seen := false
			for uri := range w.C() {
				// "t" stands for every URI below it when a watcher has
				// too many pending: it covers the last change only if it
				// came after it was made.
				if !seen && (uri == "t/final" || uri == "t" && finalSent.Load()) {
					seen = true
					close(sawFinal[i])
				}
			}
		}()
	}
	require.Equal(t, readers+stuck, s.Stats().Conns)

	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse
	}
	heap0, maxHeap, maxG := heap(), uint64(0), 0
	// Distinct URIs of 8 KiB first, more bytes than a socket's send
	// buffer holds, so that the non-reading watchers block for certain.
	// Then changes cycling over 16 short URIs.
	pad := strings.Repeat("x", 8<<10)
	burst := sendBuffer(t)/len(pad) + 8
	require.Less(t, burst+16+1, 256, "fewer distinct URIs than a watcher keeps pending: none is folded")
	require.Less(t, burst, changes)
	for i := range changes - 1 {
		uri := fmt.Sprintf("t/%d", i%16)
		if i < burst {
			uri = fmt.Sprintf("t/burst/%d/%s", i, pad)
		}
		s.NotifyChange(uri)
		if i%(changes/10) == 0 {
			maxG = max(maxG, runtime.NumGoroutine())
			maxHeap = max(maxHeap, heap())
		}
	}
	finalSent.Store(true)
	s.NotifyChange("t/final")
	maxG = max(maxG, runtime.NumGoroutine())
	assert.LessOrEqual(t, maxG, bound, "goroutines (%d before the watchers)", g0)
	assert.Less(t, maxHeap-min(maxHeap, heap0), uint64(128<<20), "heap growth (from %d MiB)", heap0>>20)

	for i := range readers {
		select {
		case <-sawFinal[i]:
		case <-ctx.Done():
			t.Fatalf("reading watcher %d never received the last change (watch error: %v)", i, watches[i].Err())
		}
	}
	waitUntil(t, 30*time.Second, func() (bool, string) {
		n := s.Stats().Conns
		return n <= readers, fmt.Sprintf("the non-reading watchers are disconnected: %d connections", n)
	})
	assert.Equal(t, readers, s.Stats().Conns, "every reading watcher is still connected")
	for i, w := range watches {
		require.NoError(t, w.Err(), "watch %d", i)
	}
	t.Logf("goroutines: %d before, at most %d (bound %d); heap in use %d MiB, at most %d MiB",
		g0, maxG, bound, heap0>>20, maxHeap>>20)
}

// sendBuffer returns the send buffer a new unix socket gets, in bytes:
// what the kernel accepts from a writer before the reader takes any.
func sendBuffer(t testing.TB) int {
	b, err := os.ReadFile("/proc/sys/net/core/wmem_default")
	require.NoError(t, err)
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	return n
}

// childLeak makes the test binary run TestRegisterAfterCloseLeaksNothing's
// check in a process of its own: a goroutine leaked there cannot be
// stopped, and would fail the parent's leak check at exit.
const childLeak = "CURSORWINDOW_CONTENT_LEAK_CHILD"

// TestRegisterAfterCloseLeaksNothing: Register on a client that is closed
// fails with ErrClosed and leaves no goroutine behind.
func TestRegisterAfterCloseLeaksNothing(t *testing.T) {
	if os.Getenv(childLeak) == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRegisterAfterCloseLeaksNothing$")
		cmd.Env = append(os.Environ(), childLeak+"=1")
		out, err := cmd.CombinedOutput()
		if i := bytes.Index(out, []byte("LEAKED:")); i >= 0 {
			t.Fatalf("Register on a closed client starts its Watch's delivering goroutine (newWatch) before it "+
				"checks that the client is closed, and returns the error without ending the Watch: the goroutine "+
				"waits forever (TestProviderThatStopsReading met it when one of its registrations began after "+
				"Client.Close). Fix: in Client.Register, check c.watches == nil before newWatch, or call w.end "+
				"on that path.\n%s...", out[i:min(len(out), i+400)])
		}
		require.NoError(t, err, "%s", out)
		return
	}
	path, _ := startServer(t, newProvider(1))
	c, err := content.Dial(context.Background(), path)
	require.NoError(t, err)
	require.NoError(t, c.Close())
	before := goleak.IgnoreCurrent()
	for range 10 {
		_, err := c.Register(context.Background(), "trips", false)
		require.ErrorIs(t, err, content.ErrClosed)
	}
	if err := goleak.Find(before); err != nil {
		t.Fatalf("LEAKED: %v", err)
	}
}
