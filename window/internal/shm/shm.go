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

// CreateMemfd creates an anonymous memory file called name of size bytes,
// allocated (see Allocate), that allows sealing and is closed on exec. MFD_NOEXEC_SEAL is used where
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
	if err := Allocate(f, 0, size); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Allocate grows f from old to size bytes with the new blocks allocated
// (fallocate(2), mode 0), so that stores through a shared mapping of them
// cannot fault for want of space: a full filesystem or tmpfs is ENOSPC
// here, and a memory cgroup at its limit ENOMEM or an OOM kill here,
// instead of a SIGBUS at some later store. On error f is truncated back to
// old bytes (fallocate may have allocated part of the range). A
// filesystem without fallocate (EOPNOTSUPP: some network and FUSE
// filesystems) is grown with ftruncate alone and keeps that risk.
func Allocate(f *os.File, old, size int64) error {
	if size <= old {
		return Truncate(f, size)
	}
	for {
		err := unix.Fallocate(int(f.Fd()), 0, old, size-old)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.EINTR):
			continue // tmpfs gives up on any signal, the runtime's preemption included
		case errors.Is(err, unix.EOPNOTSUPP):
			return Truncate(f, size)
		}
		unix.Ftruncate(int(f.Fd()), old)
		return fmt.Errorf("fallocate %d bytes at %d: %w", size-old, old, err)
	}
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

// Identity names the memory behind a mapping: a file's device and inode,
// or a System V segment's id (SysVIdentity). A consumer that keeps
// mappings keys them by it, to recognise a window its provider sends
// again.
type Identity struct {
	Dev uint64
	Ino uint64
}

// sysvDev is the device of a System V segment's Identity, whose inode is
// the segment id: no file has it.
const sysvDev = 1<<64 - 1

// SysVIdentity returns the Identity of the System V segment id.
func SysVIdentity(id int) Identity { return Identity{Dev: sysvDev, Ino: uint64(id)} }

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

// Info is what fstat(2) says about a file, or IPC_STAT about a System V
// segment, that a reader checks before mapping it.
type Info struct {
	Size    int64
	ID      Identity
	Regular bool   // a regular file; false for a segment
	UID     uint32 // owner
	Mode    uint32 // permission bits only
}

// Fstat returns f's size, identity, type, owner and permission bits.
func Fstat(f *os.File) (Info, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return Info{}, fmt.Errorf("fstat: %w", err)
	}
	return Info{
		Size: st.Size, ID: Identity{Dev: st.Dev, Ino: st.Ino},
		Regular: st.Mode&unix.S_IFMT == unix.S_IFREG, UID: st.Uid, Mode: st.Mode & 0o7777,
	}, nil
}

// emptyPath is the empty C string statx's AT_EMPTY_PATH takes.
var emptyPath = [1]byte{}

// CachedIdentity returns the identity and size of the regular file f
// from the attributes the kernel has cached (statx with
// AT_STATX_DONT_SYNC), in a system call the Go runtime does not see:
// regular is false for anything else. It never waits on a remote or
// FUSE file's server, so the call cannot block, and it does not wake the
// runtime's monitor thread as a blocking system call entered while the
// process was idle does (a futex wake). For a memfd the cached attributes
// are the file's own. It is for recognizing a file already mapped; it
// checks nothing a mapping needs.
func CachedIdentity(f *os.File) (id Identity, size int64, regular bool, err error) {
	var stx unix.Statx_t
	_, _, e := unix.RawSyscall6(unix.SYS_STATX, f.Fd(), uintptr(unsafe.Pointer(&emptyPath[0])),
		unix.AT_EMPTY_PATH|unix.AT_STATX_DONT_SYNC, unix.STATX_TYPE|unix.STATX_INO|unix.STATX_SIZE,
		uintptr(unsafe.Pointer(&stx)), 0)
	if e != 0 {
		return Identity{}, 0, false, fmt.Errorf("statx: %w", e)
	}
	id = Identity{Dev: unix.Mkdev(stx.Dev_major, stx.Dev_minor), Ino: stx.Ino}
	return id, int64(stx.Size), uint32(stx.Mode)&unix.S_IFMT == unix.S_IFREG, nil
}

