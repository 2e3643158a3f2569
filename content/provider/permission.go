package provider

import (
	"context"
	"fmt"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/internal/wire"
	"github.com/cursorwindow/cursorwindow/fdpass"
)

// Permission decides, request by request, whether a peer may perform op
// on uri, as Android guards each URI of a provider with read and write
// permissions. It returns nil to allow, or an error (sent to the consumer
// wrapped in content.ErrPermission) to refuse. It runs after the connection's
// Authorizer admitted the peer, on every query, write, call and
// registration, and before every change notification is delivered (a
// peer that may not register a URI is not told it changed). A refused
// peer never reaches the provider or the shared windows of the URI.
//
// Permissions are called concurrently and must be fast: they run on the
// connection's reading goroutine.
type Permission func(cred fdpass.Cred, op content.Op, uri string) error

// WithPermission sets the per-request check (default: everything the
// Authorizer admitted is allowed).
func WithPermission(p Permission) ServerOption { return func(c *serverConfig) { c.perm = p } }

// permit checks op on uri for the connection's peer. A Permission that
// panics refuses.
func (c *serverConn) permit(op content.Op, uri string) (err error) {
	p := c.s.cfg.perm
	if p == nil {
		return nil
	}
	defer c.recovered("Permission", &err)
	if err := p(c.cred, op, uri); err != nil {
		return fmt.Errorf("%w: uid %d may not %s %s: %v", content.ErrPermission, c.cred.UID, op, quoted(uri), err)
	}
	return nil
}

type peerKey struct{}

// PeerCred returns the credentials of the consumer a Provider method
// serves, from the context the server passes it: for checks finer than
// a Permission can make (the tables a Call lists, say).
func PeerCred(ctx context.Context) (fdpass.Cred, bool) {
	c, ok := ctx.Value(peerKey{}).(fdpass.Cred)
	return c, ok
}

// writeOps maps the write messages' operations onto Ops.
var writeOps = map[string]content.Op{wire.WriteInsert: content.OpInsert, wire.WriteUpdate: content.OpUpdate, wire.WriteDelete: content.OpDelete, wire.WriteCall: content.OpCall}
