package content_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

// Uids the fair-share tests connect as (dialAs), besides root, the
// provider's own and so privileged.
const firstHog = 60_000

// serveAbstract serves p on an abstract socket, which every uid can
// reach, admitting root and uids, until the test ends.
func serveAbstract(t *testing.T, p provider.Provider, uids []uint32, opts ...provider.ServerOption) (string, *provider.Server) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: other uids' connections are made with setresuid")
	}
	path := fmt.Sprintf("@cursorwindow-fair-%d-%d", os.Getpid(), time.Now().UnixNano())
	ln, err := provider.Listen(path, 0o600)
	require.NoError(t, err)
	s := provider.NewServer(p, append([]provider.ServerOption{provider.WithLogger(quiet),
		provider.WithAuthorizer(provider.AllowUIDs(append([]uint32{0}, uids...)...))}, opts...)...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return path, s
}

// hogResult is what a hog got: windows answering its queries, and
// refusals by code.
type hogResult struct {
	windows int
	refused map[string]int
}

// hog takes what it can as uid: conns connections, each sending perConn
// queries of distinct results (alternately inline and shared windows),
// whose answers it reads (a plain read: descriptors are dropped by the
// kernel, the provider still counts them held) but which it never closes
// nor releases. The connections stay open until the test ends.
func hog(t *testing.T, path string, uid, conns, perConn int) hogResult {
	t.Helper()
	res := hogResult{refused: map[string]int{}}
	for i := range conns {
		c := dialAs(t, path, uid)
		t.Cleanup(func() { c.Close() })
		require.NoError(t, c.SetDeadline(time.Now().Add(time.Minute))) // a hang guard only
		rawSend(t, c, wireHello, map[string]any{"v": wireVersion})
		typ, m := rawRecv(t, c)
		if typ == wireError {
			res.refused[fmt.Sprint(m["c"])]++ // a connection past the uid's share
			continue
		}
		for j := range perConn {
			limit := 2000 + ((uid-firstHog)*conns+i)*perConn + j // distinct: nothing shared
			rawSend(t, c, wireQuery, map[string]any{"r": 2 + j, "u": "trips", "l": limit, "i": j%2 == 0})
		}
		for range perConn {
			typ, m := rawRecv(t, c)
			switch typ {
			case wireWindow:
				res.windows++
			case wireError:
				res.refused[fmt.Sprint(m["c"])]++
			default:
				t.Fatalf("a query answered with type %d", typ)
			}
		}
	}
	return res
}

