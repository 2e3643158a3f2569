package window

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/cursorwindow/cursorwindow/window/internal/shm"
)

var le = binary.LittleEndian

type writerState uint8

const (
	stateOpen writerState = iota
	stateSealed
	stateClosed
)

// Writer fills a window: the provider side. A Writer is not safe for
// concurrent use.
//
// Rows are appended with AllocRow and their fields set with the Put
// methods, which always write to the last row. The region grows by
// doubling up to its maximum size; a row that does not fit is rolled back
// and reported as ErrWindowFull. The pages of a memfd, POSIX shm or file
// region are allocated as the region is created or grown, so a full
// filesystem or tmpfs (or a memory cgroup that refuses them) rolls the row
// back too and is reported as an error wrapping syscall.ENOSPC (or
// ENOMEM), not ErrWindowFull; the rows before it stay intact.
type Writer struct {
	cfg     config
	ncols   int
	rowSize uint64

	buf []byte // the region: Go memory while inline, else reg's mapping
	reg region // the backing's region; nil while inline

	size     uint64 // len(buf) while writable
	maxSize  uint64
	nrows    uint64
	dataEnd  uint64
	startPos int64
	// rowMark is dataEnd before the last row's heap allocations, so the
	// last row can be rolled back with its strings and blobs.
	rowMark uint64
	// heapHigh and slotHigh bound what rows since removed (FreeLastRow,
	// Reset) may have left in the free space: [dataEnd, heapHigh) and the
	// slotHigh bytes below the end of the region, above the live slots.
	// The rest of the free space is zero. scrub clears these ranges
	// before a seal shows the free space to readers.
	heapHigh, slotHigh uint64

	state writerState
	// reusable reports a seal that kept the writer's memory writable
	// (F_SEAL_FUTURE_WRITE for a memfd) so the window can be Reset.
	reusable bool
	// kernelSealed reports that the region has been sealed (for a memfd,
	// with the kernel's seals): its size is fixed for good.
	kernelSealed bool

	// pool is the Pool the window came from, nil if none; idle reports
	// that it is in the pool, not out. Both are guarded by pool.mu.
	pool *Pool
	idle bool

	// row is the RowWriter Row hands out, kept here so that writing a
	// row allocates nothing.
	row RowWriter
}

var _ io.Closer = (*Writer)(nil)

// Create returns a writer for a new window of numColumns columns backed by
// a memfd, or by the backing WithBacking chooses. The caller must Close it;
// Close removes what the backing made (a name, a segment, an unfinished
// file). If Create fails, nothing it made is left: no name, no file.
func Create(numColumns int, opts ...Option) (*Writer, error) {
	return newWriter(numColumns, opts, true)
}

// New returns a writer for a window held in ordinary Go memory only. It
// never creates a memfd; its bytes are shared by copying them (Bytes,
// AppendTo), the inline path, or moved into a shared window with MoveTo.
func New(numColumns int, opts ...Option) (*Writer, error) {
	return newWriter(numColumns, opts, false)
}

