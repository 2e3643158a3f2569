package fdpass_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/cursorwindow/cursorwindow/fdpass"
)

// TrySend writes what the socket takes and never waits: once the peer's
// buffers are full it writes nothing, and the bytes written arrive whole
// and in order.
func TestTrySend(t *testing.T) {
	a, b := socketPair(t, unix.SOCK_STREAM)
	c, err := fdpass.NewConn(a)
	require.NoError(t, err)
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	var sent bytes.Buffer
	for i := 0; ; i++ {
		require.Less(t, i, 1000, "the socket never filled")
		n, err := c.TrySend(chunk)
		require.NoError(t, err)
		sent.Write(chunk[:n])
		if n < len(chunk) {
			break // full: part of the chunk, or none
		}
	}
	n, err := c.TrySend(chunk)
	require.NoError(t, err)
	assert.Zero(t, n, "a full socket takes nothing more")
	require.NoError(t, a.Close())
	got, err := io.ReadAll(b)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(sent.Bytes(), got), "%d bytes sent, %d read", sent.Len(), len(got))
}