// However many uids take all they may of queries and windows, the
// provider's own uid (privileged) is never refused: the last queries and
// windows are kept for it. With two such uids, a third that holds
// nothing is served too: the fair-share reserve goes to uids below their
// share. Each hog is refused (it reached its limits) and root scans the
// whole table, in shared windows and inline, three times.
func TestFairSharesKeepTheProviderUIDServed(t *testing.T) {
	for _, hogs := range []int{2, 8} {
		t.Run(fmt.Sprintf("%d hostile uids", hogs), func(t *testing.T) {
			var uids []uint32
			for i := range hogs + 1 { // and a newcomer
				uids = append(uids, uint32(firstHog+i))
			}
			const windowSize = 64 << 10
			path, s := serveAbstract(t, newProvider(20_000), uids,
				provider.WithWindowSize(windowSize), provider.WithMemoryBudget(32*windowSize), provider.WithMaxBodySize(32<<10),
				provider.WithLimits(provider.Limits{
					Queries: 64, UIDQueries: 32, ConnQueries: 16, ConnWindows: 8,
				}))
			for h := range hogs {
				got := hog(t, path, firstHog+h, 4, 16)
				assert.NotZero(t, got.refused["busy"], "uid %d reached its limits: %+v", firstHog+h, got)
				assert.Equal(t, 0, got.refused["internal"], "uid %d: %+v", firstHog+h, got)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard only
			defer cancel()
			c := contenttest.Dial(t, path)
			for range 3 {
				rows, _, err := scan(ctx, c, &content.Query{URI: "trips"})
				require.NoError(t, err, "root scans in shared windows: %+v", s.Stats())
				assert.Equal(t, int64(20_000), rows)
				rows, _, err = scan(ctx, c, &content.Query{URI: "trips"}, content.WithCopiedWindows())
				require.NoError(t, err, "root scans inline")
				assert.Equal(t, int64(20_000), rows)
			}
			if hogs == 2 {
				got := hog(t, path, firstHog+hogs, 1, 2)
				assert.Equal(t, 2, got.windows, "a uid holding nothing is served beside two hogs: %+v", got)
			}
		})
	}
}

// A uid's connections past its share are answered busy and closed at
// once, before the handshake, however many it opens; connections of the
// provider's own uid are served throughout.
func TestConnectionsPastAUidsShareCloseAtOnce(t *testing.T) {
	const perUID = 16
	path, s := serveAbstract(t, newProvider(100), []uint32{firstHog},
		provider.WithLimits(provider.Limits{Conns: 64, UIDConns: perUID}))
	var kept []*net.UnixConn
	refused := 0
	hello, err := msgpack.Marshal(map[string]any{"v": wireVersion})
	require.NoError(t, err)
	for range 200 {
		c := dialAs(t, path, firstHog)
		t.Cleanup(func() { c.Close() })
		// The refusal may come (and the connection close) before the hello
		// is written: its write may fail.
		c.Write(append(frameHeader(wireHello, uint32(len(hello)), 0), hello...))
		require.NoError(t, c.SetReadDeadline(time.Now().Add(time.Minute))) // a hang guard only
		typ, m := rawRecv(t, c)
		if typ != wireError {
			kept = append(kept, c)
			continue
		}
		refused++
		assert.Equal(t, "busy", m["c"])
		assert.Contains(t, m["m"], "connections (the per-uid limit)")
		_, err := c.Read(make([]byte, 1))
		var ne net.Error
		require.Error(t, err, "closed at once")
		assert.False(t, errors.As(err, &ne) && ne.Timeout(), "closed at once, not left open: %v", err)
	}
	assert.Len(t, kept, perUID, "the uid keeps its share")
	assert.Equal(t, 200-perUID, refused)
	for range 3 {
		c := contenttest.Dial(t, path)
		rows, _, err := scan(context.Background(), c, &content.Query{URI: "trips"})
		require.NoError(t, err)
		assert.Equal(t, int64(100), rows)
	}
	for _, c := range kept[:perUID/2] {
		c.Close()
	}
	require.Eventually(t, func() bool { return s.Stats().Conns <= perUID/2+3 }, 10*time.Second, time.Millisecond)
	c := dialAs(t, path, firstHog)
	defer c.Close()
	rawSend(t, c, wireHello, map[string]any{"v": wireVersion})
	typ, _ := rawRecv(t, c)
	assert.Equal(t, uint16(2), typ, "closed connections give their share back")
}

// The scale: under a soft limit of 4,096 descriptors, a second
// uid opens 4,200 connections that say hello and stay silent, while the
// provider's own uid opens a new connection and queries every 100 ms.
// The uid keeps its share of connections (a quarter of the connection
// limit, itself a quarter of the descriptors); the rest are refused busy
// and closed at once, so accept never runs out of descriptors and every
// query of the provider's uid is answered.
func TestSilentConnectionsOfAnotherUIDDoNotLockOut(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the second user's connections are made as uid 65534")
	}
	const other, silent = 65534, 4200
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hang guard only
	defer cancel()
	path, _ := startLimitedProvider(t, 4096, childOtherUID+"="+strconv.Itoa(other))
	ctl, err := content.Dial(ctx, path)
	require.NoError(t, err)
	defer ctl.Close()

	stop := make(chan struct{})
	type answer struct {
		err  error
		took time.Duration
	}
	answers := make(chan answer, 1024)
	go func() { // the provider's uid, a new connection per query
		defer close(answers)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			start := time.Now()
			qctx, qcancel := context.WithTimeout(ctx, 30*time.Second) // a hang guard only
			c, err := content.Dial(qctx, path)
			if err == nil {
				var rows int64
				rows, _, err = scan(qctx, c, &content.Query{URI: "trips", Limit: 10})
				if err == nil && rows != 10 {
					err = fmt.Errorf("%d rows", rows)
				}
				c.Close()
			}
			qcancel()
			answers <- answer{err, time.Since(start)}
		}
	}()

	hello, err := msgpack.Marshal(map[string]any{"v": wireVersion})
	require.NoError(t, err)
	conns := make([]*net.UnixConn, 0, silent)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	refused := 0
	for range silent {
		c := dialAs(t, path, other)
		conns = append(conns, c)
		c.Write(append(frameHeader(wireHello, uint32(len(hello)), 0), hello...)) // a refused one may be closed already
		require.NoError(t, c.SetReadDeadline(time.Now().Add(time.Minute)))       // a hang guard only
		typ, _, err := tryRecv(c)
		require.NoError(t, err, "every connection is answered: its helloReply or its refusal")
		if typ == wireError {
			refused++
		}
	}
	assert.Equal(t, silent-256, refused, "connections past the uid's share of 256 are refused")
	st := limitedStats(t, ctx, ctl)
	assert.LessOrEqual(t, st.conns, int64(256+2), "the uid keeps its share: %+v", st)
	close(stop)
	var n int
	var slowest time.Duration
	for a := range answers {
		n++
		slowest = max(slowest, a.took)
		assert.NoError(t, a.err, "the provider's uid is answered")
	}
	assert.NotZero(t, n)
	st = limitedStats(t, ctx, ctl)
	assert.Zero(t, st.emfile, "accept never ran out of descriptors: %+v", st)
	t.Logf("%d queries of the provider's uid answered, the slowest in %v; %d connections refused; %+v", n, slowest, refused, st)
}

