// Package mpstream is the harness's msgpack transport: what most Go
// developers would write to ship rows between two processes. The consumer
// sends a Request; the provider answers with the row count and then every
// row as a msgpack-encoded struct (table.Row or table.NarrowRow), through a
// buffered writer on a unix stream socket; the consumer decodes them one by
// one. Requests and replies alternate on one connection, so the same code
// is the bare msgpack request/response the small-query comparison uses.
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
const BufSize = 64 << 10

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
			if err := enc.Encode(&table.NarrowRow{ID: t.IDs[i]}); err != nil {
				return err
			}
		}
		return nil
	}
	for i := range n {
		r := t.Row(i)
		if err := enc.Encode(&r); err != nil {
			return err
		}
	}
	return nil
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

// Decode decodes the next row of the reply into v (a *table.Row or a
// *table.NarrowRow).
func (c *Client) Decode(v any) error { return c.dec.Decode(v) }

// Close closes the connection.
func (c *Client) Close() error { return c.c.Close() }
