package examples_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests of this file read `consumer query|scan --format parquet`
// back with arrow-go's Parquet reader and with DuckDB (from npm), and
// compare with the same rows read through database/sql and
// modernc.org/sqlite from the SQLite file the provider serves.

// readParquet reads a Parquet file with arrow-go's file and pqarrow
// readers, as any arrow-go program would, and returns its metadata,
// Arrow schema and rows.
func readParquet(t *testing.T, data []byte) (*metadata.FileMetaData, *arrow.Schema, [][]any) {
	t.Helper()
	pr, err := file.NewParquetReader(bytes.NewReader(data))
	require.NoError(t, err)
	defer pr.Close()
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{BatchSize: 1024}, memory.DefaultAllocator)
	require.NoError(t, err)
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	require.NoError(t, err)
	defer rr.Release()
	var rows [][]any
	for rr.Next() {
		rows = append(rows, arrowRows(t, rr.RecordBatch())...)
	}
	require.NoError(t, rr.Err())
	return pr.MetaData(), rr.Schema(), rows
}

// checkRequired checks the file's own schema, which every Parquet reader
// sees (not the Arrow schema it keeps): each column of tableName that
// SQLite's schema says may hold no NULL (NOT NULL, or the INTEGER
// PRIMARY KEY) is required, any other optional.
func checkRequired(t *testing.T, path, tableName string, meta *metadata.FileMetaData) {
	t.Helper()
	names, notNull := sqliteNotNull(t, path, tableName)
	require.Equal(t, len(names), meta.Schema.NumColumns())
	for i, name := range names {
		c := meta.Schema.Column(i)
		assert.Equal(t, name, c.Name())
		want := parquet.Repetitions.Optional
		if notNull[i] {
			want = parquet.Repetitions.Required
		}
		assert.Equal(t, want, c.SchemaNode().RepetitionType(), "column %s of %s", c.Name(), tableName)
	}
}

// TestConsumerParquet reads the files of `consumer query --format
// parquet` and `consumer scan --format parquet` back with pqarrow: the
// rows SQLite reads, the declared types (as the Arrow schema's metadata)
// and, for whole tables, each column required exactly where SQLite's
// schema forbids NULL.
func TestConsumerParquet(t *testing.T) {
	p := startProvider(t)
	for _, tt := range []struct {
		args  []string
		sql   string
		table string // a whole table: its nullability is checked
	}{
		{[]string{"query", "trips", "--format", "parquet"}, "SELECT * FROM trips", "trips"},
		{[]string{"query", "cities", "--format", "parquet"}, "SELECT * FROM cities", "cities"},
		{[]string{"query", "trips", "--columns", "id,city,fare,tip", "--where", "city = ? AND fare > ?", "--arg", "Paris", "--arg", "20",
			"--order", "fare DESC, id", "--limit", "7", "--format", "parquet"},
			"SELECT id, city, fare, tip FROM trips WHERE city = 'Paris' AND fare > 20 ORDER BY fare DESC, id LIMIT 7", ""},
		{[]string{"query", "cities", "--where", "name = ?", "--arg", "Atlantis", "--format", "parquet"}, "SELECT * FROM cities WHERE name = 'Atlantis'", "cities"},
		{[]string{"scan", "trips", "--format", "parquet"}, "SELECT * FROM trips", "trips"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			want := sqliteTable(t, dbPath(p), tt.sql)
			r := consumer(t, p.Socket, tt.args...)
			require.Equal(t, 0, r.code, r.stderr)
			meta, s, got := readParquet(t, []byte(r.stdout))
			checkSchema(t, want, s)
			requireSameRows(t, want.rows, got)
			assert.Equal(t, int64(len(want.rows)), meta.NumRows)
			if tt.table != "" {
				checkNullable(t, dbPath(p), tt.table, s)
				checkRequired(t, dbPath(p), tt.table, meta)
			}
			if tt.args[0] == "scan" {
				assert.Contains(t, r.stderr, fmt.Sprintf("rows        %d\n", len(want.rows)))
				assert.Contains(t, r.stderr, fmt.Sprintf("bytes       %d (Parquet on stdout)\n", len(r.stdout)))
			} else {
				assert.Empty(t, r.stderr)
			}
		})
	}
}

// consumerTo runs the consumer with its stdout on out.
func consumerTo(t *testing.T, out *os.File, socket string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, build(t).consumer, append([]string{"--socket", socket}, args...)...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = out, &stderr
	err := cmd.Run()
	r := result{stderr: stderr.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return r
}

// TestConsumerParquetFails fails the output and the rows: each time the
// command exits 1 with a message that says why and what stdout holds,
// and what it wrote is no Parquet file.
func TestConsumerParquetFails(t *testing.T) {
	p := startProvider(t)
	args := []string{"query", "trips", "--format", "parquet"}

	t.Run("full disk", func(t *testing.T) {
		full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
		if err != nil {
			t.Skipf("no /dev/full: %v", err)
		}
		defer full.Close()
		r := consumerTo(t, full, p.Socket, args...)
		assert.Equal(t, 1, r.code)
		assert.Equal(t, "consumer: writing the Parquet file to stdout: write /dev/stdout: no space left on device; nothing was written to stdout\n", r.stderr)
	})

	t.Run("closed pipe", func(t *testing.T) {
		pr, pw, err := os.Pipe()
		require.NoError(t, err)
		require.NoError(t, pr.Close()) // the reader is gone before the first byte
		defer pw.Close()
		r := consumerTo(t, pw, p.Socket, args...)
		assert.Equal(t, 1, r.code, "an error, not death by SIGPIPE: %s", r.stderr)
		assert.Equal(t, "consumer: writing the Parquet file to stdout: write /dev/stdout: broken pipe; nothing was written to stdout\n", r.stderr)
	})

	t.Run("rows fail", func(t *testing.T) {
		// A column of text that then holds an integer stops the rows
		// (package cwarrow): the file has no footer.
		path := filepath.Join(t.TempDir(), "mixed.db")
		db, err := sql.Open("sqlite", "file:"+path)
		require.NoError(t, err)
		_, err = db.Exec(`CREATE TABLE m (id INTEGER PRIMARY KEY, u);
			INSERT INTO m (u) VALUES ('a'), ('b'), (7);`)
		require.NoError(t, err)
		require.NoError(t, db.Close())
		mp := startProvider(t, "--db", path)
		r := consumer(t, mp.Socket, "query", "m", "--format", "parquet")
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.stderr, "cwarrow: row 2, column 1 (u): an INT64 in a column of utf8; ")
		_, err = file.NewParquetReader(bytes.NewReader([]byte(r.stdout)))
		assert.Error(t, err, "what was written is no Parquet file")
	})

	t.Run("unknown format", func(t *testing.T) {
		r := consumer(t, p.Socket, "scan", "trips", "--format", "xml")
		assert.Equal(t, 2, r.code)
		assert.Contains(t, r.stderr, "with --format arrow or parquet")
	})
}

