// Package shm wraps the Linux shared-memory system calls a window needs:
// memfd creation, sealing, mapping and remapping. It is the only package of
// the module that maps memory or imports unsafe.
package shm

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// PageSize is the system page size.
var PageSize = os.Getpagesize()

// Seal sets.
const (
	// SealsImmutable makes the size and the contents of a memfd immutable
	// for everyone. F_SEAL_WRITE requires that no shared writable mapping
	// exists when it is added.
	SealsImmutable = unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE | unix.F_SEAL_SEAL
	// SealsFutureWrite makes the size immutable and forbids new writable
	// mappings and write(2), while mappings made before stay writable.
	SealsFutureWrite = unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_FUTURE_WRITE | unix.F_SEAL_SEAL
)

// noexecUnsupported is set once the kernel has refused MFD_NOEXEC_SEAL
// (Linux before 6.3), so later creations skip the failing attempt.
var noexecUnsupported atomic.Bool

// CreateMemfd creates an anonymous memory file called name of size bytes
// that allows sealing and is closed on exec. MFD_NOEXEC_SEAL is used where
// the kernel knows it (Linux 6.3+).
func CreateMemfd(name string, size int64) (*os.File, error) {
	flags := unix.MFD_CLOEXEC | unix.MFD_ALLOW_SEALING
	var fd int
	var err error
	retry := noexecUnsupported.Load()
	if !retry {
		fd, err = unix.MemfdCreate(name, flags|unix.MFD_NOEXEC_SEAL)
		if errors.Is(err, unix.EINVAL) {
			noexecUnsupported.Store(true)
			retry = true
		}
	}
	if retry {
		fd, err = unix.MemfdCreate(name, flags)
	}
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "memfd:"+name)
	if err := Truncate(f, size); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Truncate sets the size of f.
func Truncate(f *os.File, size int64) error {
	if err := unix.Ftruncate(int(f.Fd()), size); err != nil {
		return fmt.Errorf("ftruncate %d: %w", size, err)
	}
	return nil
}

// AddSeals adds seals to the memfd f.
func AddSeals(f *os.File, seals int) error {
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		return fmt.Errorf("F_ADD_SEALS %#x: %w", seals, err)
	}
	return nil
}

// Seals returns the seals of f. A file that does not support sealing (not
// a memfd) reports EINVAL.
func Seals(f *os.File) (int, error) {
	s, err := unix.FcntlInt(f.Fd(), unix.F_GET_SEALS, 0)
	if err != nil {
		return 0, fmt.Errorf("F_GET_SEALS: %w", err)
	}
	return s, nil
}

// Identity names a memory file: its device and inode.
type Identity struct {
	Dev uint64
	Ino uint64
}

// Stat returns f's size, identity and whether it is a regular file.
func Stat(f *os.File) (size int64, id Identity, regular bool, err error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return 0, Identity{}, false, fmt.Errorf("fstat: %w", err)
	}
	return st.Size, Identity{Dev: st.Dev, Ino: st.Ino}, st.Mode&unix.S_IFMT == unix.S_IFREG, nil
}

// MapShared maps size bytes of f shared. Writable mappings are read-write;
// populate asks the kernel to fault the pages in up front.
//
// Mappings are made with the raw system calls (not unix.Mmap's registry)
// so that Quarantine can replace one in place.
func MapShared(f *os.File, size int, writable, populate bool) ([]byte, error) {
	prot := unix.PROT_READ
	if writable {
		prot |= unix.PROT_WRITE
	}
	flags := unix.MAP_SHARED
	if populate {
		flags |= unix.MAP_POPULATE
	}
	if size <= 0 {
		return nil, fmt.Errorf("mmap %d bytes: %w", size, unix.EINVAL)
	}
	p, err := unix.MmapPtr(int(f.Fd()), 0, nil, uintptr(size), prot, flags)
	if err != nil {
		return nil, fmt.Errorf("mmap %d bytes: %w", size, err)
	}
	return unsafe.Slice((*byte)(p), size), nil
}

// Remap resizes a mapping made by MapShared, moving it if needed.
func Remap(b []byte, size int) ([]byte, error) {
	p, err := unix.MremapPtr(unsafe.Pointer(unsafe.SliceData(b)), uintptr(len(b)), nil, uintptr(size), unix.MREMAP_MAYMOVE)
	if err != nil {
		return nil, fmt.Errorf("mremap %d to %d bytes: %w", len(b), size, err)
	}
	return unsafe.Slice((*byte)(p), size), nil
}

// Unmap removes a mapping made by MapShared or Remap.
func Unmap(b []byte) error {
	if err := unix.MunmapPtr(unsafe.Pointer(unsafe.SliceData(b)), uintptr(len(b))); err != nil {
		return fmt.Errorf("munmap: %w", err)
	}
	return nil
}

// Protect makes a mapping inaccessible (readable false) or readable
// again. The pages stay mapped: making them readable again costs no page
// faults.
func Protect(b []byte, readable bool) error {
	prot := unix.PROT_NONE
	if readable {
		prot = unix.PROT_READ
	}
	if err := unix.Mprotect(b, prot); err != nil {
		return fmt.Errorf("mprotect: %w", err)
	}
	return nil
}

// Quarantine replaces a mapping made by MapShared with an inaccessible
// anonymous reservation of the same range: the shared pages are released,
// but no later mapping can land at these addresses, so a stale view into
// them faults instead of reading someone else's memory. The range is
// never returned; it costs address space, not memory.
func Quarantine(b []byte) error {
	_, err := unix.MmapPtr(-1, 0, unsafe.Pointer(unsafe.SliceData(b)), uintptr(len(b)),
		unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED|unix.MAP_NORESERVE)
	if err != nil {
		return fmt.Errorf("mmap PROT_NONE over %d bytes: %w", len(b), err)
	}
	return nil
}

// String returns a string that shares b's memory. The string is valid only
// while b is mapped and unchanged.
func String(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// RoundUp rounds n up to a multiple of the page size.
func RoundUp(n int64) int64 {
	p := int64(PageSize)
	return (n + p - 1) / p * p
}
