package cwparquet

import (
	"bufio"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Defaults of the options.
const (
	// DefaultRowGroupRows is the most rows a row group holds unless
	// WithRowGroupRows says otherwise: near DuckDB's own 122,880, so
	// that its threads each take a row group of a large file.
	DefaultRowGroupRows = 128 << 10
	// DefaultRowGroupBytes is the most bytes of values a row group
	// holds unless WithRowGroupBytes says otherwise.
	DefaultRowGroupBytes = 64 << 20
)

// defaultCodec is the codec of the data pages unless WithCompression
// says otherwise.
var defaultCodec = compress.Codecs.Zstd

// bufferSize is the buffer between the Parquet writer, which writes
// page headers and pages in many small pieces, and the io.Writer.
const bufferSize = 256 << 10

// Option configures Write.
type Option func(*config)

type config struct {
	rows     int64
	bytes    int64
	codec    compress.Compression
	progress func(Stats)
}

// WithRowGroupRows sets the most rows a row group holds (default
// DefaultRowGroupRows; at least 1).
func WithRowGroupRows(n int64) Option { return func(c *config) { c.rows = max(n, 1) } }

// WithRowGroupBytes sets the most bytes of values a row group holds
// (default DefaultRowGroupBytes; at least 1), counted as the batches
// hold them: 8 a number, 4 plus the length a string or binary value. A
// row group ends before the batch that would begin past it: the bound
// on the memory a row group takes (its compressed pages are no larger),
// for tables of wide rows.
func WithRowGroupBytes(n int64) Option { return func(c *config) { c.bytes = max(n, 1) } }

// WithCompression sets the codec of the data pages (default
// compress.Codecs.Zstd; compress.Codecs.Snappy writes a larger file a
// little faster, compress.Codecs.Uncompressed a much larger one).
func WithCompression(codec compress.Compression) Option {
	return func(c *config) { c.codec = codec }
}

// WithProgress calls f after each record batch is written, with the
// figures so far, from Write's goroutine: to draw a progress bar, or to
// tell a watchdog that rows keep coming.
func WithProgress(f func(Stats)) Option { return func(c *config) { c.progress = f } }

// Stats is what Write wrote.
type Stats struct {
	Rows      int64 // rows written into row groups
	RowGroups int   // row groups begun
	Bytes     int64 // bytes the io.Writer took
}

// Write writes every record batch rr yields to w as one Parquet file and
// returns what it wrote. The file's schema is rr's: a field that is not
// nullable is a required column, a nullable one optional, and the Arrow
// schema itself, with its fields' metadata, is kept in the file's
// metadata under "ARROW:schema" for Arrow readers (arrow-go, pyarrow).
//
// The batches go into row groups as they arrive: a row group ends after
// WithRowGroupRows rows, or before the batch that would take its values
// past WithRowGroupBytes, and is then written to w; memory holds one row
// group and one batch, never the table.
//
// Write writes the file's footer only after the last batch, and returns
// nil only once every byte of the file reached w. On any error — rr's
// (Err), w's (a *WriteError, matching ErrWrite) or the Parquet writer's — it stops
// at once and writes nothing more: what w took is the start of a file
// without its footer, which Parquet readers refuse, never a file of
// fewer rows. Write does not release rr.
func Write(w io.Writer, rr array.RecordReader, opts ...Option) (Stats, error) {
	cfg := config{rows: DefaultRowGroupRows, bytes: DefaultRowGroupBytes, codec: defaultCodec}
	for _, o := range opts {
		o(&cfg)
	}
	s := &sink{w: w}
	bw := bufio.NewWriterSize(s, bufferSize)
	fw, err := pqarrow.NewFileWriter(rr.Schema(), bw,
		parquet.NewWriterProperties(parquet.WithCompression(cfg.codec), parquet.WithCreatedBy("cursorwindow cwparquet")),
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return Stats{}, fmt.Errorf("cwparquet: %w", err)
	}
	wr := &writer{cfg: cfg, fw: fw, sink: s}
	for rr.Next() {
		if err := wr.write(rr.RecordBatch()); err != nil {
			return wr.abort(err)
		}
	}
	if err := rr.Err(); err != nil {
		return wr.abort(err)
	}
	if err := fw.Close(); err != nil { // the footer
		return wr.abort(err)
	}
	if err := bw.Flush(); err != nil {
		return wr.abort(err)
	}
	wr.st.Bytes = s.n
	return wr.st, nil
}

// writer is the state of one Write.
type writer struct {
	cfg   config
	fw    *pqarrow.FileWriter
	sink  *sink
	st    Stats
	group int64 // rows in the current row group
	bytes int64 // bytes of values in the current row group
}

// write adds a batch's rows to the current row group, beginning a new
// one where the current one is full.
func (wr *writer) write(rec arrow.RecordBatch) error {
	n := rec.NumRows()
	size := valueBytes(rec)
	begin := wr.st.RowGroups == 0 || (wr.group > 0 && wr.bytes+size > wr.cfg.bytes)
	for off := int64(0); off < n; {
		if begin || wr.group >= wr.cfg.rows {
			if err := wr.fw.NewBufferedRowGroupChecked(); err != nil { // writes out the one before
				return err
			}
			wr.st.RowGroups++
			wr.group, wr.bytes, begin = 0, 0, false
		}
		k := min(n-off, wr.cfg.rows-wr.group)
		part := rec
		if k < n {
			part = rec.NewSlice(off, off+k)
		}
		err := wr.fw.WriteBuffered(part)
		if k < n {
			part.Release()
		}
		if err != nil {
			return err
		}
		off += k
		wr.group += k
		wr.bytes += size * k / n // a share of a cut batch, near enough
		wr.st.Rows += k
	}
	wr.st.Bytes = wr.sink.n
	if wr.cfg.progress != nil {
		wr.cfg.progress(wr.st)
	}
	return nil
}

// abort makes w refuse every later write, so that no footer follows,
// lets the Parquet writer go, and returns err, or a *WriteError if w
// failed (the Parquet writer's error then says no more than that).
func (wr *writer) abort(err error) (Stats, error) {
	wr.sink.closed = true
	wr.fw.Close() // releases its buffers; its writes fail
	wr.st.Bytes = wr.sink.n
	if wr.sink.err != nil {
		return wr.st, &WriteError{Offset: wr.sink.n, Err: wr.sink.err}
	}
	return wr.st, err
}

// valueBytes returns the bytes of values rec holds, as
// WithRowGroupBytes counts them.
func valueBytes(rec arrow.RecordBatch) int64 {
	var n int64
	for _, col := range rec.Columns() {
		switch a := col.(type) {
		case array.BinaryLike: // String, Binary and their Large kinds
			n += int64(len(a.ValueBytes())) + 4*int64(a.Len())
		default:
			if fw, ok := col.DataType().(arrow.FixedWidthDataType); ok {
				n += int64(fw.BitWidth()/8) * int64(col.Len())
			}
		}
	}
	return n
}

// sink is the io.Writer under the buffer: it counts the bytes w took,
// keeps w's first error and, once closed, refuses every write.
type sink struct {
	w      io.Writer
	n      int64
	err    error
	closed bool
}

func (s *sink) Write(b []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.closed {
		return 0, errAborted
	}
	n, err := s.w.Write(b)
	s.n += int64(n)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		s.err = err
	}
	return n, err
}
