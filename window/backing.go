package window

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"

	"github.com/cursorwindow/cursorwindow/window/internal/shm"
)

// Kind names where a window's bytes live: in Go memory (the zero Kind,
// KindMemory) or in one of the backings Create can put them in.
type Kind uint8

// Kinds of memory a window lives in.
const (
	// KindMemory is ordinary Go memory, shared by copying its bytes: a
	// window of New, and the zero Location.
	KindMemory Kind = iota
	// KindMemfd is an anonymous memfd, found through its descriptor: the
	// default backing of Create, and the only one that can be sealed.
	KindMemfd
	// KindShm is a POSIX shared memory object, a file in /dev/shm found
	// by its name.
	KindShm
	// KindSysV is a System V shared memory segment, found by its id or
	// the key it was created under.
	KindSysV
	// KindFile is a regular file, found by its path, written durably and
	// checksummed: a snapshot that outlives its writer.
	KindFile
)

// String returns the kind's name: memory, memfd, shm, sysv or file.
func (k Kind) String() string {
	switch k {
	case KindMemory:
		return "memory"
	case KindMemfd:
		return "memfd"
	case KindShm:
		return "shm"
	case KindSysV:
		return "sysv"
	case KindFile:
		return "file"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Backing says where Create puts a window's bytes: an anonymous memfd
// (the default), ShmBacking, SysVBacking or FileBacking, chosen with
// WithBacking. A backing creates a region of a
// given size, grows it while the window is written where it can, finishes
// it at Seal, and removes it at Close; readers find it by its Location.
// docs/BACKINGS.md compares them.
//
// The set of backings is closed: the interface cannot be implemented
// outside this package, so every backing keeps the reader's guarantees.
type Backing interface {
	// Kind reports which backing this is.
	Kind() Kind
	// create returns a new writable region of at least size bytes for a
	// window that may grow to max; name prefixes any name it makes.
	create(name string, size, max int64) (region, error)
}

// region is one window's memory in a backing, as its writer holds it.
type region interface {
	// mem returns the writer's mapping, or nil once seal has removed it.
	mem() []byte
	// grow resizes the region in place to size bytes, keeping its bytes.
	grow(size int64) error
	// seal finishes the region, compacted to size bytes by the writer;
	// reusable keeps the writer's mapping writable for Reset.
	seal(size int64, reusable bool) error
	// mapReadOnly maps a region again that seal unmapped.
	mapReadOnly(size int64) error
	// file returns the region's descriptor, or nil if it has none.
	file() *os.File
	// location says how a reader finds the region.
	location() Location
	// close unmaps the region and removes what outlives the process
	// (names, segments, unfinished files).
	close() error
}

// Location says how a reader finds a window outside the writer's process.
// Kind says which fields are set; the zero Location is a window in Go
// memory, shared by copying its bytes.
type Location struct {
	Kind Kind
	// Name is a KindShm object's name in /dev/shm (no slash).
	Name string
	// ID is a KindSysV segment's id, Key the key it was created under.
	ID, Key int
	// Path is a KindFile window's path.
	Path string
}

// String describes the location: "shm:NAME", "sysv:ID (key 0xKEY)",
// "file:PATH", "memfd" or "memory".
func (l Location) String() string {
	switch l.Kind {
	case KindShm:
		return "shm:" + l.Name
	case KindSysV:
		return fmt.Sprintf("sysv:%d (key %#x)", l.ID, l.Key)
	case KindFile:
		return "file:" + l.Path
	}
	return l.Kind.String()
}

// OpenLocation returns a reader over a private copy of the window at l:
// a POSIX shm object (KindShm, by name), a System V segment (KindSysV, by
// id) or a file window (KindFile, by path), as Writer.Location reports
// it. A memfd is found by its descriptor, not a location: use Open.
//
// None of these can be sealed: their owner could truncate the memory
// under a reader (a fault) or change it while it is read. So OpenLocation
// checks the region first (owner and mode, ErrPermission; its size, with
// WithSizeLimit ErrTooLarge; a file window's checksum, ErrCorrupt), maps
// it just long enough to copy what the header says is used (a fault while
// copying is ErrCorrupt), unmaps it, and validates the copy as a window of
// its own. Nothing the owner does afterwards reaches the reader. The copy
// is ordinary Go memory: its views stay valid until the reader is
// garbage, and its Close frees nothing. A consumer that is sent the same
// locations again keeps their mappings with Mappings.CopyLocation.
func OpenLocation(l Location, opts ...OpenOption) (*Window, error) {
	return copyLocation(l, newOpenConfig(opts))
}

// copyLocation maps the window at l, copies it and unmaps it.
func copyLocation(l Location, cfg openConfig) (*Window, error) {
	w, err := mapLocation(l, cfg)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	return w.compactCopy()
}

// mapLocation maps the window at l read-only, in place, once its checks
// pass. Its reads must run inside guard: the memory is not sealed.
func mapLocation(l Location, cfg openConfig) (*Window, error) {
	switch l.Kind {
	case KindShm:
		return openShm(l.Name, cfg)
	case KindSysV:
		return openSysV(l.ID, cfg)
	case KindFile:
		return openFilePath(l.Path, cfg)
	}
	return nil, errNoLocation(l)
}

func errNoLocation(l Location) error {
	return fmt.Errorf("window: cannot open a %s window by location", l.Kind)
}

// errFixedSize reports a region that cannot be resized in place.
var errFixedSize = errors.New("window: backing cannot grow")

// seq numbers the names and keys this process makes.
var seq atomic.Uint64

// memfdBacking is the default backing: an anonymous memfd, closed on
// exec, that Seal makes immutable for every process. It is found through
// its descriptor (Writer.File), passed over a unix socket or to a child
// (Writer.Inherit); it vanishes with its last descriptor and mapping, so a
// crash leaves nothing behind.
type memfdBacking struct{}

func (memfdBacking) Kind() Kind { return KindMemfd }

func (memfdBacking) create(name string, size, _ int64) (region, error) {
	f, err := shm.CreateMemfd(name, size)
	if err != nil {
		return nil, err
	}
	b, err := shm.MapShared(f, int(size), true, false)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &memfdRegion{f: f, b: b}, nil
}

// memfdRegion is a memfd and the writer's mapping of it. It is also the
// base of the other file-backed regions (POSIX shm, file).
type memfdRegion struct {
	f *os.File
	b []byte
}

func (r *memfdRegion) mem() []byte        { return r.b }
func (r *memfdRegion) file() *os.File     { return r.f }
func (r *memfdRegion) location() Location { return Location{Kind: KindMemfd} }

// grow enlarges the file, its new pages allocated before they are mapped
// (a full tmpfs or disk is an error here, not a SIGBUS in the writer's
// next store), and the mapping. On error the region is unchanged.
func (r *memfdRegion) grow(size int64) error {
	old := int64(len(r.b))
	if err := shm.Allocate(r.f, old, size); err != nil {
		return err
	}
	b, err := shm.Remap(r.b, int(size))
	if err != nil {
		shm.Truncate(r.f, old)
		return err
	}
	r.b = b
	return nil
}

// shrink cuts the mapping, then the file, to size bytes: the writer never
// holds pages past the file's end.
func (r *memfdRegion) shrink(size int64) error {
	if size < int64(len(r.b)) {
		b, err := shm.Remap(r.b, int(size))
		if err != nil {
			return err
		}
		r.b = b
	}
	return shm.Truncate(r.f, size)
}

// seal seals the memfd. Without reusable the writer's writable mapping is
// removed first: the kernel refuses F_SEAL_WRITE while one exists.
func (r *memfdRegion) seal(size int64, reusable bool) error {
	if reusable {
		return shm.AddSeals(r.f, shm.SealsFutureWrite)
	}
	if err := shm.Unmap(r.b); err != nil {
		return err
	}
	r.b = nil
	if err := shm.Truncate(r.f, size); err != nil {
		return err
	}
	return shm.AddSeals(r.f, shm.SealsImmutable)
}

func (r *memfdRegion) mapReadOnly(size int64) error {
	if r.b != nil {
		return nil
	}
	b, err := shm.MapShared(r.f, int(size), false, false)
	if err != nil {
		return err
	}
	r.b = b
	return nil
}

func (r *memfdRegion) close() error {
	var err error
	if r.b != nil {
		err = shm.Unmap(r.b)
	}
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	r.b, r.f = nil, nil
	return err
}
