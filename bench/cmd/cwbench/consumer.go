package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/cursorwindow/cursorwindow/bench/internal/fdrtt"
	"github.com/cursorwindow/cursorwindow/bench/internal/grpcstream"
	"github.com/cursorwindow/cursorwindow/bench/internal/mpstream"
	"github.com/cursorwindow/cursorwindow/bench/internal/table"
	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/provider"
	"github.com/cursorwindow/cursorwindow/window"
)

// Transports, as named in commands and in the report.
const (
	transportCW       = "cursorwindow"         // sealed memfds, default server (sharing on)
	transportCWRows   = "cursorwindow-rows"    // the read workload's reader row by row (window.Row)
	transportCWFilled = "cursorwindow-filled"  // sealed memfds, sharing off: every window filled
	transportCWInline = "cursorwindow-inline"  // window bytes copied through the socket
	transportMsgpack  = "msgpack"              // msgpack stream
	transportGRPC     = "grpc"                 // gRPC server streaming
	transportInProc   = "in-process"           // the consumer's own Go slices
	transportFDRaw    = "fd-roundtrip-raw"     // handoff floor, raw syscalls
	transportFDNet    = "fd-roundtrip-netconn" // handoff floor, net.UnixConn
)

// prefetchPrefix names the filled scans with another content.WithPrefetch
// than the default: cursorwindow-filled-prefetch-N asks for N windows
// ahead of the one it reads.
const prefetchPrefix = transportCWFilled + "-prefetch-"

// prefetchVariants are the prefetch settings measured besides the default.
var prefetchVariants = []int{0, 2, 4}

// cachedPrefetchPrefix names the cached scans with another
// content.WithPrefetch than the default, as a program with one cursor
// per connection sets it (docs/PERFORMANCE.md, "Prefetch").
const cachedPrefetchPrefix = transportCW + "-cached-prefetch-"

// cachedPrefetchVariants are the prefetch settings of the cached scans
// measured besides the default.
var cachedPrefetchVariants = []int{2, 4}

func transportHandoff(size int64) string { return fmt.Sprintf("cursorwindow-%dKiB", size>>10) }

// Operations a consumer performs on command.
const (
	opScan    = "scan"    // read every value of a table
	opSmall   = "small"   // N queries of Limit rows, latencies
	opHandoff = "handoff" // N round trips, latencies
	opRead    = "read"    // read a mapped result through the cursor, or Go slices
	opFill    = "fill"    // fill windows (or encode) in this process
)

// command is one line the orchestrator sends a consumer.
type command struct {
	Op        string
	Transport string
	Table     string
	Limit     int
	N         int
}

// result is a consumer's answer to a command.
type result struct {
	NS     int64   // elapsed time
	Rows   int64   // rows read
	Sum    float64 // checksum of the values read
	Lat    []int64 // latencies, ns
	Allocs int64   // heap allocations (fill)
	Bytes  int64   // heap bytes allocated (fill)
	Err    string
}

// consumer is the state of the consumer process: a connection of every
// kind, opened once, as a long-lived consumer keeps them.
type consumer struct {
	ctx    context.Context
	tables map[string]*table.Table
	cw     map[string]*content.Client // by socket name
	mp     *mpstream.Client
	grpc   *grpcstream.Client
	fdRaw  *fdrtt.Raw
	fdNet  *fdrtt.Net
	rows   int
	mem    []byte // the memory floors' source and destination, made once
}

// memory returns the memory floors' source, rows wide rows' bytes (not
// zero, so every page is really there), and a 2 MiB destination, both
// faulted in.
func (k *consumer) memory(rows int) (src, dst []byte) {
	if len(k.mem) != rows*wideRowBytes {
		k.mem = make([]byte, rows*wideRowBytes+provider.DefaultWindowSize)
		for i := range k.mem {
			k.mem[i] = byte(i)
		}
	}
	return k.mem[:rows*wideRowBytes], k.mem[rows*wideRowBytes:]
}

