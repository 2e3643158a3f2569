package window_test

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/cursorwindow/cursorwindow/window"
)

// limitWindow is the size of the windows the size-limit tests open.
const limitWindow = 64 << 10

// TestSizeLimitRefusesLargerWindows opens a window of every backing
// through every reader with a limit just above, at and just below its
// size.
func TestSizeLimitRefusesLargerWindows(t *testing.T) {
	checkLeaks(t)
	fixed := []window.Option{window.WithInitialSize(limitWindow), window.WithMaxSize(limitWindow)}
	type opener func(w *window.Writer, opts ...window.OpenOption) (*window.Window, error)
	byLocation := func(w *window.Writer, opts ...window.OpenOption) (*window.Window, error) {
		return window.OpenLocation(w.Location(), opts...)
	}
	for _, tc := range []struct {
		name string
		opts []window.Option
		seal func(*window.Writer) error
		open opener
		size int64 // of the region the reader checks
	}{
		{"Open", fixed, (*window.Writer).SealReusable, func(w *window.Writer, opts ...window.OpenOption) (*window.Window, error) {
			return window.Open(w.File(), opts...)
		}, limitWindow},
		{"OpenShm", append(fixed, backings(t)["shm"]...), (*window.Writer).SealReusable, func(w *window.Writer, opts ...window.OpenOption) (*window.Window, error) {
			return window.OpenShm(w.Location().Name, opts...)
		}, limitWindow},
		{"OpenSysV", append(fixed, backings(t)["sysv"]...), (*window.Writer).Seal, func(w *window.Writer, opts ...window.OpenOption) (*window.Window, error) {
			return window.OpenSysV(w.Location().ID, opts...)
		}, limitWindow},
		{"OpenSysVKey", append(fixed, backings(t)["sysv"]...), (*window.Writer).Seal, func(w *window.Writer, opts ...window.OpenOption) (*window.Window, error) {
			return window.OpenSysVKey(w.Location().Key, opts...)
		}, limitWindow},
		{"OpenFile", append(fixed, backings(t)["file"]...), (*window.Writer).SealReusable, func(w *window.Writer, opts ...window.OpenOption) (*window.Window, error) {
			return window.OpenFile(w.Location().Path, opts...)
		}, 0},
		{"OpenLocation", append(fixed, backings(t)["shm"]...), (*window.Writer).SealReusable, byLocation, limitWindow},
		{"Mappings.Open", fixed, (*window.Writer).SealReusable, func(w *window.Writer, opts ...window.OpenOption) (*window.Window, error) {
			m := window.NewMappings(4, opts...)
			defer m.Close()
			f, err := os.Open("/proc/self/fd/" + strconv.Itoa(int(w.File().Fd())))
			if err != nil {
				return nil, err
			}
			r, err := m.Open(f)
			if err == nil {
				assert.Error(t, f.Close(), "Mappings.Open closed the file")
			}
			return r, err
		}, limitWindow},
		{"Mappings.CopyLocation", append(fixed, backings(t)["sysv"]...), (*window.Writer).Seal, func(w *window.Writer, opts ...window.OpenOption) (*window.Window, error) {
			m := window.NewMappings(4, opts...)
			defer m.Close()
			return m.CopyLocation(w.Location())
		}, limitWindow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := window.Create(1, tc.opts...)
			require.NoError(t, err)
			defer w.Close()
			writeRows(t, w, [][]value{{vStr("fifty rows would do")}})
			if tc.name == "OpenFile" {
				require.NoError(t, w.Seal()) // a file window is compacted
				st, err := os.Stat(w.Location().Path)
				require.NoError(t, err)
				tc.size = st.Size()
			} else {
				require.NoError(t, tc.seal(w))
			}
			for _, lc := range []struct {
				limit int64
				ok    bool
			}{{0, true}, {-1, true}, {tc.size + 1, true}, {tc.size, true}, {tc.size - 1, false}, {window.HeaderSize, false}} {
				r, err := tc.open(w, window.WithSizeLimit(lc.limit))
				if !lc.ok {
					require.ErrorIs(t, err, window.ErrTooLarge, "limit %d", lc.limit)
					assert.NotErrorIs(t, err, window.ErrCorrupt)
					assert.Contains(t, err.Error(), "exceeds limit")
					continue
				}
				require.NoError(t, err, "limit %d", lc.limit)
				require.NoError(t, r.Guard(func() error {
					assertRows(t, r, [][]value{{vStr("fifty rows would do")}})
					return nil
				}))
				require.NoError(t, r.Close())
			}
		})
	}
}

// TestHugeAnnouncedShmWindowIsRefusedUnread is issue 16's hostile
// provider: a POSIX shm object of 2 GiB (sparse: it costs nothing) is
// refused from its size alone, before anything is mapped or copied.
func TestHugeAnnouncedShmWindowIsRefusedUnread(t *testing.T) {
	checkLeaks(t)
	name := testPrefix + "-huge-" + strconv.Itoa(os.Getpid())
	fd, err := unix.Open("/dev/shm/"+name, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600)
	require.NoError(t, err)
	defer unix.Unlink("/dev/shm/" + name)
	require.NoError(t, unix.Ftruncate(fd, 2<<30))
	require.NoError(t, unix.Close(fd))
	loc := window.Location{Kind: window.KindShm, Name: name}

	m := window.NewMappings(4, window.WithSizeLimit(limitWindow))
	defer m.Close()
	start := time.Now()
	for _, open := range []func() (*window.Window, error){
		func() (*window.Window, error) { return window.OpenShm(name, window.WithSizeLimit(limitWindow)) },
		func() (*window.Window, error) { return window.OpenLocation(loc, window.WithSizeLimit(limitWindow)) },
		func() (*window.Window, error) { return m.CopyLocation(loc) },
	} {
		r, err := open()
		require.ErrorIs(t, err, window.ErrTooLarge)
		assert.Nil(t, r)
		assert.Contains(t, err.Error(), "2147483648 bytes exceeds limit 65536")
	}
	assert.Less(t, time.Since(start), time.Second, "nothing was copied")
	maps, err := os.ReadFile("/proc/self/maps")
	require.NoError(t, err)
	assert.False(t, strings.Contains(string(maps), name), "nothing of it is mapped")
}
