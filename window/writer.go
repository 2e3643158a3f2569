package window

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"slices"

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
	cfg   config
	ncols int
	// cols holds each column's form and the places of its areas; capRows
	// is the rows every column's areas hold, end the end of the last
	// area.
	cols    []column
	capRows uint64
	end     uint64

	buf []byte // the region: Go memory while inline, else reg's mapping
	reg region // the backing's region; nil while inline

	size     uint64 // len(buf) while writable
	maxSize  uint64
	nrows    uint64
	startPos int64

	// rowsHigh and each column's dataHigh bound what the current layout's
	// areas may hold beyond their rows (rows removed by FreeLastRow); dirty
	// lists what earlier layouts and fills left elsewhere. scrub clears
	// both, but not the live buffers, before a seal shows the region to
	// readers.
	rowsHigh uint64
	dataHigh []uint64
	dirty    []span
	// replans counts the layouts made at the region's final size in this
	// fill: a bound on relayouts near the end of a window.
	replans int
	// old, spans and scratch are makeRoom's working space, kept so that a
	// relayout allocates nothing once a window has been filled.
	old     []column
	spans   []span
	scratch []byte

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

	// set has a bit for each column whose field of the last row is
	// written, a value or NULL. AllocRow writes none of the new row's
	// fields: rowOpen reports a last row whose unwritten fields
	// finishRow still has to make NULL, which it does before anything
	// reads or moves past the row (the next AllocRow, a seal, Bytes).
	// set0 holds the bits of columns 0-63, set[k] those of 64k to
	// 64k+63 for k ≥ 1 (set[0] is not used): most windows have fewer than
	// 64 columns, and a Put tests and sets its bit in a field of w.
	set0    uint64
	set     []uint64
	rowOpen bool
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
		maxSize: uint64(cfg.maxSize),
	}
	w.setShape(numColumns)
	if w.minSize() > w.maxSize {
		return nil, fmt.Errorf("%w: %d columns need a window of %d bytes at least, more than its maximum size %d", ErrTooLarge, numColumns, w.minSize(), w.maxSize)
	}
	size := max(uint64(cfg.initialSize), w.minSize())
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

// setShape gives the writer n columns, none of them typed yet.
func (w *Writer) setShape(n int) {
	w.ncols = n
	if cap(w.cols) < n {
		w.cols = make([]column, n)
		w.dataHigh = make([]uint64, n)
	}
	w.cols, w.dataHigh = w.cols[:n], w.dataHigh[:n]
	clear(w.cols)
	clear(w.dataHigh)
	w.set = slices.Grow(w.set[:0], (n+63)/64)[:(n+63)/64]
	w.setAll(^uint64(0)) // no row open: every field written
	w.rowOpen = false
}

// minSize returns the smallest region a window of the writer's columns
// can have (MinSize).
func (w *Writer) minSize() uint64 { return uint64(MinSize(w.ncols)) }

// MoveTo moves the window's rows into dst, an open, empty writer (a
// window from Pool.Get, say), and leaves w empty: how a fill that started
// in Go memory (New with WithMaxSize at the inline limit) and met
// ErrWindowFull continues in a shared window without putting its rows
// again. Each column's buffers are copied into dst, laid out for dst's
// size; dst takes w's column count and start position, and grows as
// needed up to its maximum size; the last row can still be removed from
// it with FreeLastRow.
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
	// dst takes w's column count only once its region can hold their
	// directory: until then it keeps its own shape, whatever fails.
	need := uint64(MinSize(w.ncols))
	if need > dst.maxSize {
		return fmt.Errorf("%w: %d columns need a window of %d bytes at least, more than its maximum size %d", ErrWindowFull, w.ncols, need, dst.maxSize)
	}
	if need > dst.size {
		if err := dst.growTo(need); err != nil {
			if errors.Is(err, errFixedSize) {
				return ErrWindowFull
			}
			return err
		}
	}
	if err := dst.setNumColumns(w.ncols); err != nil { // its old directory to be scrubbed
		return err
	}
	w.finishRow()
	dst.markRemoved()
	dst.reset(w.startPos)
	copy(dst.cols, w.cols)
	dst.nrows = w.nrows
	dst.old = append(dst.old[:0], w.cols...)
	if err := dst.layOut(dst.nrows, -1, 0, false); err != nil {
		dst.setShape(w.ncols)
		dst.reset(w.startPos)
		return err
	}
	dst.spans = spans(dst.spans[:0], w.cols, dst.cols, w.nrows, -1)
	copySpans(dst.buf, w.buf, dst.spans)
	dst.rowsHigh = dst.nrows
	for i := range dst.cols {
		dst.dataHigh[i] = dst.cols[i].dataLen
	}
	w.markRemoved()
	w.reset(w.startPos)
	return nil
}

