package parcel_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"
	"golang.org/x/sys/unix"

	"github.com/cursorwindow/cursorwindow/fdpass"
	"github.com/cursorwindow/cursorwindow/parcel"
)

func TestRoundTrip(t *testing.T) {
	fast := windowFast(sampleWindow)
	cases := []struct {
		name string
		msg  parcel.Message
	}{
		{"ping", &ping{Seq: 7}},
		{"window", &sampleWindow},
		{"windowFast", &fast},
		{"error", &errorMsg{Code: 404, Message: "no such table: orders"}},
		{"notify", &notify{
			URI: "content://orders", Tags: []string{"a", "b"}, Args: []any{int8(1), "x", nil, true},
			Extra: map[string]any{"k": "v", "n": []any{int8(1), int8(2)}},
		}},
		{"blob", &blob{Data: bytes.Repeat([]byte{0xab}, 100_000), Nums: []int64{-1, 0, 1 << 40}}},
		{"empty", &blob{}},
	}
	for _, tc := range cases {
		for _, nfds := range []int{0, 1, 3} {
			t.Run(tc.name+"/fds="+string(rune('0'+nfds)), func(t *testing.T) {
				checkNoLeak(t)
				w, r := connPair(t)
				files := make([]*os.File, nfds)
				for i := range files {
					files[i] = memfd(t, tc.name+string(rune('A'+i)))
				}
				errc := make(chan error, 1)
				go func() { errc <- w.Write(context.Background(), tc.msg, files...) }()

				got, gotFiles, err := r.Read(context.Background())
				require.NoError(t, err)
				require.NoError(t, <-errc)
				assert.Equal(t, tc.msg, got)
				require.Len(t, gotFiles, nfds)
				for i, f := range gotFiles {
					assert.Equal(t, tc.name+string(rune('A'+i)), fileContent(t, f))
				}
			})
		}
	}
}

