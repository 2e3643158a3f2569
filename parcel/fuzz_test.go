package parcel_test

import (
	"context"
	"errors"
	"io"
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/fdpass"
	"github.com/cursorwindow/cursorwindow/parcel"
)

// fuzzMaxBody is the body limit under fuzzing, small so that exceeding it
// is easy to reach.
const fuzzMaxBody = 4096

// FuzzReadParcel writes arbitrary bytes to a parcel reader's socket, with
// nfds descriptors attached at offset fdAt, and reads parcels until the
// stream ends or breaks. Any error is fine; a panic, an allocation beyond
// what the limits allow, a descriptor left open, or a message that does
// not re-encode is not.
//
// Seeds live in testdata/fuzz/FuzzReadParcel (valid frames of every kind,
// with and without descriptors, and classic attacks: 4 GiB lengths,
// huge array claims, deep nesting, descriptor mismatches).
func FuzzReadParcel(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, fdAt uint16, nfds uint8) {
		if len(data) > 64<<10 {
			t.Skip()
		}
		checkNoLeak(t)
		r, raw := rawPair(t, parcel.WithMaxBodySize(fuzzMaxBody), parcel.WithMaxFDs(4))
		sent := memfd(t, "")

		done := make(chan struct{})
		go func() {
			defer close(done)
			at := min(int(fdAt), len(data))
			files := make([]*os.File, nfds%6)
			for i := range files {
				files[i] = sent
			}
			if at > 0 {
				_, _ = raw.Write(data[:at])
			}
			if at < len(data) {
				_ = fdpass.Send(raw, data[at:], files...)
			}
			_ = raw.CloseWrite()
		}()
		// Stop the writer (EPIPE) and wait for it, so that it is done with
		// sent before the cleanups close it and check for leaks.
		defer func() { _ = r.Close(); <-done }()

		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		w, echo := socketPair(t)
		we, re := newConn(t, w), newConn(t, echo)
		for i := 0; ; i++ {
			msg, files, err := r.Read(context.Background())
			if err != nil {
				require.Nil(t, files)
				if i > 100_000 {
					t.Fatal("reader does not stop")
				}
				if isSticky(err) {
					break
				}
				continue
			}
			require.LessOrEqual(t, len(files), 4)
			closeAll(files)
			// Whatever decodes must re-encode and decode to the same value.
			require.NoError(t, we.Write(context.Background(), msg))
			again, _, err := re.Read(context.Background())
			require.NoError(t, err)
			require.Equal(t, msg, again)
		}
		runtime.ReadMemStats(&after)
		// Decoding may amplify a body by the size of slice elements (at
		// most 16 bytes for the test types: any, string) and by map
		// overhead; it must never approach a peer's announced lengths.
		limit := uint64(256*len(data) + 1<<20)
		require.Less(t, after.TotalAlloc-before.TotalAlloc, limit, "allocated too much")
	})
}

// isSticky reports whether err ends the stream for the reader.
func isSticky(err error) bool {
	return errors.Is(err, parcel.ErrProtocol) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
