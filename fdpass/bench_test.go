package fdpass_test

import (
	"io"
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cursorwindow/cursorwindow/fdpass"
)

// BenchmarkPingPong measures a round trip of a 64-byte message between two
// goroutines over a stream socketpair: with fdpass and no descriptor, with
// fdpass and one descriptor (the receiver closes it), and with plain
// Write/Read for reference.
func BenchmarkPingPong(b *testing.B) {
	const size = 64
	for _, bc := range []struct {
		name string
		fds  int
	}{{"plain", -1}, {"fds=0", 0}, {"fds=1", 1}} {
		b.Run(bc.name, func(b *testing.B) {
			x, y := socketPair(b, unix.SOCK_STREAM)
			var files []*os.File
			if bc.fds > 0 {
				files = []*os.File{memfd(b, "bench")}
			}
			done := make(chan struct{})
			defer func() { x.Close(); <-done }()
			go func() { // echo side
				defer close(done)
				fy, _ := fdpass.NewConn(y)
				buf := make([]byte, size)
				for {
					if bc.fds < 0 {
						if _, err := io.ReadFull(y, buf); err != nil {
							return
						}
						if _, err := y.Write(buf); err != nil {
							return
						}
						continue
					}
					n, got, err := fy.Recv(buf, 1)
					if err != nil || n != size {
						return
					}
					closeAll(got)
					if _, err := fy.Send(buf); err != nil {
						return
					}
				}
			}()
			fx, _ := fdpass.NewConn(x)
			msg, buf := make([]byte, size), make([]byte, size)
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				if bc.fds < 0 {
					if _, err := x.Write(msg); err != nil {
						b.Fatal(err)
					}
					if _, err := io.ReadFull(x, buf); err != nil {
						b.Fatal(err)
					}
					continue
				}
				if _, err := fx.Send(msg, files...); err != nil {
					b.Fatal(err)
				}
				if _, _, err := fx.Recv(buf, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
