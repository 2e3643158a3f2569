package provider_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/internal/wire"
	"github.com/cursorwindow/cursorwindow/content/provider"
	"github.com/cursorwindow/cursorwindow/parcel"
	"github.com/cursorwindow/cursorwindow/window"
)

// What the server allocates to answer a 1-row query whose whole result
// is its first, inline, reply, its Provider's allocations and the
// request's decoding (parcel's and wire's) apart: the figures
// docs/PERFORMANCE.md ("Small queries") gives; TestSmallQueryAllocs
// fails past them. A repeated query is answered from its kept small
// result, opening no query; a query seen once is filled, and its cache
// key made.
const (
	maxRepeatAllocs      = 0
	maxQueryAllocs       = 1
	maxFilledQueryAllocs = 2
)

// TestSmallQueryAllocs counts (never times) the server's allocations for
// a 1-row query answered whole by its first reply, inline: a raw consumer
// that allocates nothing sends an encoded request again and again and
// reads the reply's bytes, and the provider's rows allocate nothing, so
// what is counted is the server's, less what decoding the request
// allocates (counted apart). Allocations are CPU on the provider's side
// of every small query (docs/PERFORMANCE.md, "Small queries"); it fails
// if one comes back.
func TestSmallQueryAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, tc := range []struct {
		name     string
		distinct bool // every query has another argument: none repeats
		max      int
		opts     []provider.ServerOption
	}{
		{"shared", false, maxRepeatAllocs, nil}, // the default: a repeat is answered from its kept result
		{"shared-distinct", true, maxFilledQueryAllocs, nil},
		{"noshare", false, maxQueryAllocs, []provider.ServerOption{provider.WithSharedWindows(false)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, staticProvider{}, tc.distinct, tc.opts...)
			for range 10 { // warm the pools
				c.query(t)
			}
			allocs := testing.AllocsPerRun(500, func() { c.query(t) })
			decode := testing.AllocsPerRun(500, func() { c.decode(t) })
			t.Logf("%.1f allocations a query, %.1f of them decoding the request", allocs, decode)
			require.LessOrEqual(t, allocs-decode, float64(tc.max), "the server's allocations for a 1-row query (%.1f with the request's decoding)", allocs)
		})
	}
}