// written appends to dst what the current layout's areas may hold: the
// rows and data written since it was laid out, removed ones included.
func (w *Writer) written(dst []span) []span {
	rows := max(w.rowsHigh, w.nrows)
	for i := range w.cols {
		c := &w.cols[i]
		dst = append(dst,
			span{from: c.valid, n: validLen(rows)},
			span{from: c.values, n: max(valuesLen(c.form, rows), 8*rows)},
			span{from: c.data, n: max(w.dataHigh[i], c.dataLen)})
		if c.form == formMixed {
			dst = append(dst, span{from: c.types, n: rows})
		}
	}
	if len(dst) > maxDirty {
		dst = mergeSpans(dst) // a window Reset again and again without a seal
	}
	return dst
}

// maxDirty is how many dirty spans a writer keeps before it merges them.
const maxDirty = 1024

// markRemoved records what the window holds as bytes that may be left in
// the region once its rows are removed.
func (w *Writer) markRemoved() {
	w.dirty = w.written(w.dirty)
	w.rowsHigh = 0
	clear(w.dataHigh)
}

// scrub zeroes what removed rows, earlier layouts and earlier fills left
// in the region outside the live buffers, so that a window shows its
// readers nothing but its own rows: a pooled window refilled with fewer
// rows would otherwise still hold the earlier fill's strings and blobs.
// It clears only what may be stale, not every byte outside the buffers,
// so pages never written stay untouched.
func (w *Writer) scrub() {
	if !scrubFree {
		w.dirty = w.dirty[:0]
		return
	}
	w.dirty = w.written(w.dirty)
	w.spans = liveBuffers(w.spans[:0], w.cols, w.nrows)
	clearExcept(w.buf[:w.size], w.dirty, w.spans)
	w.dirty = w.dirty[:0]
	w.rowsHigh = w.nrows
	for i := range w.cols {
		w.dataHigh[i] = w.cols[i].dataLen
	}
}

// clearExcept zeroes the bytes of b in the dirty spans (their from and n)
// that are in no live span. The live spans are in ascending order and do
// not overlap; dirty is merged in place.
func clearExcept(b []byte, dirty, live []span) {
	size := uint64(len(b))
	j := 0
	for _, d := range mergeSpans(dirty) {
		lo, hi := min(d.from, size), min(d.from+d.n, size)
		for lo < hi {
			// j stays on a live span that may reach into the next
			// dirty span: it moves only past those ending before lo.
			for j < len(live) && live[j].from+live[j].n <= lo {
				j++
			}
			if j == len(live) || live[j].from >= hi {
				clear(b[lo:hi])
				break
			}
			clear(b[lo:max(lo, live[j].from)])
			lo = live[j].from + live[j].n
		}
	}
}

// scrubFree turns scrub off for the benchmark that measures its cost.
var scrubFree = true

func (w *Writer) reset(startPos int64) {
	w.nrows = 0
	w.rowOpen = false
	w.startPos = startPos
	w.replans = 0
	for i := range w.cols {
		c := &w.cols[i]
		*c = column{hint: c.hint}
	}
	h := w.buf[:headerSize]
	clear(h)
	le.PutUint32(h[offMagic:], magic)
	le.PutUint16(h[offVersion:], version)
	le.PutUint32(h[offNumColumns:], uint32(w.ncols))
	le.PutUint64(h[offStartPos:], uint64(startPos))
	le.PutUint64(h[offSize:], w.size)
	w.plan(w.size, 1, -1, 0)
	w.end = place(w.cols, w.capRows)
}

