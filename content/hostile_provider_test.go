package content

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/cursorwindow/cursorwindow/content/internal/wire"
	"github.com/cursorwindow/cursorwindow/content/internal/wiretest"
	"github.com/cursorwindow/cursorwindow/parcel"
	"github.com/cursorwindow/cursorwindow/window"
)

// fakeProvider answers the handshake properly, then answers the first
// query with whatever answer returns: a hostile provider.
func fakeProvider(t *testing.T, answer func(q *wire.QueryMsg) (parcel.Message, []*os.File)) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hostile.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		uc, err := ln.AcceptUnix()
		if err != nil {
			return
		}
		pc, err := parcel.NewConn(uc, wire.Registry)
		if err != nil {
			uc.Close()
			return
		}
		defer pc.Close()
		ctx := context.Background()
		for {
			msg, files, err := pc.Read(ctx)
			wire.CloseFiles(files)
			if err != nil {
				return
			}
			switch m := msg.(type) {
			case *wire.HelloMsg:
				pc.Write(ctx, &wire.HelloReplyMsg{Version: wire.Version, WindowSize: 1 << 20, Budget: 1 << 24})
			case *wire.QueryMsg:
				reply, files := answer(m)
				pc.Write(ctx, reply, files...)
				wire.CloseFiles(files)
			}
		}
	}()
	return path
}

