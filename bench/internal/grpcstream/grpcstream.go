// Package grpcstream is the harness's gRPC transport: a server-streaming
// method over a unix socket that sends the rows of a table in batches of
// BatchSize rows per message, as a developer reaching for the most common
// off-the-shelf RPC system would. Messages are encoded with msgpack by a
// codec registered with grpc/encoding (no protoc needed); the rows are the
// same table.Row structs the msgpack stream carries.
//
// # Caveats
//
// Importing the package registers the "msgpack" codec with gRPC.
package grpcstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/vmihailenco/msgpack/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"

	"github.com/cursorwindow/cursorwindow/bench/internal/table"
)

// BatchSize is how many rows one stream message carries.
const BatchSize = 1000

// Request asks for the first Limit rows (all if 0) of a table.
type Request struct {
	Table string `msgpack:"table"`
	Limit int64  `msgpack:"limit"`
}

// Batch is one stream message of wide rows.
type Batch struct {
	Rows []table.Row `msgpack:"rows"`
}

// NarrowBatch is one stream message of narrow rows.
type NarrowBatch struct {
	Rows []table.NarrowRow `msgpack:"rows"`
}

// codec encodes gRPC messages with msgpack.
type codec struct{}

func (codec) Marshal(v any) ([]byte, error)      { return msgpack.Marshal(v) }
func (codec) Unmarshal(data []byte, v any) error { return msgpack.Unmarshal(data, v) }
func (codec) Name() string                       { return "msgpack" }

func init() { encoding.RegisterCodec(codec{}) }

// rowsService is the (empty) handler type of the service.
type rowsService interface{}

type server struct{ tables map[string]*table.Table }

const method = "/cwbench.Rows/Scan"

var serviceDesc = grpc.ServiceDesc{
	ServiceName: "cwbench.Rows",
	HandlerType: (*rowsService)(nil),
	Streams: []grpc.StreamDesc{{
		StreamName:    "Scan",
		ServerStreams: true,
		Handler: func(srv any, stream grpc.ServerStream) error {
			return srv.(*server).scan(stream)
		},
	}},
	Metadata: "cwbench",
}

func (s *server) scan(stream grpc.ServerStream) error {
	var req Request
	if err := stream.RecvMsg(&req); err != nil {
		return err
	}
	t := s.tables[req.Table]
	if t == nil {
		return fmt.Errorf("grpcstream: no table %q", req.Table)
	}
	n := t.Len()
	if req.Limit > 0 && req.Limit < int64(n) {
		n = int(req.Limit)
	}
	for lo := 0; lo < n; lo += BatchSize {
		// A new batch per message: gRPC does not promise the message is
		// no longer used once SendMsg returns.
		if err := stream.SendMsg(batch(t, lo, min(lo+BatchSize, n))); err != nil {
			return err
		}
	}
	return nil
}

// Serve serves the tables on ln until ctx is done.
func Serve(ctx context.Context, ln net.Listener, tables ...*table.Table) error {
	s := &server{tables: map[string]*table.Table{}}
	for _, t := range tables {
		s.tables[t.Name] = t
	}
	gs := grpc.NewServer()
	gs.RegisterService(&serviceDesc, s)
	stop := context.AfterFunc(ctx, gs.Stop)
	defer stop()
	err := gs.Serve(ln)
	if ctx.Err() != nil || errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// Client is a consumer's connection.
type Client struct{ cc *grpc.ClientConn }

// Dial connects to the server on the unix socket at path.
func Dial(path string) (*Client, error) { return DialTarget("unix://" + path) }

// DialTarget connects to the server at a gRPC target: "unix://PATH", or
// "HOST:PORT" for TCP.
func DialTarget(target string) (*Client, error) {
	cc, err := grpc.NewClient(target,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.CallContentSubtype("msgpack")))
	if err != nil {
		return nil, err
	}
	return &Client{cc: cc}, nil
}

// Stream is one call's stream of batches.
type Stream struct{ s grpc.ClientStream }

// Scan starts a call.
func (c *Client) Scan(ctx context.Context, req *Request) (*Stream, error) {
	s, err := c.cc.NewStream(ctx, &serviceDesc.Streams[0], method)
	if err != nil {
		return nil, err
	}
	if err := s.SendMsg(req); err != nil {
		return nil, err
	}
	if err := s.CloseSend(); err != nil {
		return nil, err
	}
	return &Stream{s: s}, nil
}

// Recv decodes the next batch into b (a *Batch or a *NarrowBatch); it
// returns io.EOF after the last one.
func (s *Stream) Recv(b any) error {
	err := s.s.RecvMsg(b)
	if errors.Is(err, io.EOF) {
		return io.EOF
	}
	return err
}

// Close closes the connection.
func (c *Client) Close() error { return c.cc.Close() }

// Marshal builds and encodes the messages the server sends for the first
// n rows of t, as the server does, and returns the bytes they take (for
// the fill comparison).
func Marshal(t *table.Table, n int) (int, error) {
	total := 0
	for lo := 0; lo < n; lo += BatchSize {
		msg := batch(t, lo, min(lo+BatchSize, n))
		data, err := codec{}.Marshal(msg)
		if err != nil {
			return total, err
		}
		total += len(data)
	}
	return total, nil
}

// batch returns the message carrying rows [lo, hi) of t.
func batch(t *table.Table, lo, hi int) any {
	if !t.Wide() {
		b := &NarrowBatch{Rows: make([]table.NarrowRow, 0, hi-lo)}
		for i := lo; i < hi; i++ {
			b.Rows = append(b.Rows, table.NarrowRow{ID: t.IDs[i]})
		}
		return b
	}
	b := &Batch{Rows: make([]table.Row, 0, hi-lo)}
	for i := lo; i < hi; i++ {
		b.Rows = append(b.Rows, t.Row(i))
	}
	return b
}
