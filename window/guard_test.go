package window_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/cursorwindow/cursorwindow/window"
)

// truncatedChild maps an unsealed window, lets "the provider" truncate it
// to nothing, and reads every value inside Guard: the SIGBUS must become
// an error, and the process must live to print it.
func truncatedChild() int {
	w, err := window.New(2, window.WithMaxSize(1<<20), window.WithInitialSize(1<<20))
	if err != nil {
		fmt.Println(err)
		return 1
	}
	for i := range 5000 {
		w.AllocRow()
		w.PutInt64(0, int64(i))
		w.PutString(1, strings.Repeat("x", 100))
	}
	b, _ := w.Bytes()
	fd, err := unix.MemfdCreate("unsealed", unix.MFD_CLOEXEC)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	f := os.NewFile(uintptr(fd), "unsealed")
	f.Write(b)
	r, err := window.OpenUnsealed(f)
	if err != nil {
		fmt.Println("open:", err)
		return 1
	}
	if err := unix.Ftruncate(fd, 0); err != nil { // the hostile provider
		fmt.Println(err)
		return 1
	}
	fmt.Println("survived:", guardedScan(r))
	return 0
}

// guardedScan reads every row of r (an INT64 and a STRING column) under
// Guard, as a consumer of an unsealed window must: a truncation under it
// is an error, not a crash.
func guardedScan(r *window.Window) error {
	return r.Guard(func() error {
		var sum int64
		for row := range r.NumRows() {
			v, err := r.Int64(row, 0)
			if err != nil {
				return err
			}
			s, _ := r.StringView(row, 1)
			sum += v + int64(len(s))
		}
		return nil
	})
}

func TestTruncatedUnsealedWindowIsAnErrorNotACrash(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=truncated")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "the child exits 0: %s", out)
	assert.Contains(t, string(out), "survived: window: corrupt: memory fault")
}

func TestGuardPassesOtherPanicsOn(t *testing.T) {
	w := newInline(t, 1)
	writeRows(t, w, [][]value{{vInt(1)}})
	r := view(t, w)
	assert.PanicsWithValue(t, "not a fault", func() {
		r.Guard(func() error { panic("not a fault") })
	})
	require.NoError(t, r.Guard(func() error { _, err := r.Int64(0, 0); return err }))
}

func TestOpenUnsealedChecksLikeOpen(t *testing.T) {
	w := newInline(t, 1)
	writeRows(t, w, [][]value{{vStr("ok")}})
	require.NoError(t, w.Seal())
	b, err := w.Bytes()
	require.NoError(t, err)
	fd, err := unix.MemfdCreate("u", unix.MFD_CLOEXEC)
	require.NoError(t, err)
	f := os.NewFile(uintptr(fd), "u")
	defer f.Close()
	_, err = f.Write(b[:len(b)-16])
	require.NoError(t, err)
	_, err = window.OpenUnsealed(f)
	require.ErrorIs(t, err, window.ErrCorrupt, "size disagrees with the header")
	_, err = f.WriteAt(b[len(b)-16:], int64(len(b)-16))
	require.NoError(t, err)
	r, err := window.OpenUnsealed(f)
	require.NoError(t, err)
	defer r.Close()
	require.NoError(t, r.Guard(func() error {
		s, err := r.String(0, 0)
		assert.Equal(t, "ok", s)
		return err
	}))
}