func runConsumer(s childSpec) error {
	ctx := context.Background()
	k := &consumer{ctx: ctx, tables: map[string]*table.Table{}, cw: map[string]*content.Client{}, rows: s.Rows}
	for _, name := range []string{table.Wide, table.Narrow} {
		t, err := table.New(name, s.Rows)
		if err != nil {
			return err
		}
		k.tables[name] = t
	}
	socks := []string{sockShared, sockFilled, sockBig}
	for _, size := range handoffSizes {
		socks = append(socks, handoffSock(size))
	}
	for _, sock := range socks {
		c, err := content.Dial(ctx, filepath.Join(s.Dir, sock))
		if err != nil {
			return err
		}
		defer c.Close()
		k.cw[sock] = c
	}
	var err error
	if k.mp, err = mpstream.Dial(ctx, filepath.Join(s.Dir, sockMsgpack)); err != nil {
		return err
	}
	defer k.mp.Close()
	if k.grpc, err = grpcstream.Dial(filepath.Join(s.Dir, sockGRPC)); err != nil {
		return err
	}
	defer k.grpc.Close()
	if k.fdRaw, err = fdrtt.DialRaw(filepath.Join(s.Dir, sockFDRaw)); err != nil {
		return err
	}
	defer k.fdRaw.Close()
	if k.fdNet, err = fdrtt.DialNet(ctx, filepath.Join(s.Dir, sockFDNet)); err != nil {
		return err
	}
	defer k.fdNet.Close()

	fmt.Println("ready")
	in := json.NewDecoder(bufio.NewReader(os.Stdin))
	out := json.NewEncoder(os.Stdout)
	for {
		var cmd command
		if err := in.Decode(&cmd); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		runtime.GC() // start every measurement from a collected heap
		r, err := k.do(&cmd)
		if err != nil {
			r.Err = err.Error()
		}
		if err := out.Encode(r); err != nil {
			return err
		}
	}
}

func (k *consumer) do(cmd *command) (result, error) {
	switch cmd.Op {
	case opScan:
		start := time.Now()
		rows, sum, err := k.scan(cmd.Transport, cmd.Table, cmd.Limit)
		return result{NS: time.Since(start).Nanoseconds(), Rows: rows, Sum: sum}, err
	case opSmall:
		var r result
		for range cmd.N {
			start := time.Now()
			rows, sum, err := k.scan(cmd.Transport, cmd.Table, cmd.Limit)
			r.Lat = append(r.Lat, time.Since(start).Nanoseconds())
			if err != nil {
				return r, err
			}
			r.Rows, r.Sum = rows, sum
		}
		return r, nil
	case opHandoff:
		return k.handoff(cmd.Transport, cmd.N)
	case opRead:
		return k.read(cmd.Transport)
	case opFill:
		return k.fill(cmd.Transport, cmd.Table)
	}
	return result{}, fmt.Errorf("unknown operation %q", cmd.Op)
}

// scan reads every value of the first limit rows (all if 0) of a table
// over a transport and returns the rows and the checksum.
func (k *consumer) scan(transport, tbl string, limit int) (int64, float64, error) {
	switch transport {
	case transportCW:
		return scanCursor(k.ctx, k.cw[sockShared], tbl, limit)
	case transportCWFilled:
		return scanCursor(k.ctx, k.cw[sockFilled], tbl, limit)
	case transportCWInline:
		return scanCursor(k.ctx, k.cw[sockFilled], tbl, limit, content.WithCopiedWindows())
	}
	for prefix, sock := range map[string]string{prefetchPrefix: sockFilled, cachedPrefetchPrefix: sockShared} {
		if n, ok := strings.CutPrefix(transport, prefix); ok {
			p, err := strconv.Atoi(n)
			if err != nil {
				return 0, 0, fmt.Errorf("transport %q: %w", transport, err)
			}
			return scanCursor(k.ctx, k.cw[sock], tbl, limit, content.WithPrefetch(p))
		}
	}
	switch transport {
	case transportMsgpack:
		return scanMsgpack(k.mp, tbl, limit, false)
	case transportGRPC:
		return scanGRPC(k.ctx, k.grpc, tbl, limit, false)
	case transportInProc:
		rows, sum := scanSlices(k.tables[tbl], limit)
		return rows, sum, nil
	}
	return 0, 0, fmt.Errorf("unknown transport %q", transport)
}

