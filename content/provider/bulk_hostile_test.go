package provider

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/internal/wire"
	"github.com/cursorwindow/cursorwindow/content/internal/wiretest"
	"github.com/cursorwindow/cursorwindow/parcel"
	"github.com/cursorwindow/cursorwindow/window"
)

// sink is a provider that counts the rows inserted into it; inserts into
// "slow" wait for gate.
type sink struct {
	ReadOnly
	gate chan struct{}
	mu   sync.Mutex
	rows int64
}

func (s *sink) Query(context.Context, *content.Query) (Rows, error) { return nil, content.ErrNotFound }

func (s *sink) Insert(ctx context.Context, uri string, _ content.Values) (int64, error) {
	if uri == "slow" {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rows++
	return s.rows, nil
}

// serveSink serves a sink on a fresh socket until the test ends.
func serveSink(t *testing.T, opts ...ServerOption) (string, *Server, *sink) {
	t.Helper()
	p := &sink{gate: make(chan struct{})}
	path, s := serveProvider(t, p, opts...)
	return path, s, p
}

// serveProvider serves p on a fresh socket until the test ends, with
// 64 KiB windows and rows of at most 1 MiB.
func serveProvider(t *testing.T, p Provider, opts ...ServerOption) (string, *Server) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "run", "p.sock")
	ln, err := Listen(path, 0o600)
	require.NoError(t, err)
	s := NewServer(p, append([]ServerOption{WithLogger(slog.New(slog.DiscardHandler)), WithWindowSize(64 << 10), withMaxRowWindow(1 << 20)}, opts...)...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return path, s
}

// rawLoad is a consumer speaking the protocol by hand: it starts a load
// and sends whatever window a test makes.
type rawLoad struct {
	t  *testing.T
	pc *parcel.Conn
}

func startRawLoad(t *testing.T, path, uri string) *rawLoad {
	l := rawHello(t, path)
	_, ok := l.send(&wire.BulkMsg{Req: 2, Bulk: 2, URI: uri, Columns: []string{"i"}}).(*wire.OKMsg)
	require.True(t, ok, "the load starts")
	return l
}

func (l *rawLoad) send(m parcel.Message, files ...*os.File) parcel.Message {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(l.t, l.pc.Write(ctx, m, files...))
	wire.CloseFiles(files)
	reply, rf, err := l.pc.Read(ctx)
	require.NoError(l.t, err)
	require.Empty(l.t, rf)
	return reply
}

// window sends a window announced with rows rows and returns the error
// the provider answers with.
func (l *rawLoad) window(rows int, f ...*os.File) error {
	reply := l.send(&wire.BulkMsg{Req: 3, Bulk: 2, Rows: rows, Last: true}, f...)
	e, ok := reply.(*wire.ErrorMsg)
	require.True(l.t, ok, "a %T answers a hostile window", reply)
	return replyError(e)
}