// tryRecv reads one frame from c, if one comes before its deadline.
func tryRecv(c *net.UnixConn) (uint16, []byte, error) {
	h := make([]byte, 16)
	if _, err := io.ReadFull(c, h); err != nil {
		return 0, nil, err
	}
	body := make([]byte, binary.LittleEndian.Uint32(h[8:]))
	if _, err := io.ReadFull(c, body); err != nil {
		return 0, nil, err
	}
	return binary.LittleEndian.Uint16(h[6:]), body, nil
}

// A connection that holds nothing is closed after the idle timeout while
// connections are short (in their reserves); one that holds something (a
// registration) is kept.
func TestIdleConnectionsCloseWhenConnectionsAreShort(t *testing.T) {
	path, s := startServer(t, newProvider(10), provider.WithLimits(provider.Limits{
		Conns: 8, ConnReserve: 4, PrivilegedConns: 2, IdleTimeout: 20 * time.Millisecond,
	}))
	var idle []*net.UnixConn
	for range 6 {
		idle = append(idle, rawSession(t, path))
	}
	keeper := rawSession(t, path)
	rawSend(t, keeper, wireRegister, map[string]any{"r": 2, "u": "trips"})
	typ, _ := rawRecv(t, keeper)
	require.Equal(t, uint16(wireOK), typ)
	for _, c := range idle {
		require.NoError(t, c.SetReadDeadline(time.Now().Add(time.Minute))) // a hang guard only
		_, err := c.Read(make([]byte, 1))
		require.ErrorIs(t, err, io.EOF, "an idle connection is closed")
	}
	require.Eventually(t, func() bool { return s.Stats().Conns == 1 }, 10*time.Second, time.Millisecond)
	rawSend(t, keeper, wireQuery, map[string]any{"r": 3, "u": "trips", "i": true})
	typ, _ = rawRecv(t, keeper)
	assert.Equal(t, uint16(wireWindow), typ, "the connection holding a registration is served")
}
