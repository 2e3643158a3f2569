package window

import (
	"errors"
	"fmt"
)

// Defaults for Create and New.
const (
	// DefaultMaxSize is the largest a window grows to unless WithMaxSize
	// says otherwise: 2 MiB, Android's CursorWindow default.
	DefaultMaxSize = 2 << 20
	// defaultInitialSize is the size a window starts at.
	defaultInitialSize = 16 << 10
	// DefaultName is the memfd name shown in /proc/PID/fd and maps.
	DefaultName = "cursorwindow"
	// minSize is the smallest region: a header, the directory entry of
	// one column and room for its first row.
	minSize = headerSize + entrySize + 16
)

type config struct {
	name        string
	maxSize     int64
	initialSize int64
	startPos    int64
	backing     Backing
}

// Option configures Create and New.
type Option func(*config)

// WithName sets the memfd's name (default "cursorwindow"), shown as
// "memfd:NAME" in /proc/PID/fd and /proc/PID/maps. With ShmBacking it is
// the prefix of the object's name, "NAME-PID-SEQ", and must be letters,
// digits, '.', '_' or '-'.
func WithName(name string) Option { return func(c *config) { c.name = name } }

// WithMaxSize sets the size a window may grow to while it is written
// (default 2 MiB). A row that does not fit at this size is ErrWindowFull.
func WithMaxSize(n int64) Option { return func(c *config) { c.maxSize = n } }

// WithInitialSize sets the size a window starts at (default 16 KiB, capped
// at the maximum size). A window doubles when it is full.
func WithInitialSize(n int64) Option { return func(c *config) { c.initialSize = n } }

// WithBacking sets where Create puts the window's bytes (default: an
// anonymous memfd, KindMemfd): ShmBacking, SysVBacking or FileBacking. New
// ignores it: its window stays in Go memory.
func WithBacking(b Backing) Option { return func(c *config) { c.backing = b } }

// WithStartPos sets the position of the window's first row in the whole
// result (default 0).
func WithStartPos(pos int64) Option { return func(c *config) { c.startPos = pos } }

func newConfig(opts []Option) (config, error) {
	c := config{name: DefaultName, maxSize: DefaultMaxSize, initialSize: defaultInitialSize, backing: memfdBacking{}}
	for _, o := range opts {
		o(&c)
	}
	switch {
	case c.backing == nil:
		return c, errors.New("window: nil Backing")
	case c.maxSize < minSize:
		return c, fmt.Errorf("%w: max size %d below minimum %d", ErrTooLarge, c.maxSize, minSize)
	case c.maxSize > maxRegion:
		return c, fmt.Errorf("%w: max size %d exceeds limit %d", ErrTooLarge, c.maxSize, int64(maxRegion))
	case c.startPos < 0:
		return c, fmt.Errorf("window: negative start position %d", c.startPos)
	}
	c.maxSize = int64(alignDown(uint64(c.maxSize)))
	c.initialSize = min(max(c.initialSize, minSize), c.maxSize)
	c.initialSize = int64(alignUp(uint64(c.initialSize)))
	return c, nil
}

// maxRegion bounds a region so that every offset fits comfortably in the
// format's 64-bit fields and in an int on 64-bit platforms.
const maxRegion = 1 << 40

func alignDown(n uint64) uint64 { return n &^ (align - 1) }

// OpenOption configures the readers: Open, OpenInherited, OpenLocation
// and NewMappings.
type OpenOption func(*openConfig)

// openConfig is what the OpenOptions set.
type openConfig struct {
	quarantine bool
	sizeLimit  int64
	closeBatch int
}

// WithQuarantine makes Close leave the window's address range reserved
// and inaccessible instead of unmapping it, so that no later mapping can
// land there: a view kept past Close (a bug) faults instead of silently
// reading another window's data. It costs address space (the window's
// size, forever), not memory. For debugging, and for callers that cannot
// rule out stale views; see docs/SECURITY.md. For NewMappings it also
// makes a released mapping inaccessible while it waits for reuse.
func WithQuarantine() OpenOption { return func(c *openConfig) { c.quarantine = true } }

// WithSizeLimit makes a reader refuse a window whose region (the memfd,
// the POSIX shm object, the file or the System V segment) is larger than
// n bytes, with an error matching ErrTooLarge, before it maps or copies
// any of it: a peer that announces a huge window costs the reader one
// fstat. The default, and any n <= 0, is no limit beyond the format's
// (1 TiB). A consumer sets it to the largest window its provider makes.
func WithSizeLimit(n int64) OpenOption { return func(c *openConfig) { c.sizeLimit = n } }

// WithCloseBatch makes a Mappings close the descriptor of a memfd it
// maps already (a recycled window sent again) with up to n-1 others
// rather than at once, or when a mapping is unmapped: a close is a
// system call the Go runtime counts as blocking, and the first one after
// the process idled wakes the runtime's monitor thread, a futex wake a
// handoff that costs more CPU than the handoff's work on a small virtual
// machine (docs/PERFORMANCE.md). The Mappings then holds up to n-1
// descriptors more than its mappings: for a consumer of one provider,
// not for a server that maps what many peers send. The default, and any
// n <= 1, closes at once. Only NewMappings uses it.
func WithCloseBatch(n int) OpenOption { return func(c *openConfig) { c.closeBatch = n } }

func newOpenConfig(opts []OpenOption) openConfig {
	var c openConfig
	for _, o := range opts {
		o(&c)
	}
	if c.sizeLimit <= 0 || c.sizeLimit > maxRegion {
		c.sizeLimit = 0
	}
	return c
}

// checkSize admits a region of size bytes: at least a header, within the
// format's limit (else ErrCorrupt) and within the size limit (else
// ErrTooLarge: a valid window this reader will not take).
func (c openConfig) checkSize(size int64) error {
	switch {
	case size < headerSize || size > maxRegion:
		return corruptf("region of %d bytes", size)
	case c.sizeLimit > 0 && size > c.sizeLimit:
		return fmt.Errorf("%w: region of %d bytes exceeds limit %d", ErrTooLarge, size, c.sizeLimit)
	}
	return nil
}
