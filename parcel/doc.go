// Package parcel frames msgpack-encoded messages, each with the file
// descriptors that belong to it, on a unix stream socket.
//
// A parcel is one frame: a 16-byte header (magic "CWPL", version, type
// code, body length, descriptor count; see docs/PROTOCOL.md for the bytes),
// then the msgpack body. Its descriptors travel with SCM_RIGHTS attached to
// the first byte of the header (package fdpass). The reader reads ahead,
// as many frames as one recvmsg returns, and attributes descriptors by
// stream offset: the kernel ends a recvmsg with the message that carried
// descriptors, so the descriptors a recvmsg returns belong to the one
// frame with descriptors that starts within the bytes it read.
//
// Message types are Go types with msgpack tags and a ParcelType method;
// a [Registry] maps type codes to constructors so a reader decodes each
// body into the right type:
//
//	type Hello struct {
//		Version int    `msgpack:"v"`
//		Name    string `msgpack:"n"`
//	}
//
//	func (*Hello) ParcelType() uint16 { return 1 }
//
//	reg := parcel.NewRegistry()
//	reg.Register(1, func() parcel.Message { return new(Hello) })
//
//	pc, err := parcel.NewConn(unixConn, reg)
//	err = pc.Write(ctx, &Hello{Version: 1, Name: "provider"}, memfd)
//	msg, files, err := pc.Read(ctx) // msg is a *Hello; files are ours to close
//
// # Limits
//
// Everything a peer announces is checked before it is acted on: a body
// longer than [WithMaxBodySize] (default 1 MiB) is refused before any
// allocation ([ErrTooLarge]); more descriptors than [WithMaxFDs] (default
// 16) are closed and refused ([ErrTooManyFDs]); a descriptor count that
// differs from the header's is [ErrFDMismatch]. Before decoding, the body's
// msgpack structure is walked: it must be exactly one value, no string,
// binary or array length may exceed the bytes that remain, and nesting is
// limited to 64 levels. The msgpack decoder preallocates slices from
// announced lengths, so this bounds what it allocates by the body size
// (times the size of a slice's element type) instead of by a peer's claim.
// A [BodyDecoder] skips the walk only for bodies it decodes itself, which
// must pass it: it checks the same as it reads.
//
// # Performance
//
// Writes reuse one buffer and one msgpack encoder per Conn; reads reuse one
// buffer (at least 32 KiB) and one decoder. A parcel costs one sendmsg for
// the writer; the reader reads ahead, so one recvmsg brings every frame
// that has arrived (and at most one frame with descriptors), attributed by
// stream offset as described above.
// Reflection-based msgpack is fine for most messages; a type on a hot path
// can implement msgpack.CustomEncoder and msgpack.CustomDecoder, which the
// encoder and decoder use without reflection. bench_test.go measures both
// for a 7-field window descriptor: reflection encodes in about 180 ns and
// decodes in about 350 ns, hand-written codecs in about 55 ns and 140 ns
// (an ",as_array" struct tag sits in between), so custom codecs save some
// 300 ns per round trip, a few percent of the 11 µs a parcel round trip
// takes between goroutines: worth it only for the hottest messages.
// Hotter still, a type can implement [BodyDecoder] and read its body from
// the bytes, without the structure check's walk, msgpack's decoder or its
// allocation of each string; the forms it does not read go to msgpack as
// any message's body does, so it changes the speed of decoding, never its
// result. Symmetrically, a [BodyEncoder] appends its body to the frame's
// buffer itself, without msgpack's encoder and its dispatch per value.
// The content protocol's query and window are both (their package's
// codec.go).
//
// A message that may wait a little (a release) can be held ([Conn.Hold])
// and written by the next writer in its own system call, before its
// parcel: the peer then reads both in one wake-up. The holder sees that
// [Conn.Flush] follows if no writer comes ([Conn.Owes] tells whether
// anything is owed).
//
// # Caveats
//
//   - Ownership: Write never takes ownership of the files passed to it;
//     Read returns files the caller owns and must close. Read never returns
//     files together with an error: it closes them.
//   - Concurrency: Write is safe from many goroutines (parcels are never
//     interleaved); Read is for one reader goroutine. Close unblocks both.
//   - Errors that break the framing (matching [ErrProtocol] or
//     io.ErrUnexpectedEOF) are sticky: close the Conn. [ErrUnknownType] and
//     [ErrDecode] skip one parcel and the Conn stays usable.
//   - Contexts: a context's end (its cancellation, or its deadline, at
//     which its Done closes) interrupts the call: the socket's deadline
//     is set in the past, then cleared once the call returns. A call the
//     context does not end leaves the socket's deadline alone and arms no
//     timer. So a deadline set on the underlying connection is lost when
//     a context ends a call: do not set one while passing contexts that
//     can be done.
//   - Socket type: SOCK_STREAM only (a "unix" listener or a socketpair).
//     Do not enable SO_PASSCRED on the socket: credentials messages would
//     compete with descriptors for the control buffer.
//   - Buffers grow to the largest parcel seen (at most the body limit) and
//     are kept for the life of the Conn.
package parcel
