package window

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/cursorwindow/cursorwindow/window/internal/shm"
)

// OpenUnsealed maps f read-only without requiring seals: for backings that
// cannot be sealed (a file, a POSIX shm object) and for tests. Another
// process may truncate such a file under the reader, and touching a page
// past its new end raises SIGBUS, which kills a Go program: every read of
// an unsealed window must run inside Guard. The header, the size check and
// every bounds check are as for Open.
func OpenUnsealed(f *os.File) (*Window, error) {
	if f == nil {
		return nil, fmt.Errorf("%w: nil file", ErrCorrupt)
	}
	return openUnsealed(f, nil, openConfig{})
}

// openUnsealed maps f read-only once its size passes cfg's checks and
// check (if any) admits its owner and mode, and validates the header
// inside Guard.
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
// the header inside Guard.
func mapUnsealed(f *os.File, in shm.Info, cfg openConfig) (*Window, error) {
	m, err := shm.MapShared(f, int(in.Size), false, false)
	if err != nil {
		return nil, err
	}
	w := &Window{b: m}
	if err := w.Guard(w.parse); err != nil {
		shm.Unmap(m)
		return nil, err
	}
	w.mapping = m
	w.id = fileID(in.ID)
	w.quarantine = cfg.quarantine
	return w, nil
}

// Guard runs fn, which reads the window, so that a memory fault (SIGBUS
// from a file truncated under the mapping, say) becomes an error matching
// ErrCorrupt instead of killing the program. It must be called on the
// goroutine that reads: it sets runtime/debug.SetPanicOnFault for the
// duration of fn. Views obtained inside fn must not be used outside it.
// Panics other than memory faults propagate.
func (w *Window) Guard(fn func() error) (err error) {
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

// AppendTo appends a copy of the window's bytes to dst, inside Guard, and
// returns the extended slice: a private copy of an unsealed window that
// OpenBytes reads with no risk of a fault or of bytes changing under the
// reader. A fault while copying is ErrCorrupt.
func (w *Window) AppendTo(dst []byte) ([]byte, error) {
	if w.closed || w.parked {
		return dst, ErrClosed
	}
	n := len(dst)
	err := w.Guard(func() error {
		dst = append(dst, w.b...)
		return nil
	})
	if err != nil {
		return dst[:n], err
	}
	return dst, nil
}