// TestManyParcelsKeepTheirFDs streams parcels with varying descriptor
// counts back to back, so that frames share socket buffers, and checks
// each parcel gets exactly its own descriptors.
func TestManyParcelsKeepTheirFDs(t *testing.T) {
	checkNoLeak(t)
	w, r := connPair(t)
	f := memfd(t, "x")
	const n = 500
	done := make(chan struct{})
	defer func() { <-done }() // the last Write may still hold f and w
	go func() {
		defer close(done)
		for i := range n {
			files := make([]*os.File, i%4)
			for j := range files {
				files[j] = f
			}
			msg := &blob{Nums: []int64{int64(i)}, Data: make([]byte, i*37%3000)}
			if err := w.Write(context.Background(), msg, files...); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := range n {
		msg, files, err := r.Read(context.Background())
		require.NoError(t, err)
		b := msg.(*blob)
		require.Equal(t, []int64{int64(i)}, b.Nums)
		require.Len(t, b.Data, i*37%3000)
		require.Len(t, files, i%4, "parcel %d", i)
		closeAll(files)
	}
}

func TestConcurrentWriters(t *testing.T) {
	checkNoLeak(t)
	w, r := connPair(t)
	const writers, each = 8, 50
	var wg sync.WaitGroup
	for id := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				// Large bodies force partial writes, the case where
				// interleaving would show.
				msg := &blob{Data: bytes.Repeat([]byte{byte(id)}, 200_000), Nums: []int64{int64(id), int64(i)}}
				if err := w.Write(context.Background(), msg, memfdNoCleanup(t)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	next := make([]int64, writers)
	for range writers * each {
		msg, files, err := r.Read(context.Background())
		require.NoError(t, err)
		require.Len(t, files, 1)
		closeAll(files)
		b := msg.(*blob)
		id, i := b.Nums[0], b.Nums[1]
		require.Equal(t, next[id], i, "writer %d out of order", id)
		next[id]++
		require.Equal(t, 200_000, bytes.Count(b.Data, []byte{byte(id)}), "body interleaved")
	}
	wg.Wait()
}

// memfdNoCleanup returns a memfd for use from a goroutine other than the
// test's (no require); it is closed at cleanup.
func memfdNoCleanup(tb testing.TB) *os.File {
	fd, err := unix.MemfdCreate("w", unix.MFD_CLOEXEC)
	if err != nil {
		tb.Error(err)
		return nil
	}
	own(tb, fd, "memfd from a writer goroutine")
	f := os.NewFile(uintptr(fd), "memfd")
	tb.Cleanup(func() { _ = f.Close() })
	return f
}

func TestReceivedMessageDoesNotAliasBuffer(t *testing.T) {
	w, r := connPair(t)
	ctx := context.Background()
	go func() {
		_ = w.Write(ctx, &blob{Data: []byte("first")})
		_ = w.Write(ctx, &blob{Data: []byte("XXXXXXXX")})
	}()
	m1, _, err := r.Read(ctx)
	require.NoError(t, err)
	_, _, err = r.Read(ctx)
	require.NoError(t, err)
	assert.Equal(t, "first", string(m1.(*blob).Data))
}

func TestEOF(t *testing.T) {
	t.Run("clean", func(t *testing.T) {
		checkNoLeak(t)
		r, raw := rawPair(t)
		require.NoError(t, raw.Close())
		_, _, err := r.Read(context.Background())
		require.ErrorIs(t, err, io.EOF)
		_, _, err = r.Read(context.Background())
		require.ErrorIs(t, err, io.EOF, "EOF is sticky")
	})
	for _, cut := range []int{1, parcel.HeaderSize - 1, parcel.HeaderSize, parcel.HeaderSize + 3} {
		t.Run("mid-frame", func(t *testing.T) {
			checkNoLeak(t)
			r, raw := rawPair(t)
			body, err := msgpack.Marshal(&ping{Seq: 1})
			require.NoError(t, err)
			fr := validFrame(typePing, append(body, make([]byte, 8)...), 1)
			require.NoError(t, fdpass.Send(raw, fr[:cut], memfd(t, "")))
			require.NoError(t, raw.Close())
			_, files, err := r.Read(context.Background())
			require.ErrorIs(t, err, io.ErrUnexpectedEOF)
			assert.NotErrorIs(t, err, io.EOF)
			assert.Nil(t, files)
		})
	}
}

// TestBadFrames sends malformed frames: each must be refused with its
// sentinel, close whatever descriptors came with it, and break the stream
// for good.
func TestBadFrames(t *testing.T) {
	ping, err := msgpack.Marshal(&ping{Seq: 1})
	require.NoError(t, err)
	good := frame{magic: "CWPL", version: parcel.Version, typ: typePing, bodyLen: uint32(len(ping))}
	cases := []struct {
		name  string
		frame frame
		fds   int
		want  error
	}{
		{"magic", func() frame { f := good; f.magic = "HTTP"; return f }(), 0, parcel.ErrBadMagic},
		{"version", func() frame { f := good; f.version = 2; return f }(), 0, parcel.ErrVersion},
		{"flags", func() frame { f := good; f.flags = 1; return f }(), 1, parcel.ErrVersion},
		{"reserved", func() frame { f := good; f.reserved = 9; return f }(), 0, parcel.ErrVersion},
		{"4GiB", func() frame { f := good; f.bodyLen = 1<<32 - 1; return f }(), 2, parcel.ErrTooLarge},
		{"over-limit", func() frame { f := good; f.bodyLen = parcel.DefaultMaxBodySize + 1; return f }(), 0, parcel.ErrTooLarge},
		{"fd-count-over-limit", func() frame { f := good; f.fdCount = 17; return f }(), 0, parcel.ErrTooManyFDs},
		{"fds-missing", func() frame { f := good; f.fdCount = 2; return f }(), 1, parcel.ErrFDMismatch},
		{"fds-unannounced", good, 1, parcel.ErrFDMismatch},
		{"fds-over-limit", func() frame { f := good; f.fdCount = 3; return f }(), 20, parcel.ErrTooManyFDs},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkNoLeak(t)
			r, raw := rawPair(t)
			files := make([]*os.File, tc.fds)
			for i := range files {
				files[i] = memfd(t, "")
			}
			require.NoError(t, fdpass.Send(raw, append(tc.frame.header(), ping...), files...))
			_, got, err := r.Read(context.Background())
			require.ErrorIs(t, err, tc.want)
			require.ErrorIs(t, err, parcel.ErrProtocol)
			assert.Nil(t, got)
			_, _, err2 := r.Read(context.Background())
			require.ErrorIs(t, err2, tc.want, "protocol errors are sticky")
		})
	}
}

func TestTooLargeDoesNotAllocate(t *testing.T) {
	r, raw := rawPair(t)
	_, err := raw.Write(frame{magic: "CWPL", version: parcel.Version, typ: typePing, bodyLen: 1<<32 - 1}.header())
	require.NoError(t, err)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err = r.Read(context.Background())
	runtime.ReadMemStats(&after)
	require.ErrorIs(t, err, parcel.ErrTooLarge)
	assert.Contains(t, err.Error(), "length 4294967295 exceeds limit 1048576")
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<10), "refusing a 4 GiB body must not allocate it")
}

func TestFDsInsideBody(t *testing.T) {
	checkNoLeak(t)
	r, raw := rawPair(t)
	body, err := msgpack.Marshal(&blob{Data: make([]byte, 100)})
	require.NoError(t, err)
	fr := validFrame(typeBlob, body, 0)
	require.NoError(t, fdpass.Send(raw, fr[:parcel.HeaderSize+10]))
	require.NoError(t, fdpass.Send(raw, fr[parcel.HeaderSize+10:], memfd(t, "smuggled")))
	_, files, err := r.Read(context.Background())
	require.ErrorIs(t, err, parcel.ErrFDMismatch)
	assert.Nil(t, files)
}

