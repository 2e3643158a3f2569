package wire

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/cursorwindow/cursorwindow/parcel"
)

// The messages as msgpack's reflection encodes them: the same fields and
// tags, without the hand-written encoders.
type (
	reflectedQuery   QueryMsg
	reflectedWindow  WindowMsg
	reflectedRelease ReleaseMsg
)

func (*reflectedQuery) ParcelType() uint16   { return CodeQuery }
func (*reflectedWindow) ParcelType() uint16  { return CodeWindow }
func (*reflectedRelease) ParcelType() uint16 { return CodeRelease }

// reflected decodes the messages by reflection alone.
var reflected = func() *parcel.Registry {
	r := parcel.NewRegistry()
	r.Register(CodeQuery, func() parcel.Message { return new(reflectedQuery) })
	r.Register(CodeWindow, func() parcel.Message { return new(reflectedWindow) })
	r.Register(CodeRelease, func() parcel.Message { return new(reflectedRelease) })
	return r
}()

// sameMessage fails unless body decodes as a message of type code (a
// query or a window) to the same message by hand and by reflection, or
// fails both ways. The message decoded by hand must not share the body's
// memory (parcel reuses its buffer). A message that decodes is encoded
// both ways too.
func sameMessage(t testing.TB, code uint16, body []byte) {
	t.Helper()
	buf := bytes.Clone(body)
	own, err := Registry.Decode(code, buf)
	clear(buf)
	want, werr := reflected.Decode(code, body)
	require.Equal(t, werr == nil, err == nil, "body %x: by reflection %v, by hand %v", body, werr, err)
	if err != nil {
		require.ErrorIs(t, err, parcel.ErrDecode)
		return
	}
	switch want := want.(type) {
	case *reflectedQuery:
		require.Equal(t, floatBits((*QueryMsg)(want)), floatBits(own), "body %x", body)
	case *reflectedWindow:
		require.Equal(t, (*WindowMsg)(want), own, "body %x", body)
	case *reflectedRelease:
		require.Equal(t, (*ReleaseMsg)(want), own, "body %x", body)
	}
	sameBytes(t, own)
}

// floatBits returns m with each float argument of a query replaced by
// its bits, which are equal when the floats are (NaN included).
func floatBits(m parcel.Message) parcel.Message {
	q, ok := m.(*QueryMsg)
	if !ok || q.Args == nil {
		return m
	}
	c := *q
	c.Args = slices.Clone(q.Args)
	for i, a := range c.Args {
		switch a := a.(type) {
		case float32:
			c.Args[i] = [1]uint32{math.Float32bits(a)}
		case float64:
			c.Args[i] = [1]uint64{math.Float64bits(a)}
		}
	}
	return &c
}

// decodesInPlace fails unless DecodeBody reads body itself, without
// leaving it to reflection: what the Go peer writes must never go there.
func decodesInPlace(t testing.TB, m parcel.BodyDecoder, body []byte) {
	t.Helper()
	require.True(t, m.DecodeBody(body), "%T body %x", m, body)
}

// sameBytes fails unless the hand-written encoding of m is the bytes
// reflection writes for it.
func sameBytes(t testing.TB, m any) {
	t.Helper()
	var reflected any
	switch m := m.(type) {
	case *QueryMsg:
		reflected = (*reflectedQuery)(m)
	case *WindowMsg:
		reflected = (*reflectedWindow)(m)
	case *ReleaseMsg:
		reflected = (*reflectedRelease)(m)
	}
	own, err := m.(parcel.BodyEncoder).AppendBody([]byte{0xff}) // after a byte of its frame's
	require.NoError(t, err)
	var want bytes.Buffer
	enc := msgpack.NewEncoder(&want)
	enc.SetSortMapKeys(true) // a map in the arguments: one order of its keys, the one the Go peer writes
	require.NoError(t, enc.Encode(reflected))
	require.Equal(t, want.Bytes(), own[1:], "%+v", m)
	require.Equal(t, byte(0xff), own[0], "appended, not written over")
	var viaMsgpack bytes.Buffer // a msgpack encoder of the message gets the same bytes
	require.NoError(t, msgpack.NewEncoder(&viaMsgpack).Encode(m))
	require.Equal(t, want.Bytes(), viaMsgpack.Bytes(), "%+v", m)
}

