package window

import (
	"container/list"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/cursorwindow/cursorwindow/window/internal/shm"
)

// Mappings is a consumer's cache of window mappings, keyed by the identity
// of the memory behind them (a memfd's or POSIX shm object's device and
// inode, a System V segment's id): a window its provider recycles (a
// Pool's, refilled in place) and sends again is not mapped and faulted in
// again; only its header is read and validated again.
//
// Every Window open from one mapping shares it; closing the last makes
// the mapping idle, kept for the file to come back. The limit least
// recently used idle mappings are kept and older ones unmapped; a mapping
// in use is never unmapped. A kept mapping costs address space and page
// tables, not memory of its own: the pages are the provider's.
//
// The OpenOptions given to NewMappings apply to every window it opens:
// WithSizeLimit refuses a larger file before it is mapped, and
// WithQuarantine makes a view kept past its window's Close fault instead
// of reading what the provider writes there next: an idle mapping is made
// inaccessible (PROT_NONE) until it is reused, and an unmapped one stays
// reserved (it costs two mprotect calls per reuse, and address space).
//
// A Mappings is safe for concurrent use.
type Mappings struct {
	cfg   openConfig
	limit int

	mu     sync.Mutex
	byID   map[shm.Identity]*mapping
	idle   list.List  // of *mapping, least recently released at the front
	dups   []*os.File // descriptors of mapped memfds, to close (closeLater)
	closed bool
}

// mapping is one mapped window file and the readers that share it.
type mapping struct {
	m *Mappings
	// w owns the mapping and holds the header as last validated; the
	// readers handed out are copies of it that do not own the mapping.
	w    *Window
	refs int
	elem *list.Element // in idle while refs == 0
	// guarded reports an unsealed backing (POSIX shm): its header is read
	// again inside guard.
	guarded bool
	// sealed reports a memfd Open mapped after checking its seals: the
	// only mapping Open reuses on its identity alone.
	sealed bool
}

// NewMappings returns a cache that keeps up to limit idle mappings
// (limit <= 0 keeps none: a window is unmapped when its last reader
// closes). Close it when done.
func NewMappings(limit int, opts ...OpenOption) *Mappings {
	return &Mappings{cfg: newOpenConfig(opts), limit: max(limit, 0), byID: map[shm.Identity]*mapping{}}
}

// Open returns a reader over the sealed memfd f, as Open does, reusing
// the mapping of an earlier window of the same file if there is one: the
// header is then validated again (the provider may have refilled the
// window), and nothing is mapped. The file's seals and its descriptor's
// mode are checked only when it is mapped: seals are never removed, and
// a mapping reused is read through the mapping, not the descriptor, so
// a memfd this cache has mapped costs one statx of the attributes the
// kernel has cached (its identity), made so that neither it nor the
// descriptor's close can block or wake a thread of the Go runtime. The
// mapping of a POSIX shm object (CopyLocation), unsealed, is never reused
// so: its descriptor gets every check, and is refused. Open takes
// ownership of f and closes it, whatever it returns: the mapping outlives
// the descriptor. With WithCloseBatch, the descriptor of a memfd already
// mapped is closed with a batch of others, or when a mapping is
// unmapped.
//
// Closing the reader gives the mapping back to the cache; views into it
// are valid only until then.
func (m *Mappings) Open(f *os.File) (*Window, error) {
	if f == nil {
		return nil, fmt.Errorf("%w: nil file", ErrNotSealed)
	}
	if id, size, regular, err := shm.CachedIdentity(f); err == nil && regular {
		m.mu.Lock()
		var mp *mapping
		if known := m.byID[id]; known != nil && known.sealed { // a sealed memfd's, mapped by Open
			mp, err = m.reuse(id, size)
		}
		var w *Window
		var kept bool
		if mp != nil {
			w = mp.reader()
			kept = m.closeLater(f)
		}
		m.mu.Unlock()
		if err != nil || w != nil {
			if !kept {
				f.Close()
			}
			return w, err
		}
	}
	defer f.Close()
	in, err := statSealed(f) // mapped for the first time: every check
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	mp, err := m.reuse(in.ID, in.Size)
	if err != nil {
		return nil, err
	}
	if mp == nil {
		w, err := mapSealed(f, in, m.cfg, false)
		if err != nil {
			return nil, err
		}
		mp = m.add(w, false)
		mp.sealed = true
	}
	return mp.reader(), nil
}

// closeLater keeps f, a descriptor of a memfd this cache maps, to be
// closed with others (WithCloseBatch), and reports whether it did: false,
// without a batch, for the caller to close f at once. Closing a kept
// descriptor frees nothing while its mapping stays; they are closed when
// the batch is full, and when a mapping is unmapped. m.mu must be held.
func (m *Mappings) closeLater(f *os.File) bool {
	if m.cfg.closeBatch <= 1 {
		return false
	}
	m.dups = append(m.dups, f)
	if len(m.dups) >= m.cfg.closeBatch {
		m.closeDups()
	}
	return true
}

// closeDups closes the descriptors closeLater kept. m.mu must be held.
func (m *Mappings) closeDups() {
	for i, f := range m.dups {
		f.Close()
		m.dups[i] = nil
	}
	m.dups = m.dups[:0]
}

