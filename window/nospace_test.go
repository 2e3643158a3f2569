package window_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/cursorwindow/cursorwindow/window"
)

// smallTmpfs is the size of the tmpfs the no-space tests fill.
const smallTmpfs = 4 << 20

// mountTmpfs mounts a tmpfs of size bytes on dir, or skips the test where
// mounting is not permitted. The tmpfs is unmounted in t.Cleanup.
func mountTmpfs(t testing.TB, dir string, size int) {
	t.Helper()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0700", size)); err != nil {
		t.Skipf("cannot mount a tmpfs to fill (needs root or CAP_SYS_ADMIN): %v", err)
	}
	t.Cleanup(func() { assert.NoError(t, unix.Unmount(dir, 0)) })
}

// fillUntilError appends rows of one 64 KiB blob until a write fails and
// returns that error (nil if the window filled up to its maximum first).
func fillUntilError(w *window.Writer) error {
	blob := bytes.Repeat([]byte{0xa5}, 64<<10)
	for {
		if err := w.AllocRow(); err != nil {
			return err
		}
		if err := w.PutBlob(0, blob); err != nil {
			return err
		}
	}
}

// checkNoSpace asserts that err is a full filesystem, not a full window.
func checkNoSpace(t testing.TB, err error) {
	t.Helper()
	require.Error(t, err)
	assert.ErrorIs(t, err, syscall.ENOSPC)
	assert.NotErrorIs(t, err, window.ErrWindowFull)
}

func TestFileWindowOnAFullTmpfsIsENOSPC(t *testing.T) {
	dir := t.TempDir()
	mountTmpfs(t, dir, smallTmpfs)
	path := filepath.Join(dir, "snap.cw")
	opts := []window.Option{window.WithBacking(window.FileBacking(path)), window.WithMaxSize(64 << 20)}

	t.Run("create", func(t *testing.T) {
		_, err := window.Create(1, append(opts, window.WithInitialSize(8<<20))...)
		checkNoSpace(t, err)
		assertEmptyDir(t, dir)
	})
	t.Run("grow", func(t *testing.T) {
		w, err := window.Create(1, opts...)
		require.NoError(t, err)
		defer w.Close()
		checkNoSpace(t, fillUntilError(w))
		// The failed row was rolled back; the rows before it are intact
		// and the window can still be sealed into place.
		checkInvariants(t, w)
		rows := w.NumRows()
		require.Positive(t, rows)
		require.NoError(t, w.Seal())
		r, err := window.OpenFile(path)
		require.NoError(t, err)
		assert.Equal(t, rows, r.NumRows())
		require.NoError(t, r.Close())
		require.NoError(t, os.Remove(path))
	})
	t.Run("close", func(t *testing.T) {
		w, err := window.Create(1, opts...)
		require.NoError(t, err)
		checkNoSpace(t, fillUntilError(w))
		require.NoError(t, w.Close())
		assertEmptyDir(t, dir) // the temporary file is gone
	})
}

// TestShmWindowOnAFullDevShmIsENOSPC fills POSIX shm windows in a child
// that has its own mount namespace with a 4 MiB tmpfs over /dev/shm: the
// backing's real path, without a test-only directory setting.
func TestShmWindowOnAFullDevShmIsENOSPC(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs over /dev/shm in a private mount namespace")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=nospace-shm")
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS} // mounts made private
	out, err := cmd.CombinedOutput()
	if err != nil && strings.Contains(string(out), "skip:") {
		t.Skip(strings.TrimSpace(string(out)))
	}
	require.NoError(t, err, "child (must exit normally, not die of SIGBUS): %s", out)
	assert.Equal(t, "create: ENOSPC, nothing left\ngrow: ENOSPC, nothing left", strings.TrimSpace(string(out)))
}

// noSpaceShmChild runs in a private mount namespace: it mounts a small
// tmpfs over /dev/shm and fills shm windows in it.
func noSpaceShmChild() int {
	if err := unix.Mount("tmpfs", "/dev/shm", "tmpfs", 0, fmt.Sprintf("size=%d", smallTmpfs)); err != nil {
		fmt.Println("skip: cannot mount a tmpfs over /dev/shm:", err)
		return 1
	}
	opts := []window.Option{window.WithBacking(window.ShmBacking()), window.WithName(testPrefix), window.WithMaxSize(64 << 20)}
	check := func(step string, err error) bool {
		if !errors.Is(err, syscall.ENOSPC) || errors.Is(err, window.ErrWindowFull) {
			fmt.Printf("%s: want ENOSPC, got %v\n", step, err)
			return false
		}
		if ents, _ := os.ReadDir("/dev/shm"); len(ents) > 0 {
			fmt.Printf("%s: %d names left in /dev/shm\n", step, len(ents))
			return false
		}
		fmt.Printf("%s: ENOSPC, nothing left\n", step)
		return true
	}
	_, err := window.Create(1, append(opts, window.WithInitialSize(8<<20))...)
	if !check("create", err) {
		return 1
	}
	w, err := window.Create(1, opts...)
	if err != nil {
		fmt.Println("create:", err)
		return 1
	}
	err = fillUntilError(w)
	if cerr := w.Close(); cerr != nil {
		fmt.Println("close:", cerr)
		return 1
	}
	if !check("grow", err) {
		return 1
	}
	return 0
}

// assertEmptyDir asserts that dir holds no file.
func assertEmptyDir(t testing.TB, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	assert.Empty(t, names, "files left in %s", dir)
}