func TestCodecMatchesReflection(t *testing.T) {
	for _, m := range []any{
		&QueryMsg{},
		&QueryMsg{Req: 2, URI: "trips", Limit: 1},
		&QueryMsg{Req: math.MaxUint64, URI: "t", Projection: []string{"a", ""}, Selection: "a > ?", Args: []any{int64(1), "x", 2.5, nil, true, []byte{1}},
			Order: "a DESC", Limit: -1, Inline: true},
		&QueryMsg{Projection: []string{}, Args: []any{}},
		&WindowMsg{},
		&WindowMsg{Req: 2, Query: 2, Columns: []string{"id", "fare"}, Types: []string{"INTEGER", ""}, Nullable: []int8{-1, 0, 1, math.MinInt8, math.MaxInt8},
			Count: 1, Start: 0, Rows: 1, Last: true, Inline: []byte{1, 2, 3}, Done: true},
		&WindowMsg{Req: 3, Query: 2, Count: -1, Win: 9, Start: 100, Rows: 5, Backing: "shm", Name: "/cw-1"},
		&WindowMsg{Req: 4, Query: 2, Count: math.MinInt64, Win: math.MaxUint64, Start: math.MaxInt64, Rows: -1, Backing: "sysv", SegID: 1 << 40, Key: -5},
		&WindowMsg{Columns: []string{}, Types: []string{}, Nullable: []int8{}, Inline: []byte{}},
		&ReleaseMsg{Query: 2, Win: 9},
		&ReleaseMsg{Query: math.MaxUint64},
		&ReleaseMsg{},
	} {
		sameBytes(t, m)
		b, err := msgpack.Marshal(m)
		require.NoError(t, err)
		switch m.(type) {
		case *QueryMsg:
			sameMessage(t, CodeQuery, b)
			decodesInPlace(t, new(QueryMsg), b)
		case *WindowMsg:
			sameMessage(t, CodeWindow, b)
			decodesInPlace(t, new(WindowMsg), b)
		case *ReleaseMsg:
			sameMessage(t, CodeRelease, b)
			decodesInPlace(t, new(ReleaseMsg), b)
		}
	}
	r := rand.New(rand.NewPCG(28, 28))
	for range 2000 {
		q, w := randomQuery(r), randomWindow(r)
		sameBytes(t, q)
		sameBytes(t, w)
		b, err := msgpack.Marshal(q)
		require.NoError(t, err)
		sameMessage(t, CodeQuery, b)
		decodesInPlace(t, new(QueryMsg), b)
		b, err = msgpack.Marshal(w)
		require.NoError(t, err)
		sameMessage(t, CodeWindow, b)
		decodesInPlace(t, new(WindowMsg), b)
	}
	for _, body := range oddBodies {
		sameMessage(t, CodeQuery, body)
		sameMessage(t, CodeWindow, body)
		sameMessage(t, CodeRelease, body)
	}
}