// One piece: a table of hostile answers run through one scenario.
func TestHostileProvider(t *testing.T) {
	valid := wiretest.WindowBytes(t, 3)
	desc := func(m *wire.QueryMsg, rows int) *wire.WindowMsg {
		return &wire.WindowMsg{Req: m.Req, Query: m.Req, Columns: []string{"i"}, Count: -1, Win: 7, Start: 0, Rows: rows, Last: true}
	}
	for _, tc := range []struct {
		name   string
		answer func(t *testing.T, m *wire.QueryMsg) (parcel.Message, []*os.File)
		want   error
	}{
		{"unsealed memfd", func(t *testing.T, m *wire.QueryMsg) (parcel.Message, []*os.File) {
			return desc(m, 3), []*os.File{wiretest.MemfdWith(t, valid, 0)}
		}, window.ErrNotSealed},
		{"memfd without the write seal", func(t *testing.T, m *wire.QueryMsg) (parcel.Message, []*os.File) {
			return desc(m, 3), []*os.File{wiretest.MemfdWith(t, valid, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_SEAL)}
		}, window.ErrNotSealed},
		{"regular file", func(t *testing.T, m *wire.QueryMsg) (parcel.Message, []*os.File) {
			p := filepath.Join(t.TempDir(), "w")
			require.NoError(t, os.WriteFile(p, valid, 0o600))
			f, err := os.Open(p)
			require.NoError(t, err)
			return desc(m, 3), []*os.File{f}
		}, window.ErrNotSealed},
		{"pipe", func(t *testing.T, m *wire.QueryMsg) (parcel.Message, []*os.File) {
			r, w, err := os.Pipe()
			require.NoError(t, err)
			w.Close()
			return desc(m, 3), []*os.File{r}
		}, window.ErrNotSealed},
		{"file smaller than its header says", func(t *testing.T, m *wire.QueryMsg) (parcel.Message, []*os.File) {
			return desc(m, 3), []*os.File{wiretest.MemfdWith(t, valid[:len(valid)-16], wiretest.SealAll)}
		}, window.ErrCorrupt},
		{"counts near 2^32", func(t *testing.T, m *wire.QueryMsg) (parcel.Message, []*os.File) {
			b := append([]byte{}, valid...)
			binary.LittleEndian.PutUint32(b[8:], 0xFFFF_FFFF)  // columns
			binary.LittleEndian.PutUint32(b[12:], 0xFFFF_FFFF) // rows
			return desc(m, 3), []*os.File{wiretest.MemfdWith(t, b, wiretest.SealAll)}
		}, window.ErrCorrupt},
		{"rows that do not fit", func(t *testing.T, m *wire.QueryMsg) (parcel.Message, []*os.File) {
			b := append([]byte{}, valid...)
			binary.LittleEndian.PutUint32(b[12:], 0x1000_0000)
			return desc(m, 0x1000_0000), []*os.File{wiretest.MemfdWith(t, b, wiretest.SealAll)}
		}, window.ErrCorrupt},
		{"garbage inline bytes", func(t *testing.T, m *wire.QueryMsg) (parcel.Message, []*os.File) {
			d := desc(m, 3)
			d.Win, d.Inline = 0, []byte("definitely not a window, but long enough to hold a header.......")
			return d, nil
		}, window.ErrCorrupt},
		{"header disagrees with descriptor", func(t *testing.T, m *wire.QueryMsg) (parcel.Message, []*os.File) {
			return desc(m, 99), []*os.File{wiretest.MemfdWith(t, valid, wiretest.SealAll)}
		}, ErrProtocol},
		{"two descriptors", func(t *testing.T, m *wire.QueryMsg) (parcel.Message, []*os.File) {
			return desc(m, 3), []*os.File{wiretest.MemfdWith(t, valid, wiretest.SealAll), wiretest.MemfdWith(t, valid, wiretest.SealAll)}
		}, ErrProtocol},
		{"inline bytes and a descriptor", func(t *testing.T, m *wire.QueryMsg) (parcel.Message, []*os.File) {
			d := desc(m, 3)
			d.Inline = valid
			return d, []*os.File{wiretest.MemfdWith(t, valid, wiretest.SealAll)}
		}, ErrProtocol},
		{"no columns", func(t *testing.T, m *wire.QueryMsg) (parcel.Message, []*os.File) {
			d := desc(m, 3)
			d.Columns, d.Win, d.Inline = nil, 0, valid
			return d, nil
		}, ErrProtocol},
		{"wrong answer type", func(t *testing.T, m *wire.QueryMsg) (parcel.Message, []*os.File) {
			return &wire.OKMsg{Req: m.Req}, nil
		}, ErrProtocol},
		{"a memfd with window id 0", func(t *testing.T, m *wire.QueryMsg) (parcel.Message, []*os.File) {
			d := desc(m, 3)
			d.Win = 0
			return d, []*os.File{wiretest.MemfdWith(t, valid, wiretest.SealAll)}
		}, ErrProtocol},
		{"count -5", func(t *testing.T, m *wire.QueryMsg) (parcel.Message, []*os.File) {
			d := desc(m, 3)
			d.Count = -5
			return d, []*os.File{wiretest.MemfdWith(t, valid, wiretest.SealAll)}
		}, ErrProtocol},
		{"count 2 for 3 rows", func(t *testing.T, m *wire.QueryMsg) (parcel.Message, []*os.File) {
			d := desc(m, 3)
			d.Count = 2
			return d, []*os.File{wiretest.MemfdWith(t, valid, wiretest.SealAll)}
		}, ErrProtocol},
		{"count 2^63-1 in the last window", func(t *testing.T, m *wire.QueryMsg) (parcel.Message, []*os.File) {
			d := desc(m, 3)
			d.Count = 1<<63 - 1
			return d, []*os.File{wiretest.MemfdWith(t, valid, wiretest.SealAll)}
		}, ErrProtocol},
		{"an unknown query id", func(t *testing.T, m *wire.QueryMsg) (parcel.Message, []*os.File) {
			d := desc(m, 3)
			d.Query = m.Req + 40
			return d, []*os.File{wiretest.MemfdWith(t, valid, wiretest.SealAll)}
		}, ErrProtocol},
		{"done without last", func(t *testing.T, m *wire.QueryMsg) (parcel.Message, []*os.File) {
			d := desc(m, 3)
			d.Last, d.Done = false, true
			return d, []*os.File{wiretest.MemfdWith(t, valid, wiretest.SealAll)}
		}, ErrProtocol},
		{"a negative start", func(t *testing.T, m *wire.QueryMsg) (parcel.Message, []*os.File) {
			d := desc(m, 3)
			d.Start = -3
			return d, []*os.File{wiretest.MemfdWith(t, valid, wiretest.SealAll)}
		}, ErrProtocol},
		{"no window at all", func(t *testing.T, m *wire.QueryMsg) (parcel.Message, []*os.File) {
			return desc(m, 3), nil
		}, ErrProtocol},
		{"a named window and a descriptor", func(t *testing.T, m *wire.QueryMsg) (parcel.Message, []*os.File) {
			d := desc(m, 3)
			d.Backing, d.Name = "shm", "cursorwindow-x"
			return d, []*os.File{wiretest.MemfdWith(t, valid, wiretest.SealAll)}
		}, ErrProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := wiretest.CountFDs(t)
			path := fakeProvider(t, func(m *wire.QueryMsg) (parcel.Message, []*os.File) { return tc.answer(t, m) })
			c, err := Dial(context.Background(), path)
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err = c.Query(ctx, &Query{URI: "x"})
			require.ErrorIs(t, err, tc.want)
			require.NoError(t, c.Close())
			assert.Eventually(t, func() bool { return wiretest.CountFDs(t) <= before+1 }, 2*time.Second, 10*time.Millisecond,
				"no descriptor leaked") // +1: the listener, closed at cleanup
		})
	}
}

