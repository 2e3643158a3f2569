package window

import (
	"math/rand/v2"
	"testing"
)

// clearExcept zeroes exactly the dirty bytes outside the live spans,
// against a byte-by-byte reference, for random spans (dirty ones
// overlapping, live ones reaching across several dirty ones).
func TestClearExcept(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 2000 {
		const size = 256
		var dirty, live []span
		for range rng.IntN(8) {
			dirty = append(dirty, span{from: uint64(rng.IntN(size + 16)), n: uint64(rng.IntN(40))})
		}
		for off := uint64(rng.IntN(20)); off < size; off += uint64(1 + rng.IntN(40)) {
			n := uint64(rng.IntN(30))
			live = append(live, span{from: off, n: n})
			off += n
		}
		want := make([]byte, size)
		for i := range want {
			want[i] = 1
		}
		for _, d := range dirty {
			for i := d.from; i < d.from+d.n && i < size; i++ {
				want[i] = 0
			}
		}
		for _, l := range live {
			for i := l.from; i < l.from+l.n && i < size; i++ {
				want[i] = 1
			}
		}
		got := make([]byte, size)
		for i := range got {
			got[i] = 1
		}
		clearExcept(got, append([]span(nil), dirty...), live)
		if string(got) != string(want) {
			t.Fatalf("round %d: dirty %v live %v\ngot  %v\nwant %v", round, dirty, live, got, want)
		}
	}
}