// TestFDsInsideBodyRefusedAtOnce: descriptors that arrive inside a frame
// are refused when they arrive, not once the frame is whole: a peer cannot
// make the reader hold descriptors a byte at a time until its own
// descriptor limit is reached.
func TestFDsInsideBodyRefusedAtOnce(t *testing.T) {
	checkNoLeak(t)
	r, raw := rawPair(t)
	body, err := msgpack.Marshal(&blob{Data: make([]byte, 100)})
	require.NoError(t, err)
	fr := validFrame(typeBlob, body, 0)
	require.NoError(t, fdpass.Send(raw, fr[:parcel.HeaderSize+10]))
	// One byte of the body with a descriptor, and the rest never sent: the
	// Read must not wait for it.
	require.NoError(t, fdpass.Send(raw, fr[parcel.HeaderSize+10:parcel.HeaderSize+11], memfd(t, "smuggled")))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // a hang guard only
	defer cancel()
	_, files, err := r.Read(ctx)
	require.ErrorIs(t, err, parcel.ErrFDMismatch)
	require.NotErrorIs(t, err, context.DeadlineExceeded)
	assert.Nil(t, files)
}

// TestFDsLaterInHeader: descriptors that arrive with a later piece of the
// header (after a first receive returned part of it) are a protocol error.
// The reader must have received the first piece before the rest is sent
// (else one receive may return both), hence waitConsumed.
func TestFDsLaterInHeader(t *testing.T) {
	checkNoLeak(t)
	r, raw := rawPair(t)
	body, err := msgpack.Marshal(&ping{Seq: 3})
	require.NoError(t, err)
	fr := validFrame(typePing, body, 1)
	late := memfd(t, "late")
	sent := make(chan error, 1)
	go func() {
		_, _ = raw.Write(fr[:5])
		if err := waitConsumed(raw); err != nil {
			sent <- err
			return
		}
		sent <- fdpass.Send(raw, fr[5:], late)
	}()
	_, files, err := r.Read(context.Background())
	require.ErrorIs(t, err, parcel.ErrFDMismatch)
	assert.Nil(t, files)
	// The reader can see the bytes before Send has let go of late: wait,
	// or late's close at cleanup would be deferred until it does.
	require.NoError(t, <-sent)
}

// TestSkippableErrors: an unknown type or an undecodable body costs one
// parcel (and its descriptors), not the connection.
func TestSkippableErrors(t *testing.T) {
	ping, err := msgpack.Marshal(&ping{Seq: 9})
	require.NoError(t, err)
	deep := bytes.Repeat([]byte{0x91}, parcel.MaxNesting+1) // nested arrays
	deep = append(deep, 0xc0)
	cases := []struct {
		name string
		typ  uint16
		body []byte
		want error
	}{
		{"unknown-type", 999, ping, parcel.ErrUnknownType},
		{"type-zero", 0, ping, parcel.ErrUnknownType},
		{"not-msgpack", typePing, []byte{0xc1}, parcel.ErrDecode},
		{"empty-body", typePing, nil, parcel.ErrDecode},
		{"trailing-bytes", typePing, append(append([]byte{}, ping...), 0x01), parcel.ErrDecode},
		{"wrong-shape", typePing, []byte{0xa3, 'a', 'b', 'c'}, parcel.ErrDecode},
		{"huge-array-claim", typeBlob, []byte{0x81, 0xa1, 'n', 0xdd, 0xff, 0xff, 0xff, 0xff, 1}, parcel.ErrDecode},
		{"huge-string-claim", typeError, []byte{0x81, 0xa3, 'm', 's', 'g', 0xdb, 0x7f, 0xff, 0xff, 0xff}, parcel.ErrDecode},
		{"too-deep", typeNotify, append([]byte{0x81, 0xa4, 'a', 'r', 'g', 's'}, deep...), parcel.ErrDecode},
		{"custom-decoder-rejects", typeWindowFast, []byte{0x91, 0x01}, parcel.ErrDecode},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkNoLeak(t)
			r, raw := rawPair(t)
			require.NoError(t, fdpass.Send(raw, validFrame(tc.typ, tc.body, 1), memfd(t, "dropped")))
			require.NoError(t, fdpass.Send(raw, validFrame(typePing, ping, 0)))
			_, files, err := r.Read(context.Background())
			require.ErrorIs(t, err, tc.want)
			require.NotErrorIs(t, err, parcel.ErrProtocol)
			assert.Nil(t, files)
			msg, _, err := r.Read(context.Background())
			require.NoError(t, err, "the next parcel is still readable")
			assert.Equal(t, uint64(9), msg.(*pingMsg).Seq)
		})
	}
}

type pingMsg = ping

