package wire

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/cursorwindow/cursorwindow/parcel"
)

// The messages as msgpack's reflection encodes them: the same fields and
// tags, without the hand-written encoders.
type (
	reflectedQuery  QueryMsg
	reflectedWindow WindowMsg
)

func (*reflectedQuery) ParcelType() uint16  { return CodeQuery }
func (*reflectedWindow) ParcelType() uint16 { return CodeWindow }

// reflected decodes the messages by reflection alone.
var reflected = func() *parcel.Registry {
	r := parcel.NewRegistry()
	r.Register(CodeQuery, func() parcel.Message { return new(reflectedQuery) })
	r.Register(CodeWindow, func() parcel.Message { return new(reflectedWindow) })
	return r
}()

// sameMessage fails unless body decodes as a message of type code (a
// query or a window) to the same message by hand and by reflection, or
// fails both ways. A message that decodes is encoded both ways too.
func sameMessage(t testing.TB, code uint16, body []byte) {
	t.Helper()
	own, err := Registry.Decode(code, body)
	want, werr := reflected.Decode(code, body)
	require.Equal(t, werr == nil, err == nil, "body %x: by reflection %v, by hand %v", body, werr, err)
	if err != nil {
		require.ErrorIs(t, err, parcel.ErrDecode)
		return
	}
	switch want := want.(type) {
	case *reflectedQuery:
		require.Equal(t, (*QueryMsg)(want), own, "body %x", body)
	case *reflectedWindow:
		require.Equal(t, (*WindowMsg)(want), own, "body %x", body)
	}
	sameBytes(t, own)
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
	}
	var own, want bytes.Buffer
	require.NoError(t, msgpack.NewEncoder(&own).Encode(m))
	require.NoError(t, msgpack.NewEncoder(&want).Encode(reflected))
	require.Equal(t, want.Bytes(), own.Bytes(), "%+v", m)
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
	} {
		sameBytes(t, m)
	}
	r := rand.New(rand.NewPCG(28, 28))
	for range 2000 {
		q, w := randomQuery(r), randomWindow(r)
		sameBytes(t, q)
		sameBytes(t, w)
		b, err := msgpack.Marshal(q)
		require.NoError(t, err)
		sameMessage(t, CodeQuery, b)
		b, err = msgpack.Marshal(w)
		require.NoError(t, err)
		sameMessage(t, CodeWindow, b)
	}
	// Bodies the Go peer never writes, which reflection reads.
	for _, body := range [][]byte{
		{0xc0},                        // nil
		{0x80},                        // an empty map
		{0x90},                        // an empty array
		{0x91, 0x01},                  // an array of the wrong length
		{0x81, 0xc0, 0x05},            // a nil key
		{0x81, 0xc4, 0x01, 'r', 0x05}, // a bin key
		{0x82, 0xa1, 'r', 0x01, 0xa1, 'r', 0xd0, 0xfe},                          // a key twice, an int8 into a uint
		{0x81, 0xa1, 'r', 0xcb, 0, 0, 0, 0, 0, 0, 0, 0},                         // a float into a uint
		{0x81, 0xa1, 'r', 0xc0},                                                 // nil into a uint
		{0x81, 0xa1, 'i', 0x01},                                                 // an int into a bool
		{0x81, 0xa1, 'u', 0xc4, 0x01, 'x'},                                      // bin into a str
		{0x81, 0xa1, 'b', 0xa1, 'x'},                                            // str into a bin
		{0x81, 0xa1, 'b', 0xc4, 0x00},                                           // an empty bin
		{0x81, 0xa1, 'c', 0x90},                                                 // an empty array of str
		{0x81, 0xa1, 'c', 0x91, 0x01},                                           // an int in an array of str
		{0x81, 0xa2, 'n', 'l', 0x92, 0xcd, 0x01, 0x00, 0xff},                    // int8s out of range
		{0x81, 0xa2, 'n', 'l', 0xc0},                                            // nil into a slice
		{0x81, 0xa1, 'a', 0x92, 0x81, 0xa1, 'x', 0x01, 0x90},                    // a map and an array in the args
		{0x81, 0xa1, 'z', 0x82, 0xa1, 'x', 0x01, 0xa1, 'y', 0x90},               // an unknown key
		{0x81, 0xa1, 'k', 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, // a uint64 into an int
		{0xde, 0x00, 0x01, 0xa1, 'r', 0x07},                                     // map16
		{0xdf, 0x00, 0x00, 0x00, 0x01, 0xa1, 'q', 0x07},                         // map32
		{0xd4, 0x01, 0x00},                                                      // an extension
	} {
		sameMessage(t, CodeQuery, body)
		sameMessage(t, CodeWindow, body)
	}
}

// FuzzCodec decodes any body as a query and as a window, by hand and by
// reflection: the same message or an error both ways, and whatever
// decodes encodes to the same bytes both ways.
func FuzzCodec(f *testing.F) {
	for _, m := range []any{
		&QueryMsg{Req: 2, URI: "t", Projection: []string{"a"}, Selection: "a > ?", Args: []any{1, "x", 2.5, nil}, Limit: 3},
		&WindowMsg{Req: 2, Query: 2, Columns: []string{"c"}, Nullable: []int8{1}, Count: 1, Rows: 1, Last: true, Inline: []byte{0}, Done: true},
		&WindowMsg{Req: 3, Query: 2, Win: 9, Start: 100, Rows: 5, Backing: "sysv", SegID: 7, Key: 8},
	} {
		b, err := msgpack.Marshal(m)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sameMessage(t, CodeQuery, data)
		sameMessage(t, CodeWindow, data)
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

// A query and its window are encoded without an allocation
// (docs/PERFORMANCE.md, "Small queries": reflection's omitempty check
// cost fifteen).
func TestCodecEncodesWithoutAllocating(t *testing.T) {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	q := &QueryMsg{Req: 2, URI: "trips", Projection: []string{"id"}, Selection: "id > 1", Order: "id", Limit: 1}
	w := &WindowMsg{Req: 2, Query: 2, Columns: []string{"id", "fare"}, Types: []string{"INTEGER", "REAL"}, Nullable: []int8{0, 1},
		Count: 1, Rows: 1, Last: true, Inline: make([]byte, 200), Done: true}
	for _, m := range []any{q, w} {
		allocs := testing.AllocsPerRun(100, func() {
			buf.Reset()
			if err := enc.Encode(m); err != nil {
				t.Fatal(err)
			}
		})
		assert.Zero(t, allocs, "%T", m)
	}
}
