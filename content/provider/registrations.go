package provider

import (
	"sync"
	"sync/atomic"
)

// registrations indexes every connection's change registrations by URI,
// so that a change finds the watchers it concerns by looking up the URI
// itself and each of its ancestors (a registration with descendants
// covers every URI below it: isDescendant), never by visiting every
// registration: a change costs O(its URI's length + the registrations it
// concerns), however many other URIs are watched.
type registrations struct {
	mu    sync.Mutex
	byURI map[string]map[*serverConn]bool // registered URI → connection → with descendants
	// visited counts the registrations lookups have examined: what a
	// change costs, for the tests that bound it.
	visited atomic.Int64
}

func newRegistrations() *registrations {
	return &registrations{byURI: map[string]map[*serverConn]bool{}}
}

// add records c's registration of uri (desc: with descendants).
func (r *registrations) add(c *serverConn, uri string, desc bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	conns := r.byURI[uri]
	if conns == nil {
		conns = map[*serverConn]bool{}
		r.byURI[uri] = conns
	}
	conns[c] = desc
}

// remove forgets c's registration of uri.
func (r *registrations) remove(c *serverConn, uri string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if conns := r.byURI[uri]; conns != nil {
		delete(conns, c)
		if len(conns) == 0 {
			delete(r.byURI, uri)
		}
	}
}

// watcher is a connection a change concerns, and the registration of its
// that covers the change.
type watcher struct {
	c   *serverConn
	reg string
}

// match returns the connections registered for uri, or for an ancestor of
// uri with descendants, each once, with the registration that covers uri:
// uri itself if registered, else its nearest registered ancestor.
func (r *registrations) match(uri string) []watcher {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []watcher
	seen := map[*serverConn]bool{}
	visit := func(reg string, exact bool) {
		for c, desc := range r.byURI[reg] {
			r.visited.Add(1)
			if !seen[c] && (exact || desc) {
				seen[c] = true
				out = append(out, watcher{c, reg})
			}
		}
	}
	visit(uri, true)
	for i := len(uri) - 1; i >= 0; i-- { // the ancestors, nearest first
		if uri[i] != '/' || i == len(uri)-1 {
			continue
		}
		// Below uri[:i+1] ("trips/"), and below uri[:i] ("trips") unless
		// that itself ends in a slash (then it is the ancestor one
		// position up).
		visit(uri[:i+1], false)
		if i == 0 || uri[i-1] != '/' {
			visit(uri[:i], false)
		}
	}
	return out
}