// layOut lays the window out again so that rows rows, and need more data
// bytes of column col (none when col is -1), fit: in the region as it is
// when that leaves room to spare, else in a region grown (doubled) up to
// the maximum size. With conv, column col is converted to the mixed form.
// The writer's columns are the new layout on return; w.old holds the one
// they had, and no byte has moved yet. On ErrWindowFull (or a backing's
// error) w.cols is w.old again.
func (w *Writer) layOut(rows uint64, col int, need uint64, conv bool) error {
	if conv {
		w.cols[col].form = formMixed
	}
	tight := w.tight(rows, col, need)
	size := w.size
	switch {
	case tight > w.maxSize:
		copy(w.cols, w.old)
		return ErrWindowFull
	case w.kernelSealed || size == w.maxSize || tight <= size/2:
		// Near full, a layout buys little room for its copy: once the
		// room left is under a sixteenth of the region, or after many
		// layouts, a column whose area is full makes the window full.
		more := rows > w.nrows || need > 0
		if tight > size || (w.nrows > 1 && more && !conv && (size-tight < size/16 || w.replans >= maxReplans)) {
			copy(w.cols, w.old)
			return ErrWindowFull
		}
		if !conv {
			w.replans++
		}
	default:
		for size < w.maxSize && tight > size/2 {
			size *= 2
		}
		size = min(size, w.maxSize)
		if err := w.growTo(size); err != nil {
			copy(w.cols, w.old)
			if errors.Is(err, errFixedSize) {
				return ErrWindowFull
			}
			return err
		}
	}
	w.plan(w.size, rows, col, need)
	w.end = place(w.cols, w.capRows)
	return nil
}

// maxReplans bounds the layouts made in a region that cannot grow (a
// column's change of form aside): after that many, a column whose area
// is full makes the window full.
const maxReplans = 64

// tight lays the columns out with room for exactly rows rows and their
// data (and need more bytes of column col), and returns the end.
func (w *Writer) tight(rows uint64, col int, need uint64) uint64 {
	for i := range w.cols {
		w.cols[i].dataCap = w.minData(i, col, need)
	}
	return place(w.cols, max(rows, 1))
}

// minData returns the data bytes column i must hold: its data, and need
// more if it is column col.
func (w *Writer) minData(i, col int, need uint64) uint64 {
	if i == col {
		return w.cols[i].dataLen + need
	}
	return w.cols[i].dataLen
}