// scanCursor is the cursorwindow consumer: every value read in place
// (StringView and Bytes are zero-copy).
func scanCursor(ctx context.Context, c *content.Client, tbl string, limit int, opts ...content.QueryOption) (int64, float64, error) {
	cur, err := c.Query(ctx, &content.Query{URI: tbl, Limit: int64(limit)}, opts...)
	if err != nil {
		return 0, 0, err
	}
	defer cur.Close()
	rows, sum, err := readCursor(cur, tbl == table.Wide, false)
	return rows, sum, err
}

// readCursor reads the rest of a cursor's rows, every value, block by
// block (the rest of each window): a column at a time, in place
// (table.ReadWideColumns, readNarrow), or with byRow row by row through
// window.Row (table.ReadWide); strings and blobs as views, nothing copied.
func readCursor(cur *content.Cursor, wide, byRow bool) (int64, float64, error) {
	var rows int64
	var sum float64
	var ids [512]int64
	for cur.NextBlock() {
		w, row, left := cur.Block()
		var n int
		var s float64
		var err error
		switch {
		case !wide:
			n, s, err = readNarrow(w, row, row+left, ids[:])
		case byRow:
			n, s, err = table.ReadWide(w, row, row+left)
		default:
			var ok bool
			if n, s, ok, err = table.ReadWideColumns(w, row, row+left); !ok {
				n, s, err = table.ReadWide(w, row, row+left)
			}
		}
		rows, sum = rows+int64(n), sum+s
		if err != nil {
			return rows, sum, err
		}
	}
	return rows, sum, cur.Err()
}

// readNarrow reads the id column of rows lo to hi-1 in place
// (Int64Values), or where the window cannot be viewed so with its batch
// read of a column, a run of ids at a time into ids.
func readNarrow(w *window.Window, lo, hi int, ids []int64) (int, float64, error) {
	if vals, ok := w.Int64Values(0); ok {
		return hi - lo, table.SumIDs(vals[lo:hi]), nil
	}
	var sum float64
	for i := lo; i < hi; {
		n, err := w.Int64s(0, i, ids[:min(len(ids), hi-i)])
		sum += table.SumIDs(ids[:n])
		if err != nil {
			return i + n - lo, sum, err
		}
		i += n
	}
	return hi - lo, sum, nil
}

// scanMsgpack is the msgpack consumer: decode each row into a struct,
// field by field (mpstream.DecodeRow). With
// hold, every row is kept (a new struct each), as a consumer that needs
// the result in hand does; otherwise one struct is reused.
func scanMsgpack(c *mpstream.Client, tbl string, limit int, hold bool) (int64, float64, error) {
	n, err := c.Query(&mpstream.Request{Table: tbl, Limit: int64(limit)})
	if err != nil {
		return 0, 0, err
	}
	var sum float64
	if tbl == table.Narrow {
		var kept []table.NarrowRow
		var r table.NarrowRow
		for i := range n {
			if err := c.DecodeNarrow(&r); err != nil {
				return i, sum, err
			}
			sum += float64(r.ID)
			if hold {
				kept = append(kept, r)
			}
		}
		keep(kept)
		return n, sum, nil
	}
	var kept []*table.Row
	r := new(table.Row)
	for i := range n {
		if hold {
			r = new(table.Row)
		}
		if err := c.DecodeRow(r); err != nil {
			return i, sum, err
		}
		sum += float64(r.ID) + r.Fare + float64(len(r.City)+len(r.Payload))
		if hold {
			kept = append(kept, r)
		}
	}
	keep(kept)
	return n, sum, nil
}