// CopyLocation returns a reader over a private copy of the window at l (a
// POSIX shm object or a System V segment a provider announced by name or
// id), as OpenLocation does, but reusing the mapping of an earlier window
// of the same memory: the checks of owner, mode and size are made each
// time, the mapping only once. The mapping goes idle as soon as the copy
// is made. The copy is ordinary Go memory: its views stay valid until the
// reader is garbage, and its Close frees nothing.
//
// A file window (KindFile) is copied the same way but not cached: a new
// snapshot is a new file at the same path.
func (m *Mappings) CopyLocation(l Location) (*Window, error) {
	if l.Kind == KindFile {
		return copyLocation(l, m.cfg)
	}
	mp, err := m.acquireLocation(l)
	if err != nil {
		return nil, err
	}
	c, err := mp.w.compactCopy()
	m.release(mp)
	return c, err
}

// acquireLocation returns the mapping of the shm object or System V
// segment at l, with a reference taken, mapping it if it is not cached.
// The owner, the mode and the size are checked each time: the name may
// now be another object, and the cached mapping is used only if the
// object is the same one, of the same size.
func (m *Mappings) acquireLocation(l Location) (*mapping, error) {
	switch l.Kind {
	case KindShm:
		f, err := openShmName(l.Name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		in, err := shm.Fstat(f)
		if err == nil {
			err = admitUnsealed(in, checkOwner, m.cfg)
		}
		if err != nil {
			return nil, fmt.Errorf("shm %s: %w", l.Name, err)
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		mp, err := m.reuse(in.ID, in.Size)
		if mp != nil || err != nil {
			return mp, err
		}
		w, err := mapUnsealed(f, in, m.cfg)
		if err != nil {
			return nil, fmt.Errorf("shm %s: %w", l.Name, err)
		}
		return m.add(w, true), nil
	case KindSysV:
		in, err := statSysV(l.ID, m.cfg)
		if err != nil {
			return nil, err
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		mp, err := m.reuse(in.ID, in.Size)
		if mp != nil || err != nil {
			return mp, err
		}
		w, err := attachSysV(l.ID, m.cfg)
		if err != nil {
			return nil, err
		}
		return m.add(w, false), nil
	}
	return nil, errNoLocation(l)
}

// reuse returns the cached mapping of id with a reference taken, its
// header validated again if it was idle, or nil if there is none to
// reuse: none is cached, the file is no longer the size mapped, or its
// header no longer validates (the mapping is then dropped, and a fresh one
// reports the error). m.mu must be held.
func (m *Mappings) reuse(id shm.Identity, size int64) (*mapping, error) {
	if m.closed {
		return nil, ErrClosed
	}
	mp := m.byID[id]
	switch {
	case mp == nil:
		return nil, nil
	case int64(len(mp.w.mapping)) != size:
		m.forget(mp)
		return nil, nil
	case mp.refs == 0:
		m.idle.Remove(mp.elem)
		mp.elem = nil
		reload := mp.w.reload
		if mp.guarded {
			reload = func() error { return mp.w.guard(mp.w.reload) }
		}
		if reload() != nil {
			m.forget(mp)
			return nil, nil
		}
	}
	mp.refs++
	return mp, nil
}

// add caches the new mapping w, with one reference. m.mu must be held.
func (m *Mappings) add(w *Window, guarded bool) *mapping {
	mp := &mapping{m: m, w: w, refs: 1, guarded: guarded}
	w.quarantine = m.cfg.quarantine
	m.byID[w.id] = mp
	return mp
}

// forget removes mp from the cache; it is unmapped now if no reader
// holds it, else when the last one closes. m.mu must be held.
func (m *Mappings) forget(mp *mapping) {
	if m.byID[mp.w.id] == mp {
		delete(m.byID, mp.w.id)
	}
	if mp.refs == 0 {
		m.closeDups() // none may keep the file alive past its mapping
		mp.w.Close()
	}
}

// reader returns a Window over mp's mapping, holding one of its
// references, that gives it back when closed. The copy's cols are the
// mapping's (its own few go unused): a mapping is parsed once.
func (mp *mapping) reader() *Window {
	r := *mp.w
	r.mapping, r.quarantine, r.shared = nil, false, mp
	return &r
}

// release drops a reference to mp. A mapping no reader holds becomes
// idle (inaccessible, with WithQuarantine) or, beyond the limit, the
// least recently used idle one is unmapped.
func (m *Mappings) release(mp *mapping) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	mp.refs--
	if mp.refs > 0 {
		return nil
	}
	if m.closed || m.byID[mp.w.id] != mp {
		m.closeDups()
		return mp.w.Close()
	}
	if m.cfg.quarantine { // a stale view must fault, not read the refill
		if err := mp.w.park(); err != nil {
			m.forget(mp)
			return err
		}
	}
	mp.elem = m.idle.PushBack(mp)
	for m.idle.Len() > m.limit {
		m.forget(m.idle.Remove(m.idle.Front()).(*mapping))
	}
	return nil
}

// MappingStats is a snapshot of a Mappings cache.
type MappingStats struct {
	// InUse counts the cached mappings some open Window reads.
	InUse int
	// Idle counts the mappings kept for reuse that no Window reads.
	Idle int
}

// Stats returns a snapshot of the cache's mappings.
func (m *Mappings) Stats() MappingStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	idle := m.idle.Len()
	return MappingStats{InUse: len(m.byID) - idle, Idle: idle}
}

// Close unmaps the idle mappings; those still in use are unmapped when
// their last reader closes. Open and CopyLocation then return ErrClosed.
// Close is idempotent.
func (m *Mappings) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.closeDups()
	var err error
	for e := m.idle.Front(); e != nil; e = e.Next() {
		mp := e.Value.(*mapping)
		delete(m.byID, mp.w.id)
		err = errors.Join(err, mp.w.Close())
	}
	m.idle.Init()
	return err
}
