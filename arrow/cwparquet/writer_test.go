package cwparquet_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"syscall"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/arrow/cwarrow"
	"github.com/cursorwindow/cursorwindow/arrow/cwparquet"
	"github.com/cursorwindow/cursorwindow/arrow/internal/servetest"
	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

// open serves p with small windows (many batches), queries q and returns
// a cwarrow.Reader over the cursor, released when the test ends.
func open(t *testing.T, p provider.Provider, q *content.Query) *cwarrow.Reader {
	t.Helper()
	sock, _ := contenttest.Serve(t, p, provider.WithWindowSize(16<<10))
	c := servetest.Dial(t, sock)
	cur, err := c.Query(context.Background(), q)
	require.NoError(t, err)
	rr, err := cwarrow.NewReader(cur)
	require.NoError(t, err)
	t.Cleanup(rr.Release)
	return rr
}

// parquetFile is a file read back with arrow-go's Parquet reader.
type parquetFile struct {
	meta   *metadata.FileMetaData
	schema *arrow.Schema
	rows   [][]any
}

// readParquet reads data with file.NewParquetReader and pqarrow, as any
// arrow-go program would.
func readParquet(t *testing.T, data []byte) parquetFile {
	t.Helper()
	pr, err := file.NewParquetReader(bytes.NewReader(data))
	require.NoError(t, err)
	defer pr.Close()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{BatchSize: 1000}, mem)
	require.NoError(t, err)
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	require.NoError(t, err)
	defer rr.Release()
	pf := parquetFile{meta: pr.MetaData(), schema: rr.Schema()}
	for rr.Next() {
		vals, err := servetest.Values(rr.RecordBatch())
		require.NoError(t, err)
		pf.rows = append(pf.rows, vals...)
	}
	require.NoError(t, rr.Err())
	return pf
}

// trips is a table of n rows declaring its types: id INTEGER NOT NULL,
// city TEXT NOT NULL, fare REAL, tip REAL (every third NULL), hash BLOB,
// note (no type, every field NULL).
func trips(n int) (provider.Provider, [][]any) {
	rows := make([][]any, n)
	for i := range rows {
		var tip any
		if i%3 != 0 {
			tip = float64(i%97) / 4
		}
		rows[i] = []any{int64(i + 1), []string{"Paris", "Lisbon", "Oslo"}[i%3], float64(i) * 1.25, tip,
			[]byte(fmt.Sprintf("%08x", i*2654435761)), nil}
	}
	p := contenttest.NewMemProvider()
	p.AddTable("trips", []string{"id", "city", "fare", "tip", "hash", "note"}, rows)
	return &servetest.Typed{Provider: p, Types: map[string]content.ColumnType{
		"id":   {DatabaseType: "INTEGER", NullableKnown: true},
		"city": {DatabaseType: "TEXT", NullableKnown: true},
		"fare": {DatabaseType: "REAL", NullableKnown: true, Nullable: true},
		"tip":  {DatabaseType: "REAL", NullableKnown: true, Nullable: true},
		"hash": {DatabaseType: "BLOB", NullableKnown: true, Nullable: true},
	}}, rows
}

// want turns a provider's rows into what the file reads back: TEXT as
// string.
func want(rows [][]any) [][]any {
	out := make([][]any, len(rows))
	for i, r := range rows {
		out[i] = append([]any(nil), r...)
		out[i][1] = r[1].(string)
	}
	return out
}

