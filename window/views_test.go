package window_test

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/window"
)

// faults reports whether reading b[0] faults (instead of returning data).
func faults(b []byte) (faulted bool, got byte) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			_, faulted = r.(interface{ Addr() uintptr })
		}
	}()
	return false, b[0]
}

// filled returns a sealed-reusable memfd window of one STRING row.
func filled(t *testing.T, s string) *window.Writer {
	w := newMemfd(t, 1, window.WithInitialSize(64<<10), window.WithMaxSize(64<<10))
	writeRows(t, w, [][]value{{vStr(s)}})
	require.NoError(t, w.SealReusable())
	return w
}

func TestParkedViewsFault(t *testing.T) {
	w := filled(t, "first window's data")
	r, err := window.Open(w.File())
	require.NoError(t, err)
	defer r.Close()
	view, err := r.Bytes(0, 0)
	require.NoError(t, err)
	require.NoError(t, r.Park())
	_, err = r.String(0, 0)
	require.ErrorIs(t, err, window.ErrClosed, "accessors refuse a parked window")

	// The writer refills the same memory; the stale view must not see it.
	require.NoError(t, w.Reset(0))
	writeRows(t, w, [][]value{{vStr("SECOND window's data")}})
	require.NoError(t, w.SealReusable())
	faulted, got := faults(view)
	assert.True(t, faulted, "a stale view faults instead of reading %q", got)

	require.NoError(t, r.Reload())
	s, err := r.String(0, 0)
	require.NoError(t, err)
	assert.Equal(t, "SECOND window's data", s, "reloaded in place")
}

func TestQuarantinedViewsFault(t *testing.T) {
	w := filled(t, "quarantined")
	r, err := window.Open(w.File(), window.WithQuarantine())
	require.NoError(t, err)
	view, err := r.Bytes(0, 0)
	require.NoError(t, err)
	assert.Equal(t, byte('q'), view[0])
	require.NoError(t, r.Close())
	// Map many windows: none may land where the closed one was.
	var others []*window.Window
	for range 64 {
		o, err := window.Open(w.File())
		require.NoError(t, err)
		others = append(others, o)
	}
	defer func() {
		for _, o := range others {
			o.Close()
		}
	}()
	faulted, _ := faults(view)
	assert.True(t, faulted, "a view kept past Close faults")
}