// oddBodies are bodies the Go peer never writes, which reflection reads
// or refuses: DecodeBody must read them as reflection does or leave them
// to it.
var oddBodies = [][]byte{
	{0xc0},                        // nil
	{0x80},                        // an empty map
	{0x90},                        // an empty array
	{0x91, 0x01},                  // an array of the wrong length
	{0x81, 0xc0, 0x05},            // a nil key
	{0x81, 0xc4, 0x01, 'r', 0x05}, // a bin key
	{0x81, 0xd9, 0x01, 'r', 0x05}, // a str8 key
	{0x81, 0x01, 0x05},            // an int key
	{0x82, 0xa1, 'r', 0x01, 0xa1, 'r', 0xd0, 0xfe},                            // a key twice, an int8 into a uint
	{0x81, 0xa1, 'r', 0xcb, 0, 0, 0, 0, 0, 0, 0, 0},                           // a float into a uint
	{0x81, 0xa1, 'r', 0xc0},                                                   // nil into a uint
	{0x81, 0xa1, 'r', 0xd1, 0x80, 0x00},                                       // an int16 into a uint
	{0x81, 0xa1, 'r', 0xd2, 0x80, 0x00, 0x00, 0x00},                           // an int32 into a uint
	{0x81, 0xa1, 'r', 0xce, 0xff, 0xff, 0xff, 0xff},                           // a uint32 into a uint
	{0x81, 0xa1, 'r', 0xcd, 0xff},                                             // a uint16 cut short
	{0x81, 0xa1, 'l', 0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0},                        // a uint64 into an int64
	{0x81, 0xa1, 'n', 0xcc, 0xff},                                             // a uint8 into an int64
	{0x81, 0xa1, 'i', 0x01},                                                   // an int into a bool
	{0x82, 0xa1, 'i', 0xc3, 0xa1, 'e', 0xc0},                                  // true, nil into a bool
	{0x81, 0xa1, 'd', 0xc2},                                                   // false
	{0x81, 0xa1, 'u', 0xc4, 0x01, 'x'},                                        // bin into a str
	{0x81, 0xa1, 'u', 0xc0},                                                   // nil into a str
	{0x81, 0xa1, 'u', 0xda, 0x00, 0x01, 'x'},                                  // str16
	{0x81, 0xa1, 'u', 0xdb, 0x00, 0x00, 0x00, 0x01, 'x'},                      // str32
	{0x81, 0xa1, 'u', 0xa5, 'x'},                                              // a str cut short
	{0x81, 0xa1, 'u', 0xdb, 0xff, 0xff, 0xff, 0xff, 'x'},                      // a str32 past the end
	{0x81, 0xa1, 'b', 0xa1, 'x'},                                              // str into a bin
	{0x81, 0xa1, 'b', 0xc4, 0x00},                                             // an empty bin
	{0x81, 0xa1, 'b', 0xc0},                                                   // nil into a bin
	{0x82, 0xa1, 'b', 0xc4, 0x02, 1, 2, 0xa1, 'b', 0xc4, 0x00},                // a bin, then an empty one
	{0x81, 0xa1, 'b', 0x91, 0x01},                                             // an array into a bin
	{0x81, 0xa1, 'c', 0x90},                                                   // an empty array of str
	{0x81, 0xa1, 'c', 0x91, 0x01},                                             // an int in an array of str
	{0x81, 0xa1, 'c', 0x93, 0xc0, 0xc4, 0x01, 'x', 0xa0},                      // nil, bin and "" in an array of str
	{0x82, 0xa1, 'c', 0x91, 0xa1, 'x', 0xa1, 'c', 0xc0},                       // an array of str, then nil
	{0x82, 0xa1, 'c', 0x92, 0xa1, 'x', 0xa1, 'y', 0xa1, 'c', 0x91, 0xa1, 'z'}, // an array of str twice
	{0x81, 0xa1, 'p', 0xdc, 0x00, 0x01, 0xa1, 'x'},                            // array16
	{0x81, 0xa1, 'p', 0xdd, 0x00, 0x00, 0x00, 0x01, 0xa1, 'x'},                // array32
	{0x81, 0xa1, 't', 0xdd, 0xff, 0xff, 0xff, 0xff, 0xa1, 'x'},                // an array32 longer than the body
	{0x81, 0xa1, 't', 0x92, 0xa1, 'x'},                                        // an array cut short
	{0x81, 0xa2, 'n', 'l', 0x92, 0xcd, 0x01, 0x00, 0xff},                      // int8s out of range
	{0x81, 0xa2, 'n', 'l', 0xc0},                                              // nil into a slice
	{0x82, 0xa2, 'n', 'l', 0x91, 0x01, 0xa2, 'n', 'l', 0xc0},                  // a slice, then nil
	{0x82, 0xa2, 'n', 'l', 0x92, 0x01, 0x02, 0xa2, 'n', 'l', 0x90},            // a slice, then an empty one
	{0x81, 0xa2, 'n', 'l', 0x92, 0xc0, 0xd3, 0, 0, 0, 0, 0, 0, 1, 0x80},       // nil and an int64 into int8s
	{0x81, 0xa2, 'n', 'l', 0x91, 0xa1, 'x'},                                   // a str into int8s
	{0x81, 0xa1, 'a', 0x92, 0x81, 0xa1, 'x', 0x01, 0x90},                      // a map and an array in the args
	{0x81, 0xa1, 'a', 0xc0},                                                   // nil args
	{0x81, 0xa1, 'a', 0x90},                                                   // no args
	{0x82, 0xa1, 'a', 0x91, 0x01, 0xa1, 'a', 0x91, 0x02},                      // args twice
	{0x82, 0xa1, 'a', 0x91, 0x01, 0xa1, 'a', 0xc0},                            // args, then nil
	{0x82, 0xa1, 'a', 0xc0, 0xa1, 'a', 0x91, 0x02},                            // nil args, then args
	{0x81, 0xa1, 'a', 0x91, 0xd4, 0x01, 0x00},                                 // an extension in the args
	{0x81, 0xa1, 'a', 0x91, 0xc1},                                             // an invalid byte in the args
	{0x81, 0xa1, 'a', 0xdc, 0x00, 0x15, // every scalar in the args:
		0x05, 0xff, 0xcc, 0xff, 0xcd, 0x01, 0x00, 0xce, 0, 0, 1, 0, 0xcf, 0, 0, 0, 0, 0, 0, 1, 0, // fixints, uints
		0xd0, 0x80, 0xd1, 0xff, 0x00, 0xd2, 0xff, 0, 0, 0, 0xd3, 0xff, 0, 0, 0, 0, 0, 0, 0, // ints
		0xca, 0x3f, 0x80, 0, 0, 0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 1, // a float32, a float64 NaN
		0xc0, 0xc3, 0xc2, 0xa1, 'x', 0xd9, 0x01, 'y', 0xc4, 0x01, 'z', 0xc4, 0x00, 0xd9, 0x00, 0xda, 0x00, 0x00}, // nil, bools, strs, bins
	{0x81, 0xa1, 'z', 0x82, 0xa1, 'x', 0x01, 0xa1, 'y', 0x90}, // an unknown key holding a map
	{0x8a, 0xa1, 'z', 0xc0, 0xa1, 'z', 0xc3, 0xa1, 'z', 0x7f, 0xa1, 'z', 0xd1, 0, 0, // unknown keys holding every scalar
		0xa1, 'z', 0xce, 0, 0, 0, 0, 0xa1, 'z', 0xcb, 0, 0, 0, 0, 0, 0, 0, 0,
		0xa1, 'z', 0xa2, 'x', 'y', 0xa1, 'z', 0xd9, 0x01, 'x', 0xa1, 'z', 0xc5, 0x00, 0x01, 'x', 0xa0, 0xe0},
	{0x81, 0xa1, 'z', 0xd4, 0x01, 0x00}, // an unknown key holding an extension
	{0x81, 0xa1, 'z', 0xc1},             // an unknown key holding an invalid byte
	{0x81, 0xa1, 'k', 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, // a uint64 into an int
	{0x81, 0xa2, 'b', 'i', 0xd2, 0x80, 0, 0, 0},                             // an int32 into an int
	{0xde, 0x00, 0x01, 0xa1, 'r', 0x07},                                     // map16
	{0xdf, 0x00, 0x00, 0x00, 0x01, 0xa1, 'q', 0x07},                         // map32
	{0xdf, 0x7f, 0xff, 0xff, 0xff, 0xa1, 'q', 0x07},                         // a map32 longer than the body
	{0x82, 0xa1, 'q', 0x07},                                                 // a map cut short
	{0x80, 0x00},                                                            // a byte after the map
	{0x81, 0xa1, 'r', 0x07, 0xc0},                                           // nil after the map
	{0xd4, 0x01, 0x00},                                                      // an extension
}

// FuzzCodec decodes any body as a query and as a window, by hand and by
// reflection: the same message or an error both ways, and whatever
// decodes encodes to the same bytes both ways. Seeds: a few messages,
// oddBodies, and testdata/fuzz/FuzzCodec (a small query's and window's
// bodies as the Go peer writes them, every field set, strings that spill
// past one string buffer, and what the fuzzer found).
func FuzzCodec(f *testing.F) {
	for _, m := range []any{
		&QueryMsg{Req: 2, URI: "t", Projection: []string{"a"}, Selection: "a > ?", Args: []any{1, "x", 2.5, nil}, Limit: 3},
		&WindowMsg{Req: 2, Query: 2, Columns: []string{"c"}, Nullable: []int8{1}, Count: 1, Rows: 1, Last: true, Inline: []byte{0}, Done: true},
		&WindowMsg{Req: 3, Query: 2, Win: 9, Start: 100, Rows: 5, Backing: "sysv", SegID: 7, Key: 8},
		&ReleaseMsg{Query: 2, Win: 9},
	} {
		b, err := msgpack.Marshal(m)
		require.NoError(f, err)
		f.Add(b)
	}
	for _, b := range oddBodies {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sameMessage(t, CodeQuery, data)
		sameMessage(t, CodeWindow, data)
		sameMessage(t, CodeRelease, data)
	})
}

