// Package flightstream is the harness's Arrow Flight transport: a Flight
// server (arrow-go) that streams a table.Table as record batches built
// once, before any timing, from the table's slices. It is the floor for
// anything that serves the same table over Flight: the Flight SQL
// gateway (package gateway of the arrow module) adds reading a provider's
// windows into batches on top of the same encoding and gRPC stream.
//
// # Caveats
//
// The batches live as long as the server: a 1,000,000-row wide table
// takes about 110 MiB of Arrow memory besides the table's own.
package flightstream

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/cursorwindow/cursorwindow/bench/internal/table"
)

// Records returns t as record batches of at most batchRows rows, with
// the types the gateway gives a provider's columns: id Int64, fare
// Float64, city String, payload Binary (the narrow table: id only).
func Records(t *table.Table, batchRows int) []arrow.RecordBatch {
	fields := []arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}
	if t.Wide() {
		fields = append(fields,
			arrow.Field{Name: "fare", Type: arrow.PrimitiveTypes.Float64},
			arrow.Field{Name: "city", Type: arrow.BinaryTypes.String},
			arrow.Field{Name: "payload", Type: arrow.BinaryTypes.Binary})
	}
	schema := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	var recs []arrow.RecordBatch
	for lo := 0; lo < t.Len(); lo += batchRows {
		hi := min(lo+batchRows, t.Len())
		b.Field(0).(*array.Int64Builder).AppendValues(t.IDs[lo:hi], nil)
		if t.Wide() {
			b.Field(1).(*array.Float64Builder).AppendValues(t.Fares[lo:hi], nil)
			b.Field(2).(*array.StringBuilder).AppendValues(t.Cities[lo:hi], nil)
			b.Field(3).(*array.BinaryBuilder).AppendValues(t.Blobs[lo:hi], nil)
		}
		recs = append(recs, b.NewRecordBatch())
	}
	return recs
}

// server streams one table's batches to every DoGet, whatever the
// ticket.
type server struct {
	flight.BaseFlightServer
	schema *arrow.Schema
	recs   []arrow.RecordBatch
}

func (s *server) DoGet(_ *flight.Ticket, stream flight.FlightService_DoGetServer) error {
	w := flight.NewRecordWriter(stream, ipc.WithSchema(s.schema))
	defer w.Close()
	for _, rec := range s.recs {
		if err := w.Write(rec); err != nil {
			return status.Errorf(codes.Unavailable, "flightstream: %v", err)
		}
	}
	return nil
}

// Serve serves recs (all of one schema) on ln until ctx is done.
func Serve(ctx context.Context, ln net.Listener, recs []arrow.RecordBatch) error {
	if len(recs) == 0 {
		return errors.New("flightstream: no record batch to serve")
	}
	gs := grpc.NewServer()
	flight.RegisterFlightServiceServer(gs, &server{schema: recs[0].Schema(), recs: recs})
	stop := context.AfterFunc(ctx, gs.Stop)
	defer stop()
	err := gs.Serve(ln)
	if ctx.Err() != nil || errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// Dial connects to a Flight server at addr (host:port), without TLS.
func Dial(addr string) (flight.Client, error) {
	return flight.NewClientWithMiddleware(addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
}

// Sum reads a stream of batches of the table's columns and returns the
// rows and table.Checksum's sum over them: the ids, the fares and the
// lengths of the cities and payloads.
func Sum(r array.RecordReader) (rows int64, sum float64, err error) {
	for r.Next() {
		rec := r.RecordBatch()
		n, s, err := SumRecord(rec)
		if err != nil {
			return rows, sum, err
		}
		rows += n
		sum += s
	}
	return rows, sum, r.Err()
}

// SumRecord is Sum of one batch.
func SumRecord(rec arrow.RecordBatch) (int64, float64, error) {
	var sum float64
	ids, ok := rec.Column(0).(*array.Int64)
	if !ok {
		return 0, 0, fmt.Errorf("flightstream: column 0 is %s, not int64", rec.Column(0).DataType())
	}
	for _, v := range ids.Int64Values() {
		sum += float64(v)
	}
	if rec.NumCols() == 4 {
		fares, ok1 := rec.Column(1).(*array.Float64)
		cities, ok2 := rec.Column(2).(*array.String)
		blobs, ok3 := rec.Column(3).(*array.Binary)
		if !ok1 || !ok2 || !ok3 {
			return 0, 0, fmt.Errorf("flightstream: columns %s, %s, %s", rec.Column(1).DataType(), rec.Column(2).DataType(), rec.Column(3).DataType())
		}
		for i, v := range fares.Float64Values() {
			sum += v + float64(cities.ValueLen(i)+blobs.ValueLen(i))
		}
	}
	return rec.NumRows(), sum, nil
}