// TestRoundTrip writes a table of many batches in row groups of 100
// rows, which cut batches, and reads it back: the same rows, and the
// same schema, in Parquet's terms (required, optional) and in Arrow's
// (nullability, the declared types as metadata).
func TestRoundTrip(t *testing.T) {
	p, rows := trips(1050)
	rr := open(t, p, &content.Query{URI: "trips"})
	var out bytes.Buffer
	var seen []cwparquet.Stats
	st, err := cwparquet.Write(&out, rr, cwparquet.WithRowGroupRows(100),
		cwparquet.WithProgress(func(s cwparquet.Stats) { seen = append(seen, s) }))
	require.NoError(t, err)
	assert.Equal(t, cwparquet.Stats{Rows: 1050, RowGroups: 11, Bytes: int64(out.Len())}, st)
	require.Greater(t, len(seen), 1, "a progress call per batch")
	for i := 1; i < len(seen); i++ {
		assert.Greater(t, seen[i].Rows, seen[i-1].Rows)
	}

	pf := readParquet(t, out.Bytes())
	assert.Equal(t, want(rows), pf.rows)
	require.Equal(t, 11, pf.meta.NumRowGroups())
	for i := range pf.meta.NumRowGroups() {
		rg := pf.meta.RowGroup(i)
		assert.Equal(t, int64(min(100, 1050-100*i)), rg.NumRows(), "row group %d", i)
		cc, err := rg.ColumnChunk(0)
		require.NoError(t, err)
		assert.Equal(t, compress.Codecs.Zstd, cc.Compression())
	}
	reps := map[string]parquet.Repetition{}
	for i := range pf.meta.Schema.NumColumns() {
		c := pf.meta.Schema.Column(i)
		reps[c.Name()] = c.SchemaNode().RepetitionType()
	}
	assert.Equal(t, map[string]parquet.Repetition{
		"id": parquet.Repetitions.Required, "city": parquet.Repetitions.Required,
		"fare": parquet.Repetitions.Optional, "tip": parquet.Repetitions.Optional,
		"hash": parquet.Repetitions.Optional, "note": parquet.Repetitions.Optional,
	}, reps)
	requireSameSchema(t, rr.Schema(), pf.schema)
}

// requireSameSchema requires a schema read back to have the fields
// written: names, types, nullability and the declared types in their
// metadata (pqarrow's reader adds PARQUET:field_id to each).
func requireSameSchema(t *testing.T, written, read *arrow.Schema) {
	t.Helper()
	require.Equal(t, written.NumFields(), read.NumFields(), "read back: %s", read)
	for i, f := range read.Fields() {
		w := written.Field(i)
		assert.Equal(t, w.Name, f.Name)
		assert.True(t, arrow.TypeEqual(w.Type, f.Type), "field %s: %s, written %s", f.Name, f.Type, w.Type)
		assert.Equal(t, w.Nullable, f.Nullable, "field %s", f.Name)
		wd, wok := w.Metadata.GetValue(cwarrow.MetadataDeclaredType)
		rd, rok := f.Metadata.GetValue(cwarrow.MetadataDeclaredType)
		assert.Equal(t, wok, rok, "field %s", f.Name)
		assert.Equal(t, wd, rd, "field %s", f.Name)
	}
}

// blobs is a table of n rows of an id and 8 KiB of random bytes: 1 or
// 2 rows a 16 KiB window.
func blobs(n int) (provider.Provider, [][]any) {
	rng := rand.New(rand.NewPCG(1, 2))
	rows := make([][]any, n)
	for i := range rows {
		b := make([]byte, 8<<10)
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		rows[i] = []any{int64(i), b}
	}
	p := contenttest.NewMemProvider()
	p.AddTable("blobs", []string{"id", "b"}, rows)
	return p, rows
}

// TestRowGroupBytes ends row groups by their values' size: 1.6 MiB of
// blobs go into row groups of at most 256 KiB, 31 rows.
func TestRowGroupBytes(t *testing.T) {
	p, rows := blobs(200)
	rr := open(t, p, &content.Query{URI: "blobs"})
	var out bytes.Buffer
	st, err := cwparquet.Write(&out, rr, cwparquet.WithRowGroupBytes(256<<10), cwparquet.WithCompression(compress.Codecs.Snappy))
	require.NoError(t, err)
	pf := readParquet(t, out.Bytes())
	assert.Equal(t, rows, pf.rows)
	assert.Equal(t, pf.meta.NumRowGroups(), st.RowGroups)
	assert.Equal(t, 7, st.RowGroups)
	for i := range pf.meta.NumRowGroups() {
		assert.LessOrEqual(t, pf.meta.RowGroup(i).NumRows(), int64(256<<10/(8<<10+12)), "row group %d", i)
	}
}