// ShmDir is where Linux keeps POSIX shared memory objects: shm_open(3) is
// open(2) on a file of this tmpfs.
const ShmDir = "/dev/shm"

// CreateShm creates the POSIX shared memory object name (a file name in
// ShmDir, no slash) exclusively, mode 0600, of size bytes allocated (see
// Allocate). On error nothing is left in ShmDir. The descriptor
// is closed on exec; a symbolic link in its place is refused.
func CreateShm(name string, size int64) (*os.File, error) {
	fd, err := unix.Open(ShmDir+"/"+name, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("shm_open %s: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), ShmDir+"/"+name)
	if err := Allocate(f, 0, size); err != nil {
		f.Close()
		unix.Unlink(ShmDir + "/" + name)
		return nil, err
	}
	return f, nil
}

// OpenShm opens the POSIX shared memory object name read-only.
func OpenShm(name string) (*os.File, error) {
	fd, err := unix.Open(ShmDir+"/"+name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("shm_open %s: %w", name, err)
	}
	return os.NewFile(uintptr(fd), ShmDir+"/"+name), nil
}

// UnlinkShm removes the name of a POSIX shared memory object. Mappings
// and descriptors of it stay valid; its memory is freed with the last.
func UnlinkShm(name string) error {
	if err := unix.Unlink(ShmDir + "/" + name); err != nil {
		return fmt.Errorf("shm_unlink %s: %w", name, err)
	}
	return nil
}

// SysVCreate creates a System V segment of size bytes under key,
// exclusively, mode 0600.
func SysVCreate(key int, size int64) (int, error) {
	id, err := unix.SysvShmGet(key, int(size), unix.IPC_CREAT|unix.IPC_EXCL|0o600)
	if err != nil {
		return -1, fmt.Errorf("shmget key %#x, %d bytes: %w", key, size, err)
	}
	return id, nil
}

// SysVStat returns the segment's size, identity, owner and mode.
func SysVStat(id int) (Info, error) {
	var d unix.SysvShmDesc
	if _, err := unix.SysvShmCtl(id, unix.IPC_STAT, &d); err != nil {
		return Info{}, fmt.Errorf("shmctl %d IPC_STAT: %w", id, err)
	}
	// Mode is a uint16 on some 32-bit platforms.
	return Info{Size: int64(d.Segsz), ID: SysVIdentity(id), UID: d.Perm.Uid, Mode: uint32(d.Perm.Mode) & 0o777}, nil
}

// SysVAttach maps the segment id, read-write or read-only (SHM_RDONLY).
// The slice is the segment's size; Unmap or SysVDetach removes it.
func SysVAttach(id int, writable bool) ([]byte, error) {
	flags := 0
	if !writable {
		flags = unix.SHM_RDONLY
	}
	b, err := unix.SysvShmAttach(id, 0, flags)
	if err != nil {
		return nil, fmt.Errorf("shmat %d: %w", id, err)
	}
	return b, nil
}

// SysVDetach removes a mapping made by SysVAttach.
func SysVDetach(b []byte) error {
	if err := unix.SysvShmDetach(b); err != nil {
		return fmt.Errorf("shmdt: %w", err)
	}
	return nil
}

// SysVRemove marks the segment for removal (IPC_RMID): its key is freed at
// once and its memory when the last process detaches.
func SysVRemove(id int) error {
	if _, err := unix.SysvShmCtl(id, unix.IPC_RMID, nil); err != nil {
		return fmt.Errorf("shmctl %d IPC_RMID: %w", id, err)
	}
	return nil
}

// Msync writes a shared file mapping's dirty pages to the file and waits
// for the writes (MS_SYNC).
func Msync(b []byte) error {
	if err := unix.Msync(b, unix.MS_SYNC); err != nil {
		return fmt.Errorf("msync: %w", err)
	}
	return nil
}

// Alive reports whether a process with this pid exists (kill(pid, 0); a
// process of another user that we may not signal exists too).
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}