// Every hostile window a consumer can send is refused with the error the
// consumer's side gives for the same window from a provider, and the
// provider serves other consumers throughout, leaking nothing.
func TestHostileBulkWindows(t *testing.T) {
	path, s, p := serveSink(t)
	healthy := func() {
		c, err := content.Dial(context.Background(), path)
		require.NoError(t, err)
		defer c.Close()
		b, err := c.BulkInsert(context.Background(), "t", []string{"i"})
		require.NoError(t, err)
		for i := range 10 {
			require.NoError(t, b.Append(i))
		}
		n, err := b.Close()
		require.NoError(t, err)
		require.Equal(t, int64(10), n)
	}
	healthy()
	fds := wiretest.CountFDs(t)
	valid := wiretest.WindowBytes(t, 3)

	for _, tc := range []struct {
		name  string
		rows  int
		files func(t *testing.T) []*os.File
		want  error
		at    int64 // the row named, -1 for none
	}{
		{"unsealed memfd", 3, func(t *testing.T) []*os.File {
			return []*os.File{wiretest.MemfdWith(t, valid, 0)}
		}, window.ErrNotSealed, 0},
		{"without the write seal", 3, func(t *testing.T) []*os.File {
			return []*os.File{wiretest.MemfdWith(t, valid, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_SEAL)}
		}, window.ErrNotSealed, 0},
		{"a pipe", 3, func(t *testing.T) []*os.File {
			r, w, err := os.Pipe()
			require.NoError(t, err)
			w.Close()
			return []*os.File{r}
		}, window.ErrNotSealed, 0},
		{"an O_PATH descriptor", 3, func(t *testing.T) []*os.File {
			return []*os.File{reopen(t, wiretest.MemfdWith(t, valid, wiretest.SealAll), unix.O_PATH)}
		}, window.ErrNotSealed, 0},
		{"a write-only descriptor", 3, func(t *testing.T) []*os.File {
			return []*os.File{reopen(t, wiretest.MemfdWith(t, valid, wiretest.SealAll), unix.O_WRONLY)}
		}, window.ErrNotSealed, 0},
		{"truncated", 3, func(t *testing.T) []*os.File {
			return []*os.File{wiretest.MemfdWith(t, valid[:len(valid)-16], wiretest.SealAll)}
		}, window.ErrCorrupt, 0},
		{"a header lying about its counts", 3, func(t *testing.T) []*os.File {
			b := append([]byte{}, valid...)
			binary.LittleEndian.PutUint32(b[12:], 0xFFFF_FFFF) // rows
			return []*os.File{wiretest.MemfdWith(t, b, wiretest.SealAll)}
		}, window.ErrCorrupt, 0},
		{"a header disagreeing with its message", 5, func(t *testing.T) []*os.File {
			return []*os.File{wiretest.MemfdWith(t, valid, wiretest.SealAll)}
		}, content.ErrBadRequest, 0},
		{"offsets outside the data", 1, func(t *testing.T) []*os.File {
			return []*os.File{wiretest.MemfdWith(t, wiretest.OffsetsOutOfRange(t), wiretest.SealAll)}
		}, window.ErrCorrupt, 0},
		{"4 GiB announced", 3, func(t *testing.T) []*os.File {
			f := wiretest.MemfdWith(t, valid, 0)
			require.NoError(t, f.Truncate(4<<30)) // sparse: no memory used
			_, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, wiretest.SealAll)
			require.NoError(t, err)
			return []*os.File{f}
		}, window.ErrTooLarge, 0},
		{"an empty window", 0, func(t *testing.T) []*os.File {
			return []*os.File{wiretest.MemfdWith(t, wiretest.WindowBytes(t, 0), wiretest.SealAll)}
		}, content.ErrBadRequest, -1},
		{"a window past the window size holding two rows", 2, func(t *testing.T) []*os.File {
			w, err := window.New(1, window.WithMaxSize(1<<20))
			require.NoError(t, err)
			for range 2 {
				require.NoError(t, w.AllocRow())
				require.NoError(t, w.PutBlob(0, make([]byte, 40<<10)))
			}
			b, err := w.AppendTo(nil)
			require.NoError(t, err)
			return []*os.File{wiretest.MemfdWith(t, b, wiretest.SealAll)}
		}, content.ErrBadRequest, 0},
		{"two descriptors", 3, func(t *testing.T) []*os.File {
			return []*os.File{wiretest.MemfdWith(t, valid, wiretest.SealAll), wiretest.MemfdWith(t, valid, wiretest.SealAll)}
		}, content.ErrBadRequest, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := startRawLoad(t, path, "t")
			err := l.window(tc.rows, tc.files(t)...)
			require.ErrorIs(t, err, tc.want)
			var we *content.WriteError
			if tc.at >= 0 {
				require.ErrorAs(t, err, &we)
				assert.Equal(t, tc.at, we.Index)
				assert.Zero(t, we.Kept)
			}
			healthy()
		})
	}
	t.Run("a window for no load", func(t *testing.T) {
		l := startRawLoad(t, path, "t")
		reply := l.send(&wire.BulkMsg{Req: 9, Bulk: 77, Rows: 3, Last: true}, wiretest.MemfdWith(t, valid, wiretest.SealAll))
		e, ok := reply.(*wire.ErrorMsg)
		require.True(t, ok)
		require.ErrorIs(t, replyError(e), content.ErrBadRequest)
		healthy()
	})
	t.Run("more windows than the limits allow", func(t *testing.T) {
		// The provider waits at the first row (its gate stays shut): the
		// window past the limits ends the load at once, without waiting
		// for the provider to reach it, and every message of the load is
		// answered with that failure.
		p.mu.Lock()
		before := p.rows
		p.mu.Unlock()
		l := startRawLoad(t, path, "slow")
		ctx := context.Background()
		for i := range defaultConnWindows + 2 {
			w, err := window.Create(1, window.WithStartPos(int64(i)))
			require.NoError(t, err)
			require.NoError(t, w.AllocRow())
			require.NoError(t, w.Seal())
			require.NoError(t, l.pc.Write(ctx, &wire.BulkMsg{Req: uint64(10 + i), Bulk: 2, Rows: 1}, w.File()))
			require.NoError(t, w.Close())
		}
		codes := map[string]int{}
		answered := map[uint64]bool{}
		for range defaultConnWindows + 2 {
			reply, _, err := l.pc.Read(ctx)
			require.NoError(t, err)
			e, ok := reply.(*wire.ErrorMsg)
			require.True(t, ok, "no window of a failed load is read: %#v", reply)
			assert.False(t, answered[e.Req], "request %d answered once", e.Req)
			answered[e.Req] = true
			codes[e.Code]++
		}
		assert.Equal(t, defaultConnWindows+1, codes["busy"], "the windows up to the refused one fail with it: %v", codes)
		assert.Equal(t, 1, codes["bad_request"], "the window after it finds the load ended: %v", codes)
		p.mu.Lock()
		assert.Equal(t, before, p.rows, "nothing inserted")
		p.mu.Unlock()
		healthy()
	})
	require.Eventually(t, func() bool { return s.Stats().Conns == 0 && wiretest.CountFDs(t) <= fds }, 10*time.Second, 5*time.Millisecond,
		"descriptors and connections back to the baseline")
}