func TestWriteLimits(t *testing.T) {
	checkNoLeak(t)
	w, r := connPair(t, parcel.WithMaxBodySize(1000), parcel.WithMaxFDs(2))
	ctx := context.Background()
	err := w.Write(ctx, &blob{Data: make([]byte, 1000)})
	require.ErrorIs(t, err, parcel.ErrTooLarge)
	assert.Contains(t, err.Error(), "exceeds limit 1000")
	f := memfd(t, "")
	require.ErrorIs(t, w.Write(ctx, &ping{}, f, f, f), parcel.ErrTooManyFDs)
	require.Error(t, w.Write(ctx, nil))

	// The Conn is still usable.
	errc := make(chan error, 1)
	go func() { errc <- w.Write(ctx, &ping{Seq: 5}, f, f) }()
	msg, files, err := r.Read(ctx)
	require.NoError(t, err)
	assert.Equal(t, &ping{Seq: 5}, msg)
	assert.Len(t, files, 2)
	closeAll(files)
	require.NoError(t, <-errc, "Write returned: it holds f no longer")
}

func TestReadContext(t *testing.T) {
	checkNoLeak(t)
	w, r := connPair(t)

	// Nothing arrives: the deadline ends the wait, the Conn stays usable.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, _, err := r.Read(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// Cancellation, too.
	ctx2, cancel2 := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel2)
	_, _, err = r.Read(ctx2)
	require.ErrorIs(t, err, context.Canceled)

	require.NoError(t, w.Write(context.Background(), &ping{Seq: 1}))
	msg, _, err := r.Read(context.Background())
	require.NoError(t, err)
	assert.Equal(t, &ping{Seq: 1}, msg)
}

// A read interrupted mid-frame loses nothing: the bytes that arrived are
// buffered, and the next Read returns the whole frame.
func TestReadContextMidFrameKeepsStream(t *testing.T) {
	checkNoLeak(t)
	r, raw := rawPair(t)
	body, err := msgpack.Marshal(&ping{Seq: 7})
	require.NoError(t, err)
	fr := validFrame(typePing, body, 0)
	_, err = raw.Write(fr[:5])
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	_, _, err = r.Read(ctx)
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NotErrorIs(t, err, parcel.ErrProtocol)
	_, err = raw.Write(fr[5:])
	require.NoError(t, err)
	msg, _, err := r.Read(context.Background())
	require.NoError(t, err)
	assert.Equal(t, &ping{Seq: 7}, msg)
}

func TestWriteContext(t *testing.T) {
	checkNoLeak(t)
	w, _ := connPair(t, parcel.WithMaxBodySize(8<<20))
	// Nobody reads: a big write fills the socket buffer and is cut off
	// part-way, which breaks the stream for later writes. If the deadline
	// passed before the writer wrote a byte (a loaded machine), the stream
	// rightly stays usable, and the test tries again with more time.
	for timeout := 100 * time.Millisecond; ; timeout *= 2 {
		require.Less(t, timeout, 30*time.Second, "the writer never started")
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		err := w.Write(ctx, &blob{Data: make([]byte, 4<<20)})
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded)
		err = w.Write(context.Background(), &ping{})
		if errors.Is(err, parcel.ErrProtocol) {
			break
		}
		require.NoError(t, err, "the writer had not started: the stream is intact")
	}
	require.ErrorIs(t, w.Write(context.Background(), &ping{}), parcel.ErrProtocol, "the stream stays broken")

	// A context already done never gets the writer's turn.
	done, cancel2 := context.WithCancel(context.Background())
	cancel2()
	w2, _ := connPair(t)
	require.ErrorIs(t, w2.Write(done, &ping{}), context.Canceled)
	require.NoError(t, w2.Write(context.Background(), &ping{}))
}

// A peer that stops reading fails a Write made without a context within
// the write timeout, and a Write with a context that is done is still
// bounded by its context and leaves the next Write its timeout.
func TestWriteTimeout(t *testing.T) {
	checkNoLeak(t)
	w, r := connPair(t, parcel.WithMaxBodySize(8<<20), parcel.WithWriteTimeout(50*time.Millisecond))
	require.NoError(t, w.Write(context.Background(), &ping{Seq: 1}), "the socket takes a small parcel at once")
	msg, _, err := r.Read(context.Background())
	require.NoError(t, err)
	assert.Equal(t, &ping{Seq: 1}, msg)

	// A context's watch clears the socket's deadline as it ends: the
	// next Write must set it again, or it would block forever.
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, w.Write(ctx, &ping{Seq: 2}))
	cancel()
	err = w.Write(context.Background(), &blob{Data: make([]byte, 4<<20)}) // nobody reads
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
}

