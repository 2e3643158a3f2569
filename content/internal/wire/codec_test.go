package wire

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"
)

// The messages as msgpack's reflection encodes them: the same fields and
// tags, without the hand-written encoders.
type (
	reflectedQuery  QueryMsg
	reflectedWindow WindowMsg
)

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
		sameBytes(t, randomQuery(r))
		sameBytes(t, randomWindow(r))
	}
}

// FuzzCodec encodes whatever decodes as a query or a window both ways:
// the bytes must be the same.
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
		for _, code := range []uint16{CodeQuery, CodeWindow} {
			if m, err := Registry.Decode(code, data); err == nil {
				sameBytes(t, m)
			}
		}
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
