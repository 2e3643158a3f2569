package window

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/cursorwindow/cursorwindow/window/internal/shm"
)

// Window reads a window in place: the consumer side. Every accessor checks
// the row, the column and any string's offsets against the header and
// directory values read once when the window was opened, so a corrupt or
// hostile window yields ErrCorrupt, never a panic or an out-of-bounds
// read.
//
// A Window may be read by several goroutines at once; Close must not run
// concurrently with reads.
type Window struct {
	b       []byte // the whole region; nil after Close
	mapping []byte // the mapping to unmap on Close; nil for OpenBytes
	// cols holds each column's form and buffers, as slices of b checked
	// once at open.
	cols []rcol
	// few holds cols for a window of a few columns, so that opening a
	// small window allocates once.
	few [4]rcol
	// id is the identity of the memory mapped (a file's device and inode,
	// a System V segment's id), the key of a Mappings cache.
	id       shm.Identity
	ncols    uint64
	nrows    uint64
	size     uint64
	startPos int64
	closed   bool
	// parked reports a mapping made inaccessible by park.
	parked bool
	// quarantine keeps the address range reserved after Close.
	quarantine bool
	// shared is the Mappings entry whose mapping b is, for a reader that
	// Mappings.Open returned: Close gives the mapping back to it.
	shared *mapping
}

var _ io.Closer = (*Window)(nil)

// Open maps the memfd f read-only and returns a reader over it. It refuses
// (ErrNotSealed) a file that is not a memfd sealed with F_SEAL_SHRINK,
// F_SEAL_GROW and F_SEAL_WRITE or F_SEAL_FUTURE_WRITE, so that no process
// can change the bytes or truncate them under the reader, and it checks
// that the file's size is the size the header states. With WithSizeLimit
// a larger file is refused (ErrTooLarge) before it is mapped.
//
// Open does not take ownership of f: the mapping outlives the descriptor,
// and the caller may close f as soon as Open returns.
func Open(f *os.File, opts ...OpenOption) (*Window, error) {
	return openFile(f, newOpenConfig(opts), false)
}

func openFile(f *os.File, cfg openConfig, populate bool) (*Window, error) {
	in, err := statSealed(f)
	if err != nil {
		return nil, err
	}
	return mapSealed(f, in, cfg, populate)
}

// statSealed checks that f is a memfd open for reading and sealed
// against shrinking, growing and writing, and returns what fstat says of
// it.
func statSealed(f *os.File) (shm.Info, error) {
	if f == nil {
		return shm.Info{}, fmt.Errorf("%w: nil file", ErrNotSealed)
	}
	// A descriptor that cannot be mapped for reading (opened O_PATH or
	// write-only) is refused as not a window before anything else.
	if fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0); err == nil {
		switch {
		case fl&unix.O_PATH != 0:
			return shm.Info{}, fmt.Errorf("%w: the descriptor is opened O_PATH (it cannot be read or mapped)", ErrNotSealed)
		case fl&unix.O_ACCMODE == unix.O_WRONLY:
			return shm.Info{}, fmt.Errorf("%w: the descriptor is opened write-only (it cannot be mapped for reading)", ErrNotSealed)
		}
	}
	seals, err := shm.Seals(f)
	if err != nil {
		if errors.Is(err, unix.EINVAL) {
			return shm.Info{}, fmt.Errorf("%w: the descriptor is %s, not a memfd (it cannot carry seals)", ErrNotSealed, fileKind(f))
		}
		return shm.Info{}, err
	}
	const need = unix.F_SEAL_SHRINK | unix.F_SEAL_GROW
	if seals&need != need || seals&(unix.F_SEAL_WRITE|unix.F_SEAL_FUTURE_WRITE) == 0 {
		return shm.Info{}, fmt.Errorf("%w: seals %#x", ErrNotSealed, seals)
	}
	in, err := shm.Fstat(f)
	if err != nil {
		return shm.Info{}, err
	}
	if !in.Regular {
		return shm.Info{}, fmt.Errorf("%w: not a regular file", ErrNotSealed)
	}
	return in, nil
}

// fileKind names what f is, for an error message: "a pipe", "a socket",
// "a directory", "a regular file", ...
func fileKind(f *os.File) string {
	fi, err := f.Stat()
	if err != nil {
		return "not a file"
	}
	switch m := fi.Mode(); {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a block device"
	}
	return "a special file"
}