// Readable says, without waiting, whether a Read would find something:
// a parcel, the peer's end of the stream, or a closed Conn.
func TestReadable(t *testing.T) {
	checkNoLeak(t)
	w, r := connPair(t)
	assert.False(t, r.Readable(), "nothing sent")
	require.NoError(t, w.Write(context.Background(), &ping{Seq: 1}))
	require.NoError(t, w.Write(context.Background(), &ping{Seq: 2}))
	assert.True(t, r.Readable(), "a parcel arrived") // a unix socket's write lands before it returns
	_, _, err := r.Read(context.Background())
	require.NoError(t, err)
	assert.True(t, r.Readable(), "the second parcel was read ahead with the first")
	_, _, err = r.Read(context.Background())
	require.NoError(t, err)
	assert.False(t, r.Readable(), "everything read")
	require.NoError(t, w.Close())
	assert.True(t, r.Readable(), "the peer left: a Read sees the end")
	require.NoError(t, r.Close())
	assert.True(t, r.Readable(), "closed: a Read fails at once")
}

func TestCloseUnblocksRead(t *testing.T) {
	checkNoLeak(t)
	_, r := connPair(t)
	errc := make(chan error, 1)
	go func() {
		_, _, err := r.Read(context.Background())
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, r.Close())
	require.NoError(t, r.Close(), "Close is idempotent")
	select {
	case err := <-errc:
		require.ErrorIs(t, err, parcel.ErrClosed)
	case <-time.After(5 * time.Second):
		t.Fatal("Read still blocked after Close")
	}
	_, _, err := r.Read(context.Background())
	require.ErrorIs(t, err, parcel.ErrClosed)
	require.ErrorIs(t, r.Write(context.Background(), &ping{}), parcel.ErrClosed)
}

func TestPeerWentAway(t *testing.T) {
	checkNoLeak(t)
	w, r := connPair(t)
	require.NoError(t, r.Close())
	err := w.Write(context.Background(), &ping{}, memfd(t, ""))
	require.Error(t, err)
}

func TestNewConnChecks(t *testing.T) {
	a, _ := socketPair(t)
	_, err := parcel.NewConn(a, nil)
	require.Error(t, err)

	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	sp := fileConn(t, fds[0])
	_ = fileConn(t, fds[1])
	_, err = parcel.NewConn(sp, parcel.NewRegistry())
	require.ErrorContains(t, err, "SOCK_STREAM")
}

func TestPeerCred(t *testing.T) {
	w, _ := connPair(t)
	cred, err := w.PeerCred()
	require.NoError(t, err)
	assert.Equal(t, uint32(os.Getuid()), cred.UID)
}

func TestRegistryMisuse(t *testing.T) {
	r := parcel.NewRegistry()
	r.Register(typePing, func() parcel.Message { return new(ping) })
	assert.Panics(t, func() { r.Register(typePing, func() parcel.Message { return new(ping) }) }, "duplicate")
	assert.Panics(t, func() { r.Register(0, func() parcel.Message { return new(ping) }) }, "code 0")
	assert.Panics(t, func() { r.Register(typeError, func() parcel.Message { return new(ping) }) }, "code mismatch")
	assert.Panics(t, func() { r.Register(typeError, nil) }, "nil constructor")
	assert.Panics(t, func() { r.Register(typeError, func() parcel.Message { return (*errorMsg)(nil) }) }, "nil pointer")
	assert.Panics(t, func() { r.Register(typeError, func() parcel.Message { return valueMsg{} }) }, "not a pointer")

	m, err := r.New(typePing)
	require.NoError(t, err)
	assert.IsType(t, &ping{}, m)
	_, err = r.New(12345)
	require.ErrorIs(t, err, parcel.ErrUnknownType)
}

type valueMsg struct{}

func (valueMsg) ParcelType() uint16 { return typeError }

// TestBodyDecoder: a message's DecodeBody decodes the bodies it accepts;
// every other body is checked and decoded by msgpack, into a fresh value,
// with the errors of any message's.
func TestBodyDecoder(t *testing.T) {
	reg := testRegistry()
	for _, tc := range []struct {
		name string
		body []byte
		want *fastPing // nil: ErrDecode
		fast bool      // decoded by DecodeBody
	}{
		{"its own form", []byte("\x81\xa3seq\xcf\x00\x00\x00\x00\x00\x00\x01\x00"), &fastPing{Seq: 256}, true},
		{"another form", []byte("\x81\xa3seq\xcc\x80"), &fastPing{Seq: 128}, false},
		{"no seq", []byte("\x80"), &fastPing{}, false},
		{"trailing bytes", []byte("\x81\xa3seq\x07\x00"), nil, false},
		{"not msgpack", []byte("\x81\xa3seq\xc1"), nil, false},
		{"a length past the end", []byte("\x81\xa3seq\xdc\xff\xff"), nil, false},
		{"a panic", []byte("\x81\xa3seq\xcf\x00\x00\x00\x00\x00\x00\x00\xff"), nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := fastDecodes.Load()
			m, err := reg.Decode(typeFastPing, tc.body)
			assert.Equal(t, tc.fast, fastDecodes.Load() > before, "decoded by DecodeBody")
			if tc.want == nil {
				require.ErrorIs(t, err, parcel.ErrDecode)
				var de *parcel.DecodeError
				require.ErrorAs(t, err, &de)
				assert.Equal(t, typeFastPing, de.Type)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, m)
		})
	}

	w, r := connPair(t)
	ctx := context.Background()
	for _, seq := range []uint64{9, 255, 300} {
		require.NoError(t, w.Write(ctx, &fastPing{Seq: seq}))
	}
	m, _, err := r.Read(ctx)
	require.NoError(t, err)
	assert.Equal(t, &fastPing{Seq: 9}, m)
	_, _, err = r.Read(ctx)
	require.ErrorIs(t, err, parcel.ErrDecode, "the panic")
	m, _, err = r.Read(ctx)
	require.NoError(t, err, "the Conn reads on")
	assert.Equal(t, &fastPing{Seq: 300}, m)
}

