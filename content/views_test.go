package content_test

import (
	"context"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

var sinkByte byte

func faults(b []byte) (faulted bool) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			_, faulted = r.(interface{ Addr() uintptr })
		}
	}()
	sinkByte = b[0] // a real load, not just a bounds check
	return false
}

// In checked mode, a view kept after the cursor left its window must
// never show another window's data: released windows are parked
// (PROT_NONE) while their mappings are kept, and closed ones stay
// reserved.
func TestStaleViewsFault(t *testing.T) {
	path, _ := startServer(t, newProvider(40_000), provider.WithWindowSize(64<<10), provider.WithSharedWindows(false))
	c, err := content.Dial(context.Background(), path, content.WithCheckedViews())
	require.NoError(t, err)
	cur, err := c.Query(context.Background(), &content.Query{URI: "trips"})
	require.NoError(t, err)
	require.True(t, cur.Next())
	stale, err := cur.Bytes(2)
	require.NoError(t, err)
	stale = stale[:1:1]
	// Move far: the first window is released, the provider refills its
	// memory for later windows.
	require.True(t, cur.Move(30_000))
	assert.True(t, faults(stale), "a stale view faults")
	require.NoError(t, cur.Close())
	require.NoError(t, c.Close())
	assert.True(t, faults(stale), "a view of a closed client's window faults too")
}
