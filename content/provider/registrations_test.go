package provider

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/internal/wire"
	"github.com/cursorwindow/cursorwindow/parcel"
)

// rawHello dials path and says hello: a consumer speaking the protocol by
// hand.
func rawHello(t *testing.T, path string) *rawLoad {
	t.Helper()
	uc, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	require.NoError(t, err)
	pc, err := parcel.NewConn(uc, wire.Registry)
	require.NoError(t, err)
	t.Cleanup(func() { pc.Close() })
	l := &rawLoad{t: t, pc: pc}
	_, ok := l.send(&wire.HelloMsg{Version: wire.Version}).(*wire.HelloReplyMsg)
	require.True(t, ok)
	return l
}

// register registers uri and returns the error it is answered with.
func (l *rawLoad) register(req uint64, uri string, desc bool) error {
	switch m := l.send(&wire.RegisterMsg{Req: req, URI: uri, Descendants: desc}).(type) {
	case *wire.OKMsg:
		return nil
	case *wire.ErrorMsg:
		return replyError(m)
	default:
		l.t.Fatalf("register answered with a %T", m)
		return nil
	}
}

// Registrations are bounded per connection and per uid: past either,
// register is refused busy naming the limit; registering a URI again
// costs nothing, unregistering or closing the connection gives its
// registrations back, and a URI longer than 4 KiB is refused.
func TestRegistrationsAreBounded(t *testing.T) {
	const perConn, perUID = 100, 250
	path, s, _ := serveSink(t, WithLimits(Limits{ConnWatches: perConn, UIDWatches: perUID}))
	a := rawHello(t, path)
	for i := range perConn {
		require.NoError(t, a.register(uint64(10+i), fmt.Sprintf("trips/%d", i), i%2 == 0))
	}
	err := a.register(1, "trips/x", false)
	require.ErrorIs(t, err, content.ErrBusy)
	assert.Contains(t, err.Error(), "the connection has 100 registrations (the per-connection limit)")
	require.NoError(t, a.register(2, "trips/7", true), "registering a URI again (widening it) counts nothing more")
	require.Nil(t, a.pc.Write(context.Background(), &wire.UnregisterMsg{URI: "trips/0"}))
	require.NoError(t, a.register(3, "trips/x", false), "an unregistered slot is free again")

	b := rawHello(t, path)
	c := rawHello(t, path)
	for i := range perConn {
		require.NoError(t, b.register(uint64(10+i), fmt.Sprintf("b/%d", i), false))
	}
	for i := range perUID - 2*perConn {
		require.NoError(t, c.register(uint64(10+i), fmt.Sprintf("c/%d", i), false))
	}
	err = c.register(4, "c/x", false)
	require.ErrorIs(t, err, content.ErrBusy)
	assert.Contains(t, err.Error(), "registrations (the per-uid limit)")
	assert.Equal(t, perUID, s.watchCount(), "every registration indexed once")

	require.NoError(t, b.pc.Close())
	require.Eventually(t, func() bool { return s.watchCount() == perUID-perConn }, 10*time.Second, time.Millisecond,
		"a closed connection's registrations are forgotten")
	require.NoError(t, c.register(5, "c/x", false), "and given back to the uid")

	err = c.register(6, strings.Repeat("u", maxWatchURI+1), false)
	require.ErrorIs(t, err, content.ErrBadRequest)
}

// watchCount returns how many registrations the server indexes.
func (s *Server) watchCount() int {
	s.watchers.mu.Lock()
	defer s.watchers.mu.Unlock()
	n := 0
	for _, conns := range s.watchers.byURI {
		n += len(conns)
	}
	return n
}

// A change costs the registrations it concerns, not all of them: with
// 10,000 registrations of other URIs (half with descendants, some of
// them siblings and cousins of the changed URI), a change of trips/5/x
// examines exactly the registrations of trips/5/x and its ancestors, as
// many as with no other registration at all, and notifies only their
// watchers.
func TestNotifyCostDoesNotGrowWithOtherRegistrations(t *testing.T) {
	path, s, _ := serveSink(t, WithLimits(Limits{ConnWatches: 20_000, UIDWatches: 20_000}))
	w := rawHello(t, path)
	for i, reg := range []struct {
		uri  string
		desc bool
	}{{"trips/5/x", false}, {"trips/5", true}, {"trips", true}, {"trips/", false}} {
		require.NoError(t, w.register(uint64(10+i), reg.uri, reg.desc))
	}
	cost := func() int64 {
		before := s.watchers.visited.Load()
		got := s.watchers.match("trips/5/x")
		require.Len(t, got, 1, "one watcher, once")
		assert.Equal(t, "trips/5/x", got[0].reg, "covered by its exact registration first")
		return s.watchers.visited.Load() - before
	}
	alone := cost()
	assert.Equal(t, int64(4), alone, "the registrations of trips/5/x and its ancestors (trips/, without descendants, is examined and passed over)")

	other := rawHello(t, path)
	for i := range 10_000 {
		uri := fmt.Sprintf("other/%d", i)
		switch i % 4 {
		case 1:
			uri = fmt.Sprintf("trips/5/x%d", i) // a sibling-like name: not below trips/5/x
		case 2:
			uri = fmt.Sprintf("trips/%d/x", i+6) // a cousin
		}
		require.NoError(t, other.register(uint64(100+i), uri, i%2 == 0))
	}
	assert.Equal(t, alone, cost(), "the same registrations examined with 10,000 others")

	// And the watcher is told, through the whole path.
	s.NotifyChange("trips/5/x")
	reply, _, err := w.pc.Read(context.Background())
	require.NoError(t, err)
	n, ok := reply.(*wire.NotifyMsg)
	require.True(t, ok, "a %T", reply)
	assert.Equal(t, "trips/5/x", n.URI)
}

// The index finds exactly the connections the protocol's rule names: a
// registration of the URI itself, or of one above it with descendants
// (isDescendant), over every URI of up to 5 characters of "a", "b" and
// "/" (slashes doubled, leading and trailing included).
func TestRegistrationsMatchTheRule(t *testing.T) {
	var uris []string
	var grow func(prefix string)
	grow = func(prefix string) {
		uris = append(uris, prefix)
		if len(prefix) < 5 {
			for _, c := range []string{"a", "b", "/"} {
				grow(prefix + c)
			}
		}
	}
	grow("")
	r := newRegistrations()
	type reg struct {
		uri  string
		desc bool
	}
	regs := map[*serverConn]reg{}
	for i, u := range uris {
		if i%3 == 0 { // a third of the URIs registered, alternately with descendants
			c := &serverConn{}
			regs[c] = reg{u, i%2 == 0}
			r.add(c, u, i%2 == 0)
		}
	}
	for _, u := range uris {
		want := map[*serverConn]bool{}
		for c, g := range regs {
			if g.uri == u || (g.desc && wire.IsDescendant(u, g.uri)) {
				want[c] = true
			}
		}
		got := map[*serverConn]bool{}
		for _, w := range r.match(u) {
			require.False(t, got[w.c], "%q: a connection once", u)
			got[w.c] = true
			require.True(t, w.reg == u || wire.IsDescendant(u, w.reg), "%q: covered by %q", u, w.reg)
		}
		require.Equal(t, want, got, "watchers of %q", u)
	}
}