// TestConsumerParquetDuckDB reads the file with a reader we did not
// write: DuckDB's read_parquet, through its node package
// @duckdb/node-api, installed into a temporary directory when node and
// npm are here and the registry answers. DuckDB sees every row SQLite
// has, each column required where SQLite's schema forbids NULL, and
// refuses a file cut short, as a failed write leaves it.
func TestConsumerParquetDuckDB(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	dir := npmInstall(ctx, t, "@duckdb/node-api@1.5.6-r.1")

	p := startProvider(t)
	r := consumer(t, p.Socket, "query", "trips", "--format", "parquet")
	require.Equal(t, 0, r.code, r.stderr)
	whole := filepath.Join(dir, "trips.parquet")
	require.NoError(t, os.WriteFile(whole, []byte(r.stdout), 0o600))
	cut := filepath.Join(dir, "cut.parquet")
	require.NoError(t, os.WriteFile(cut, []byte(r.stdout[:len(r.stdout)/2]), 0o600))
	out := runNode(ctx, t, dir, duckdbJS, whole, cut)

	var got struct {
		Fields []struct {
			Name     string
			Required bool
		}
		Types    []string
		Count    string
		Rows     [][]json.RawMessage
		CutError *string
	}
	require.NoError(t, json.Unmarshal(out, &got))
	want := sqliteTable(t, dbPath(p), "SELECT * FROM trips ORDER BY id")
	_, notNull := sqliteNotNull(t, dbPath(p), "trips")
	require.Len(t, got.Fields, len(want.cols))
	require.Len(t, notNull, len(want.cols))
	for i, f := range got.Fields {
		assert.Equal(t, want.cols[i], f.Name)
		assert.Equal(t, notNull[i], f.Required, "column %s: DuckDB's parquet_schema against SQLite's schema", f.Name)
	}
	assert.Equal(t, []string{"BIGINT", "VARCHAR", "VARCHAR", "DOUBLE", "BIGINT", "BIGINT", "DOUBLE", "DOUBLE", "BLOB"}, got.Types)
	assert.Equal(t, fmt.Sprint(len(want.rows)), got.Count)
	require.Len(t, got.Rows, len(want.rows))
	for i, row := range got.Rows {
		for j, raw := range row {
			assert.Equal(t, want.rows[i][j], fromJS(t, raw, want.rows[i][j]), "row %d, column %s", i, want.cols[j])
		}
	}
	require.NotNil(t, got.CutError, "DuckDB read half a file")
	assert.Contains(t, *got.CutError, "magic")
}

// duckdbJS reads a Parquet file with DuckDB and prints its columns'
// repetition (parquet_schema), its types, count and rows (ordered by
// id) as JSON: 64-bit integers as {"i": "digits"}, blobs as {"b":
// "hex"}; then tries the second file and prints DuckDB's error.
const duckdbJS = `
const { DuckDBInstance } = require('@duckdb/node-api');
(async () => {
  const [file, cut] = process.argv.slice(2);
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const schema = await conn.runAndReadAll(
    'SELECT name, repetition_type FROM parquet_schema($1) WHERE num_children IS NULL OR num_children = 0', [file]);
  const fields = schema.getRowsJS().map(([name, rep]) => ({ Name: name, Required: rep === 'REQUIRED' }));
  const count = await conn.runAndReadAll('SELECT count(*) FROM read_parquet($1)', [file]);
  const result = await conn.runAndReadAll('SELECT * FROM read_parquet($1) ORDER BY id', [file]);
  const rows = result.getRowsJS().map(row => row.map(v => {
    if (v === null || v === undefined) return null;
    if (typeof v === 'bigint') return { i: v.toString() };
    if (v instanceof Uint8Array) return { b: Buffer.from(v).toString('hex') };
    if (v && v.bytes instanceof Uint8Array) return { b: Buffer.from(v.bytes).toString('hex') };
    return v;
  }));
  let cutError = null;
  try { await conn.runAndReadAll('SELECT count(*) FROM read_parquet($1)', [cut]); }
  catch (e) { cutError = String(e.message || e); }
  process.stdout.write(JSON.stringify({
    Fields: fields, Types: result.columnTypes().map(t => t.toString()),
    Count: String(count.getRowsJS()[0][0]), Rows: rows, CutError: cutError }));
})().catch(e => { console.error(e); process.exit(1); });
`
