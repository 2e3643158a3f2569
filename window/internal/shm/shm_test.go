package shm

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// CachedIdentity names a file as Fstat does: the mapping cache finds a
// file by one and stores it by the other.
func TestCachedIdentityIsFstats(t *testing.T) {
	mem, err := CreateMemfd("identity", 4096)
	require.NoError(t, err)
	defer mem.Close()
	reg, err := os.CreateTemp(t.TempDir(), "identity")
	require.NoError(t, err)
	defer reg.Close()
	for _, f := range []*os.File{mem, reg} {
		in, err := Fstat(f)
		require.NoError(t, err)
		id, size, regular, err := CachedIdentity(f)
		require.NoError(t, err)
		assert.Equal(t, in.ID, id, f.Name())
		assert.Equal(t, in.Size, size, f.Name())
		assert.True(t, regular, f.Name())
	}
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	_, _, regular, err := CachedIdentity(r)
	require.NoError(t, err)
	assert.False(t, regular, "a pipe")
	r.Close()
	_, _, _, err = CachedIdentity(r)
	assert.Error(t, err, "a closed file")
}