// BenchmarkSmallQuery is a 1-row query's round trip against a server in
// this process, from a raw consumer that allocates nothing and decodes
// nothing: its time and allocations are the provider's (and the two
// system calls and wake-ups of each side); cpu-ns/op is the process's
// CPU time a query, both sides'. "static" is a provider whose
// rows allocate nothing; "memprovider" is contenttest.MemProvider.
func BenchmarkSmallQuery(b *testing.B) {
	mem := contenttest.NewMemProvider()
	mem.AddTable("t", []string{"id", "name"}, [][]any{{int64(1), "a"}, {int64(2), "b"}})
	for _, p := range []struct {
		name string
		p    provider.Provider
	}{{"static", staticProvider{}}, {"memprovider", mem}} {
		for _, tc := range []struct {
			name            string
			share, distinct bool
		}{{"shared", true, false}, {"shared-distinct", true, true}, {"noshare", false, false}} {
			b.Run(p.name+"/"+tc.name, func(b *testing.B) {
				c := dialRaw(b, p.p, tc.distinct, provider.WithSharedWindows(tc.share))
				b.ReportAllocs()
				cpu0 := cpuTime()
				for b.Loop() {
					c.query(b)
				}
				b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// cpuTime returns the CPU time the process has used, its threads' and
// the kernel's for it: on a busy machine a steadier measure of the work
// a query costs than the time it takes.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rawConsumer speaks to a server with pre-encoded frames: one query's
// request, sent again and again (a query answered whole by its first
// reply ends there, so its id is free again), and the reply read as
// bytes into a buffer it keeps. With distinct queries, the query's
// argument, an int64, is counted up in the frame's bytes, so that no
// query repeats an earlier one.
type rawConsumer struct {
	uc    *net.UnixConn
	req   []byte // the query's frame
	argAt int    // where the argument's 8 bytes are in req; 0: none
	n     uint64
	hdr   [parcel.HeaderSize]byte
	body  []byte
	// A socket pair to read requests back through, as the server does
	// (decode).
	feed   *net.UnixConn
	reader *parcel.Conn
}

// argMark is the argument a distinct query is encoded with, to be found
// in its frame.
const argMark = 0x0102030405060708

// dialRaw serves p and returns a raw consumer of it, past the handshake,
// querying 1 row of "t" (with an argument that changes every query, if
// distinct).
func dialRaw(tb testing.TB, p provider.Provider, distinct bool, opts ...provider.ServerOption) *rawConsumer {
	tb.Helper()
	path, _ := contenttest.Serve(tb, p, opts...)
	uc, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	require.NoError(tb, err)
	tb.Cleanup(func() { uc.Close() })
	pc, err := parcel.NewConn(uc, wire.Registry)
	require.NoError(tb, err)
	ctx := context.Background()
	require.NoError(tb, pc.Write(ctx, &wire.HelloMsg{Version: wire.Version}))
	m, _, err := pc.Read(ctx)
	require.NoError(tb, err)
	require.IsType(tb, &wire.HelloReplyMsg{}, m)
	c := &rawConsumer{uc: uc, body: make([]byte, 64<<10)}
	if !distinct {
		c.req = encodeFrame(tb, &wire.QueryMsg{Req: 7, URI: "t", Limit: 1})
		return c
	}
	c.req = encodeFrame(tb, &wire.QueryMsg{Req: 7, URI: "t", Limit: 1, Selection: "id <> ?", Args: []any{int64(argMark)}})
	c.argAt = bytes.Index(c.req, binary.BigEndian.AppendUint64(nil, argMark))
	require.Positive(tb, c.argAt, "the argument in the query's frame")
	c.n = argMark
	return c
}

// socketpair returns the two ends of a unix stream socket pair.
func socketpair(tb testing.TB) (*net.UnixConn, *net.UnixConn) {
	tb.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	require.NoError(tb, err)
	conn := func(fd int) *net.UnixConn {
		f := os.NewFile(uintptr(fd), "socketpair")
		defer f.Close()
		c, err := net.FileConn(f)
		require.NoError(tb, err)
		return c.(*net.UnixConn)
	}
	return conn(fds[0]), conn(fds[1])
}

// encodeFrame returns m's frame as parcel writes it.
func encodeFrame(tb testing.TB, m parcel.Message) []byte {
	tb.Helper()
	a, b := socketpair(tb)
	defer a.Close()
	defer b.Close()
	pc, err := parcel.NewConn(a, wire.Registry)
	require.NoError(tb, err)
	require.NoError(tb, pc.Write(context.Background(), m))
	var hdr [parcel.HeaderSize]byte
	_, err = io.ReadFull(b, hdr[:])
	require.NoError(tb, err)
	frame := make([]byte, parcel.HeaderSize+int(binary.LittleEndian.Uint32(hdr[8:])))
	copy(frame, hdr[:])
	_, err = io.ReadFull(b, frame[parcel.HeaderSize:])
	require.NoError(tb, err)
	return frame
}

// decode reads the query's request (its next query's) through a
// parcel.Conn of its own, as the server reads it.
func (c *rawConsumer) decode(tb testing.TB) {
	if c.argAt > 0 {
		c.n++
		binary.BigEndian.PutUint64(c.req[c.argAt:], c.n)
	}
	if c.reader == nil {
		a, b := socketpair(tb)
		tb.Cleanup(func() { a.Close(); b.Close() })
		pc, err := parcel.NewConn(b, wire.Registry)
		require.NoError(tb, err)
		c.feed, c.reader = a, pc
	}
	if _, err := c.feed.Write(c.req); err != nil {
		tb.Fatal(err)
	}
	if _, _, err := c.reader.Read(context.Background()); err != nil {
		tb.Fatal(err)
	}
}

// query sends the query and reads its reply, which must be a window.
func (c *rawConsumer) query(tb testing.TB) {
	if c.argAt > 0 {
		c.n++
		binary.BigEndian.PutUint64(c.req[c.argAt:], c.n) // msgpack's int64: big-endian
	}
	if _, err := c.uc.Write(c.req); err != nil {
		tb.Fatal(err)
	}
	if _, err := io.ReadFull(c.uc, c.hdr[:]); err != nil {
		tb.Fatal(err)
	}
	typ, n := binary.LittleEndian.Uint16(c.hdr[6:]), binary.LittleEndian.Uint32(c.hdr[8:])
	if typ != wire.CodeWindow || int(n) > len(c.body) {
		tb.Fatalf("reply of type %d, %d bytes: want a window", typ, n)
	}
	if _, err := io.ReadFull(c.uc, c.body[:n]); err != nil {
		tb.Fatal(err)
	}
}

// staticProvider serves one row of two typed columns and allocates
// nothing to do it: its rows are pooled.
type staticProvider struct{ provider.ReadOnly }

var staticRowsPool = sync.Pool{New: func() any { return new(staticRows) }}

func (staticProvider) Query(context.Context, *content.Query) (provider.Rows, error) {
	r := staticRowsPool.Get().(*staticRows)
	r.n = 0
	return r, nil
}

type staticRows struct{ n int }

var (
	staticColumns = []string{"id", "name"}
	staticTypes   = []content.ColumnType{
		{DatabaseType: "INTEGER", NullableKnown: true},
		{DatabaseType: "TEXT", Nullable: true, NullableKnown: true},
	}
)

func (r *staticRows) Columns() []string                 { return staticColumns }
func (r *staticRows) ColumnTypes() []content.ColumnType { return staticTypes }
func (r *staticRows) Next() bool                        { r.n++; return r.n == 1 }
func (r *staticRows) Err() error                        { return nil }
func (r *staticRows) Close() error                      { staticRowsPool.Put(r); return nil }
func (r *staticRows) Put(w *window.Writer) error {
	if err := w.PutInt64(0, 1); err != nil {
		return err
	}
	return w.PutString(1, "a")
}
