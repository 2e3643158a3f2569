package content_test

import (
	"bufio"
	"context"
	"net"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// The bare pair: what a user who skips this library writes for a small
// query, a msgpack request and its reply (the row count, then each row as
// an array) over a unix stream socket, one goroutine per side and no
// descriptors. The provider child serves it beside the content socket
// (bareSocket), from the same table, so that BenchmarkQueryRow measures
// both against one process in one run.

// bareRequest asks for the first Limit rows of the table.
type bareRequest struct {
	Limit int64 `msgpack:"limit"`
}

// bareSocket is where the provider child serves the bare pair.
func bareSocket(path string) string { return path + ".bare" }

// serveBare answers bare requests on path until ctx is done.
func serveBare(ctx context.Context, path string, rows [][]any) error {
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	go func() {
		defer stop()
		for {
			c, err := ln.AcceptUnix()
			if err != nil {
				return
			}
			go serveBareConn(c, rows)
		}
	}()
	return nil
}

func serveBareConn(c net.Conn, rows [][]any) {
	defer c.Close()
	bw := bufio.NewWriter(c)
	dec := msgpack.NewDecoder(bufio.NewReader(c))
	enc := msgpack.NewEncoder(bw)
	for {
		var req bareRequest
		if err := dec.Decode(&req); err != nil {
			return
		}
		n := min(int(req.Limit), len(rows))
		if err := enc.EncodeInt(int64(n)); err != nil {
			return
		}
		for _, r := range rows[:n] {
			if err := enc.Encode(r); err != nil {
				return
			}
		}
		if err := bw.Flush(); err != nil {
			return
		}
	}
}

// bareClient is the consumer's end of the bare pair.
type bareClient struct {
	c   net.Conn
	bw  *bufio.Writer
	enc *msgpack.Encoder
	dec *msgpack.Decoder
	row bareRow
}

// bareRow is a row of the table as the bare consumer decodes it: the
// array the provider encodes, into typed fields.
type bareRow struct {
	_msgpack struct{} `msgpack:",as_array"` //lint:ignore U1000 read by msgpack through its tag
	ID       int64
	Fare     float64
	City     string
	Payload  []byte
}

func dialBare(tb testing.TB, path string) *bareClient {
	tb.Helper()
	c, err := net.Dial("unix", bareSocket(path))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	bw := bufio.NewWriter(c)
	return &bareClient{c: c, bw: bw, enc: msgpack.NewEncoder(bw), dec: msgpack.NewDecoder(bufio.NewReader(c))}
}

// query asks for limit rows and reads every value, as scan does.
func (b *bareClient) query(limit int64) (int64, float64, error) {
	if err := b.enc.Encode(&bareRequest{Limit: limit}); err != nil {
		return 0, 0, err
	}
	if err := b.bw.Flush(); err != nil {
		return 0, 0, err
	}
	n, err := b.dec.DecodeInt64()
	if err != nil {
		return 0, 0, err
	}
	var sum float64
	for i := range n {
		if err := b.dec.Decode(&b.row); err != nil {
			return i, sum, err
		}
		r := &b.row
		sum += float64(r.ID) + r.Fare + float64(len(r.City)+len(r.Payload))
	}
	return n, sum, nil
}