// A BodyEncoder's body is the frame's, byte for byte what msgpack writes
// for it; one that fails to encode sends nothing and leaves the Conn
// usable.
func TestBodyEncoder(t *testing.T) {
	own, err := (&fastPing{Seq: 300}).AppendBody(nil)
	require.NoError(t, err)
	type plain fastPing // without the methods: msgpack's reflection
	want, err := msgpack.Marshal(&plain{Seq: 300})
	require.NoError(t, err)
	assert.Equal(t, want, own)

	w, r := connPair(t)
	ctx := context.Background()
	require.ErrorIs(t, w.Write(ctx, &fastPing{Seq: refusedSeq}), errUnsendable)
	require.NoError(t, w.Write(ctx, &fastPing{Seq: 7}))
	m, _, err := r.Read(ctx)
	require.NoError(t, err)
	assert.Equal(t, &fastPing{Seq: 7}, m, "the failed message sent nothing")
}

// TestAllocs guards the steady-state allocations of a round trip with a
// custom-codec message: the decoded message itself and its string, nothing
// else (fdpass's receive allocates nothing).
func TestAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	w, r := connPair(t)
	ctx := context.Background()
	msg := windowFast(sampleWindow)
	allocs := testing.AllocsPerRun(500, func() {
		if err := w.Write(ctx, &msg); err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.Read(ctx); err != nil {
			t.Fatal(err)
		}
	})
	assert.LessOrEqual(t, allocs, 2.0)
	t.Logf("allocations per round trip: %.1f", allocs)

	// A message that decodes its own body allocates itself alone.
	fast := fastPing{Seq: 1}
	allocs = testing.AllocsPerRun(500, func() {
		if err := w.Write(ctx, &fast); err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.Read(ctx); err != nil {
			t.Fatal(err)
		}
	})
	assert.LessOrEqual(t, allocs, 1.0)
	t.Logf("allocations per round trip, DecodeBody: %.1f", allocs)
}

// TestNoLeakManyParcels sends 10,000 parcels with descriptors, a share of
// them refused in each skippable way and, on fresh connections, in each
// fatal way, and checks no descriptor is left open.
func TestNoLeakManyParcels(t *testing.T) {
	n := 10_000
	if testing.Short() {
		n = 1000
	}
	checkNoLeak(t)
	ping, err := msgpack.Marshal(&ping{Seq: 1})
	require.NoError(t, err)
	f := memfd(t, "x")
	ctx := context.Background()
	reg := testRegistry()
	func() {
		r, raw := rawPair(t)
		for i := range n {
			var want error
			var fr []byte
			nfds := 1 + i%3
			switch i % 4 {
			case 0:
				fr = validFrame(typePing, ping, nfds)
			case 1:
				fr, want = validFrame(4242, ping, nfds), parcel.ErrUnknownType
			case 2:
				fr, want = validFrame(typePing, []byte{0xc1}, nfds), parcel.ErrDecode
			case 3: // fatal: count mismatch, on a throwaway connection
				r2, raw2 := socketPairNoCleanup(t, reg)
				require.NoError(t, fdpass.Send(raw2, validFrame(typePing, ping, nfds+1), repeat(f, nfds)...))
				_, files, err := r2.Read(ctx)
				require.ErrorIs(t, err, parcel.ErrFDMismatch)
				require.Nil(t, files)
				require.NoError(t, r2.Close())
				require.NoError(t, raw2.Close())
				continue
			}
			require.NoError(t, fdpass.Send(raw, fr, repeat(f, nfds)...))
			_, files, err := r.Read(ctx)
			if want != nil {
				require.ErrorIs(t, err, want)
				require.Nil(t, files)
				continue
			}
			require.NoError(t, err)
			require.Len(t, files, nfds)
			closeAll(files)
		}
	}()
}

func repeat(f *os.File, n int) []*os.File {
	files := make([]*os.File, n)
	for i := range files {
		files[i] = f
	}
	return files
}

