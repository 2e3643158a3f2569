package content

import (
	"io"
	"net"
	"os"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
	"golang.org/x/sys/unix"

	"github.com/cursorwindow/cursorwindow/content/internal/wire"
	"github.com/cursorwindow/cursorwindow/parcel"

	"github.com/cursorwindow/cursorwindow/window"
)

// FuzzMessages decodes arbitrary bytes as every message of the protocol,
// exactly as a peer's parcel bodies are decoded (parcel.Registry.Decode),
// and passes whatever decodes as a
// window reply through the cursor's checks: errors are fine, panics are
// not, and a descriptor-less reply can never yield a window that
// disagrees with its descriptor.
func FuzzMessages(f *testing.F) {
	w, _ := window.New(1)
	w.AllocRow()
	w.PutString(0, "seed")
	valid, _ := w.AppendTo(nil)
	for _, m := range []any{
		&wire.WindowMsg{Req: 2, Query: 2, Columns: []string{"c"}, Count: 1, Rows: 1, Last: true, Inline: valid, Done: true},
		&wire.WindowMsg{Req: 3, Query: 2, Win: 9, Start: 100, Rows: 5},
		&wire.QueryMsg{Req: 2, URI: "t", Projection: []string{"a"}, Selection: "a > ?", Args: []any{1, "x", 2.5, nil}},
		&wire.WriteMsg{Req: 4, Op: wire.WriteInsert, URI: "t", Values: Values{"a": 1}},
		&wire.ErrorMsg{Req: 5, Code: "not_found", Message: "no"},
	} {
		b, err := msgpack.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// The cursor answers bad windows with a release: give it a connection
	// whose other end discards everything.
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		f.Fatal(err)
	}
	mine, peer := os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b")
	defer peer.Close()
	go io.Copy(io.Discard, peer)
	nc, err := net.FileConn(mine)
	mine.Close()
	if err != nil {
		f.Fatal(err)
	}
	pc, err := parcel.NewConn(nc.(*net.UnixConn), wire.Registry)
	if err != nil {
		f.Fatal(err)
	}
	defer pc.Close()
	client := &Client{pc: pc, maps: window.NewMappings(1)}
	f.Fuzz(func(t *testing.T, data []byte) {
		for code := wire.CodeHello; code <= wire.CodeBatchReply; code++ {
			m, err := wire.Registry.Decode(code, data) // as parcel.Conn decodes a peer's body
			if err != nil {
				continue
			}
			wire.ReqID(m)
			wm, ok := m.(*wire.WindowMsg)
			if !ok {
				continue
			}
			cur := &Cursor{c: client, query: wm.Query}
			cw, err := cur.openWindow(wm, nil)
			if err != nil {
				continue
			}
			if cw.w.StartPos() != wm.Start || int64(cw.w.NumRows()) != cw.rows {
				t.Fatalf("window (start %d, %d rows) accepted for descriptor (start %d, %d rows)",
					cw.w.StartPos(), cw.w.NumRows(), wm.Start, wm.Rows)
			}
			for row := range cw.w.NumRows() {
				for col := range cw.w.NumColumns() {
					cw.w.String(row, col)
				}
			}
		}
	})
}