// mapSealed maps the sealed memfd f, of which statSealed said in, once
// its size passes cfg's checks, and validates the header.
func mapSealed(f *os.File, in shm.Info, cfg openConfig, populate bool) (*Window, error) {
	if err := cfg.checkSize(in.Size); err != nil {
		return nil, err
	}
	m, err := shm.MapShared(f, int(in.Size), false, populate)
	if err != nil {
		return nil, err
	}
	w, err := OpenBytes(m)
	if err != nil {
		shm.Unmap(m)
		return nil, err
	}
	w.mapping = m
	w.id = in.ID
	w.quarantine = cfg.quarantine
	return w, nil
}

// reload validates the header again and re-reads its values, for a window
// whose writer refilled it in place (a recycled, SealReusable window sent
// again by a provider's pool): the mapping is kept, so its pages need not
// be mapped and faulted in again. The seals guarantee the size has not
// changed. Views taken before reload now show the new contents. On error
// the window reports every access out of range until a successful reload.
// Mappings reloads a cached mapping it hands out again, and only its own
// Window, which no reader holds: a reader's Window (a copy) must never be
// reloaded, since its Rows rely on its columns (Window.col).
func (w *Window) reload() error {
	if w.closed {
		return ErrClosed
	}
	if w.parked {
		if w.mapping != nil {
			if err := shm.Protect(w.mapping, true); err != nil {
				return err
			}
		}
		w.parked = false
	}
	if err := w.parse(); err != nil {
		w.nrows = 0
		return err
	}
	return nil
}

// park makes the window unreadable until reload: accessors return
// ErrClosed, and the mapping itself is made inaccessible (PROT_NONE), so
// a view taken before park faults instead of reading whatever the writer
// puts there next. The pages stay mapped: reload makes them readable
// again without page faults. Mappings parks an idle mapping (with
// WithQuarantine) that its provider may refill.
func (w *Window) park() error {
	if w.closed {
		return ErrClosed
	}
	if w.parked {
		return nil
	}
	if w.mapping != nil {
		if err := shm.Protect(w.mapping, false); err != nil {
			return err
		}
	}
	w.parked = true
	w.nrows, w.ncols = 0, 0 // reload's parse restores them; a Row of w reads nothing
	return nil
}

// OpenBytes returns a reader over a window held in b (an inline window,
// copied through a socket, say). The reader does not copy b: b must not be
// modified while the reader is in use.
func OpenBytes(b []byte) (*Window, error) {
	w := &Window{b: b}
	if err := w.parse(); err != nil {
		return nil, err
	}
	return w, nil
}

// parse validates the header and the directory and caches their values.
// Nothing read here is read from the shared memory again.
func (w *Window) parse() error {
	b := w.b
	if len(b) < headerSize {
		return corruptf("%d bytes, shorter than the header", len(b))
	}
	if m := le.Uint32(b[offMagic:]); m != magic {
		return corruptf("bad magic %#x", m)
	}
	if v := le.Uint16(b[offVersion:]); v != version {
		return corruptf("unsupported format version %d (this reader reads version %d)", v, version)
	}
	ncols := uint64(le.Uint32(b[offNumColumns:]))
	nrows := uint64(le.Uint32(b[offNumRows:]))
	start := le.Uint64(b[offStartPos:])
	size := le.Uint64(b[offSize:])
	switch {
	case size != uint64(len(b)):
		return corruptf("header size %d, region %d bytes", size, len(b))
	case ncols == 0 || ncols > MaxColumns:
		return corruptf("%d columns", ncols)
	case start > math.MaxInt64:
		return corruptf("start position %d", start)
	case directoryEnd(int(ncols)) > size:
		return corruptf("a directory of %d columns does not fit %d bytes", ncols, size)
	}
	switch {
	case cap(w.cols) >= int(ncols):
	case ncols <= uint64(len(w.few)):
		w.cols = w.few[:]
	default:
		w.cols = make([]rcol, ncols)
	}
	cols := w.cols[:ncols]
	next := directoryEnd(int(ncols)) // where the next buffer may start
	for i := range cols {
		var err error
		next, err = cols[i].parse(b, b[headerSize+uint64(i)*entrySize:][:entrySize], nrows, next)
		if err != nil {
			return fmt.Errorf("column %d: %w", i, err)
		}
	}
	w.cols = cols
	w.ncols, w.nrows = ncols, nrows
	w.size, w.startPos = size, int64(start)
	return nil
}

