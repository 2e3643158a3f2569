package fdpass

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// appendRights builds unix.UnixRights's bytes, into the buffer it is
// given.
func TestAppendRightsIsUnixRights(t *testing.T) {
	for _, fds := range [][]int{{3}, {3, 4}, {0, 1, 2, 1 << 30}, {-1, 7, 8, 9, 10}} {
		assert.Equal(t, unix.UnixRights(fds...), appendRights(nil, fds), "%v", fds)
		buf := make([]byte, 0, 64)
		got := appendRights(buf, fds)
		assert.Equal(t, unix.UnixRights(fds...), got)
		if len(got) <= cap(buf) {
			assert.Same(t, &buf[:1][0], &got[0], "no allocation when the buffer has room")
		}
	}
	buf, fds := make([]byte, 0, 64), []int{3, 4}
	assert.Zero(t, testing.AllocsPerRun(100, func() { buf = appendRights(buf[:0], fds) }))
}

// parseRights reads what x/sys reads, without allocating.
func TestParseRightsIsXSys(t *testing.T) {
	oob := append(unix.UnixRights(5, 6), unix.UnixCredentials(&unix.Ucred{Pid: 1, Uid: 2, Gid: 3})...)
	oob = append(oob, unix.UnixRights(7)...)
	fds, err := parseRights(oob, nil)
	require.NoError(t, err)
	assert.Equal(t, []int{5, 6, 7}, fds)
	scratch := make([]int, 0, 8)
	assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = parseRights(oob, scratch[:0]) }))
}

// FuzzParseRights checks parseRights against x/sys's parsing on any
// control bytes (the kernel writes them, but a bug must not become a
// panic or a wrong descriptor): the same descriptors when x/sys reads
// them, an error where x/sys refuses or would read past the message.
func FuzzParseRights(f *testing.F) {
	f.Add(unix.UnixRights(3, 4))
	f.Add(append(unix.UnixRights(9), unix.UnixCredentials(&unix.Ucred{Pid: 1})...))
	f.Add(unix.UnixRights()[:unix.SizeofCmsghdr])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, oob []byte) {
		want, werr := xsysRights(oob)
		got, err := parseRights(oob, nil)
		if werr != nil {
			require.Error(t, err, "x/sys refuses %x (%v)", oob, werr)
			return
		}
		require.NoError(t, err, "%x", oob)
		require.Equal(t, want, got, "%x", oob)
	})
}

// xsysRights is the reference: x/sys's parse of every SCM_RIGHTS message,
// with its panic on data that is not whole descriptors made an error.
func xsysRights(oob []byte) (fds []int, err error) {
	defer func() {
		if r := recover(); r != nil {
			fds, err = nil, unix.EINVAL
		}
	}()
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	for i := range msgs {
		m := &msgs[i]
		if m.Header.Level != unix.SOL_SOCKET || m.Header.Type != unix.SCM_RIGHTS {
			continue
		}
		if len(m.Data)%4 != 0 {
			return nil, unix.EINVAL // x/sys would read past the message
		}
		rights, err := unix.ParseUnixRights(m)
		if err != nil {
			return nil, err
		}
		fds = append(fds, rights...)
	}
	return fds, nil
}
