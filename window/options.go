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
	// DefaultInitialSize is the size a window starts at.
	DefaultInitialSize = 16 << 10
	// DefaultName is the memfd name shown in /proc/PID/fd and maps.
	DefaultName = "cursorwindow"
	// minSize is the smallest region: a header and one slot.
	minSize = HeaderSize + SlotSize
)

type config struct {
	name        string
	maxSize     int64
	initialSize int64
	inlineLimit int64
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

// WithInlineLimit lets a window created by Create start in ordinary Go
// memory and move into a memfd only when it grows past n bytes, so that a
// small result never pays for memfd_create and mmap. The default, 0,
// creates the memfd at once.
func WithInlineLimit(n int64) Option { return func(c *config) { c.inlineLimit = n } }

// WithBacking sets where Create puts the window's bytes (default
// MemfdBacking()): ShmBacking, SysVBacking or FileBacking. New ignores it.
// For a file window WithInlineLimit is ignored: Seal writes the file.
func WithBacking(b Backing) Option { return func(c *config) { c.backing = b } }

// WithStartPos sets the position of the window's first row in the whole
// result (default 0).
func WithStartPos(pos int64) Option { return func(c *config) { c.startPos = pos } }

func newConfig(opts []Option) (config, error) {
	c := config{name: DefaultName, maxSize: DefaultMaxSize, initialSize: DefaultInitialSize, backing: MemfdBacking()}
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