// reopen opens f again through /proc with flags (O_PATH, O_WRONLY), and
// closes f.
func reopen(t *testing.T, f *os.File, flags int) *os.File {
	t.Helper()
	defer f.Close()
	fd, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", f.Fd()), flags|unix.O_CLOEXEC, 0)
	require.NoError(t, err)
	return os.NewFile(uintptr(fd), f.Name())
}

// A consumer that starts a load and sends nothing more cannot keep the
// provider waiting (in a transaction holding the database's write lock,
// say) past the write timeout: the load fails and is forgotten.
func TestIdleBulkLoadEnds(t *testing.T) {
	path, s, p := serveSink(t, WithTimeouts(10*time.Second, 100*time.Millisecond))
	defer close(p.gate)
	l := startRawLoad(t, path, "t")
	loads := func() int {
		s.mu.Lock()
		defer s.mu.Unlock()
		n := 0
		for c := range s.conns {
			c.mu.Lock()
			n += len(c.bulks)
			c.mu.Unlock()
		}
		return n
	}
	require.Eventually(t, func() bool { return loads() == 0 }, 10*time.Second, time.Millisecond)
	err := l.window(3, wiretest.MemfdWith(t, wiretest.WindowBytes(t, 3), wiretest.SealAll))
	require.ErrorIs(t, err, content.ErrBadRequest, "the load is gone")
	assert.Contains(t, err.Error(), "no bulk insert 2 under way")
}

