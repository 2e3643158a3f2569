package window

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/cursorwindow/cursorwindow/window/internal/shm"
)

// A POSIX shm object or a file window cannot be sealed: another process
// may truncate it under the reader's mapping, and touching a page past its
// new end raises SIGBUS, which kills a Go program. So this package maps
// such a window only for as long as it takes to copy it (compactCopy):
// every read of an unsealed mapping runs inside guard, and only private
// copies reach the caller (OpenLocation, Mappings.CopyLocation).

// openUnsealed maps f read-only once its size passes cfg's checks and
// check (if any) admits its owner and mode, and validates the header
// inside guard.
func openUnsealed(f *os.File, check func(shm.Info) error, cfg openConfig) (*Window, error) {
	in, err := shm.Fstat(f)
	if err != nil {
		return nil, err
	}
	if err := admitUnsealed(in, check, cfg); err != nil {
		return nil, err
	}
	return mapUnsealed(f, in, cfg)
}

// admitUnsealed checks what fstat said of an unsealed file: a regular
// file whose size passes cfg's checks and whose owner and mode check (if
// any) admits.
func admitUnsealed(in shm.Info, check func(shm.Info) error, cfg openConfig) error {
	if !in.Regular {
		return corruptf("not a regular file")
	}
	if err := cfg.checkSize(in.Size); err != nil {
		return err
	}
	if check != nil {
		return check(in)
	}
	return nil
}

// mapUnsealed maps f, admitted by admitUnsealed, read-only and validates
// the header inside guard.
func mapUnsealed(f *os.File, in shm.Info, cfg openConfig) (*Window, error) {
	m, err := shm.MapShared(f, int(in.Size), false, false)
	if err != nil {
		return nil, err
	}
	w := &Window{b: m}
	if err := w.guard(w.parse); err != nil {
		shm.Unmap(m)
		return nil, err
	}
	w.mapping = m
	w.id = in.ID
	w.quarantine = cfg.quarantine
	return w, nil
}

// guard runs fn, which reads the window, so that a memory fault (SIGBUS
// from a file truncated under the mapping, say) becomes an error matching
// ErrCorrupt instead of killing the program. It must be called on the
// goroutine that reads: it sets runtime/debug.SetPanicOnFault for the
// duration of fn. Views obtained inside fn must not be used outside it.
// Panics other than memory faults propagate.
func (w *Window) guard(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		fault, ok := r.(interface{ Addr() uintptr })
		if !ok {
			panic(r)
		}
		err = fmt.Errorf("%w: memory fault at %#x while reading (was the file truncated?)", ErrCorrupt, fault.Addr())
	}()
	return fn()
}

// compactCopy returns a reader over a compact private copy of the
// window: its buffers, without the room between them, copied inside
// guard, under a header and directory written from the values checked at
// open (the memory may have changed since: it is read once, for the
// buffers). The copy is validated again as a window of its own, so a
// writer that changes the window meanwhile makes the copy read other
// values, never the reader fail.
func (w *Window) compactCopy() (*Window, error) {
	if w.closed || w.parked {
		return nil, ErrClosed
	}
	dir := directoryEnd(int(w.ncols))
	size := dir
	for i := range w.cols {
		c := &w.cols[i]
		size += alignUp(uint64(len(c.valid))) + alignUp(uint64(len(c.values))) +
			alignUp(uint64(len(c.types))) + alignUp(uint64(len(c.data)))
	}
	b := make([]byte, size)
	le.PutUint32(b[offMagic:], magic)
	le.PutUint16(b[offVersion:], version)
	le.PutUint32(b[offNumColumns:], uint32(w.ncols))
	le.PutUint32(b[offNumRows:], uint32(w.nrows))
	le.PutUint64(b[offStartPos:], uint64(w.startPos))
	le.PutUint64(b[offSize:], size)
	err := w.guard(func() error {
		off := dir
		for i := range w.cols {
			c := &w.cols[i]
			e := b[headerSize+uint64(i)*entrySize:][:entrySize]
			e[offEntryForm] = c.form
			if c.valid != nil {
				e[offEntryFlags] = entryValidity
			}
			le.PutUint64(e[offEntryLen:], uint64(len(c.data)))
			for _, f := range [...]struct {
				at  int
				buf []byte
			}{{offEntryValid, c.valid}, {offEntryValues, c.values}, {offEntryTypes, c.types}, {offEntryData, c.data}} {
				if f.buf != nil {
					le.PutUint64(e[f.at:], off)
					off += alignUp(uint64(copy(b[off:], f.buf)))
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return OpenBytes(b)
}
