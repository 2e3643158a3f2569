package gateway

import (
	"context"
	"sync"

	"github.com/cursorwindow/cursorwindow/content"
)

// pool holds the gateway's connections to the provider. Each remote
// request takes a connection of its own for its duration, so that one
// remote client's scan never counts against another's per-connection
// limits (provider.Limits), and a connection that saw the provider go is
// dropped, not reused: the next request dials again, which is how the
// gateway outlives a provider restart.
type pool struct {
	dial    Dialer
	maxIdle int

	mu     sync.Mutex
	idle   []*content.Client
	closed bool
}

// get returns an idle connection that is still up, or a new one.
func (p *pool) get(ctx context.Context) (*content.Client, error) {
	p.mu.Lock()
	for len(p.idle) > 0 {
		c := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if c.Err() == nil {
			p.mu.Unlock()
			return c, nil
		}
		c.Close()
	}
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, content.ErrClosed
	}
	return p.dial(ctx)
}

// put gives a connection back: kept if it is up and the pool has room,
// closed otherwise.
func (p *pool) put(c *content.Client) {
	p.mu.Lock()
	if !p.closed && c.Err() == nil && len(p.idle) < p.maxIdle {
		p.idle = append(p.idle, c)
		c = nil
	}
	p.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

// close closes the idle connections; those in use close when put back.
func (p *pool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, c := range idle {
		c.Close()
	}
}
