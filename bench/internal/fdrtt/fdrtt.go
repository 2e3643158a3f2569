// Package fdrtt measures the floor under any descriptor handoff: one byte
// sent by the consumer, answered by one byte with a memfd attached
// (SCM_RIGHTS), which the consumer receives and closes. Two flavours run
// against the same server: raw blocking syscalls on both sides (Raw), and
// the same exchange through *net.UnixConn and package fdpass (Net), as Go
// code normally does it.
//
// # Caveats
//
// The raw server and client block an OS thread in recvmsg while waiting;
// that is the point (no netpoller), and fine for a benchmark.
package fdrtt

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"

	"github.com/cursorwindow/cursorwindow/fdpass"
)

// Serve answers round trips on ln until ctx is done: for every byte read,
// one byte with a descriptor of a memfd of size bytes attached. raw
// selects blocking syscalls instead of the netpoller.
func Serve(ctx context.Context, ln *net.UnixListener, size int64, raw bool) error {
	mfd, err := unix.MemfdCreate("fdrtt", unix.MFD_CLOEXEC)
	if err != nil {
		return err
	}
	memfd := os.NewFile(uintptr(mfd), "memfd:fdrtt")
	defer memfd.Close()
	if err := memfd.Truncate(size); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		if raw {
			go serveRaw(c, int(memfd.Fd()))
		} else {
			go serveNet(c, memfd)
		}
	}
}

func serveRaw(c *net.UnixConn, memfd int) {
	f, err := c.File() // a blocking duplicate
	c.Close()
	if err != nil {
		return
	}
	defer f.Close()
	fd := int(f.Fd())
	buf := make([]byte, 1)
	rights := unix.UnixRights(memfd)
	for {
		if n, err := unix.Read(fd, buf); err != nil || n == 0 {
			return
		}
		if err := unix.Sendmsg(fd, buf, rights, nil, 0); err != nil {
			return
		}
	}
}

func serveNet(c *net.UnixConn, memfd *os.File) {
	defer c.Close()
	buf := make([]byte, 1)
	for {
		if _, err := c.Read(buf); err != nil {
			return
		}
		if err := fdpass.Send(c, buf, memfd); err != nil {
			return
		}
	}
}

// Raw is a client using blocking syscalls.
type Raw struct {
	fd  int
	buf []byte
	oob []byte
}

// DialRaw connects to the server at path.
func DialRaw(path string) (*Raw, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &Raw{fd: fd, buf: make([]byte, 1), oob: make([]byte, unix.CmsgSpace(4))}, nil
}

// RoundTrip sends a byte and receives the answer and its descriptor,
// which it closes.
func (r *Raw) RoundTrip() error {
	if _, err := unix.Write(r.fd, r.buf); err != nil {
		return err
	}
	n, oobn, _, _, err := unix.Recvmsg(r.fd, r.buf, r.oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return err
	}
	if n != 1 {
		return fmt.Errorf("fdrtt: %d bytes", n)
	}
	msgs, err := unix.ParseSocketControlMessage(r.oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return fmt.Errorf("fdrtt: control message: %v", err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil {
		return err
	}
	for _, fd := range fds {
		unix.Close(fd)
	}
	if len(fds) != 1 {
		return fmt.Errorf("fdrtt: %d descriptors", len(fds))
	}
	return nil
}

// Close closes the connection.
func (r *Raw) Close() error { return unix.Close(r.fd) }

// Net is a client using *net.UnixConn and package fdpass.
type Net struct {
	c   *net.UnixConn
	buf []byte
}

// DialNet connects to the server at path.
func DialNet(ctx context.Context, path string) (*Net, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, err
	}
	return &Net{c: c.(*net.UnixConn), buf: make([]byte, 1)}, nil
}

// RoundTrip sends a byte and receives the answer and its descriptor,
// which it closes.
func (n *Net) RoundTrip() error {
	if _, err := n.c.Write(n.buf); err != nil {
		return err
	}
	_, files, err := fdpass.Recv(n.c, n.buf, 4)
	if err != nil {
		return err
	}
	for _, f := range files {
		f.Close()
	}
	if len(files) != 1 {
		return fmt.Errorf("fdrtt: %d descriptors", len(files))
	}
	return nil
}

// Close closes the connection.
func (n *Net) Close() error { return n.c.Close() }