// plan chooses the capacity of every column's areas for a region of size
// bytes: room for rows rows (and need more data bytes of column col) at
// least, and the rest of the region shared out in proportion to what a
// row has taken in each area so far (or, for a window not yet written,
// in the previous fill): the largest row capacity whose areas fit, so
// that the areas fill up together. It leaves the capacities tight if the
// region has no room to share.
func (w *Writer) plan(size, rows uint64, col int, need uint64) {
	n := max(w.nrows, 1)
	eighths := uint64(0) // a row's bitmap, values and types, in eighths of a byte
	for i := range w.cols {
		c := &w.cols[i]
		est := float64(w.minData(i, col, need)) / float64(n)
		if w.nrows < 16 {
			est = max(est, c.hint)
		}
		c.hint = est
		eighths += c.fixedEighths()
	}
	fits := func(capacity uint64) bool {
		for i := range w.cols {
			c := &w.cols[i]
			c.dataCap = min(max(w.minData(i, col, need), uint64(c.hint*float64(capacity))), maxDataLen)
		}
		return place(w.cols, capacity) <= size
	}
	lo := max(rows, 1)
	if !fits(lo) {
		w.tight(rows, col, need)
		w.capRows = lo
		return
	}
	// The largest capacity that fits, between lo (fits) and an upper
	// bound with no data at all (does not, or is the most there is).
	hi := min(max(size*8/eighths, lo), math.MaxUint32) + 1
	for hi-lo > 1 {
		if mid := lo + (hi-lo)/2; fits(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	fits(lo)
	w.capRows = lo
}

// growTo grows the region to size bytes (page rounded for a backing's
// region), the layout unchanged.
func (w *Writer) growTo(size uint64) error {
	if w.reg == nil {
		b := make([]byte, size)
		copy(b, w.buf[:w.end])
		w.buf = b
	} else {
		size = min(uint64(shm.RoundUp(int64(size))), w.maxSize)
		if err := w.reg.grow(int64(size)); err != nil {
			if errors.Is(err, errFixedSize) {
				return err
			}
			return fmt.Errorf("window: growing a %s region to %d bytes: %w", w.cfg.backing.Kind(), size, err)
		}
		w.buf = w.reg.mem()
	}
	w.size = uint64(len(w.buf))
	le.PutUint64(w.buf[offSize:], w.size)
	return nil
}

// makeRoom makes room for rows rows and need more data bytes of column
// col (-1: none), converting it to the mixed form with conv: a new layout,
// and the buffers moved into it.
func (w *Writer) makeRoom(rows uint64, col int, need uint64, conv bool) error {
	w.old = append(w.old[:0], w.cols...)
	// What the old layout holds is stale once it has moved: scrub clears
	// what the new buffers do not cover.
	w.dirty = w.written(w.dirty)
	var saved []byte
	if conv {
		// The typed buffers of the column are rewritten in the mixed
		// form: keep its bitmap and values aside.
		o := &w.old[col]
		nv := alignUp(validLen(w.nrows))
		w.scratch = append(w.scratch[:0], w.buf[o.valid:o.valid+nv]...)
		saved = append(w.scratch, w.buf[o.values:o.values+valuesLen(o.form, w.nrows)]...)
		w.scratch = saved
	}
	if err := w.layOut(rows, col, need, conv); err != nil {
		return err
	}
	conv1 := -1
	if conv {
		conv1 = col
	}
	w.rowsHigh = w.nrows
	for i := range w.cols {
		w.dataHigh[i] = w.cols[i].dataLen
	}
	w.spans = spans(w.spans[:0], w.old, w.cols, w.nrows, conv1)
	moveSpans(w.buf, w.spans)
	if conv {
		toMixed(w.buf, &w.old[col], &w.cols[col], saved, w.nrows)
	}
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
// then fill it. It returns ErrWindowFull if the row does not fit.
func (w *Writer) AllocRow() error {
	if err := w.writable(); err != nil {
		return err
	}
	w.finishRow()
	if w.nrows >= math.MaxUint32 {
		return fmt.Errorf("%w: row count", ErrWindowFull)
	}
	if w.nrows >= w.capRows {
		if err := w.makeRoom(w.nrows+1, -1, 0, false); err != nil {
			return err
		}
	}
	w.nrows++
	w.setAll(0)
	w.rowOpen = true
	return nil
}

// finishRow makes the fields of the last row that are not written yet
// NULL (see Writer.set).
func (w *Writer) finishRow() {
	if !w.rowOpen {
		return
	}
	w.rowOpen = false
	for k := range w.set {
		word := w.word(k)
		missing := ^*word
		if rest := w.ncols - 64*k; rest < 64 {
			missing &= 1<<rest - 1
		}
		for missing != 0 {
			w.nullField(64*k + bits.TrailingZeros64(missing))
			missing &= missing - 1
		}
		*word = ^uint64(0)
	}
}

// word returns the word of w.set's bits of columns 64k to 64k+63.
func (w *Writer) word(k int) *uint64 {
	if k == 0 {
		return &w.set0
	}
	return &w.set[k]
}

// setAll sets every word of w.set's bits to v.
func (w *Writer) setAll(v uint64) {
	for k := range w.set {
		*w.word(k) = v
	}
}

// nullField writes column col of the last row as NULL, over whatever an
// earlier fill left there, and makes the field's data start where the
// column's data ends.
func (w *Writer) nullField(col int) {
	c, r, b := &w.cols[col], w.nrows-1, w.buf
	b[c.valid+r>>3] &^= 1 << (r & 7)
	switch {
	case isVar(c.form):
		le.PutUint32(b[c.values+4*r+4:], uint32(c.dataLen))
	case c.form == formMixed:
		b[c.types+r] = 0
		le.PutUint64(b[c.values+8*r:], 0)
	default:
		le.PutUint64(b[c.values+8*r:], 0)
	}
	c.mark = c.dataLen
}

// isSet reports whether column col of the last row is written.
func (w *Writer) isSet(col int) bool {
	if col < 64 {
		return w.set0>>col&1 != 0
	}
	return w.set[col>>6]>>(col&63)&1 != 0
}

// markSet records column col of the last row as written.
func (w *Writer) markSet(col int) {
	if col < 64 {
		w.set0 |= 1 << col
		return
	}
	w.set[col>>6] |= 1 << (col & 63)
}

// FreeLastRow removes the last row. The data bytes of the row most
// recently allocated are reclaimed with it.
func (w *Writer) FreeLastRow() error {
	if err := w.writable(); err != nil {
		return err
	}
	if w.nrows == 0 {
		return ErrNoRow
	}
	for i := range w.cols {
		w.setNull(i)
	}
	w.rowsHigh = max(w.rowsHigh, w.nrows)
	w.nrows--
	w.rowOpen = false // the row before is whole
	w.setAll(^uint64(0))
	for i := range w.cols {
		c := &w.cols[i]
		if isVar(c.form) && w.nrows > 0 {
			c.mark = uint64(le.Uint32(w.buf[c.values+4*(w.nrows-1):]))
		} else {
			c.mark = c.dataLen // a mixed column's earlier rows keep their data
		}
	}
	return nil
}

// field checks that column col of the last row can be written.
func (w *Writer) field(col int) error {
	if w.state != stateOpen {
		return w.writable()
	}
	if w.nrows == 0 {
		return ErrNoRow
	}
	if uint(col) >= uint(w.ncols) {
		return fmt.Errorf("%w: column %d of %d", ErrOutOfRange, col, w.ncols)
	}
	return nil
}

// setNull makes column col of the last row NULL, giving back its data.
func (w *Writer) setNull(col int) {
	if !w.isSet(col) {
		w.nullField(col)
		w.markSet(col)
		return
	}
	c, r, b := &w.cols[col], w.nrows-1, w.buf
	switch {
	case c.form == formMixed:
		if b[c.types+r] != 0 {
			c.nonNull--
			b[c.types+r] = 0
			le.PutUint64(b[c.values+8*r:], 0)
		}
	case b[c.valid+r>>3]>>(r&7)&1 != 0:
		c.nonNull--
		b[c.valid+r>>3] &^= 1 << (r & 7)
		if isVar(c.form) {
			le.PutUint32(b[c.values+4*r+4:], uint32(c.mark))
		} else {
			le.PutUint64(b[c.values+8*r:], 0)
		}
	}
	w.dataHigh[col] = max(w.dataHigh[col], c.dataLen)
	c.dataLen = c.mark
}

// typed prepares column col of the last row for a value of type t with
// need data bytes: it decides the column's form at its first value, turns
// it mixed at a value of another type, and makes room for the data. It
// returns the column, whose value the caller then stores.
func (w *Writer) typed(col int, t FieldType, need uint64) (*column, error) {
	w.setNull(col)
	c := &w.cols[col]
	switch {
	case c.form == uint8(t) || c.form == formMixed:
	case c.form == uint8(TypeNull):
		c.form = uint8(t)
	default:
		if err := w.makeRoom(w.nrows, col, need, true); err != nil {
			return nil, w.rollback(err)
		}
		c = &w.cols[col]
	}
	if need > 0 && c.dataLen+need > c.dataCap {
		if c.dataLen+need > maxDataLen {
			return nil, w.rollback(ErrWindowFull)
		}
		if err := w.makeRoom(w.nrows, col, need, false); err != nil {
			return nil, w.rollback(err)
		}
		c = &w.cols[col]
	}
	return c, nil
}

// rollback removes the last row, which did not fit, and returns err (or
// the removal's error).
func (w *Writer) rollback(err error) error {
	if rerr := w.FreeLastRow(); rerr != nil {
		return rerr
	}
	return err
}

// putFixed stores the 8-byte value v of type t in column col of the last
// row.
func (w *Writer) putFixed(col int, t FieldType, v uint64) error {
	if w.state == stateOpen && w.nrows > 0 && uint(col) < uint(w.ncols) && w.tryFixed(col, t, v) {
		return nil
	}
	if err := w.field(col); err != nil {
		return err
	}
	c, err := w.typed(col, t, 0)
	if err != nil {
		return err
	}
	w.store(c, t, v, 0)
	return nil
}

// store sets the last row's field of column c, whose form takes a value
// of type t and whose data holds the value's n bytes from c.dataLen-n
// (for a STRING or BLOB), to v (an INT64 or FLOAT64).
func (w *Writer) store(c *column, t FieldType, v, n uint64) {
	r, b := w.nrows-1, w.buf
	c.nonNull++
	switch {
	case c.form == formMixed:
		b[c.types+r] = uint8(t)
		if n > 0 || t >= TypeString {
			v = (c.dataLen - n) | n<<32
		}
		le.PutUint64(b[c.values+8*r:], v)
	case isVar(c.form):
		b[c.valid+r>>3] |= 1 << (r & 7)
		le.PutUint32(b[c.values+4*r+4:], uint32(c.dataLen))
	default:
		b[c.valid+r>>3] |= 1 << (r & 7)
		le.PutUint64(b[c.values+8*r:], v)
	}
}

// tryFixed stores v in column col (in range) of the last row if the
// column holds values of type t and the field is not set yet: the write
// fast path, shared by the Put methods and RowWriter. It reports whether
// it stored v; if not, the caller takes the Put path.
func (w *Writer) tryFixed(col int, t FieldType, v uint64) bool {
	c, r, b := &w.cols[col], w.nrows-1, w.buf
	if c.form != uint8(t) || w.isSet(col) {
		return false
	}
	b[c.valid+r>>3] |= 1 << (r & 7)
	c.nonNull++
	le.PutUint64(b[c.values+8*r:], v)
	w.markSet(col)
	return true
}

// tryData is tryFixed for a STRING or BLOB: it copies v to the end of the
// column's data if the column holds type t, the field is not set yet and
// the data area has room.
func tryData[T string | []byte](w *Writer, col int, v T, t FieldType) bool {
	c, r, b, n := &w.cols[col], w.nrows-1, w.buf, uint64(len(v))
	if c.form != uint8(t) || w.isSet(col) || n > c.dataCap-c.dataLen {
		return false
	}
	c.mark = c.dataLen
	copy(b[c.data+c.dataLen:], v)
	c.dataLen += n
	b[c.valid+r>>3] |= 1 << (r & 7)
	c.nonNull++
	le.PutUint32(b[c.values+4*r+4:], uint32(c.dataLen))
	w.markSet(col)
	return true
}

// PutNull sets column col of the last row to NULL.
func (w *Writer) PutNull(col int) error {
	if err := w.field(col); err != nil {
		return err
	}
	w.setNull(col)
	return nil
}

// PutInt64 sets column col of the last row to v.
func (w *Writer) PutInt64(col int, v int64) error {
	return w.putFixed(col, TypeInt64, uint64(v))
}

// PutFloat64 sets column col of the last row to v.
func (w *Writer) PutFloat64(col int, v float64) error {
	return w.putFixed(col, TypeFloat64, math.Float64bits(v))
}

// PutString sets column col of the last row to the string s (stored as
// it is; UTF-8 by convention). If s does not fit, the whole row is rolled
// back and ErrWindowFull returned.
func (w *Writer) PutString(col int, s string) error {
	return putData(w, col, s, TypeString)
}

// PutBlob sets column col of the last row to a copy of b. If b does not
// fit, the whole row is rolled back and ErrWindowFull returned.
func (w *Writer) PutBlob(col int, b []byte) error {
	return putData(w, col, b, TypeBlob)
}

func putData[T string | []byte](w *Writer, col int, v T, t FieldType) error {
	if w.state == stateOpen && w.nrows > 0 && uint(col) < uint(w.ncols) && tryData(w, col, v, t) {
		return nil
	}
	if err := w.field(col); err != nil {
		return err
	}
	n := uint64(len(v))
	if n > maxFieldLen {
		return fmt.Errorf("%w: field of %d bytes", ErrTooLarge, n)
	}
	c, err := w.typed(col, t, n)
	if err != nil {
		return err
	}
	at := c.data + c.dataLen
	copy(w.buf[at:at+n], v)
	c.dataLen += n
	w.store(c, t, 0, n)
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
	if w.state == stateOpen {
		w.finishRow()
		putDirectory(w.buf, w.cols, w.nrows, w.size)
	}
	return w.buf[:w.size], nil
}

// AppendTo appends a compact copy of the window (its header, directory
// and buffers, with no room to spare) to dst and returns the extended
// slice. The copy is a valid window for OpenBytes.
func (w *Writer) AppendTo(dst []byte) ([]byte, error) {
	src, err := w.Bytes()
	if err != nil {
		return dst, err
	}
	w.old = append(w.old[:0], w.cols...)
	size := placeExact(w.old, w.nrows)
	start := len(dst)
	dst = slices.Grow(dst, int(size))[:start+int(size)]
	b := dst[start:]
	clear(b)
	copy(b[:headerSize], src[:headerSize])
	w.spans = spans(w.spans[:0], w.cols, w.old, w.nrows, -1)
	w.spans = exactLengths(w.spans, w.old, w.nrows)
	copySpans(b, src, w.spans)
	putDirectory(b, w.old, w.nrows, size)
	le.PutUint16(b[offFlags:], 0)
	le.PutUint64(b[offChecksum:], 0)
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
	if n == w.ncols {
		return nil
	}
	if need := uint64(MinSize(n)); need > w.size {
		return fmt.Errorf("%w: %d columns need a window of %d bytes at least, more than its size %d", ErrTooLarge, n, need, w.size)
	}
	w.markRemoved()
	w.dirty = append(w.dirty, span{from: headerSize, n: directoryEnd(w.ncols) - headerSize})
	w.setShape(n)
	w.reset(w.startPos)
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
