package fdpass_test

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"

	"github.com/cursorwindow/cursorwindow/fdpass"
)

// pair returns both ends of a unix stream socketpair.
func pair() (*net.UnixConn, *net.UnixConn) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		panic(err)
	}
	conn := func(fd int) *net.UnixConn {
		f := os.NewFile(uintptr(fd), "socketpair")
		defer f.Close()
		c, err := net.FileConn(f)
		if err != nil {
			panic(err)
		}
		return c.(*net.UnixConn)
	}
	return conn(fds[0]), conn(fds[1])
}

// A provider sends a memfd; the consumer receives its own descriptor for
// the same memory and reads it.
func Example() {
	provider, consumer := pair()
	defer provider.Close()
	defer consumer.Close()

	fd, err := unix.MemfdCreate("example", unix.MFD_CLOEXEC)
	if err != nil {
		panic(err)
	}
	mem := os.NewFile(uintptr(fd), "memfd")
	defer mem.Close() // Send does not take ownership
	mem.WriteString("rows live here")

	if err := fdpass.Send(provider, []byte("window"), mem); err != nil {
		panic(err)
	}

	buf := make([]byte, 16)
	n, files, err := fdpass.Recv(consumer, buf, 1)
	if err != nil {
		panic(err)
	}
	defer files[0].Close() // the receiver owns what it received
	data := make([]byte, 14)
	files[0].ReadAt(data, 0)
	fmt.Printf("%s: %d file: %q\n", buf[:n], len(files), data)
	// Output: window: 1 file: "rows live here"
}

func ExampleConn_PeerCred() {
	server, client := pair()
	defer server.Close() // a Conn does not own its connection
	defer client.Close()

	fc, err := fdpass.NewConn(server)
	if err != nil {
		panic(err)
	}
	cred, err := fc.PeerCred()
	if err != nil {
		panic(err)
	}
	fmt.Println(cred.UID == uint32(os.Getuid()), cred.PID == int32(os.Getpid()))
	// Output: true true
}
