package window

import (
	"os"
	"slices"

	"github.com/cursorwindow/cursorwindow/window/internal/shm"
)

// What this package keeps to itself, exported to its own tests.

// HeaderSize is the size of a window's fixed header.
const HeaderSize = headerSize

// OpenShm, OpenSysV and OpenFile map a window of a named backing in place,
// as OpenLocation does before it copies it: the memory is not sealed, so
// reads of it must run inside Guard.
func OpenShm(name string, opts ...OpenOption) (*Window, error) {
	return openShm(name, newOpenConfig(opts))
}

func OpenSysV(id int, opts ...OpenOption) (*Window, error) {
	return openSysV(id, newOpenConfig(opts))
}

func OpenFile(path string, opts ...OpenOption) (*Window, error) {
	return openFilePath(path, newOpenConfig(opts))
}

// MapLocation is OpenLocation without the copy: the window mapped in place.
func MapLocation(l Location, opts ...OpenOption) (*Window, error) {
	return mapLocation(l, newOpenConfig(opts))
}

// OpenUnsealed maps f read-only without requiring seals or checking its
// owner: the header and every bounds check are as for Open.
func OpenUnsealed(f *os.File) (*Window, error) { return openUnsealed(f, nil, openConfig{}) }

// Guard runs fn so that a memory fault becomes ErrCorrupt (see guard).
func (w *Window) Guard(fn func() error) error { return w.guard(fn) }

// Copy returns a reader over a compact private copy of the window.
func (w *Window) Copy() (*Window, error) { return w.compactCopy() }

// Park and Reload are what Mappings does to an idle mapping and to one it
// hands out again.
func (w *Window) Park() error   { return w.park() }
func (w *Window) Reload() error { return w.reload() }

// Identity returns the identity of the memory the window maps.
func (w *Window) Identity() shm.Identity { return w.id }

// Identify returns the identity of the file f.
func Identify(f *os.File) (shm.Identity, error) {
	in, err := shm.Fstat(f)
	return in.ID, err
}

// SetNumColumns is what Pool.Get does to a window of another shape.
func (w *Writer) SetNumColumns(n int) error { return w.setNumColumns(n) }

// Sealed reports whether the window has been sealed and not Reset since.
func (w *Writer) Sealed() bool { return w.state == stateSealed }

// Used returns the bytes a compact copy of the window takes: header,
// directory and buffers.
func (w *Writer) Used() int { return int(placeExact(slices.Clone(w.cols), w.nrows)) }

// OpenPopulate is Open with MAP_POPULATE, for the benchmark that decides
// whether pre-faulting the reader's mapping pays off.
func OpenPopulate(f *os.File) (*Window, error) { return openFile(f, openConfig{}, true) }

// OpenFileBytes is the file window reader's check of a file's bytes
// (checksum, then header), for the fuzz target.
func OpenFileBytes(b []byte) (*Window, error) {
	if err := verifyChecksum(b); err != nil {
		return nil, err
	}
	return OpenBytes(b)
}

// SetScrub turns the zeroing of stale free space at seal on or off, for
// the benchmark that measures its cost; it returns the previous setting.
func SetScrub(on bool) bool {
	old := scrubFree
	scrubFree = on
	return old
}