// TestEmpty writes a result without rows: a file of the schema alone.
func TestEmpty(t *testing.T) {
	p, _ := trips(10)
	rr := open(t, p, &content.Query{URI: "trips", Selection: "id > ?", Args: []any{100}})
	var out bytes.Buffer
	st, err := cwparquet.Write(&out, rr)
	require.NoError(t, err)
	assert.Equal(t, cwparquet.Stats{Bytes: int64(out.Len())}, st)
	pf := readParquet(t, out.Bytes())
	assert.Empty(t, pf.rows)
	assert.Equal(t, 0, pf.meta.NumRowGroups())
	requireSameSchema(t, rr.Schema(), pf.schema)
}

// failingReader yields the batches of a RecordReader, then fails.
type failingReader struct {
	array.RecordReader
	left int // batches before the error
	err  error
}

var errRead = errors.New("the provider went away")

func (r *failingReader) Next() bool {
	if r.left == 0 {
		r.err = errRead
		return false
	}
	r.left--
	return r.RecordReader.Next()
}

func (r *failingReader) Err() error { return r.err }

// requireNoFooter checks that data is not a Parquet file: no reader
// takes the start of one for a file of fewer rows.
func requireNoFooter(t *testing.T, data []byte) {
	t.Helper()
	_, err := file.NewParquetReader(bytes.NewReader(data))
	require.Error(t, err)
	assert.False(t, bytes.HasSuffix(data, []byte("PAR1")), "the footer's magic ends %d bytes", len(data))
}

// TestReadError fails the rows after several row groups reached the
// writer: Write returns the reader's error and writes nothing more.
func TestReadError(t *testing.T) {
	p, _ := blobs(200)
	rr := &failingReader{RecordReader: open(t, p, &content.Query{URI: "blobs"}), left: 100}
	var out bytes.Buffer
	st, err := cwparquet.Write(&out, rr, cwparquet.WithRowGroupRows(10))
	require.ErrorIs(t, err, errRead)
	assert.NotErrorIs(t, err, cwparquet.ErrWrite)
	assert.Positive(t, out.Len(), "row groups reached the writer before the error")
	assert.Equal(t, int64(out.Len()), st.Bytes)
	requireNoFooter(t, out.Bytes())
}

// failingWriter takes limit bytes, then fails every write with err, and
// counts the writes it was asked for after the first failure.
type failingWriter struct {
	bytes.Buffer
	limit int
	err   error
	after int
}

func (w *failingWriter) Write(b []byte) (int, error) {
	if w.Len() >= w.limit {
		w.after++
		return 0, w.err
	}
	n := min(len(b), w.limit-w.Len())
	w.Buffer.Write(b[:n])
	if n < len(b) {
		w.after++
		return n, w.err
	}
	return n, nil
}

// TestWriteError fails the output, as a full disk or a closed pipe
// does, early and at the footer: Write stops with ErrWrite wrapping the
// cause and writes nothing after it.
func TestWriteError(t *testing.T) {
	var whole bytes.Buffer
	p, _ := trips(3000)
	_, err := cwparquet.Write(&whole, open(t, p, &content.Query{URI: "trips"}))
	require.NoError(t, err)
	for _, tt := range []struct {
		name  string
		limit int
		err   error
	}{
		{"full disk at the start", 100, syscall.ENOSPC},
		{"closed pipe at the start", 0, syscall.EPIPE},
		{"full disk at the footer", whole.Len() - 10, syscall.ENOSPC},
		{"short write", whole.Len() - 10, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := &failingWriter{limit: tt.limit, err: tt.err}
			st, err := cwparquet.Write(w, open(t, p, &content.Query{URI: "trips"}))
			require.ErrorIs(t, err, cwparquet.ErrWrite)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
			} else {
				require.ErrorIs(t, err, io.ErrShortWrite)
			}
			assert.Equal(t, 1, w.after, "no write after the failure")
			assert.Equal(t, int64(tt.limit), st.Bytes)
			var we *cwparquet.WriteError
			require.ErrorAs(t, err, &we)
			assert.Equal(t, int64(tt.limit), we.Offset)
			assert.Contains(t, err.Error(), fmt.Sprintf("after %d bytes", tt.limit))
			requireNoFooter(t, w.Bytes())
		})
	}
}
