package fdpass

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// appendRights appends to b the control message that passes fds
// (SCM_RIGHTS), as unix.UnixRights builds it, without allocating when b
// has room.
func appendRights(b []byte, fds []int) []byte {
	start := len(b)
	b = append(b, make([]byte, unix.CmsgSpace(4*len(fds)))...)
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[start]))
	h.Level, h.Type = unix.SOL_SOCKET, unix.SCM_RIGHTS
	h.SetLen(unix.CmsgLen(4 * len(fds)))
	data := b[start+unix.CmsgLen(0):]
	for i, fd := range fds {
		binary.NativeEndian.PutUint32(data[4*i:], uint32(fd))
	}
	return b
}

// parseRights appends to fds the descriptors of every SCM_RIGHTS message in
// oob, as unix.ParseSocketControlMessage and unix.ParseUnixRights read
// them, without allocating when fds has room. Other control messages
// (SCM_CREDENTIALS with SO_PASSCRED) are ignored. On error it returns the
// descriptors parsed so far, for the caller to close.
func parseRights(oob []byte, fds []int) ([]int, error) {
	hdr := unix.CmsgLen(0) // the header, aligned
	for i := 0; i+hdr <= len(oob); {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[i]))
		if uint64(h.Len) < uint64(unix.SizeofCmsghdr) || uint64(h.Len) > uint64(len(oob)-i) {
			return fds, fmt.Errorf("%w: control message length %d at offset %d of %d", ErrBadControl, h.Len, i, len(oob))
		}
		n := int(h.Len)
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_RIGHTS {
			if n < hdr {
				return fds, fmt.Errorf("%w: SCM_RIGHTS message of %d bytes", ErrBadControl, n)
			}
			data := oob[i+hdr : i+n]
			if len(data)%4 != 0 {
				return fds, fmt.Errorf("%w: SCM_RIGHTS data of %d bytes", ErrBadControl, len(data))
			}
			for j := 0; j < len(data); j += 4 {
				fds = append(fds, int(int32(binary.NativeEndian.Uint32(data[j:]))))
			}
		}
		i += unix.CmsgSpace(max(n-hdr, 0)) // the next message starts aligned
	}
	return fds, nil
}