// A window announced by name is refused, before it is mapped or copied,
// if it is larger than the provider said its windows are: a 2 GiB shm
// object holding a few rows costs the consumer nothing.
func TestHugeNamedWindowRefused(t *testing.T) {
	name := fmt.Sprintf("cursorwindow-test-huge-%d", os.Getpid())
	path := "/dev/shm/" + name
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		t.Skipf("no POSIX shm here: %v", err)
	}
	t.Cleanup(func() { os.Remove(path) })
	_, err = f.WriteAt(wiretest.WindowBytes(t, 3), 0)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(2<<30)) // sparse: no memory used
	require.NoError(t, f.Close())

	before := wiretest.CountFDs(t)
	sock := fakeProvider(t, func(m *wire.QueryMsg) (parcel.Message, []*os.File) {
		return &wire.WindowMsg{Req: m.Req, Query: m.Req, Columns: []string{"i"}, Count: 3, Win: 9, Rows: 3, Last: true,
			Backing: "shm", Name: name}, nil
	})
	c, err := Dial(context.Background(), sock)
	require.NoError(t, err)
	defer c.Close()
	var before2 runtime.MemStats
	runtime.ReadMemStats(&before2)
	_, err = c.Query(context.Background(), &Query{URI: "x"})
	require.ErrorIs(t, err, window.ErrTooLarge)
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	assert.Less(t, after.TotalAlloc-before2.TotalAlloc, uint64(1<<20), "the window was not copied")
	require.NoError(t, c.Close())
	assert.Eventually(t, func() bool { return wiretest.CountFDs(t) <= before+1 }, 2*time.Second, 10*time.Millisecond)
}

func TestHostileOffsetsOutsideTheData(t *testing.T) {
	b := wiretest.OffsetsOutOfRange(t)
	path := fakeProvider(t, func(m *wire.QueryMsg) (parcel.Message, []*os.File) {
		return &wire.WindowMsg{Req: m.Req, Query: m.Req, Columns: []string{"s"}, Count: 1, Win: 1, Rows: 1, Last: true},
			[]*os.File{wiretest.MemfdWith(t, b, wiretest.SealAll)}
	})
	c, err := Dial(context.Background(), path)
	require.NoError(t, err)
	defer c.Close()
	cur, err := c.Query(context.Background(), &Query{URI: "x"})
	require.NoError(t, err, "the header is valid")
	require.True(t, cur.Next())
	_, err = cur.StringView(0)
	require.ErrorIs(t, err, window.ErrCorrupt)
	_, err = cur.String(0)
	require.ErrorIs(t, err, window.ErrCorrupt)
	require.NoError(t, cur.Close())
}

// A descriptor that is not a memfd is refused in the user's terms: what
// it is, and that it cannot be sealed.
func TestNotAMemfdSaysWhatItIs(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer w.Close()
	sock := fakeProvider(t, func(m *wire.QueryMsg) (parcel.Message, []*os.File) {
		return &wire.WindowMsg{Req: m.Req, Query: m.Req, Columns: []string{"i"}, Count: -1, Win: 7, Rows: 3, Last: true}, []*os.File{r}
	})
	c, err := Dial(context.Background(), sock)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Query(context.Background(), &Query{URI: "x"})
	require.ErrorIs(t, err, window.ErrNotSealed)
	assert.Contains(t, err.Error(), "the descriptor is a pipe, not a memfd")
}
