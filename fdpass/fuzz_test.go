package fdpass_test

import (
	"errors"
	"io"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/cursorwindow/cursorwindow/fdpass"
)

// FuzzRecv drives the receive path with fuzzer-chosen traffic: chunks of
// data, each carrying some descriptors, received with a fuzzer-chosen
// buffer size and descriptor limit. Whatever arrives, Recv must not panic,
// must return no more than maxFDs files, must deliver every data byte, and
// no descriptor may be left open once the received files are closed.
func FuzzRecv(f *testing.F) {
	f.Add([]byte("hello"), []byte{1}, uint8(16), uint8(1))
	f.Add([]byte("abcdefgh"), []byte{0, 3, 0, 1}, uint8(3), uint8(2))
	f.Add([]byte("x"), []byte{7}, uint8(1), uint8(0))
	f.Add([]byte("0123456789"), []byte{2, 2, 2, 2, 2}, uint8(1), uint8(1))
	f.Fuzz(func(t *testing.T, data, fdsPerChunk []byte, bufSize, maxFDs uint8) {
		if len(data) == 0 || len(data) > 4096 || len(fdsPerChunk) == 0 || len(fdsPerChunk) > 64 {
			t.Skip()
		}
		checkNoLeak(t)
		a, b := socketPair(t, unix.SOCK_STREAM)
		sent := memfd(t, "")

		// Split data into len(fdsPerChunk) chunks; chunk i carries
		// fdsPerChunk[i]%8 descriptors.
		go func() {
			chunk := max(1, len(data)/len(fdsPerChunk))
			for i, off := 0, 0; off < len(data); i++ {
				end := min(len(data), off+chunk)
				if i == len(fdsPerChunk)-1 {
					end = len(data)
				}
				files := make([]*os.File, int(fdsPerChunk[min(i, len(fdsPerChunk)-1)]%8))
				for j := range files {
					files[j] = sent
				}
				if err := fdpass.Send(a, data[off:end], files...); err != nil {
					t.Error(err)
					return
				}
				off = end
			}
			_ = a.CloseWrite()
		}()

		fb, err := fdpass.NewConn(b)
		require.NoError(t, err)
		buf := make([]byte, int(bufSize%64)+1)
		got, limit := 0, int(maxFDs%8)
		for {
			n, files, err := fb.Recv(buf, limit)
			got += n
			require.LessOrEqual(t, len(files), limit)
			closeAll(files)
			if err == io.EOF {
				break
			}
			if err != nil {
				require.Nil(t, files)
				require.ErrorIs(t, err, anyOf(err, fdpass.ErrTruncated, fdpass.ErrTooManyFDs))
			}
		}
		require.Equal(t, len(data), got, "every data byte is delivered")
	})
}

// anyOf returns the first of targets that err matches, or nil.
func anyOf(err error, targets ...error) error {
	for _, t := range targets {
		if errors.Is(err, t) {
			return t
		}
	}
	return nil
}
