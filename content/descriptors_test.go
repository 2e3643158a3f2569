package content_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

// uidQueries is provider.Limits.UIDQueries' default.
const uidQueries = 256

// Environment of the limited provider child: its socket, its soft
// descriptor limit, and a second uid it admits besides its own.
const (
	childLimited  = "CURSORWINDOW_CONTENT_LIMITED"
	childNofile   = "CURSORWINDOW_CONTENT_NOFILE"
	childOtherUID = "CURSORWINDOW_CONTENT_OTHER_UID"
	// childConns sets the child's connection limits, "total,per-uid"
	// (provider.Limits.Conns, UIDConns), for tests about descriptors
	// rather than about connections' fair shares.
	childConns = "CURSORWINDOW_CONTENT_CONNS"
)

func init() {
	if path := os.Getenv(childLimited); path != "" {
		os.Exit(runLimitedProvider(path))
	}
}

// limitedProvider serves benchTable(20,000) as "trips" and answers the
// call "stats" with what the parent cannot see from outside: goroutines,
// connections, windows, the Rows open (the provider's "database
// connections") and how many times accept failed for want of descriptors.
type limitedProvider struct {
	*contenttest.MemProvider
	srv  *provider.Server
	logs *logStore
	rows atomic.Int64
}

func (p *limitedProvider) Query(ctx context.Context, q *content.Query) (provider.Rows, error) {
	r, err := p.MemProvider.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	p.rows.Add(1)
	return &countedRows{Rows: r, open: &p.rows}, nil
}

func (p *limitedProvider) Call(ctx context.Context, method, arg string, extras content.Values) (content.Values, error) {
	if method != "stats" {
		return p.MemProvider.Call(ctx, method, arg, extras)
	}
	st := p.srv.Stats()
	return content.Values{
		"goroutines": runtime.NumGoroutine(), "conns": st.Conns, "windows": st.WindowsOut,
		"idle": st.PoolIdle + st.CachedIdle, "rows": p.rows.Load(), "emfile": p.logs.acceptEMFILE(),
	}, nil
}

// countedRows counts itself out of open when closed.
type countedRows struct {
	provider.Rows
	open *atomic.Int64
	once sync.Once
}

func (r *countedRows) Close() error {
	r.once.Do(func() { r.open.Add(-1) })
	return r.Rows.Close()
}

func (r *countedRows) Count() int64 {
	if c, ok := r.Rows.(provider.Counter); ok {
		return c.Count()
	}
	return -1
}

// acceptEMFILE counts the accept failures logged for want of descriptors.
func (s *logStore) acceptEMFILE() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.entries {
		if err, ok := e.attrs["err"].(error); ok && strings.Contains(e.msg, "accept") && errors.Is(err, syscall.EMFILE) {
			n++
		}
	}
	return n
}