// scanGRPC is the gRPC consumer: receive batches, read every row. With
// hold, every batch is kept.
func scanGRPC(ctx context.Context, c *grpcstream.Client, tbl string, limit int, hold bool) (int64, float64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := c.Scan(ctx, &grpcstream.Request{Table: tbl, Limit: int64(limit)})
	if err != nil {
		return 0, 0, err
	}
	var rows int64
	var sum float64
	var kept []any
	var wb *grpcstream.Batch
	var nb *grpcstream.NarrowBatch
	for {
		if wb == nil || hold {
			wb, nb = new(grpcstream.Batch), new(grpcstream.NarrowBatch)
		}
		if tbl == table.Narrow {
			err = s.Recv(nb)
		} else {
			err = s.Recv(wb)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return rows, sum, err
		}
		if tbl == table.Narrow {
			for _, r := range nb.Rows {
				sum += float64(r.ID)
			}
			rows += int64(len(nb.Rows))
			if hold {
				kept = append(kept, nb)
			}
			continue
		}
		for i := range wb.Rows {
			r := &wb.Rows[i]
			sum += float64(r.ID) + r.Fare + float64(len(r.City)+len(r.Payload))
		}
		rows += int64(len(wb.Rows))
		if hold {
			kept = append(kept, wb)
		}
	}
	keep(kept)
	return rows, sum, nil
}

// scanSlices is the in-process limit: the same loop over Go slices.
func scanSlices(t *table.Table, limit int) (int64, float64) {
	n := t.Len()
	if limit > 0 {
		n = min(n, limit)
	}
	var sum float64
	if !t.Wide() {
		return int64(n), table.SumIDs(t.IDs[:n])
	}
	ids, fares, cities, blobs := t.IDs[:n], t.Fares[:n], t.Cities[:n], t.Blobs[:n]
	for i := range ids {
		sum += float64(ids[i]) + fares[i] + float64(len(cities[i])+len(blobs[i]))
	}
	return int64(n), sum
}

// held keeps what a holding consumer read reachable until it exits.
var held []any

func keep(v any) { held = append(held, v) }

// handoff measures n round trips: a bare descriptor round trip, or a query
// answered with one cached, pooled window that the consumer maps (reusing
// its mapping), reads one value of and closes.
func (k *consumer) handoff(transport string, n int) (result, error) {
	var r result
	var rt func() error
	switch transport {
	case transportFDRaw:
		rt = k.fdRaw.RoundTrip
	case transportFDNet:
		rt = k.fdNet.RoundTrip
	default:
		for _, size := range handoffSizes {
			if transport != transportHandoff(size) {
				continue
			}
			c, limit := k.cw[handoffSock(size)], handoffRows(size, k.rows)
			rt = func() error {
				cur, err := c.Query(k.ctx, &content.Query{URI: table.Wide, Limit: limit})
				if err != nil {
					return err
				}
				defer cur.Close()
				if !cur.Next() {
					return fmt.Errorf("no row: %v", cur.Err())
				}
				_, err = cur.Int64(0)
				return err
			}
		}
	}
	if rt == nil {
		return r, fmt.Errorf("unknown transport %q", transport)
	}
	for range n {
		start := time.Now()
		if err := rt(); err != nil {
			return r, err
		}
		r.Lat = append(r.Lat, time.Since(start).Nanoseconds())
	}
	return r, nil
}

// read measures reading every value of the wide table once it is mapped:
// through a cursor over one window holding the whole (cached, already
// mapped) result, or from Go slices. The query itself is not timed.
func (k *consumer) read(transport string) (result, error) {
	t := k.tables[table.Wide]
	if transport == transportInProc {
		start := time.Now()
		rows, sum := scanSlices(t, 0)
		return result{NS: time.Since(start).Nanoseconds(), Rows: rows, Sum: sum}, nil
	}
	cur, err := k.cw[sockBig].Query(k.ctx, &content.Query{URI: table.Wide})
	if err != nil {
		return result{}, err
	}
	defer cur.Close()
	start := time.Now()
	rows, sum, err := readCursor(cur, true, transport == transportCWRows)
	return result{NS: time.Since(start).Nanoseconds(), Rows: rows, Sum: sum}, err
}

// Fill variants.
const (
	fillFresh    = "window-fresh"    // a new 2 MiB memfd window for every window
	fillRecycled = "window-recycled" // one pooled window, Reset and refilled
	fillMsgpack  = "msgpack-encode"  // the msgpack provider's encoding
	fillGRPC     = "grpc-encode"     // the gRPC provider's batches, encoded
	// The memory floors, measured in the same run: a wide row's 113
	// window bytes copied into a 2 MiB buffer (what a refill must at least
	// write), and the same bytes read (what a reader must at least fetch).
	fillMemCopy = "memory-copy"
	fillMemRead = "memory-read"
)

