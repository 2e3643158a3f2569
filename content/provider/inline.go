package provider

import (
	"sync"

	"github.com/cursorwindow/cursorwindow/window"
)

// inlinePool recycles the Go-memory windows that small results are filled
// in, and the buffers their compact copies are encoded from: a small query
// then allocates neither (a fresh window costs an allocation, zeroing and
// page faults per query). Only the common shapes are kept (the server's
// inline limit, up to maxPooledColumns columns), so that a consumer cannot
// make the server keep a pool per projection it invents.
type inlinePool struct {
	windows [maxPooledColumns + 1]sync.Pool // by column count: *window.Writer of the server's inline limit
	bufs    sync.Pool
}

// maxPooledColumns bounds the column counts whose inline windows are kept.
const maxPooledColumns = 64

// get returns an empty Go-memory window of ncols columns, growing up to
// limit bytes, starting at start; pooled is the limit of the windows the
// pool keeps.
func (p *inlinePool) get(ncols int, limit, pooled, start int64) (*window.Writer, error) {
	if ncols <= maxPooledColumns && limit == pooled {
		if w, _ := p.windows[ncols].Get().(*window.Writer); w != nil {
			if w.Reset(start) == nil {
				return w, nil
			}
			w.Close()
		}
	}
	return window.New(ncols, window.WithMaxSize(limit), window.WithStartPos(start), window.WithInitialSize(min(limit, 2<<10)))
}

// put keeps w, of ncols columns and limit bytes, for another query if
// limit is pooled, the pool's; any other shape is closed.
func (p *inlinePool) put(ncols int, limit int64, w *window.Writer, pooled int64) {
	if ncols > maxPooledColumns || limit != pooled {
		w.Close()
		return
	}
	p.windows[ncols].Put(w)
}

// buf returns an empty buffer for a window's compact copy, by a pointer
// to it, which putBuf takes back: the pointer goes round with its buffer,
// so that keeping a buffer allocates nothing.
func (p *inlinePool) buf() *[]byte {
	if b, _ := p.bufs.Get().(*[]byte); b != nil {
		*b = (*b)[:0]
		return b
	}
	return new([]byte)
}

// putBuf keeps a buffer (from buf, grown to its bytes) whose bytes have
// been sent.
func (p *inlinePool) putBuf(b *[]byte) {
	if cap(*b) > 0 && cap(*b) <= 64<<10 {
		p.bufs.Put(b)
	}
}