// runLimitedProvider is the child: it lowers its soft descriptor limit and
// serves until SIGTERM.
func runLimitedProvider(path string) int {
	nofile, err := strconv.ParseUint(os.Getenv(childNofile), 10, 64)
	if err != nil {
		fmt.Println("nofile:", err)
		return 1
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		fmt.Println("getrlimit:", err)
		return 1
	}
	lim.Cur = nofile
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		fmt.Println("setrlimit:", err)
		return 1
	}
	logger, logs := newLogRecorder()
	p := &limitedProvider{MemProvider: contenttest.NewMemProvider(), logs: logs}
	p.AddTable("trips", []string{"id", "fare", "city", "payload"}, benchTable(20_000))
	// A 64 MiB budget of 2 MiB windows: 32 windows, at most 16 per uid. A
	// query waits for window memory 1 s, not 5: a scan refused is then
	// refused quickly.
	opts := []provider.ServerOption{provider.WithLogger(logger), provider.WithMemoryBudget(64 << 20), provider.WithPoolWait(time.Second)}
	if s := os.Getenv(childOtherUID); s != "" {
		uid, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			fmt.Println("uid:", err)
			return 1
		}
		opts = append(opts, provider.WithAuthorizer(provider.AllowUIDs(uint32(os.Geteuid()), uint32(uid))))
	}
	if s := os.Getenv(childConns); s != "" {
		var lim provider.Limits
		if _, err := fmt.Sscanf(s, "%d,%d", &lim.Conns, &lim.UIDConns); err != nil {
			fmt.Println("conns:", err)
			return 1
		}
		opts = append(opts, provider.WithLimits(lim))
	}
	p.srv = provider.NewServer(p, opts...)
	ln, err := provider.Listen(path, 0o600)
	if err != nil {
		fmt.Println("listen:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	fmt.Println("ready")
	if err := p.srv.Serve(ctx, ln); err != nil {
		fmt.Println("serve:", err)
		return 1
	}
	return 0
}

// startLimitedProvider runs the limited provider in a child process with
// a soft descriptor limit of nofile, on an abstract socket (which any uid
// may reach: the Authorizer decides), and returns its socket and process.
func startLimitedProvider(t testing.TB, nofile int, env ...string) (string, *exec.Cmd) {
	t.Helper()
	path := fmt.Sprintf("@cursorwindow-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	return path, startChild(t, append([]string{childLimited + "=" + path, childNofile + "=" + strconv.Itoa(nofile)}, env...)...)
}

type childStats struct {
	goroutines, conns, windows, idle, rows, emfile int64
}

// limitedStats asks the child for its stats over c.
func limitedStats(t testing.TB, ctx context.Context, c *content.Client) childStats {
	t.Helper()
	v, err := c.Call(ctx, "stats", "", nil)
	require.NoError(t, err)
	get := func(k string) int64 {
		x, err := content.NormalizeValue(v[k])
		require.NoError(t, err, k)
		return x.(int64)
	}
	return childStats{get("goroutines"), get("conns"), get("windows"), get("idle"), get("rows"), get("emfile")}
}

// procFDs counts the open descriptors of process pid.
func procFDs(t testing.TB, pid int) int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	require.NoError(t, err)
	return len(ents)
}

// scanAll checks that a new consumer reads the whole table.
func scanAll(t testing.TB, ctx context.Context, path string, opts ...content.QueryOption) {
	t.Helper()
	require.NoError(t, tryScanAll(ctx, path, opts...))
}

func tryScanAll(ctx context.Context, path string, opts ...content.QueryOption) error {
	c, err := content.Dial(ctx, path)
	if err != nil {
		return err
	}
	defer c.Close()
	rows, sum, err := scan(ctx, c, &content.Query{URI: "trips"}, opts...)
	switch {
	case err != nil:
		return err
	case rows != 20_000 || sum != wantSum(20_000):
		return fmt.Errorf("%d rows, sum %v: want 20000 rows, sum %v", rows, sum, wantSum(20_000))
	}
	return nil
}

// settle waits until the child is back to its baseline: only the
// control connection, no window held, no Rows open, no more descriptors
// than before beyond its idle windows, no more goroutines (but one).
func settle(t testing.TB, ctx context.Context, ctl *content.Client, pid int, base childStats, baseFDs int) {
	t.Helper()
	waitUntil(t, 30*time.Second, func() (bool, string) {
		st, fds := limitedStats(t, ctx, ctl), procFDs(t, pid)
		// +1: a request that ran past the inline budget hands the control
		// connection's reading to a second goroutine, and the first waits
		// for it until the connection ends.
		return st.conns == 1 && st.windows == 0 && st.rows == 0 && fds-int(st.idle) <= baseFDs && st.goroutines <= base.goroutines+1,
			fmt.Sprintf("back to baseline: %+v and %d descriptors beyond idle windows, was %+v and %d", st, fds-int(st.idle), base, baseFDs)
	})
}

// waitUntil polls cond, on the test's goroutine, until it holds; past the
// guard it fails with cond's last description.
func waitUntil(t testing.TB, guard time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(guard)
	for {
		ok, desc := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s (waited %v)", desc, guard)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAcceptOutOfDescriptors: connections until accept fails with EMFILE
// (a soft limit of 256): the provider goes on serving the consumer it
// has, backs off instead of returning from Serve, and once the
// connections close serves a new consumer and is back to its baseline of
// descriptors and goroutines.
func TestAcceptOutOfDescriptors(t *testing.T) {
	const nofile = 256
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hang guard only
	defer cancel()
	// Connections allowed past the descriptors: accept runs out first.
	path, cmd := startLimitedProvider(t, nofile, childConns+"=4096,4096")
	pid := cmd.Process.Pid
	ctl, err := content.Dial(ctx, path)
	require.NoError(t, err)
	defer ctl.Close()
	scanAll(t, ctx, path) // fills the pool: its windows are the baseline's
	var base childStats
	waitUntil(t, 10*time.Second, func() (bool, string) {
		base = limitedStats(t, ctx, ctl)
		return base.conns == 1, fmt.Sprintf("only the control connection: %+v", base)
	})
	baseFDs := procFDs(t, pid) - int(base.idle)

	var conns []*net.UnixConn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for limitedStats(t, ctx, ctl).emfile == 0 {
		require.Less(t, len(conns), 4*nofile, "accept never ran out of descriptors")
		for range 16 {
			c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
			require.NoError(t, err)
			conns = append(conns, c)
		}
	}
	t.Logf("accept failed with EMFILE after %d connections", len(conns))
	// Still serving the consumer it has (inline: no new descriptor).
	rows, _, err := scan(ctx, ctl, &content.Query{URI: "trips", Limit: 50})
	require.NoError(t, err, "the provider serves its consumers while it cannot accept")
	assert.Equal(t, int64(50), rows)

	for _, c := range conns {
		c.Close()
	}
	conns = nil
	scanAll(t, ctx, path)                   // waits for the backlog to drain: Dial's hello is answered once accepted
	settle(t, ctx, ctl, pid, base, baseFDs) // its stats answered: Serve did not return

}

// dialAs connects to the abstract socket path with effective uid uid, as
// a second user would: only the calling thread changes its euid (a raw
// setresuid, not Go's syscall.Setresuid, which changes every thread), for
// the socket and connect calls, and changes it back. SO_PEERCRED records
// the euid at connect. The caller must be root.
func dialAs(t testing.TB, path string, uid int) *net.UnixConn {
	t.Helper()
	type result struct {
		fd  int
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		keep := uintptr(^uint32(0)) // -1: unchanged
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, keep, uintptr(uid), keep); e != 0 {
			runtime.UnlockOSThread()
			done <- result{-1, fmt.Errorf("setresuid: %w", e)}
			return
		}
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err == nil {
			if err = unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
				unix.Close(fd)
				fd = -1
			}
		}
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, keep, 0, keep); e != 0 {
			// The thread keeps the other uid: it stays locked and ends
			// with this goroutine.
			done <- result{fd, fmt.Errorf("restoring euid 0: %w", e)}
			return
		}
		runtime.UnlockOSThread()
		done <- result{fd, err}
	}()
	r := <-done
	require.NoError(t, r.err)
	f := os.NewFile(uintptr(r.fd), "as-uid")
	defer f.Close()
	nc, err := net.FileConn(f)
	require.NoError(t, err)
	return nc.(*net.UnixConn)
}