// rcol is a reader's column: its form and its buffers, checked.
type rcol struct {
	form uint8
	// valid is the bitmap, nil when every value is valid; values the
	// 8-byte values (4-byte offsets for a STRING or BLOB column); types
	// the type bytes of a mixed column; data the data buffer.
	valid, values, types, data []byte
	// vp, xp and dp point at the first bytes of valid, values and data,
	// dn is len(data), for Row's accessors, which address them by hand.
	// Without a bitmap, vp points at a byte of ones and vmask is 0, so
	// every row's bit is that byte's; with one, vmask is all ones.
	vp, xp, dp unsafe.Pointer
	vmask, dn  uint64
	// loadOffsets reports a STRING or BLOB column whose 4-byte offsets
	// are aligned: Row.Bytes loads them as u32s, and reads no other
	// column.
	loadOffsets bool
}

// allValid is the bitmap byte of every row of a column without NULLs.
var allValid byte = 0xff

// parse checks the directory entry e of a column of n rows against the
// region b: each buffer it names lies inside b, starts on an 8-byte
// boundary at or after next (the end of the buffer before it), and has
// the length its form and n give. It returns the end of the column's
// last buffer.
func (c *rcol) parse(b, e []byte, n, next uint64) (uint64, error) {
	*c = rcol{form: e[offEntryForm]}
	buf := func(what string, off, size uint64) ([]byte, error) {
		switch {
		case off%align != 0:
			return nil, corruptf("%s at %d, not on an 8-byte boundary", what, off)
		case off < next:
			return nil, corruptf("%s at %d overlaps the directory or the buffer before it (ending at %d)", what, off, next)
		case off > uint64(len(b)) || size > uint64(len(b))-off:
			return nil, corruptf("%s [%d, +%d) outside the region of %d bytes", what, off, size, len(b))
		}
		next = off + size
		return b[off : off+size : off+size], nil
	}
	form, flags := c.form, e[offEntryFlags]
	var err error
	switch {
	case form > formMixed:
		return 0, corruptf("form %d", form)
	case form == uint8(TypeNull) && flags&entryValidity == 0:
		return 0, corruptf("a column of NULLs without its bitmap")
	case flags&entryValidity != 0 && form != formMixed:
		if c.valid, err = buf("validity bitmap", le.Uint64(e[offEntryValid:]), validLen(n)); err != nil {
			return 0, err
		}
	}
	if form == uint8(TypeNull) {
		return next, nil
	}
	if c.values, err = buf("values", le.Uint64(e[offEntryValues:]), valuesLen(form, n)); err != nil {
		return 0, err
	}
	if form == formMixed {
		if c.types, err = buf("types", le.Uint64(e[offEntryTypes:]), n); err != nil {
			return 0, err
		}
	}
	c.xp = unsafe.Pointer(unsafe.SliceData(c.values))
	if isVar(form) && uintptr(c.xp)%4 == 0 {
		// Row.Bytes loads the offsets as u32s: only where they are
		// aligned (an inline window's bytes need not be); elsewhere
		// it says no and the Window's accessor reads them as bytes.
		c.loadOffsets = true
	}
	c.vp = unsafe.Pointer(&allValid)
	if c.valid != nil {
		c.vp, c.vmask = unsafe.Pointer(unsafe.SliceData(c.valid)), math.MaxUint64
	}
	if isVar(form) || form == formMixed {
		dataLen := le.Uint64(e[offEntryLen:])
		if dataLen > maxDataLen {
			return 0, corruptf("data buffer of %d bytes", dataLen)
		}
		if c.data, err = buf("data", le.Uint64(e[offEntryData:]), dataLen); err != nil {
			return 0, err
		}
		c.dp, c.dn = unsafe.Pointer(unsafe.SliceData(c.data)), dataLen
	}
	return next, nil
}

