package window

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/cursorwindow/cursorwindow/window/internal/shm"
)

// ShmBacking returns a backing of POSIX shared memory objects: files in
// /dev/shm, as shm_open(3) makes them, found by name. Each window gets a
// new object named "PREFIX-PID-SEQ", PREFIX being the writer's name
// (WithName, default "cursorwindow"), created exclusively with mode 0600,
// so only the writer's uid (and root) can open it. The writer removes the
// name at Close; readers that opened it keep their mapping. A crashed
// writer leaves its names behind: RemoveStale removes them.
//
// An object cannot be sealed: its owner can truncate it under a reader or
// change its bytes. OpenLocation checks owner and mode, and reads a
// private copy.
func ShmBacking() Backing { return shmBacking{} }

type shmBacking struct{}

func (shmBacking) Kind() Kind { return KindShm }

func (shmBacking) create(prefix string, size, _ int64) (region, error) {
	if err := validPrefix(prefix); err != nil {
		return nil, err
	}
	name := prefix + "-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatUint(seq.Add(1), 10)
	f, err := shm.CreateShm(name, size)
	if err != nil {
		return nil, err
	}
	b, err := shm.MapShared(f, int(size), true, false)
	if err != nil {
		f.Close()
		shm.UnlinkShm(name)
		return nil, err
	}
	return &shmRegion{memfdRegion: memfdRegion{f: f, b: b}, name: name}, nil
}

// shmRegion is a POSIX shm object: a memfdRegion with a name and no seals.
type shmRegion struct {
	memfdRegion
	name string
}

func (r *shmRegion) location() Location { return Location{Kind: KindShm, Name: r.name} }

// seal shrinks the object to the compacted window; a reusable one keeps
// its size for Reset. Nothing stops its owner changing it later.
func (r *shmRegion) seal(size int64, reusable bool) error {
	if reusable {
		return nil
	}
	return r.shrink(size)
}

func (r *shmRegion) mapReadOnly(int64) error { return nil }

func (r *shmRegion) close() error {
	err := r.memfdRegion.close()
	if uerr := shm.UnlinkShm(r.name); err == nil && !errors.Is(uerr, unix.ENOENT) {
		err = uerr
	}
	return err
}

// maxNameLen bounds a name in /dev/shm (NAME_MAX less room for the pid
// and sequence number a backing appends to a prefix).
const maxNameLen = 255

// validName checks a POSIX shm object name: 1 to 255 bytes of letters,
// digits, '.', '_' and '-', not starting with '.', so it is one plain file
// name in /dev/shm and cannot reach outside it.
func validName(name string) error {
	if name == "" || len(name) > maxNameLen || name[0] == '.' {
		return fmt.Errorf("window: invalid shm name %q", name)
	}
	for i := range len(name) {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("window: invalid shm name %q: byte %q", name, c)
		}
	}
	return nil
}

// validPrefix checks a name prefix, leaving room for "-PID-SEQ".
func validPrefix(p string) error {
	if len(p) > maxNameLen-42 {
		return fmt.Errorf("window: shm name prefix of %d bytes is too long", len(p))
	}
	return validName(p)
}

// openShm maps the POSIX shared memory object name (in /dev/shm)
// read-only. It refuses a name that is not one plain file name, a
// symbolic link, an object that is not a regular file, and one not owned
// by the caller's effective uid or open to its group or others (mode &
// 0077 != 0): only the caller's uid can have made it or can change it.
// With WithSizeLimit a larger object is refused (ErrTooLarge) before it
// is mapped. The object is not sealed: it is read inside guard.
func openShm(name string, cfg openConfig) (*Window, error) {
	f, err := openShmName(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	w, err := openUnsealed(f, checkOwner, cfg)
	if err != nil {
		return nil, fmt.Errorf("shm %s: %w", name, err)
	}
	return w, nil
}

// openShmName opens the POSIX shm object name read-only, once name is
// one plain file name.
func openShmName(name string) (*os.File, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	return shm.OpenShm(name)
}

// checkOwner admits an object owned by the effective uid and closed to its
// group and others.
func checkOwner(in shm.Info) error {
	if uid := uint32(os.Geteuid()); in.UID != uid {
		return fmt.Errorf("%w: owner uid %d, not %d", ErrPermission, in.UID, uid)
	}
	if in.Mode&0o077 != 0 {
		return fmt.Errorf("%w: mode %#o is open to group or others", ErrPermission, in.Mode)
	}
	return nil
}
