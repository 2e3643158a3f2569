package mpstream

import (
	"bytes"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/cursorwindow/cursorwindow/bench/internal/table"
)

// arrayRow is table.Row encoded as an array instead of a map: what a
// developer tuning the msgpack transport would try first.
type arrayRow struct {
	_msgpack struct{} `msgpack:",as_array"` //lint:ignore U1000 read by msgpack through its tag
	ID       int64
	Fare     float64
	City     string
	Payload  []byte
}

// BenchmarkRow measures encoding and decoding one wide row by reflection,
// as the harness's msgpack transport does (a map per row), and with the
// ",as_array" tag, to show how much of the transport's cost is the codec.
func BenchmarkRow(b *testing.B) {
	t, err := table.New(table.Wide, 1000)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		row  func(i int) any
		into func() any
	}{
		{"map", func(i int) any { r := t.Row(i); return &r }, func() any { return new(table.Row) }},
		{"as_array", func(i int) any {
			r := t.Row(i)
			return &arrayRow{ID: r.ID, Fare: r.Fare, City: r.City, Payload: r.Payload}
		}, func() any { return new(arrayRow) }},
	} {
		var buf bytes.Buffer
		enc := msgpack.NewEncoder(&buf)
		b.Run("encode/"+tc.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				buf.Reset()
				if err := enc.Encode(tc.row(i % 1000)); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		buf.Reset()
		for i := range 1000 {
			enc.Encode(tc.row(i))
		}
		data := buf.Bytes()
		b.Run("decode/"+tc.name, func(b *testing.B) {
			b.ReportAllocs()
			v := tc.into()
			dec := msgpack.NewDecoder(nil)
			var r bytes.Reader
			i := 0
			for b.Loop() {
				if i%1000 == 0 {
					r.Reset(data)
					dec.Reset(&r)
				}
				if err := dec.Decode(v); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