func randomQuery(r *rand.Rand) *QueryMsg {
	m := &QueryMsg{Req: randomUint(r), URI: randomString(r), Selection: randomString(r), Order: randomString(r),
		Limit: int64(randomUint(r)), Inline: r.IntN(2) == 0, Projection: randomStrings(r)}
	if r.IntN(3) == 0 {
		m.Args = []any{int64(r.Int()), randomString(r), r.Float64(), nil}[:r.IntN(5)]
	}
	return m
}

func randomWindow(r *rand.Rand) *WindowMsg {
	m := &WindowMsg{Req: randomUint(r), Query: randomUint(r), Columns: randomStrings(r), Types: randomStrings(r),
		Count: int64(randomUint(r)), Win: randomUint(r), Start: int64(randomUint(r)), Rows: int(randomUint(r)),
		Last: r.IntN(2) == 0, Done: r.IntN(2) == 0, Backing: randomString(r), Name: randomString(r),
		SegID: int(randomUint(r)), Key: int(randomUint(r))}
	if n := r.IntN(4); n > 0 {
		m.Nullable = make([]int8, n-1)
		for i := range m.Nullable {
			m.Nullable[i] = int8(r.Int())
		}
	}
	if n := r.IntN(3); n > 0 {
		m.Inline = bytes.Repeat([]byte{byte(n)}, r.IntN(300))
	}
	return m
}