// Close unmaps the window (or, for a window from Mappings.Open, gives its
// mapping back to the cache). Views returned by Bytes and StringView
// become invalid. Close is idempotent; accessors called afterwards return
// ErrClosed.
func (w *Window) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	m, shared := w.mapping, w.shared
	w.b, w.cols, w.mapping, w.shared = nil, nil, nil, nil
	w.nrows, w.ncols = 0, 0
	switch {
	case shared != nil:
		return shared.m.release(shared)
	case m == nil:
		return nil
	case w.quarantine:
		return shm.Quarantine(m)
	}
	return shm.Unmap(m)
}

// NumColumns returns the number of columns.
func (w *Window) NumColumns() int { return int(w.ncols) }

// NumRows returns the number of rows in this window.
func (w *Window) NumRows() int { return int(w.nrows) }

// StartPos returns the position of the window's first row in the whole
// result.
func (w *Window) StartPos() int64 { return w.startPos }

// Size returns the size of the window's region in bytes.
func (w *Window) Size() int { return int(w.size) }

func (w *Window) accessErr(row, col int) error {
	if w.closed || w.parked {
		return ErrClosed
	}
	return fieldErr(row, col, ErrOutOfRange)
}

// field reads the field at (row, col) once: its type, and its value (an
// INT64 or FLOAT64) or its bytes (a STRING or BLOB), range-checked.
func (w *Window) field(row, col int) (t FieldType, v uint64, b []byte, err error) {
	if uint64(uint(row)) >= w.nrows || uint64(uint(col)) >= w.ncols {
		return 0, 0, nil, w.accessErr(row, col)
	}
	c, r := &w.cols[col], uint64(row)
	switch c.form {
	case uint8(TypeNull):
		return TypeNull, 0, nil, nil
	case formMixed:
		t, v = FieldType(c.types[r]), le.Uint64(c.values[8*r:])
		if t >= TypeString {
			if t > TypeBlob {
				return 0, 0, nil, fieldErr(row, col, corruptf("field type %d", t))
			}
			off, n := v&math.MaxUint32, v>>32
			if off > uint64(len(c.data)) || n > uint64(len(c.data))-off {
				return 0, 0, nil, fieldErr(row, col, corruptf("data range [%d, +%d) outside the column's %d bytes", off, n, len(c.data)))
			}
			b = c.data[off : off+n : off+n]
		}
		return t, v, b, nil
	}
	if !c.isValid(r) {
		return TypeNull, 0, nil, nil
	}
	t = FieldType(c.form)
	if t <= TypeFloat64 {
		return t, le.Uint64(c.values[8*r:]), nil, nil
	}
	b, err = c.span(r)
	if err != nil {
		return 0, 0, nil, fieldErr(row, col, err)
	}
	return t, 0, b, nil
}

// isValid reports whether row r of a typed column is not NULL.
func (c *rcol) isValid(r uint64) bool {
	return c.valid == nil || c.valid[r>>3]>>(r&7)&1 != 0
}

// span returns the bytes of row r of a STRING or BLOB column, its offsets
// read once and checked against the data buffer: a writer rewriting the
// offsets (a reusable window) yields wrong bytes, never bytes outside it.
func (c *rcol) span(r uint64) ([]byte, error) {
	lo, hi := le.Uint32(c.values[4*r:]), le.Uint32(c.values[4*r+4:])
	if lo > hi || uint64(hi) > uint64(len(c.data)) {
		return nil, corruptf("offsets [%d, %d) outside the column's %d data bytes", lo, hi, len(c.data))
	}
	return c.data[lo:hi:hi], nil
}

// Type returns the type of the field at (row, col).
func (w *Window) Type(row, col int) (FieldType, error) {
	if uint64(uint(row)) >= w.nrows || uint64(uint(col)) >= w.ncols {
		return 0, w.accessErr(row, col)
	}
	r, _ := w.Row(row)
	if t := r.Type(col); t <= TypeBlob {
		return t, nil
	}
	t, _, _, err := w.field(row, col)
	return t, err
}

// IsNull reports whether the field at (row, col) is NULL.
func (w *Window) IsNull(row, col int) (bool, error) {
	t, err := w.Type(row, col)
	return t == TypeNull, err
}

// Int64 returns the field at (row, col) as an int64. As Android's
// CursorWindow does, it converts: a FLOAT64 is truncated, a STRING is
// parsed, NULL reads as 0. A BLOB is ErrType.
func (w *Window) Int64(row, col int) (int64, error) {
	if uint64(uint(row)) < w.nrows {
		if v, ok := w.fixed(uint64(row), col, TypeInt64); ok {
			return int64(v), nil
		}
	}
	return w.int64Slow(row, col)
}

