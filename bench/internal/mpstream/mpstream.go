// Package mpstream is the harness's msgpack transport: the fastest stream
// a Go developer who cares would write to ship rows between two
// processes, so that every figure against it is honest. The consumer
// sends a Request; the provider answers with the row count and then every
// row as a msgpack array (a wide row: [id, fare, city, payload]; a narrow
// row: its id alone), encoded and decoded field by field with no
// reflection, through 256 KiB buffers on a unix stream socket. Requests
// and replies alternate on one connection, so the same code is the bare
// msgpack request/response the small-query comparison uses. (An earlier
// version encoded each row as a map through reflection, about 2.4× slower
// to scan: every "× msgpack" figure before it is inflated by that much.)
//
// # Caveats
//
// A Client is for one goroutine. Between Query and the last Decode of a
// reply, the connection is busy.
package mpstream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/cursorwindow/cursorwindow/bench/internal/table"
)

// BufSize is the size of the buffers on both sides of the stream.
const BufSize = 256 << 10

// Request asks for the first Limit rows (all if 0) of a table.
type Request struct {
	Table string `msgpack:"table"`
	Limit int64  `msgpack:"limit"`
}

// Serve answers requests on ln until ctx is done; it closes ln.
func Serve(ctx context.Context, ln *net.UnixListener, tables ...*table.Table) error {
	byName := map[string]*table.Table{}
	for _, t := range tables {
		byName[t.Name] = t
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			serveConn(c, byName)
		}()
	}
}

func serveConn(c net.Conn, tables map[string]*table.Table) {
	bw := bufio.NewWriterSize(c, BufSize)
	dec := msgpack.NewDecoder(bufio.NewReaderSize(c, BufSize))
	enc := msgpack.NewEncoder(bw)
	for {
		var req Request
		if err := dec.Decode(&req); err != nil {
			return
		}
		t := tables[req.Table]
		n := 0
		if t != nil {
			n = t.Len()
			if req.Limit > 0 && req.Limit < int64(n) {
				n = int(req.Limit)
			}
		}
		if err := writeRows(enc, t, n); err != nil {
			return
		}
		if err := bw.Flush(); err != nil {
			return
		}
	}
}

// writeRows encodes the count, then n rows of t.
func writeRows(enc *msgpack.Encoder, t *table.Table, n int) error {
	if err := enc.EncodeInt(int64(n)); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	if !t.Wide() {
		for i := range n {
			if err := enc.EncodeInt(t.IDs[i]); err != nil {
				return err
			}
		}
		return nil
	}
	for i := range n {
		r := t.Row(i)
		if err := encodeRow(enc, &r); err != nil {
			return err
		}
	}
	return nil
}

// encodeRow writes a wide row as the array [id, fare, city, payload].
func encodeRow(enc *msgpack.Encoder, r *table.Row) error {
	if err := enc.EncodeArrayLen(4); err != nil {
		return err
	}
	if err := enc.EncodeInt(r.ID); err != nil {
		return err
	}
	if err := enc.EncodeFloat64(r.Fare); err != nil {
		return err
	}
	if err := enc.EncodeString(r.City); err != nil {
		return err
	}
	return enc.EncodeBytes(r.Payload)
}

// Encode writes n rows of t to w as the provider does (for the fill
// comparison): the count, then the rows.
func Encode(w io.Writer, t *table.Table, n int) error {
	bw := bufio.NewWriterSize(w, BufSize)
	if err := writeRows(msgpack.NewEncoder(bw), t, n); err != nil {
		return err
	}
	return bw.Flush()
}

// Client is a consumer's connection.
type Client struct {
	c   net.Conn
	bw  *bufio.Writer
	enc *msgpack.Encoder
	dec *msgpack.Decoder
}

// Dial connects to the provider at path.
func Dial(ctx context.Context, path string) (*Client, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("mpstream: %w", err)
	}
	bw := bufio.NewWriterSize(c, BufSize)
	return &Client{
		c: c, bw: bw, enc: msgpack.NewEncoder(bw),
		dec: msgpack.NewDecoder(bufio.NewReaderSize(c, BufSize)),
	}, nil
}

// Query sends a request and returns how many rows follow; read each with
// Decode.
func (c *Client) Query(req *Request) (int64, error) {
	if err := c.enc.Encode(req); err != nil {
		return 0, err
	}
	if err := c.bw.Flush(); err != nil {
		return 0, err
	}
	return c.dec.DecodeInt64()
}

// DecodeRow decodes the next wide row of the reply into r, field by
// field. r.City and r.Payload are new for every row: a consumer may keep
// them.
func (c *Client) DecodeRow(r *table.Row) error { return decodeRow(c.dec, r) }

// decodeRow reads a wide row written by encodeRow.
func decodeRow(dec *msgpack.Decoder, r *table.Row) error {
	n, err := dec.DecodeArrayLen()
	if err != nil {
		return err
	}
	if n != 4 {
		return fmt.Errorf("mpstream: a row of %d fields, want 4", n)
	}
	if r.ID, err = dec.DecodeInt64(); err != nil {
		return err
	}
	if r.Fare, err = dec.DecodeFloat64(); err != nil {
		return err
	}
	if r.City, err = dec.DecodeString(); err != nil {
		return err
	}
	r.Payload, err = dec.DecodeBytes()
	return err
}

// DecodeNarrow decodes the next narrow row of the reply into r.
func (c *Client) DecodeNarrow(r *table.NarrowRow) (err error) {
	r.ID, err = c.dec.DecodeInt64()
	return err
}

// Close closes the connection.
func (c *Client) Close() error { return c.c.Close() }
