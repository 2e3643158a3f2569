package window_test

import (
	"errors"
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

// A sizeLimitReader opens the window w wrote, with opts.
type sizeLimitReader func(w *window.Writer, opts ...window.OpenOption) (*window.Window, error)

// sizeLimitCase is a reader and the backing and seal of the windows it
// opens.
type sizeLimitCase struct {
	name    string
	backing string // a key of backings
	seal    func(*window.Writer) error
	open    sizeLimitReader
}

// sizeLimitCases lists every reader: the public ones and the in-place
// readers of the named backings that OpenLocation copies from.
func sizeLimitCases() []sizeLimitCase {
	byLocation := func(w *window.Writer, opts ...window.OpenOption) (*window.Window, error) {
		return window.OpenLocation(w.Location(), opts...)
	}
	reusable, sealed := (*window.Writer).SealReusable, (*window.Writer).Seal
	return []sizeLimitCase{
		{"Open", "memfd", reusable, func(w *window.Writer, opts ...window.OpenOption) (*window.Window, error) {
			return window.Open(w.File(), opts...)
		}},
		{"OpenShm", "shm", reusable, func(w *window.Writer, opts ...window.OpenOption) (*window.Window, error) {
			return window.OpenShm(w.Location().Name, opts...)
		}},
		{"OpenSysV", "sysv", sealed, func(w *window.Writer, opts ...window.OpenOption) (*window.Window, error) {
			return window.OpenSysV(w.Location().ID, opts...)
		}},
		{"OpenFile", "file", sealed, func(w *window.Writer, opts ...window.OpenOption) (*window.Window, error) {
			return window.OpenFile(w.Location().Path, opts...)
		}},
		{"OpenLocation shm", "shm", reusable, byLocation},
		{"OpenLocation sysv", "sysv", sealed, byLocation},
		{"OpenLocation file", "file", sealed, byLocation},
		{"Mappings.Open", "memfd", reusable, func(w *window.Writer, opts ...window.OpenOption) (*window.Window, error) {
			m := window.NewMappings(4, opts...)
			defer m.Close()
			f, err := os.Open("/proc/self/fd/" + strconv.Itoa(int(w.File().Fd())))
			if err != nil {
				return nil, err
			}
			r, err := m.Open(f)
			if err == nil && f.Close() == nil {
				return nil, errors.New("Mappings.Open did not close the file")
			}
			return r, err
		}},
		{"Mappings.CopyLocation", "sysv", sealed, func(w *window.Writer, opts ...window.OpenOption) (*window.Window, error) {
			m := window.NewMappings(4, opts...)
			defer m.Close()
			return m.CopyLocation(w.Location())
		}},
	}
}

// TestSizeLimitRefusesLargerWindows opens a window of every backing
// through every reader with a limit just above, at and just below the
// size of its region.
func TestSizeLimitRefusesLargerWindows(t *testing.T) {
	checkLeaks(t)
	fixed := []window.Option{window.WithInitialSize(limitWindow), window.WithMaxSize(limitWindow)}
	for _, tc := range sizeLimitCases() {
		t.Run(tc.name, func(t *testing.T) {
			w, err := window.Create(1, append(fixed, backings(t)[tc.backing]...)...)
			require.NoError(t, err)
			defer w.Close()
			writeRows(t, w, [][]value{{vStr("fifty rows would do")}})
			require.NoError(t, tc.seal(w))
			size := int64(limitWindow)
			if path := w.Location().Path; path != "" { // a file window is compacted
				st, err := os.Stat(path)
				require.NoError(t, err)
				size = st.Size()
			}
			for _, lc := range []struct {
				limit int64
				ok    bool
			}{{0, true}, {-1, true}, {size + 1, true}, {size, true}, {size - 1, false}, {window.HeaderSize, false}} {
				checkSizeLimit(t, tc.open, w, lc.limit, lc.ok)
			}
		})
	}
}

// checkSizeLimit opens w's window with open and the size limit, and
// checks that it is read (ok) or refused as too large, unread.
func checkSizeLimit(t *testing.T, open sizeLimitReader, w *window.Writer, limit int64, ok bool) {
	t.Helper()
	r, err := open(w, window.WithSizeLimit(limit))
	if !ok {
		require.ErrorIs(t, err, window.ErrTooLarge, "limit %d", limit)
		assert.NotErrorIs(t, err, window.ErrCorrupt)
		assert.Contains(t, err.Error(), "exceeds limit")
		return
	}
	require.NoError(t, err, "limit %d", limit)
	require.NoError(t, r.Guard(func() error {
		assertRows(t, r, [][]value{{vStr("fifty rows would do")}})
		return nil
	}))
	require.NoError(t, r.Close())
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
