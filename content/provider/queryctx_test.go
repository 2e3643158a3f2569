package provider

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type ctxKey struct{}

// A query's context behaves as a context.WithCancel of the connection's,
// built or not: cancelled by the query's stop and by the connection's
// end, its values the connection's, its cause agreeing with its Err; and
// a context derived from it ends with it.
func TestQueryContext(t *testing.T) {
	newConn := func() (context.Context, context.CancelFunc) {
		return context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "peer"))
	}
	closed := func(ctx context.Context) bool {
		select {
		case <-ctx.Done():
			return true
		case <-time.After(time.Second):
			return false
		}
	}
	t.Run("unbuilt", func(t *testing.T) {
		conn, stopConn := newConn()
		defer stopConn()
		x := &queryContext{parent: conn}
		assert.NoError(t, x.Err())
		assert.Equal(t, "peer", x.Value(ctxKey{}))
		assert.Nil(t, x.built, "Err and Value build nothing")
		x.stop()
		assert.ErrorIs(t, x.Err(), context.Canceled)
		assert.ErrorIs(t, context.Cause(x), context.Canceled)
		assert.True(t, closed(x), "Done after stop is closed")
		assert.Equal(t, "peer", x.Value(ctxKey{}))
	})
	t.Run("built", func(t *testing.T) {
		conn, stopConn := newConn()
		defer stopConn()
		x := &queryContext{parent: conn}
		derived, cancel := context.WithCancel(x) // builds it: Done
		defer cancel()
		require.NotNil(t, x.built)
		assert.Equal(t, "peer", derived.Value(ctxKey{}))
		x.stop()
		assert.True(t, closed(derived), "a derived context ends with the query")
		assert.ErrorIs(t, derived.Err(), context.Canceled)
	})
	t.Run("connection ends", func(t *testing.T) {
		for _, build := range []bool{false, true} {
			conn, stopConn := newConn()
			x := &queryContext{parent: conn}
			if build {
				x.Done()
			}
			stopConn()
			assert.ErrorIs(t, x.Err(), context.Canceled)
			assert.True(t, closed(x))
			x.stop()
		}
	})
}
