package window

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/cursorwindow/cursorwindow/window/internal/shm"
)

// sysvKeyTag is the top byte of every System V key this package makes
// ('C'), so RemoveStale can tell its segments from other programs'.
const sysvKeyTag = 0x43

// SysVBacking returns a backing of System V shared memory segments
// (shmget/shmat), found by id or key. Each window gets a new segment of
// its maximum size (a segment cannot grow; pages never touched cost no
// memory), created exclusively with mode 0600 under a key whose top byte
// is 'C' (0x43). The writer marks the segment for removal (IPC_RMID) at
// Close: readers attached by then keep it until they detach, and no one
// can attach it afterwards. A crashed writer leaves its segments behind:
// RemoveStale removes them.
//
// A segment cannot be sealed, but neither can it shrink: a reader never
// faults. Its owner can still change its bytes while it is read.
func SysVBacking() Backing { return sysvBacking{} }

type sysvBacking struct{}

func (sysvBacking) Kind() Kind { return KindSysV }

func (sysvBacking) create(_ string, _, max int64) (region, error) {
	size := shm.RoundUp(max)
	var id, key int
	var err error
	for range 64 {
		key = sysvKey(os.Getpid(), seq.Add(1))
		id, err = shm.SysVCreate(key, size)
		if !errors.Is(err, unix.EEXIST) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	b, err := shm.SysVAttach(id, true)
	if err != nil {
		shm.SysVRemove(id)
		return nil, err
	}
	return &sysvRegion{id: id, key: key, b: b[:max]}, nil
}

// sysvKey derives a key from the pid and a sequence number, tagged.
func sysvKey(pid int, n uint64) int {
	h := uint32(pid)*0x9e3779b1 + uint32(n)*0x85ebca6b
	h ^= h >> 15
	return sysvKeyTag<<24 | int(h&0xffffff)
}

// sysvRegion is an attached System V segment.
type sysvRegion struct {
	id, key int
	b       []byte
}

func (r *sysvRegion) mem() []byte             { return r.b }
func (r *sysvRegion) file() *os.File          { return nil }
func (r *sysvRegion) grow(int64) error        { return errFixedSize }
func (r *sysvRegion) seal(int64, bool) error  { return nil }
func (r *sysvRegion) mapReadOnly(int64) error { return nil }
func (r *sysvRegion) location() Location      { return Location{Kind: KindSysV, ID: r.id, Key: r.key} }

func (r *sysvRegion) close() error {
	var err error
	if r.b != nil {
		err = shm.SysVDetach(r.b)
		r.b = nil
	}
	if rerr := shm.SysVRemove(r.id); err == nil && !errors.Is(rerr, unix.EINVAL) && !errors.Is(rerr, unix.EIDRM) {
		err = rerr
	}
	return err
}

// openSysV attaches the System V segment id read-only (SHM_RDONLY) and
// returns a reader over the window at its start. Before attaching it
// checks with IPC_STAT that the segment is owned by the caller's
// effective uid, closed to its group and others, and large enough; the
// window's size is read from its header once and must lie within the
// segment. With WithSizeLimit a larger segment is refused (ErrTooLarge)
// before it is attached. The segment is not sealed: its owner may change
// its bytes while they are read, though never its size.
func openSysV(id int, cfg openConfig) (*Window, error) {
	if _, err := statSysV(id, cfg); err != nil {
		return nil, err
	}
	return attachSysV(id, cfg)
}

// statSysV checks with IPC_STAT the segment's owner, mode and size, and
// returns what IPC_STAT said of it.
func statSysV(id int, cfg openConfig) (shm.Info, error) {
	in, err := shm.SysVStat(id)
	if err != nil {
		return shm.Info{}, err
	}
	if err := checkOwner(in); err != nil {
		return shm.Info{}, fmt.Errorf("sysv %d: %w", id, err)
	}
	if err := cfg.checkSize(in.Size); err != nil {
		return shm.Info{}, fmt.Errorf("sysv %d: %w", id, err)
	}
	return in, nil
}

// attachSysV attaches the segment statSysV admitted, read-only, and
// validates the window at its start.
func attachSysV(id int, cfg openConfig) (*Window, error) {
	m, err := shm.SysVAttach(id, false)
	if err != nil {
		return nil, err
	}
	if len(m) < headerSize {
		shm.SysVDetach(m)
		return nil, corruptf("sysv %d: segment size %d", id, len(m))
	}
	size := le.Uint64(m[offSize:])
	if size < headerSize || size > uint64(len(m)) {
		shm.SysVDetach(m)
		return nil, corruptf("sysv %d: window size %d in a segment of %d bytes", id, size, len(m))
	}
	w, err := OpenBytes(m[:size:size])
	if err != nil {
		shm.SysVDetach(m)
		return nil, err
	}
	w.mapping = m
	w.id = shm.SysVIdentity(id)
	w.quarantine = cfg.quarantine
	return w, nil
}