// wideRowBytes is what a wide row takes in a window (docs/FORMAT.md): two
// 8-byte values, two 4-byte offsets, a 25-byte string and a 64-byte blob.
const wideRowBytes = 2*8 + 2*4 + table.CityLen + table.BlobLen

// memoryFloor copies the bytes of src into dst, a 2 MiB buffer, 2 MiB at
// a time (the cost no refill can go below), or with dst nil reads them,
// summed as 8-byte words (what no reader can go below).
func memoryFloor(src, dst []byte) uint64 {
	if dst != nil {
		for off := 0; off < len(src); off += len(dst) {
			copy(dst, src[off:])
		}
		return uint64(dst[0])
	}
	var a, b, c, d uint64 // four sums: the loop is bound by memory, not by one add chain
	for i := 0; i+32 <= len(src); i += 32 {
		w := src[i : i+32 : i+32]
		a += binary.LittleEndian.Uint64(w[0:])
		b += binary.LittleEndian.Uint64(w[8:])
		c += binary.LittleEndian.Uint64(w[16:])
		d += binary.LittleEndian.Uint64(w[24:])
	}
	return a + b + c + d
}

// fill measures the provider-side cost of producing a table's rows: filling
// 2 MiB windows as the server's pool does (from the typed Rows), or
// encoding them as the copying providers do.
func (k *consumer) fill(variant, tbl string) (result, error) {
	t := k.tables[tbl]
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	start := time.Now()
	var err error
	var sum uint64 // the memory floors' result, returned so that it is computed
	switch variant {
	case fillFresh, fillRecycled:
		err = fillWindows(t, variant == fillFresh)
	case fillMsgpack:
		err = mpstream.Encode(io.Discard, t, t.Len())
	case fillGRPC:
		_, err = grpcstream.Marshal(t, t.Len())
	case fillMemCopy, fillMemRead:
		src, dst := k.memory(t.Len())
		if variant == fillMemRead {
			dst = nil
		}
		runtime.ReadMemStats(&ms0)
		start = time.Now()
		sum = memoryFloor(src, dst)
	default:
		err = fmt.Errorf("unknown fill %q", variant)
	}
	ns := time.Since(start).Nanoseconds()
	runtime.ReadMemStats(&ms1)
	return result{
		NS: ns, Rows: int64(t.Len()), Sum: float64(sum),
		Allocs: int64(ms1.Mallocs - ms0.Mallocs), Bytes: int64(ms1.TotalAlloc - ms0.TotalAlloc),
	}, err
}

// fillWindows writes every row of t into 2 MiB memfd windows, sealing each
// (SealReusable) when full, as the provider's pool does; fresh creates a
// new window each time, otherwise one window is Reset and refilled.
func fillWindows(t *table.Table, fresh bool) error {
	const size = provider.DefaultWindowSize
	ncols := len(t.Columns)
	create := func() (*window.Writer, error) {
		return window.Create(ncols, window.WithInitialSize(size), window.WithMaxSize(size))
	}
	w, err := create()
	if err != nil {
		return err
	}
	defer func() { w.Close() }()
	rows := table.NewRows(t, 0)
	var start int64
	next := func() error {
		if err := w.SealReusable(); err != nil {
			return err
		}
		start += int64(w.NumRows())
		if !fresh {
			return w.Reset(start)
		}
		nw, err := create()
		if err != nil {
			return err
		}
		w.Close()
		w = nw
		return w.SetStartPos(start)
	}
	for rows.Next() {
		for try := 0; ; try++ {
			err := w.AllocRow()
			if err == nil {
				err = rows.Put(w)
			}
			if err == nil {
				break
			}
			if !errors.Is(err, window.ErrWindowFull) || try > 0 {
				return err
			}
			if err := next(); err != nil {
				return err
			}
		}
	}
	return w.SealReusable()
}
