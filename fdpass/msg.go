package fdpass

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// msg is the header of one sendmsg or recvmsg call, kept in the Conn so
// that a call allocates nothing (x/sys's Recvmsg allocates the peer's
// address twice a call).
//
// The calls are raw system calls (unix.RawSyscall), not unix.Syscall:
// the socket is non-blocking, so sendmsg and recvmsg return at once
// (EAGAIN, and the caller waits in the netpoller), and the runtime's
// entersyscall is not needed to hand the P on. It is not free either:
// when every P of the process was idle (a process waiting for its peer's
// answer, which is what a small query's two processes do in turn),
// entersyscall wakes the runtime's sysmon thread, a futex call on the
// path of the reply (about one query in five on each side,
// docs/PERFORMANCE.md, "Small queries").
type msg struct {
	hdr unix.Msghdr
	iov unix.Iovec
}

// set points the header at p and oob. Bounds: the kernel writes at most
// iov.Len = len(p) bytes at &p[0] and Controllen = len(oob) bytes at
// &oob[0], the slices' own lengths; p is not empty (Send and Recv refuse
// empty data).
func (m *msg) set(p, oob []byte) {
	m.iov.Base = &p[0]
	m.iov.SetLen(len(p))
	m.hdr = unix.Msghdr{Iov: &m.iov}
	m.hdr.SetIovlen(1)
	if len(oob) > 0 {
		m.hdr.Control = &oob[0]
		m.hdr.SetControllen(len(oob))
	}
}

// clear drops the header's pointers into the caller's buffers.
func (m *msg) clear() { *m = msg{} }

// recvmsg is one recvmsg(2) on fd into p and oob.
func (m *msg) recvmsg(fd int, p, oob []byte, flags int) (n, oobn, recvflags int, err error) {
	m.set(p, oob)
	defer m.clear()
	r, _, errno := unix.RawSyscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&m.hdr)), uintptr(flags))
	if errno != 0 {
		return 0, 0, 0, errno
	}
	return int(r), int(m.hdr.Controllen), int(m.hdr.Flags), nil
}

// sendmsg is one sendmsg(2) on fd of p with oob.
func (m *msg) sendmsg(fd int, p, oob []byte, flags int) (int, error) {
	m.set(p, oob)
	defer m.clear()
	r, _, errno := unix.RawSyscall(unix.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&m.hdr)), uintptr(flags))
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}
