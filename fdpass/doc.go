// Package fdpass sends and receives file descriptors over unix domain
// sockets with SCM_RIGHTS, and reads a connected peer's credentials with
// SO_PEERCRED.
//
// Descriptors always travel with data: on a SOCK_STREAM socket the kernel
// attaches them to the first byte of the sendmsg call that carried them, and
// a recvmsg that reads that byte receives them. Framing (how many bytes
// belong to the message that owns the descriptors) is the caller's business;
// package parcel builds frames on top of this package.
//
// Usage:
//
//	// Sender: the caller keeps ownership of f and closes it when it likes.
//	err := fdpass.Send(conn, []byte("window"), f)
//
//	// Receiver: the returned files belong to the caller.
//	buf := make([]byte, 64)
//	n, files, err := fdpass.Recv(conn, buf, 4)
//	defer func() {
//		for _, f := range files {
//			f.Close()
//		}
//	}()
//
// For repeated use on one connection, [NewConn] returns a [Conn] that
// caches its buffers and callbacks, so sending and receiving data without
// descriptors does not allocate. It also tells a server who is calling:
//
//	fc, err := fdpass.NewConn(conn)
//	cred, err := fc.PeerCred() // SO_PEERCRED: pid, uid, gid at connect time
//
// All I/O goes through the connection's [syscall.RawConn], so it waits in
// the Go netpoller like any net.Conn operation: deadlines set on the
// *net.UnixConn apply, closing the connection unblocks a waiting call, and
// no goroutine spins or blocks a thread.
//
// # Caveats
//
//   - Ownership: Send never closes the files it is given; they stay owned by
//     the caller, who must not close them while Send runs (Send holds a
//     reference to each, so a concurrent Close waits for it). Files returned
//     by Recv are owned by the caller, are close-on-exec (MSG_CMSG_CLOEXEC),
//     and must be closed by it. On every error path, Recv closes whatever
//     descriptors arrived; it never returns files together with an error.
//     Neither the functions nor a [Conn] take ownership of the
//     *net.UnixConn: the caller closes it.
//   - Stream sockets: descriptors are attached to the first chunk of a Send,
//     exactly once, even when the data needs several sendmsg calls. A
//     receiver that reads across the boundary of two sends may receive the
//     second send's descriptors together with bytes of the first: read
//     exactly as many bytes as the current message has (package parcel does).
//   - SOCK_SEQPACKET works too: each Send is one message, sent whole or not
//     at all, and Recv returns [ErrTruncated] when the buffer is too small for
//     the message (the rest of it is discarded by the kernel).
//   - Limits: Linux accepts at most [MaxFDs] (253, SCM_MAX_FD) descriptors
//     per sendmsg. The receive control buffer is sized for maxFDs with
//     unix.CmsgSpace, which rounds up; more than maxFDs descriptors is still
//     an error ([ErrTooManyFDs]) even if they fit.
//   - Concurrency: a [Conn] allows one Send and one Recv at a time, which may
//     run concurrently with each other. The package-level functions are safe
//     to call concurrently in the sense the kernel allows, but concurrent
//     sends on a stream socket interleave their bytes; serialise them.
//   - Partial results: Recv may return n > 0 together with an error (for
//     example [ErrTruncated]); those bytes were consumed from the socket.
package fdpass
