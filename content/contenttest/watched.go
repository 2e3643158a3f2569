package contenttest

import (
	"context"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

// Watched wraps a Provider and tells, on Closed, how many rows each
// query's Rows had been asked for (Next calls that returned true) when
// the server closed them: how a test sees that a cancelled or abandoned
// query stopped the provider's work. Closed holds 64 reports; past that,
// reports are dropped rather than block the server.
type Watched struct {
	provider.Provider
	Closed chan int64
}

// NewWatched wraps p.
func NewWatched(p provider.Provider) *Watched {
	return &Watched{Provider: p, Closed: make(chan int64, 64)}
}

// Query implements provider.Provider.
func (p *Watched) Query(ctx context.Context, q *content.Query) (provider.Rows, error) {
	rows, err := p.Provider.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	return &watchedRows{Rows: rows, closed: p.Closed}, nil
}

type watchedRows struct {
	provider.Rows
	n      int64
	closed chan int64
}

func (r *watchedRows) Next() bool {
	ok := r.Rows.Next()
	if ok {
		r.n++
	}
	return ok
}

func (r *watchedRows) Close() error {
	select {
	case r.closed <- r.n:
	default:
	}
	return r.Rows.Close()
}