// socketPairNoCleanup returns a parcel Conn and the raw other end, for
// loops that close their own connections (thousands of cleanups would be
// noise).
func socketPairNoCleanup(tb testing.TB, reg *parcel.Registry) (*parcel.Conn, *net.UnixConn) {
	tb.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(tb, err)
	own(tb, fds[0], "throwaway socketpair end")
	own(tb, fds[1], "throwaway socketpair end")
	mk := func(fd int) *net.UnixConn {
		f := os.NewFile(uintptr(fd), "socketpair")
		defer f.Close()
		c, err := net.FileConn(f)
		require.NoError(tb, err)
		return c.(*net.UnixConn)
	}
	a, b := mk(fds[0]), mk(fds[1])
	pc, err := parcel.NewConn(a, reg)
	require.NoError(tb, err)
	return pc, b
}

// TryWrite writes a parcel the socket takes at once; one larger than the
// socket's buffer is begun, its rest kept and written by Flush (or the
// next Write) before anything else, while TryWrite writes nothing more;
// the reader gets every parcel whole and in order.
func TestTryWrite(t *testing.T) {
	w, r := connPair(t, parcel.WithMaxBodySize(8<<20))
	ctx := context.Background()
	res, err := w.TryWrite(&ping{Seq: 1})
	require.NoError(t, err)
	require.Equal(t, parcel.Sent, res)

	big := &blob{Data: bytes.Repeat([]byte{7}, 4<<20)} // more than the socket buffers, the reader not reading
	res, err = w.TryWrite(big)
	require.NoError(t, err)
	require.Equal(t, parcel.Begun, res)
	res, err = w.TryWrite(&ping{Seq: 2})
	require.NoError(t, err)
	assert.Equal(t, parcel.Unsent, res, "nothing goes before the rest of the begun parcel")

	read := make(chan []parcel.Message, 1)
	go func() {
		var got []parcel.Message
		for range 3 {
			m, _, err := r.Read(ctx)
			if err != nil {
				break
			}
			got = append(got, m)
		}
		read <- got
	}()
	require.NoError(t, w.Flush(ctx))
	require.NoError(t, w.Write(ctx, &ping{Seq: 3}))
	got := <-read
	require.Len(t, got, 3)
	assert.Equal(t, &ping{Seq: 1}, got[0])
	assert.Equal(t, big.Data, got[1].(*blob).Data)
	assert.Equal(t, &ping{Seq: 3}, got[2])
}

// A parcel begun by TryWrite is finished by the next Write, before its
// own.
func TestWriteFinishesABegunParcel(t *testing.T) {
	w, r := connPair(t, parcel.WithMaxBodySize(8<<20))
	ctx := context.Background()
	big := &blob{Data: bytes.Repeat([]byte{9}, 4<<20)}
	res, err := w.TryWrite(big)
	require.NoError(t, err)
	require.Equal(t, parcel.Begun, res)
	read := make(chan []parcel.Message, 1)
	go func() {
		var got []parcel.Message
		for range 2 {
			m, _, err := r.Read(ctx)
			if err != nil {
				break
			}
			got = append(got, m)
		}
		read <- got
	}()
	require.NoError(t, w.Write(ctx, &ping{Seq: 4}))
	got := <-read
	require.Len(t, got, 2)
	assert.Equal(t, big.Data, got[0].(*blob).Data)
	assert.Equal(t, &ping{Seq: 4}, got[1])
}

// A write cut by its context while it finishes a begun parcel keeps what
// is unsent: the stream is not broken, and the next write finishes it.
func TestBegunParcelSurvivesACutWrite(t *testing.T) {
	w, r := connPair(t, parcel.WithMaxBodySize(8<<20))
	big := &blob{Data: bytes.Repeat([]byte{5}, 4<<20)}
	res, err := w.TryWrite(big)
	require.NoError(t, err)
	require.Equal(t, parcel.Begun, res)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond) // nobody reads: it must be cut
	defer cancel()
	err = w.Write(ctx, &ping{Seq: 1})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NotErrorIs(t, err, parcel.ErrProtocol)

	read := make(chan []parcel.Message, 1)
	go func() {
		var got []parcel.Message
		for range 2 {
			m, _, err := r.Read(context.Background())
			if err != nil {
				break
			}
			got = append(got, m)
		}
		read <- got
	}()
	require.NoError(t, w.Write(context.Background(), &ping{Seq: 2}))
	got := <-read
	require.Len(t, got, 2)
	assert.Equal(t, big.Data, got[0].(*blob).Data)
	assert.Equal(t, &ping{Seq: 2}, got[1])
}

// readN reads n messages from r in the background, with their files.
func readN(r *parcel.Conn, n int) <-chan []parcel.Message {
	read := make(chan []parcel.Message, 1)
	go func() {
		var got []parcel.Message
		for range n {
			m, files, err := r.Read(context.Background())
			if err != nil {
				break
			}
			for _, f := range files { // a file stands as a blob of its bytes, before its parcel
				b := make([]byte, 64)
				n, _ := f.ReadAt(b, 0)
				got = append(got, &blob{Data: b[:n]})
				f.Close()
			}
			got = append(got, m)
		}
		read <- got
	}()
	return read
}

