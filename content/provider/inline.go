package provider

import (
	"sync"

	"github.com/cursorwindow/cursorwindow/window"
)

// inlinePool recycles the Go-memory windows that small results are filled
// in, and the buffers their compact copies are encoded from: a small query
// then allocates neither (a fresh window costs an allocation, zeroing and
// page faults per query). Only the common shapes are kept, so that a
// consumer cannot make the server keep a pool per projection it invents.
type inlinePool struct {
	windows sync.Map // inlineKey -> *sync.Pool of *window.Writer
	bufs    sync.Pool
}

type inlineKey struct {
	ncols int
	limit int64
}

// maxPooledColumns bounds the column counts whose inline windows are kept.
const maxPooledColumns = 64

// get returns an empty Go-memory window of ncols columns, growing up to
// limit bytes, starting at start.
func (p *inlinePool) get(ncols int, limit, start int64) (*window.Writer, error) {
	if sp, ok := p.windows.Load(inlineKey{ncols, limit}); ok {
		if w, _ := sp.(*sync.Pool).Get().(*window.Writer); w != nil {
			if w.Reset(start) == nil {
				return w, nil
			}
			w.Close()
		}
	}
	return window.New(ncols, window.WithMaxSize(limit), window.WithStartPos(start), window.WithInitialSize(min(limit, 2<<10)))
}

// put keeps w, of ncols columns and limit bytes, for another query; any
// other shape is closed.
func (p *inlinePool) put(ncols int, limit int64, w *window.Writer, defaultLimit int64) {
	if ncols > maxPooledColumns || limit != defaultLimit {
		w.Close()
		return
	}
	sp, _ := p.windows.LoadOrStore(inlineKey{ncols, limit}, &sync.Pool{})
	sp.(*sync.Pool).Put(w)
}

// buf returns an empty buffer for a window's compact copy.
func (p *inlinePool) buf() []byte {
	if b, _ := p.bufs.Get().(*[]byte); b != nil {
		return (*b)[:0]
	}
	return nil
}

// putBuf keeps a buffer whose bytes have been sent.
func (p *inlinePool) putBuf(b []byte) {
	if cap(b) > 0 && cap(b) <= 64<<10 {
		p.bufs.Put(&b)
	}
}
