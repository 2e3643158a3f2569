// Package wiretest holds what the content and content/provider tests need
// to speak the protocol by hand: a hostile peer's windows and
// descriptors, and a count of the process's open descriptors.
package wiretest

import (
	"encoding/binary"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/cursorwindow/cursorwindow/window"
)

// SealAll are the seals of a window that is sealed for good.
const SealAll = unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE | unix.F_SEAL_SEAL

// WindowBytes returns the bytes of a sealed window of one INT64 column
// holding 0 to n-1.
func WindowBytes(t testing.TB, n int) []byte {
	t.Helper()
	w, err := window.New(1)
	require.NoError(t, err)
	for i := range n {
		require.NoError(t, w.AllocRow())
		require.NoError(t, w.PutInt64(0, int64(i)))
	}
	b, err := w.AppendTo(nil)
	require.NoError(t, err)
	return b
}

// OffsetsOutOfRange returns the bytes of a window of one STRING row whose
// offsets put the string's end far outside the column's data: the header
// and the directory are valid, reading the field is not.
func OffsetsOutOfRange(t testing.TB) []byte {
	t.Helper()
	w, err := window.New(1)
	require.NoError(t, err)
	require.NoError(t, w.AllocRow())
	require.NoError(t, w.PutString(0, "hello"))
	b, err := w.AppendTo(nil)
	require.NoError(t, err)
	offsets := binary.LittleEndian.Uint64(b[64+16:])    // column 0's values: docs/FORMAT.md
	binary.LittleEndian.PutUint32(b[offsets+4:], 1<<30) // row 0 ends far past the data
	return b
}

// MemfdWith returns a memfd holding b with the given seals.
func MemfdWith(t testing.TB, b []byte, seals int) *os.File {
	t.Helper()
	fd, err := unix.MemfdCreate("hostile", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	require.NoError(t, err)
	f := os.NewFile(uintptr(fd), "hostile")
	_, err = f.Write(b)
	require.NoError(t, err)
	if seals != 0 {
		_, err = unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, seals)
		require.NoError(t, err)
	}
	return f
}

// CountFDs returns how many descriptors the process has open.
func CountFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(ents)
}
