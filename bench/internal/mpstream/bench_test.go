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

// BenchmarkRow measures encoding and decoding one wide row by reflection
// (a map per row, as the transport once did), with the ",as_array" tag,
// and field by field as the transport does now (BenchmarkRowFields), to
// show how much of a msgpack stream's cost is the codec.
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

// BenchmarkRowFields encodes and decodes one wide row field by field, as
// the transport does.
func BenchmarkRowFields(b *testing.B) {
	t, err := table.New(table.Wide, 1000)
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			buf.Reset()
			r := t.Row(i % 1000)
			if err := encodeRow(enc, &r); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	buf.Reset()
	for i := range 1000 {
		r := t.Row(i)
		encodeRow(enc, &r)
	}
	data := buf.Bytes()
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		dec := msgpack.NewDecoder(nil)
		var rd bytes.Reader
		var r table.Row
		i := 0
		for b.Loop() {
			if i%1000 == 0 {
				rd.Reset(data)
				dec.Reset(&rd)
			}
			if err := decodeRow(dec, &r); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// Rows encoded field by field decode to the same rows.
func TestRowRoundTrip(t *testing.T) {
	tbl, err := table.New(table.Wide, 100)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	for i := range 100 {
		r := tbl.Row(i)
		if err := encodeRow(enc, &r); err != nil {
			t.Fatal(err)
		}
	}
	dec := msgpack.NewDecoder(&buf)
	for i := range 100 {
		var got table.Row
		if err := decodeRow(dec, &got); err != nil {
			t.Fatal(err)
		}
		want := tbl.Row(i)
		if got.ID != want.ID || got.Fare != want.Fare || got.City != want.City || !bytes.Equal(got.Payload, want.Payload) {
			t.Fatalf("row %d: %+v, want %+v", i, got, want)
		}
	}
}