// Any refused message of a load under way ends the load at once: the
// provider, waiting inside its insert of an earlier window's row (its
// gate never opens), sees its context cancelled, so a transaction it
// holds is rolled back and its locks released; the messages the load had
// received are answered with the refusal, and a later window of the load
// is refused instead of committing.
func TestRefusedBulkWindowEndsTheLoad(t *testing.T) {
	path, s, p := serveSink(t)
	valid := wiretest.WindowBytes(t, 3)
	for _, tc := range []struct {
		name  string
		msg   wire.BulkMsg
		files func(t *testing.T) []*os.File
	}{
		{"k 0 with a window", wire.BulkMsg{Rows: 0}, func(t *testing.T) []*os.File { return []*os.File{wiretest.MemfdWith(t, valid, wiretest.SealAll)} }},
		{"k -1 with a window", wire.BulkMsg{Rows: -1}, func(t *testing.T) []*os.File { return []*os.File{wiretest.MemfdWith(t, valid, wiretest.SealAll)} }},
		{"k -1 without a window", wire.BulkMsg{Rows: -1}, func(*testing.T) []*os.File { return nil }},
		{"rows without a window", wire.BulkMsg{Rows: 3}, func(*testing.T) []*os.File { return nil }},
		{"neither a window nor an end", wire.BulkMsg{}, func(*testing.T) []*os.File { return nil }},
		{"two descriptors", wire.BulkMsg{Rows: 3}, func(t *testing.T) []*os.File {
			return []*os.File{wiretest.MemfdWith(t, valid, wiretest.SealAll), wiretest.MemfdWith(t, valid, wiretest.SealAll)}
		}},
		{"an unsealed window", wire.BulkMsg{Rows: 3}, func(t *testing.T) []*os.File { return []*os.File{wiretest.MemfdWith(t, valid, 0)} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := startRawLoad(t, path, "slow")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // a hang guard only
			defer cancel()
			first, err := window.Create(1)
			require.NoError(t, err)
			for range 3 {
				require.NoError(t, first.AllocRow())
			}
			require.NoError(t, first.Seal())
			require.NoError(t, l.pc.Write(ctx, &wire.BulkMsg{Req: 3, Bulk: 2, Rows: 3}, first.File()))
			require.NoError(t, first.Close())
			m := tc.msg
			m.Req, m.Bulk = 4, 2
			files := tc.files(t)
			require.NoError(t, l.pc.Write(ctx, &m, files...))
			wire.CloseFiles(files)
			for range 2 { // the window being inserted and the refused message
				reply, _, err := l.pc.Read(ctx)
				require.NoError(t, err)
				e, ok := reply.(*wire.ErrorMsg)
				require.True(t, ok, "a %T answers a message of the refused load", reply)
				assert.Contains(t, []uint64{3, 4}, e.Req)
				assert.Equal(t, "bad_request", e.Code, e.Message)
			}
			last, err := window.Create(1, window.WithStartPos(3))
			require.NoError(t, err)
			require.NoError(t, last.AllocRow())
			require.NoError(t, last.Seal())
			require.NoError(t, l.pc.Write(ctx, &wire.BulkMsg{Req: 5, Bulk: 2, Rows: 1, Last: true}, last.File()))
			require.NoError(t, last.Close())
			reply, _, err := l.pc.Read(ctx)
			require.NoError(t, err)
			e, ok := reply.(*wire.ErrorMsg)
			require.True(t, ok, "a later window of the load does not commit: %#v", reply)
			assert.Equal(t, "bad_request", e.Code)
			p.mu.Lock()
			assert.Zero(t, p.rows, "nothing inserted")
			p.mu.Unlock()
		})
	}
	require.Eventually(t, func() bool { return s.Stats().Conns == 0 }, 10*time.Second, time.Millisecond)
}

// replyError is the error a consumer makes of an error reply (content's
// replyError).
func replyError(e *wire.ErrorMsg) error {
	var err error = &content.ProviderError{Code: e.Code, Message: e.Message, Window: e.Window}
	if e.At != nil {
		err = &content.WriteError{Index: *e.At, Kept: e.Kept, Err: err}
	}
	return err
}