// outq returns the bytes c has sent that its peer has not read yet.
func outq(t testing.TB, c *net.UnixConn) int {
	rc, err := c.SyscallConn()
	require.NoError(t, err)
	var n int
	var ierr error
	require.NoError(t, rc.Control(func(fd uintptr) { n, ierr = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ) }))
	require.NoError(t, ierr)
	return n
}

// TestNeverReadQueriesOfAnotherUID is the scale: under a soft
// limit of 1,024 descriptors, a second uid opens 200 connections and
// sends 64 queries on each, each of its own result, and never reads an
// answer. A consumer of the provider's own uid scans the whole table,
// in shared windows, before, during and after; the provider never runs
// out of descriptors, its goroutines and open Rows stay bounded by the
// limits (two goroutines per connection, its reader and the one that
// handed reading over, plus one per open query; at most UIDQueries = 256
// Rows for the uid), and once the connections close it returns to its
// baseline of descriptors, goroutines and Rows.
// One piece: before, during and after the attack are one scenario whose
// baselines each phase compares with.
func TestNeverReadQueriesOfAnotherUID(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the second user's connections are made as uid 65534")
	}
	const other, conns, queries = 65534, 200, 64
	const uidWindows = 16                                                   // half the child's budget
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hang guard only
	defer cancel()
	// Connections allowed for all 200: the point is queries and windows.
	path, cmd := startLimitedProvider(t, 1024, childOtherUID+"="+strconv.Itoa(other), childConns+"=1024,256")
	pid := cmd.Process.Pid
	ctl, err := content.Dial(ctx, path)
	require.NoError(t, err)
	defer ctl.Close()
	scanAll(t, ctx, path)
	var base childStats
	waitUntil(t, 10*time.Second, func() (bool, string) {
		base = limitedStats(t, ctx, ctl)
		return base.conns == 1, fmt.Sprintf("only the control connection: %+v", base)
	})
	baseFDs := procFDs(t, pid) - int(base.idle)
	bound := func(st childStats) {
		t.Helper()
		assert.LessOrEqual(t, st.goroutines, base.goroutines+2*conns+uidQueries+64, "goroutines: %+v", st)
		assert.LessOrEqual(t, st.rows, int64(uidQueries+8), "open Rows: %+v", st)
		assert.Zero(t, st.emfile, "the provider never ran out of descriptors")
	}

	var starved []error // the first uid's failed scans, the second's windows over its limit
	attackers := make([]*net.UnixConn, 0, conns)
	defer func() {
		for _, c := range attackers {
			c.Close()
		}
	}()
	for i := range conns {
		c := dialAs(t, path, other)
		attackers = append(attackers, c)
		require.NoError(t, c.SetWriteDeadline(time.Now().Add(time.Minute)))
		rawSend(t, c, 1, map[string]any{"v": wireVersion})
		for j := range queries {
			// Distinct limits: distinct results, none shared with another.
			rawSend(t, c, 3, map[string]any{"r": 2 + j, "u": "trips", "l": 1000 + i*queries + j})
		}
		if i%50 == 49 { // served throughout
			if err := tryScanAll(ctx, path); err != nil {
				starved = append(starved, fmt.Errorf("after %d connections: %w", i+1, err))
			}
			var st childStats
			waitUntil(t, 30*time.Second, func() (bool, string) { // the scan's connection has ended
				st = limitedStats(t, ctx, ctl)
				return st.conns == int64(i+2), fmt.Sprintf("%+v", st)
			})
			bound(st)
			if st.windows > uidWindows {
				starved = append(starved, fmt.Errorf("after %d connections the uid holds %d windows", i+1, st.windows))
			}
		}
	}
	// Every query read by the provider: the uid holds what it may.
	waitUntil(t, time.Minute, func() (bool, string) {
		unread := 0
		for _, c := range attackers {
			unread += outq(t, c)
		}
		return unread == 0, fmt.Sprintf("the provider reads every query: %d bytes unread", unread)
	})
	st := limitedStats(t, ctx, ctl)
	bound(st)
	assert.Equal(t, int64(conns+1), st.conns)
	if st.windows > uidWindows {
		starved = append(starved, fmt.Errorf("with every query read the uid holds %d windows", st.windows))
	}
	// The other uid holding all it may does not stop this scan.
	if err := tryScanAll(ctx, path); err != nil {
		starved = append(starved, fmt.Errorf("with every query read: %w", err))
	}
	t.Logf("under attack: %+v, %d descriptors (baseline %+v, %d beyond idle windows)", st, procFDs(t, pid), base, baseFDs)

	for _, c := range attackers {
		c.Close()
	}
	attackers = nil
	settle(t, ctx, ctl, pid, base, baseFDs)
	scanAll(t, ctx, path)
	if len(starved) > 0 {
		t.Fatalf("the second uid holds more windows than its limit, which can starve the first uid's scan: %v\n"+
			"The uid held %d windows at the end (its limit is 16, half the budget of 32): Limits.UIDWindows is "+
			"checked before a shared window is taken from the pool (serverConn.canHoldWindow, in sharedWindow and "+
			"reuse) but counted only when the window is attached, after the fill; fills running at once on the "+
			"uid's 200 connections all pass the check and take what the budget has left (all of it, in some runs), "+
			"and a consumer that never reads never gives it back. Fix: "+
			"reserve the window in the quota when it is checked (a tryHoldWindow that counts it for the uid and "+
			"the connection under one lock) and give the reservation back if the fill fails or stays inline.",
			errors.Join(starved...), st.windows)
	}
}