func (w *Window) int64Slow(row, col int) (int64, error) {
	t, v, b, err := w.field(row, col)
	if err != nil {
		return 0, err
	}
	switch t {
	case TypeInt64:
		return int64(v), nil
	case TypeNull:
		return 0, nil
	case TypeFloat64:
		return int64(math.Float64frombits(v)), nil
	case TypeString:
		s := shm.String(b)
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, fieldErr(row, col, fmt.Errorf("%w: string is not a number", ErrType))
		}
		return int64(f), nil
	}
	return 0, w.typeErr(row, col, t, "int64")
}

// Float64 returns the field at (row, col) as a float64, converting an
// INT64, parsing a STRING and reading NULL as 0. A BLOB is ErrType.
func (w *Window) Float64(row, col int) (float64, error) {
	if uint64(uint(row)) < w.nrows {
		if v, ok := w.fixed(uint64(row), col, TypeFloat64); ok {
			return math.Float64frombits(v), nil
		}
	}
	return w.float64Slow(row, col)
}

func (w *Window) float64Slow(row, col int) (float64, error) {
	t, v, b, err := w.field(row, col)
	if err != nil {
		return 0, err
	}
	switch t {
	case TypeFloat64:
		return math.Float64frombits(v), nil
	case TypeInt64:
		return float64(int64(v)), nil
	case TypeNull:
		return 0, nil
	case TypeString:
		f, err := strconv.ParseFloat(shm.String(b), 64)
		if err != nil {
			return 0, fieldErr(row, col, fmt.Errorf("%w: string is not a number", ErrType))
		}
		return f, nil
	}
	return 0, w.typeErr(row, col, t, "float64")
}

// String returns a copy of the field at (row, col) as a string: always
// safe to keep. An INT64 or FLOAT64 is formatted, NULL reads as "". A BLOB
// is ErrType.
func (w *Window) String(row, col int) (string, error) {
	t, v, b, err := w.field(row, col)
	if err != nil {
		return "", err
	}
	switch t {
	case TypeString:
		return string(b), nil
	case TypeInt64:
		return strconv.FormatInt(int64(v), 10), nil
	case TypeFloat64:
		return strconv.FormatFloat(math.Float64frombits(v), 'g', -1, 64), nil
	case TypeNull:
		return "", nil
	}
	return "", w.typeErr(row, col, t, "string")
}

// StringView returns the STRING at (row, col) without copying it; NULL
// reads as "". The string is valid only until Close; it must not be kept
// beyond it (copy it with strings.Clone or use String).
func (w *Window) StringView(row, col int) (string, error) {
	if r, ok := w.Row(row); ok {
		if b, ok := r.Bytes(col); ok && w.cols[col].form == uint8(TypeString) {
			return shm.String(b), nil
		}
	}
	b, err := w.view(row, col, TypeString)
	return shm.String(b), err
}

// Bytes returns the STRING or BLOB at (row, col) without copying it; NULL
// reads as nil. The bytes are valid only until Close; must not be modified.
func (w *Window) Bytes(row, col int) ([]byte, error) {
	if r, ok := w.Row(row); ok {
		if b, ok := r.Bytes(col); ok {
			return b, nil
		}
	}
	return w.view(row, col, TypeBlob)
}

// AppendBytes appends a copy of the STRING or BLOB at (row, col) to dst.
func (w *Window) AppendBytes(dst []byte, row, col int) ([]byte, error) {
	b, err := w.Bytes(row, col)
	return append(dst, b...), err
}

// view returns the bytes of a STRING (or, with want TypeBlob, a STRING or
// BLOB) field.
func (w *Window) view(row, col int, want FieldType) ([]byte, error) {
	t, _, b, err := w.field(row, col)
	if err != nil {
		return nil, err
	}
	switch {
	case t == TypeString || t == want:
		return b, nil
	case t == TypeNull:
		return nil, nil
	}
	return nil, w.typeErr(row, col, t, want.String())
}

func (w *Window) typeErr(row, col int, t FieldType, want string) error {
	return fieldErr(row, col, fmt.Errorf("%w: %s read as %s", ErrType, t, want))
}