// Held parcels are not written until a writer comes: the next Write
// writes them before its own parcel, in order (in the same system call,
// by construction: one send of the owed bytes and the frame together).
func TestHoldGoesWithTheNextWrite(t *testing.T) {
	w, r := connPair(t)
	for seq := range uint64(3) {
		held, err := w.Hold(&ping{Seq: seq})
		require.NoError(t, err)
		require.True(t, held)
	}
	assert.False(t, r.Readable(), "nothing written yet")
	read := readN(r, 4)
	require.NoError(t, w.Write(context.Background(), &ping{Seq: 3}))
	got := <-read
	require.Len(t, got, 4)
	for i, m := range got {
		assert.Equal(t, &ping{Seq: uint64(i)}, m)
	}
}

// TryWrite and Flush write the held parcels too, first.
func TestHoldGoesWithTryWriteAndFlush(t *testing.T) {
	w, r := connPair(t)
	held, err := w.Hold(&ping{Seq: 1})
	require.NoError(t, err)
	require.True(t, held)
	res, err := w.TryWrite(&ping{Seq: 2})
	require.NoError(t, err)
	require.Equal(t, parcel.Sent, res)
	held, err = w.Hold(&ping{Seq: 3})
	require.NoError(t, err)
	require.True(t, held)
	read := readN(r, 3)
	require.NoError(t, w.Flush(context.Background()))
	got := <-read
	assert.Equal(t, []parcel.Message{&ping{Seq: 1}, &ping{Seq: 2}, &ping{Seq: 3}}, got)
}

// A parcel with descriptors goes in a system call of its own, after the
// held parcels: each parcel gets exactly its own descriptors.
func TestHoldBeforeAParcelWithFiles(t *testing.T) {
	checkNoLeak(t)
	w, r := connPair(t)
	held, err := w.Hold(&ping{Seq: 1})
	require.NoError(t, err)
	require.True(t, held)
	read := readN(r, 2)
	require.NoError(t, w.Write(context.Background(), &ping{Seq: 2}, memfd(t, "with the second")))
	got := <-read
	assert.Equal(t, []parcel.Message{&ping{Seq: 1}, &blob{Data: []byte("with the second")}, &ping{Seq: 2}}, got)
}

// Hold keeps at most 64 KiB: beyond, it refuses without an error (the
// caller writes the parcel itself). On a closed Conn it fails.
func TestHoldIsBounded(t *testing.T) {
	w, r := connPair(t)
	n := 0
	for ; ; n++ {
		held, err := w.Hold(&blob{Data: make([]byte, 1000)})
		require.NoError(t, err)
		if !held {
			break
		}
		require.Less(t, n, 100, "Hold keeps everything")
	}
	require.GreaterOrEqual(t, n, 60)
	read := readN(r, n)
	require.NoError(t, w.Flush(context.Background()))
	assert.Len(t, <-read, n)

	require.NoError(t, w.Close())
	_, err := w.Hold(&ping{})
	require.ErrorIs(t, err, parcel.ErrClosed)
}

// A Write cut by its context before its own parcel began keeps what was
// held for the next writer: the stream stays whole.
func TestHeldParcelsSurviveACutWrite(t *testing.T) {
	w, r := connPair(t, parcel.WithMaxBodySize(8<<20))
	big := &blob{Data: bytes.Repeat([]byte{5}, 4<<20)} // more than the socket buffers
	held, err := w.Hold(big)
	require.NoError(t, err)
	require.True(t, held)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond) // nobody reads: it must be cut
	defer cancel()
	err = w.Write(ctx, &ping{Seq: 1})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NotErrorIs(t, err, parcel.ErrProtocol)

	read := readN(r, 2)
	require.NoError(t, w.Write(context.Background(), &ping{Seq: 2}))
	got := <-read
	require.Len(t, got, 2)
	assert.Equal(t, big.Data, got[0].(*blob).Data)
	assert.Equal(t, &ping{Seq: 2}, got[1])
}

// A parcel over 64 KiB is not copied behind held parcels: Write sends
// what is owed first, then the parcel alone; TryWrite leaves it to a
// Write. Either way the order holds.
func TestHoldBeforeALargeParcel(t *testing.T) {
	w, r := connPair(t, parcel.WithMaxBodySize(1<<20))
	held, err := w.Hold(&ping{Seq: 1})
	require.NoError(t, err)
	require.True(t, held)
	big := &blob{Data: bytes.Repeat([]byte{3}, 100<<10)}
	res, err := w.TryWrite(big)
	require.NoError(t, err)
	assert.Equal(t, parcel.Unsent, res, "a large parcel waits for a Write")
	assert.True(t, w.Owes())
	read := readN(r, 2)
	require.NoError(t, w.Write(context.Background(), big))
	got := <-read
	require.Len(t, got, 2)
	assert.Equal(t, &ping{Seq: 1}, got[0])
	assert.Equal(t, big.Data, got[1].(*blob).Data)
	assert.False(t, w.Owes())
}
