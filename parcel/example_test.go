package parcel_test

import (
	"context"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"

	"github.com/cursorwindow/cursorwindow/parcel"
)

// Query is a request message.
type Query struct {
	Table string `msgpack:"table"`
	Limit int    `msgpack:"limit"`
}

// ParcelType implements parcel.Message.
func (*Query) ParcelType() uint16 { return 1 }

// Window is a reply message; its memfd travels as an attached descriptor.
type Window struct {
	StartPos int64 `msgpack:"start"`
	NumRows  int64 `msgpack:"rows"`
	Size     int64 `msgpack:"size"`
}

// ParcelType implements parcel.Message.
func (*Window) ParcelType() uint16 { return 2 }

// examplePair returns two parcel Conns over a socketpair.
func examplePair(reg *parcel.Registry) (*parcel.Conn, *parcel.Conn) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		panic(err)
	}
	conn := func(fd int) *parcel.Conn {
		f := os.NewFile(uintptr(fd), "socketpair")
		defer f.Close()
		c, err := net.FileConn(f)
		if err != nil {
			panic(err)
		}
		pc, err := parcel.NewConn(c.(*net.UnixConn), reg)
		if err != nil {
			panic(err)
		}
		return pc
	}
	return conn(fds[0]), conn(fds[1])
}

// A consumer sends a query; the provider answers with a window descriptor
// and the memfd holding the rows.
func Example() {
	reg := parcel.NewRegistry()
	reg.Register(1, func() parcel.Message { return new(Query) })
	reg.Register(2, func() parcel.Message { return new(Window) })
	consumer, provider := examplePair(reg)
	defer consumer.Close()
	defer provider.Close()
	ctx := context.Background()

	go func() { // the provider
		msg, _, err := provider.Read(ctx)
		if err != nil {
			panic(err)
		}
		q := msg.(*Query)
		fd, _ := unix.MemfdCreate("rows", unix.MFD_CLOEXEC)
		mem := os.NewFile(uintptr(fd), "rows")
		defer mem.Close() // Write does not take ownership
		mem.WriteString("row data")
		provider.Write(ctx, &Window{NumRows: int64(q.Limit), Size: 8}, mem)
	}()

	if err := consumer.Write(ctx, &Query{Table: "orders", Limit: 100}); err != nil {
		panic(err)
	}
	msg, files, err := consumer.Read(ctx)
	if err != nil {
		panic(err)
	}
	defer files[0].Close() // received files are ours
	w := msg.(*Window)
	buf := make([]byte, w.Size)
	files[0].ReadAt(buf, 0)
	fmt.Printf("%d rows, %d file: %q\n", w.NumRows, len(files), buf)
	// Output: 100 rows, 1 file: "row data"
}

// Unknown message types are reported and skipped; the connection stays
// usable.
func ExampleConn_Read_unknownType() {
	// Both ends know only Query; Window (type 2) is written anyway.
	only := parcel.NewRegistry()
	only.Register(1, func() parcel.Message { return new(Query) })
	a, b := examplePair(only)
	defer a.Close()
	defer b.Close()
	ctx := context.Background()
	a.Write(ctx, &Window{NumRows: 1})
	a.Write(ctx, &Query{Table: "t"})

	_, _, err := b.Read(ctx)
	fmt.Println(err)
	msg, _, err := b.Read(ctx)
	fmt.Println(msg.(*Query).Table, err)
	// Output:
	// parcel: unknown message type: 2
	// t <nil>
}
