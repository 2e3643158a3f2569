package fdpass

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Cred is the identity of the process at the other end of a connected unix
// socket, as the kernel recorded it when the connection was made
// (SO_PEERCRED): the peer's credentials at connect (or socketpair) time,
// not necessarily its current ones.
type Cred struct {
	PID int32  // process id; may be reused once that process exits
	UID uint32 // effective user id
	GID uint32 // effective group id
}

// PeerCred returns the credentials of the peer of c's connection. A
// server uses them to authorise callers (for example: same uid only).
func (c *Conn) PeerCred() (Cred, error) {
	var (
		u    *unix.Ucred
		uerr error
	)
	if err := c.rc.Control(func(fd uintptr) {
		u, uerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return Cred{}, fmt.Errorf("fdpass: peer credentials: %w", err)
	}
	if uerr != nil {
		return Cred{}, fmt.Errorf("fdpass: peer credentials: %w", uerr)
	}
	return Cred{PID: u.Pid, UID: u.Uid, GID: u.Gid}, nil
}