// newWriter returns a writer in a region of the backing (shared) or in Go
// memory.
func newWriter(numColumns int, opts []Option, shared bool) (*Writer, error) {
	if numColumns < 1 || numColumns > MaxColumns {
		return nil, fmt.Errorf("%w: %d columns (want 1..%d)", ErrOutOfRange, numColumns, MaxColumns)
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	w := &Writer{
		cfg:     cfg,
		ncols:   numColumns,
		rowSize: uint64(numColumns) * SlotSize,
		maxSize: uint64(cfg.maxSize),
	}
	size := uint64(cfg.initialSize)
	if !shared {
		w.buf = make([]byte, size)
	} else if err := w.toRegion(min(uint64(shm.RoundUp(int64(size))), w.maxSize)); err != nil {
		return nil, err
	}
	w.size = uint64(len(w.buf))
	w.reset(cfg.startPos)
	return w, nil
}

// toRegion puts the new window in a new region of the backing of size
// bytes (or more: a System V segment is made at the maximum size).
func (w *Writer) toRegion(size uint64) error {
	r, err := w.cfg.backing.create(w.cfg.name, int64(size), int64(w.maxSize))
	if err != nil {
		return fmt.Errorf("window: creating a %s region of %d bytes: %w", w.cfg.backing.Kind(), size, err)
	}
	w.buf, w.reg = r.mem(), r
	return nil
}

// moveInto copies the header and heap to the bottom of dst and the slots
// to its top.
func (w *Writer) moveInto(dst []byte) {
	copy(dst, w.buf[:w.dataEnd])
	n := w.nrows * w.rowSize
	copy(dst[uint64(len(dst))-n:], w.buf[w.size-n:w.size])
	w.heapHigh, w.slotHigh = 0, 0 // dst was zero: nothing removed was copied
}

// MoveTo moves the window's rows into dst, an open, empty writer (a
// window from Pool.Get, say), and leaves w empty: how a fill that started
// in Go memory (New with WithMaxSize at the inline limit) and met
// ErrWindowFull continues in a shared window without putting its rows
// again. The heap is copied to the bottom of dst and the slots to its top,
// as the writer's own growth does, so every field's heap offset stays
// valid: dst then holds the bytes that putting the same rows into it would
// have written (for rows whose fields were each put once, in column
// order). dst takes w's column count and start position, and grows as
// needed up to its maximum size; the last row can still be removed from
// it with FreeLastRow, its heap with it.
//
// If the rows do not fit dst at its maximum size, MoveTo returns
// ErrWindowFull: w keeps its rows and dst stays empty.
func (w *Writer) MoveTo(dst *Writer) error {
	if err := w.writable(); err != nil {
		return err
	}
	if err := dst.writable(); err != nil {
		return err
	}
	switch {
	case dst == w:
		return errors.New("window: MoveTo the window itself")
	case dst.nrows != 0:
		return fmt.Errorf("window: MoveTo a window of %d rows (want an empty one)", dst.nrows)
	}
	heap := w.dataEnd - headerSize
	slots := w.nrows * w.rowSize
	dst.markRemoved()
	dst.ncols, dst.rowSize = w.ncols, w.rowSize
	dst.reset(w.startPos)
	if dst.size-headerSize < heap+slots {
		if err := dst.grow(heap + slots); err != nil {
			return err
		}
	}
	copy(dst.buf[headerSize:w.dataEnd], w.buf[headerSize:w.dataEnd])
	copy(dst.buf[dst.size-slots:dst.size], w.buf[w.size-slots:w.size])
	dst.nrows, dst.dataEnd, dst.rowMark = w.nrows, w.dataEnd, w.rowMark
	le.PutUint32(dst.buf[offNumRows:], uint32(dst.nrows))
	le.PutUint64(dst.buf[offDataEnd:], dst.dataEnd)
	w.markRemoved()
	w.reset(w.startPos)
	return nil
}

// markRemoved records the live heap and slots as bytes that may be left
// in the free space once rows are removed.
func (w *Writer) markRemoved() {
	w.heapHigh = max(w.heapHigh, w.dataEnd)
	w.slotHigh = max(w.slotHigh, w.nrows*w.rowSize)
}

// scrub zeroes what removed rows left in the free space (see heapHigh), so
// that a window shows its readers nothing but its own rows: a pooled window
// refilled with fewer rows would otherwise still hold the earlier fill's
// strings and blobs. It clears only the stale ranges, not all the free
// space.
func (w *Writer) scrub() {
	if !scrubFree {
		return
	}
	slots := w.size - w.nrows*w.rowSize
	if w.heapHigh > w.dataEnd {
		clear(w.buf[w.dataEnd:min(w.heapHigh, slots)])
	}
	if w.slotHigh > w.nrows*w.rowSize {
		clear(w.buf[max(w.size-w.slotHigh, w.dataEnd):slots])
	}
	w.heapHigh, w.slotHigh = 0, 0
}

// scrubFree turns scrub off for the benchmark that measures its cost.
var scrubFree = true

func (w *Writer) reset(startPos int64) {
	w.nrows = 0
	w.startPos = startPos
	w.dataEnd = headerSize
	w.rowMark = headerSize
	h := w.buf[:headerSize]
	clear(h)
	le.PutUint32(h[offMagic:], magic)
	le.PutUint16(h[offVersion:], version)
	le.PutUint32(h[offNumColumns:], uint32(w.ncols))
	le.PutUint64(h[offStartPos:], uint64(startPos))
	le.PutUint64(h[offSize:], w.size)
	le.PutUint64(h[offDataEnd:], w.dataEnd)
}

// grow makes room for need more bytes of heap or slots, doubling the region
// up to the maximum size.
func (w *Writer) grow(need uint64) error {
	used := w.dataEnd + w.nrows*w.rowSize
	if w.kernelSealed || used+need > w.maxSize {
		return ErrWindowFull
	}
	size := w.size
	for size-used < need {
		size *= 2
	}
	size = min(size, w.maxSize)
	if w.reg == nil {
		b := make([]byte, size)
		w.moveInto(b)
		w.buf = b
	} else if err := w.growRegion(size); err != nil {
		return err
	}
	w.size = uint64(len(w.buf))
	le.PutUint64(w.buf[offSize:], w.size)
	return nil
}

// growRegion grows the backing's region in place to size bytes (page
// rounded, at most the maximum) and moves the slots to its new end.
func (w *Writer) growRegion(size uint64) error {
	size = min(uint64(shm.RoundUp(int64(size))), w.maxSize)
	if err := w.reg.grow(int64(size)); err != nil {
		if errors.Is(err, errFixedSize) {
			return ErrWindowFull
		}
		return fmt.Errorf("window: growing a %s region to %d bytes: %w", w.cfg.backing.Kind(), size, err)
	}
	b := w.reg.mem()
	n := w.nrows * w.rowSize
	copy(b[size-n:], b[w.size-n:w.size])
	// The slots' old place, and any removed rows' slots below it, are
	// free space now: zero what the new slots did not cover.
	if lo, hi := max(w.size-max(w.slotHigh, n), w.dataEnd), min(w.size, size-n); lo < hi {
		clear(b[lo:hi])
	}
	w.slotHigh = 0
	w.buf = b
	return nil
}

func (w *Writer) writable() error {
	switch w.state {
	case stateSealed:
		return ErrSealed
	case stateClosed:
		return ErrClosed
	}
	return nil
}

// AllocRow appends an empty row whose fields are all NULL. The Put methods
// then fill it. It returns ErrWindowFull if the row's slots do not fit.
func (w *Writer) AllocRow() error {
	if err := w.writable(); err != nil {
		return err
	}
	if w.nrows >= math.MaxUint32 {
		return fmt.Errorf("%w: row count", ErrWindowFull)
	}
	if w.size-w.dataEnd-w.nrows*w.rowSize < w.rowSize {
		if err := w.grow(w.rowSize); err != nil {
			return err
		}
	}
	w.nrows++
	w.rowMark = w.dataEnd
	start := w.size - w.nrows*w.rowSize
	clear(w.buf[start : start+w.rowSize])
	le.PutUint32(w.buf[offNumRows:], uint32(w.nrows))
	return nil
}

// FreeLastRow removes the last row. The heap bytes of the row most
// recently allocated are reclaimed with it.
func (w *Writer) FreeLastRow() error {
	if err := w.writable(); err != nil {
		return err
	}
	if w.nrows == 0 {
		return ErrNoRow
	}
	w.markRemoved()
	w.nrows--
	w.dataEnd = w.rowMark
	le.PutUint32(w.buf[offNumRows:], uint32(w.nrows))
	le.PutUint64(w.buf[offDataEnd:], w.dataEnd)
	return nil
}

// slot returns the offset of column col of the last row, or an error.
func (w *Writer) slot(col int) (uint64, error) {
	if w.state != stateOpen {
		return 0, w.writable()
	}
	if w.nrows == 0 {
		return 0, ErrNoRow
	}
	if uint(col) >= uint(w.ncols) {
		return 0, fmt.Errorf("%w: column %d of %d", ErrOutOfRange, col, w.ncols)
	}
	return w.size - w.nrows*w.rowSize + uint64(col)*SlotSize, nil
}

func (w *Writer) putSlot(off, value uint64, n uint32, t FieldType) {
	s := w.buf[off : off+SlotSize]
	le.PutUint64(s[offSlotValue:], value)
	le.PutUint64(s[offSlotLen:], uint64(n)|uint64(t)<<32)
}

// PutNull sets column col of the last row to NULL.
func (w *Writer) PutNull(col int) error {
	off, err := w.slot(col)
	if err != nil {
		return err
	}
	w.putSlot(off, 0, 0, TypeNull)
	return nil
}

// PutInt64 sets column col of the last row to v.
func (w *Writer) PutInt64(col int, v int64) error {
	off, err := w.slot(col)
	if err != nil {
		return err
	}
	w.putSlot(off, uint64(v), 0, TypeInt64)
	return nil
}

// PutFloat64 sets column col of the last row to v.
func (w *Writer) PutFloat64(col int, v float64) error {
	off, err := w.slot(col)
	if err != nil {
		return err
	}
	w.putSlot(off, math.Float64bits(v), 0, TypeFloat64)
	return nil
}

// PutString sets column col of the last row to the UTF-8 string s. If s
// does not fit, the whole row is rolled back and ErrWindowFull returned.
func (w *Writer) PutString(col int, s string) error {
	return putHeap(w, col, s, TypeString)
}

// PutBlob sets column col of the last row to a copy of b. If b does not
// fit, the whole row is rolled back and ErrWindowFull returned.
func (w *Writer) PutBlob(col int, b []byte) error {
	return putHeap(w, col, b, TypeBlob)
}

func putHeap[T string | []byte](w *Writer, col int, v T, t FieldType) error {
	if _, err := w.slot(col); err != nil {
		return err
	}
	n := uint64(len(v))
	if n > maxFieldLen {
		return fmt.Errorf("%w: field of %d bytes", ErrTooLarge, n)
	}
	if n == 0 {
		off, _ := w.slot(col)
		w.putSlot(off, 0, 0, t)
		return nil
	}
	if w.size-w.dataEnd-w.nrows*w.rowSize < n {
		if err := w.grow(n); err != nil {
			if rerr := w.FreeLastRow(); rerr != nil {
				return rerr
			}
			return err
		}
	}
	at := w.dataEnd
	copy(w.buf[at:at+n], v)
	w.dataEnd += n
	le.PutUint64(w.buf[offDataEnd:], w.dataEnd)
	off, _ := w.slot(col) // the slot moves when the region grows
	w.putSlot(off, at, uint32(n), t)
	return nil
}

// NumColumns returns the number of columns.
func (w *Writer) NumColumns() int { return w.ncols }

// NumRows returns the number of rows written.
func (w *Writer) NumRows() int { return int(w.nrows) }

// StartPos returns the position of the first row in the whole result.
func (w *Writer) StartPos() int64 { return w.startPos }

// Size returns the current size of the region in bytes.
func (w *Writer) Size() int { return int(w.size) }

// File returns the window's memfd (or, for ShmBacking and FileBacking,
// its file), or nil while the window lives in Go memory or in a System V
// segment. The Writer owns the file: it stays valid until Close and must
// not be closed by the caller. Share it only once the window is sealed.
func (w *Writer) File() *os.File {
	if w.reg == nil {
		return nil
	}
	return w.reg.file()
}

// Location says how a reader in another process finds the window: a name
// (ShmBacking), a segment id and key (SysVBacking) or a path
// (FileBacking; valid once Seal has renamed the file into place). A memfd
// window has no location beyond its descriptor (File); a window in Go
// memory has the zero Location.
func (w *Writer) Location() Location {
	if w.reg == nil {
		return Location{}
	}
	return w.reg.location()
}

// Bytes returns the window's region. The bytes are valid only until the
// next write, Reset or Close; must not be modified. After Seal they are
// the compact window; before it, the region with its free space.
func (w *Writer) Bytes() ([]byte, error) {
	if w.state == stateClosed {
		return nil, ErrClosed
	}
	if err := w.mapReadOnly(); err != nil {
		return nil, err
	}
	return w.buf[:w.size], nil
}

// AppendTo appends a compact copy of the window (header, heap, slots; no
// free space) to dst and returns the extended slice. The copy is a valid
// window for OpenBytes.
func (w *Writer) AppendTo(dst []byte) ([]byte, error) {
	src, err := w.Bytes()
	if err != nil {
		return dst, err
	}
	heap := alignUp(w.dataEnd)
	slots := w.nrows * w.rowSize
	size := heap + slots
	start := len(dst)
	dst = append(dst, src[:w.dataEnd]...)
	dst = append(dst, make([]byte, heap-w.dataEnd)...)
	dst = append(dst, src[w.size-slots:w.size]...)
	le.PutUint64(dst[start+offSize:], size)
	return dst, nil
}

// Reset empties the window so that it can be filled again from startPos,
// keeping its memory (and its pages, already faulted in). A window sealed
// with Seal cannot be Reset (ErrSealed), even one sealed with SealReusable
// before; one sealed with SealReusable can, once no reader holds it any
// more: readers that still map it would see the new rows. What the earlier
// fill wrote and the new one does not overwrite is zeroed at the next seal,
// so the next reader sees only the new rows.
func (w *Writer) Reset(startPos int64) error {
	switch {
	case w.state == stateClosed:
		return ErrClosed
	case w.state == stateSealed && !w.reusable:
		return ErrSealed
	case startPos < 0:
		return fmt.Errorf("window: negative start position %d", startPos)
	}
	w.state = stateOpen
	w.markRemoved()
	w.reset(startPos)
	return nil
}

// setNumColumns changes the column count of an empty window, so a pooled
// window can serve a query of another shape after Reset.
func (w *Writer) setNumColumns(n int) error {
	if err := w.writable(); err != nil {
		return err
	}
	if w.nrows != 0 {
		return fmt.Errorf("window: cannot change the column count of a window with %d rows", w.nrows)
	}
	if n < 1 || n > MaxColumns {
		return fmt.Errorf("%w: %d columns (want 1..%d)", ErrOutOfRange, n, MaxColumns)
	}
	w.ncols, w.rowSize = n, uint64(n)*SlotSize
	le.PutUint32(w.buf[offNumColumns:], uint32(n))
	return nil
}

// SetStartPos sets the position of the first row in the whole result.
func (w *Writer) SetStartPos(pos int64) error {
	if err := w.writable(); err != nil {
		return err
	}
	if pos < 0 {
		return fmt.Errorf("window: negative start position %d", pos)
	}
	w.startPos = pos
	le.PutUint64(w.buf[offStartPos:], uint64(pos))
	return nil
}

// Close releases the window's memory and memfd, and removes what its
// backing made: a POSIX shm name, a System V segment (IPC_RMID), the
// temporary file of a FileBacking window never sealed (a sealed one stays:
// it is the snapshot). Readers that opened the window keep their own
// mappings. Close is idempotent.
func (w *Writer) Close() error {
	if w.state == stateClosed {
		return nil
	}
	w.state = stateClosed
	var err error
	if w.reg != nil {
		err = w.reg.close()
	}
	w.buf, w.reg = nil, nil
	return err
}
