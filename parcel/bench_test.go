package parcel_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/cursorwindow/cursorwindow/parcel"
)

// latencies keeps the last durations of a benchmark loop, to report
// percentiles next to the mean (ns/op).
type latencies struct {
	d []time.Duration
	n int
}

func newLatencies() *latencies { return &latencies{d: make([]time.Duration, 1<<16)} }

func (l *latencies) add(d time.Duration) {
	l.d[l.n%len(l.d)] = d
	l.n++
}

func (l *latencies) report(b *testing.B) {
	d := l.d[:min(l.n, len(l.d))]
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(d[len(d)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkRoundTrip measures request/echo latency with a window
// descriptor (a 7-field struct, the typical parcel), between two goroutines
// over a socketpair and between two processes:
//
//   - plain: Write and io.ReadFull of the same number of bytes as the
//     parcel frame, the floor any protocol on this socket pays;
//   - fds=0: a parcel, reflection-encoded;
//   - fds=0,codec=custom: a parcel with hand-written msgpack codecs;
//   - fds=1: a parcel carrying a memfd one way (the echo closes it and
//     answers without a descriptor).
func BenchmarkRoundTrip(b *testing.B) {
	body, err := msgpack.Marshal(&sampleWindow)
	if err != nil {
		b.Fatal(err)
	}
	frameSize := parcel.HeaderSize + len(body)
	for _, where := range []string{"goroutines", "processes"} {
		for _, kind := range []string{"plain", "fds=0", "fds=0,codec=custom", "fds=1"} {
			b.Run(where+"/"+kind, func(b *testing.B) {
				pc, uc := echoPeer(b, where, kind)
				ctx := context.Background()
				lat := newLatencies()
				b.SetBytes(int64(2 * frameSize))
				if kind == "plain" {
					out, in := make([]byte, frameSize), make([]byte, frameSize)
					if _, err := uc.Write([]byte{byte(frameSize)}); err != nil {
						b.Fatal(err)
					}
					b.ReportAllocs()
					for b.Loop() {
						start := time.Now()
						if _, err := uc.Write(out); err != nil {
							b.Fatal(err)
						}
						if _, err := io.ReadFull(uc, in); err != nil {
							b.Fatal(err)
						}
						lat.add(time.Since(start))
					}
					lat.report(b)
					return
				}
				var msg parcel.Message = &sampleWindow
				if kind == "fds=0,codec=custom" {
					fast := windowFast(sampleWindow)
					msg = &fast
				}
				var files []*os.File
				if kind == "fds=1" {
					files = []*os.File{memfd(b, "window")}
				}
				b.ReportAllocs()
				for b.Loop() {
					start := time.Now()
					if err := pc.Write(ctx, msg, files...); err != nil {
						b.Fatal(err)
					}
					if _, _, err := pc.Read(ctx); err != nil {
						b.Fatal(err)
					}
					lat.add(time.Since(start))
				}
				lat.report(b)
			})
		}
	}
}

// echoPeer starts an echo server in a goroutine or a child process and
// returns the local ends: a parcel Conn and the same socket's UnixConn (use
// one or the other).
func echoPeer(b *testing.B, where, kind string) (*parcel.Conn, *net.UnixConn) {
	role := "echo-parcel"
	if kind == "plain" {
		role = "echo-plain"
	}
	if where == "processes" {
		return startChild(b, role)
	}
	local, remote := socketPair(b)
	done := make(chan error, 1)
	go func() {
		if role == "echo-plain" {
			done <- childEchoPlain(remote)
		} else {
			done <- childEchoParcel(remote)
		}
	}()
	pc, err := parcel.NewConn(local, testRegistry())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = pc.Close()
		if err := <-done; err != nil {
			b.Error(err)
		}
	})
	return pc, local
}

// windowArray is window encoded by reflection as an array (no field
// names), msgpack's cheapest reflective form.
type windowArray struct {
	//lint:ignore U1000 msgpack reads the tag through reflection
	_msgpack   struct{} `msgpack:",as_array"`
	QueryID    uint64
	StartPos   int64
	NumRows    int64
	NumColumns int32
	Size       int64
	Sealed     bool
	Name       string
}

func (*windowArray) ParcelType() uint16 { return typeWindow }

// BenchmarkCodec compares msgpack by reflection (struct as map, and as
// array) with hand-written CustomEncoder/CustomDecoder for the same 7-field
// struct, with a reused encoder and decoder as Conn uses them.
func BenchmarkCodec(b *testing.B) {
	fast := windowFast(sampleWindow)
	arr := windowArray{QueryID: 42, StartPos: 1 << 20, NumRows: 4096, NumColumns: 7, Size: 2 << 20, Sealed: true, Name: "cursorwindow:orders"}
	cases := []struct {
		name  string
		msg   any
		fresh func() any
	}{
		{"reflect-map", &sampleWindow, func() any { return new(window) }},
		{"reflect-array", &arr, func() any { return new(windowArray) }},
		{"custom", &fast, func() any { return new(windowFast) }},
	}
	for _, tc := range cases {
		var buf bytes.Buffer
		enc := msgpack.NewEncoder(&buf)
		b.Run("encode/"+tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				if err := enc.Encode(tc.msg); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(buf.Len()), "bytes")
		})
		encoded := bytes.Clone(buf.Bytes())
		b.Run("decode/"+tc.name, func(b *testing.B) {
			var r bytes.Reader
			dec := msgpack.NewDecoder(&r)
			b.ReportAllocs()
			for b.Loop() {
				r.Reset(encoded)
				dec.ResetReader(&r)
				if err := dec.Decode(tc.fresh()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