// randomUint is 0, a small number or any 64-bit value, so that every
// integer form appears.
func randomUint(r *rand.Rand) uint64 {
	switch r.IntN(4) {
	case 0:
		return 0
	case 1:
		return uint64(r.IntN(300))
	case 2:
		return uint64(-r.IntN(300))
	}
	return r.Uint64() >> r.IntN(64)
}

func randomString(r *rand.Rand) string {
	if r.IntN(3) == 0 {
		return ""
	}
	return string(bytes.Repeat([]byte{'x'}, r.IntN(70000)>>r.IntN(16)))
}

func randomStrings(r *rand.Rand) []string {
	switch r.IntN(3) {
	case 0:
		return nil
	case 1:
		return []string{}
	}
	s := make([]string, r.IntN(20))
	for i := range s {
		s[i] = randomString(r)
	}
	return s
}

// A query and its window are encoded without an allocation into a
// frame's buffer (parcel.BodyEncoder; docs/PERFORMANCE.md, "Small
// queries": reflection's omitempty check cost fifteen).
func TestCodecEncodesWithoutAllocating(t *testing.T) {
	q := &QueryMsg{Req: 2, URI: "trips", Projection: []string{"id"}, Selection: "id > 1", Order: "id", Limit: 1}
	w := &WindowMsg{Req: 2, Query: 2, Columns: []string{"id", "fare"}, Types: []string{"INTEGER", "REAL"}, Nullable: []int8{0, 1},
		Count: 1, Rows: 1, Last: true, Inline: make([]byte, 200), Done: true}
	buf := make([]byte, 0, 1024)
	for _, m := range []parcel.BodyEncoder{q, w} {
		allocs := testing.AllocsPerRun(100, func() {
			var err error
			if buf, err = m.AppendBody(buf[:0]); err != nil {
				t.Fatal(err)
			}
		})
		assert.Zero(t, allocs, "%T", m)
	}
}

// A query and its window are decoded with one allocation for all their
// strings, one for each list and one for the window's bytes
// (docs/PERFORMANCE.md, "Small queries": msgpack's decoder took one for
// each string too).
func TestCodecDecodesWithFewAllocations(t *testing.T) {
	for _, tc := range []struct {
		m      any
		allocs float64
	}{
		{&QueryMsg{Req: 2, URI: "trips", Limit: 1}, 1},
		{&QueryMsg{Req: 2, URI: "trips", Projection: []string{"id"}, Selection: "id > ?", Order: "id", Limit: 1}, 2},
		{&QueryMsg{Req: 2, URI: "trips", Selection: "id > ?", Args: []any{int64(1), "x"}}, 3}, // + the args and the box of "x"
		{&WindowMsg{Req: 2, Query: 2, Columns: []string{"id", "fare", "city", "payload"}, Count: 1, Rows: 1, Last: true, Inline: make([]byte, 350), Done: true}, 3},
		{&WindowMsg{Req: 2, Query: 2, Columns: []string{"id", "fare"}, Types: []string{"INTEGER", "REAL"}, Nullable: []int8{0, 1},
			Count: 1, Rows: 1, Last: true, Inline: make([]byte, 200), Done: true}, 5},
		{&WindowMsg{Req: 3, Query: 2, Count: -1, Win: 9, Start: 100, Rows: 5}, 0},
	} {
		body, err := msgpack.Marshal(tc.m)
		require.NoError(t, err)
		var q QueryMsg
		var w WindowMsg
		allocs := testing.AllocsPerRun(100, func() {
			var ok bool
			switch tc.m.(type) {
			case *QueryMsg:
				q = QueryMsg{}
				ok = q.DecodeBody(body)
			case *WindowMsg:
				w = WindowMsg{}
				ok = w.DecodeBody(body)
			}
			if !ok {
				t.Fatalf("%+v not decoded", tc.m)
			}
		})
		assert.Equal(t, tc.allocs, allocs, "%+v", tc.m)
	}
}
