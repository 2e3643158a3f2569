package examples_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/arrow/cwarrow"
	"github.com/cursorwindow/cursorwindow/content"
)

// The tests of this file read the example provider's tables as Arrow,
// three ways (a cwarrow.Reader in this process, the consumer's
// --format arrow, the Flight SQL gateway), and compare what they read
// with the same rows read through database/sql and modernc.org/sqlite
// from the SQLite file the provider serves.

// table is a result: its columns' names and declared types, and its
// rows as int64, float64, string, []byte or nil.
type table struct {
	cols, decl []string
	rows       [][]any
}

// sqliteTable reads query from the SQLite file at path.
func sqliteTable(t *testing.T, path, query string, args ...any) table {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Query(query, args...)
	require.NoError(t, err, query)
	defer rows.Close()
	var tb table
	cts, err := rows.ColumnTypes()
	require.NoError(t, err)
	for _, ct := range cts {
		tb.cols, tb.decl = append(tb.cols, ct.Name()), append(tb.decl, ct.DatabaseTypeName())
	}
	for rows.Next() {
		vals := make([]any, len(cts))
		ptrs := make([]any, len(cts))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		tb.rows = append(tb.rows, vals)
	}
	require.NoError(t, rows.Err())
	return tb
}

// arrowRows returns rec's rows as Go values.
func arrowRows(t *testing.T, rec arrow.RecordBatch) [][]any {
	t.Helper()
	rows := make([][]any, rec.NumRows())
	for i := range rows {
		rows[i] = make([]any, rec.NumCols())
		for j, col := range rec.Columns() {
			if col.IsNull(i) {
				continue
			}
			switch a := col.(type) {
			case *array.Int64:
				rows[i][j] = a.Value(i)
			case *array.Float64:
				rows[i][j] = a.Value(i)
			case *array.String:
				rows[i][j] = a.Value(i)
			case *array.Binary:
				rows[i][j] = bytes.Clone(a.Value(i))
			case *array.Null:
			default:
				t.Fatalf("column %s: unexpected %T", rec.ColumnName(j), col)
			}
		}
	}
	return rows
}

// checkSchema requires the schema's names, and its types to be what
// each column's declared type stands for (every column of the sample
// declares INTEGER, TEXT, REAL or BLOB).
func checkSchema(t *testing.T, want table, s *arrow.Schema) {
	t.Helper()
	require.Equal(t, len(want.cols), s.NumFields())
	for i, f := range s.Fields() {
		assert.Equal(t, want.cols[i], f.Name)
		ft, ok := cwarrow.DeclaredType(want.decl[i])
		require.True(t, ok, "column %s declares %q", f.Name, want.decl[i])
		assert.Equal(t, cwarrow.ArrowType(ft, false).ID(), f.Type.ID(), "column %s (%s)", f.Name, want.decl[i])
		decl, _ := f.Metadata.GetValue(cwarrow.MetadataDeclaredType)
		assert.Equal(t, want.decl[i], decl, "column %s", f.Name)
	}
}

// checkNullable checks that a schema of all the columns of a table says
// of each what SQLite's schema says: NOT NULL, or the INTEGER PRIMARY
// KEY (the rowid), may hold no NULL; any other column may.
func checkNullable(t *testing.T, path, tableName string, s *arrow.Schema) {
	t.Helper()
	names, notNull := sqliteNotNull(t, path, tableName)
	require.Equal(t, len(names), s.NumFields())
	for i, f := range s.Fields() {
		assert.Equal(t, names[i], f.Name)
		assert.Equal(t, !notNull[i], f.Nullable, "column %s of %s", f.Name, tableName)
	}
}

// sqliteNotNull returns the columns of a table in declared order and
// whether SQLite's schema says each may hold no NULL: NOT NULL, or the
// INTEGER PRIMARY KEY (the rowid).
func sqliteNotNull(t *testing.T, path, tableName string) (names []string, notNull []bool) {
	t.Helper()
	tb := sqliteTable(t, path, `SELECT name, "notnull" OR (pk = 1 AND upper(type) = 'INTEGER') FROM pragma_table_info(?)`, tableName)
	for _, row := range tb.rows {
		names = append(names, row[0].(string))
		notNull = append(notNull, row[1] != int64(0))
	}
	return names, notNull
}

// runNode runs a script of a third-party reader with node in dir (where
// npmInstall put its package) and returns what it printed.
func runNode(ctx context.Context, t *testing.T, dir, js string, args ...string) []byte {
	t.Helper()
	script := filepath.Join(dir, "read.js")
	require.NoError(t, os.WriteFile(script, []byte(js), 0o600))
	cmd := exec.CommandContext(ctx, "node", append([]string{script}, args...)...)
	cmd.Dir = dir // node finds node_modules from the script's directory
	out, err := cmd.Output()
	require.NoError(t, err, "node: %s", errOutput(err))
	return out
}

func requireSameRows(t *testing.T, want, got [][]any) {
	t.Helper()
	require.Equal(t, len(want), len(got))
	for i := range want {
		require.Equal(t, want[i], got[i], "row %d", i)
	}
}

// TestRecordReaderMatchesSQLite reads the sample's tables through a
// cwarrow.Reader over a cursor of the example provider, and through
// database/sql on the SQLite file: the same values, NULLs and types.
func TestRecordReaderMatchesSQLite(t *testing.T) {
	p := startProvider(t, "--window-size", "16384") // many windows, many batches
	c, err := content.Dial(context.Background(), p.Socket)
	require.NoError(t, err)
	defer c.Close()
	for _, tt := range []struct {
		q   content.Query
		sql string
	}{
		{content.Query{URI: "trips"}, "SELECT * FROM trips"},
		{content.Query{URI: "cities", Order: "name"}, "SELECT * FROM cities ORDER BY name"},
		{content.Query{URI: "trips", Projection: []string{"id", "tip", "route_hash"}, Selection: "tip IS NULL AND passengers >= ?", Args: []any{2}},
			"SELECT id, tip, route_hash FROM trips WHERE tip IS NULL AND passengers >= 2"},
	} {
		t.Run(tt.sql, func(t *testing.T) {
			want := sqliteTable(t, dbPath(p), tt.sql)
			cur, err := c.Query(context.Background(), &tt.q)
			require.NoError(t, err)
			rr, err := cwarrow.NewReader(cur)
			require.NoError(t, err)
			defer rr.Release()
			checkSchema(t, want, rr.Schema())
			var got [][]any
			batches := 0
			for rr.Next() {
				got = append(got, arrowRows(t, rr.RecordBatch())...)
				batches++
			}
			require.NoError(t, rr.Err())
			requireSameRows(t, want.rows, got)
			if tt.q.URI == "trips" && tt.q.Projection == nil {
				assert.Greater(t, batches, 1, "one batch per window")
			}
		})
	}
}

// readIPC reads an Arrow IPC stream with arrow-go's ipc.Reader.
func readIPC(t *testing.T, stream []byte) (*arrow.Schema, [][]any) {
	t.Helper()
	r, err := ipc.NewReader(bytes.NewReader(stream))
	require.NoError(t, err)
	defer r.Release()
	var rows [][]any
	for r.Next() {
		rows = append(rows, arrowRows(t, r.RecordBatch())...)
	}
	require.NoError(t, r.Err())
	return r.Schema(), rows
}

// TestConsumerArrow reads the IPC streams of `consumer query --format
// arrow` and `consumer scan --format arrow` back with ipc.Reader.
func TestConsumerArrow(t *testing.T) {
	p := startProvider(t)
	for _, tt := range []struct {
		args []string
		sql  string
	}{
		{[]string{"query", "trips", "--format", "arrow"}, "SELECT * FROM trips"},
		{[]string{"query", "trips", "--columns", "id,city,fare,tip", "--where", "city = ? AND fare > ?", "--arg", "Paris", "--arg", "20",
			"--order", "fare DESC, id", "--limit", "7", "--format", "arrow"},
			"SELECT id, city, fare, tip FROM trips WHERE city = 'Paris' AND fare > 20 ORDER BY fare DESC, id LIMIT 7"},
		{[]string{"query", "cities", "--where", "name = ?", "--arg", "Atlantis", "--format", "arrow"}, "SELECT * FROM cities WHERE name = 'Atlantis'"},
		{[]string{"scan", "trips", "--format", "arrow"}, "SELECT * FROM trips"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			want := sqliteTable(t, dbPath(p), tt.sql)
			r := consumer(t, p.Socket, tt.args...)
			require.Equal(t, 0, r.code, r.stderr)
			s, got := readIPC(t, []byte(r.stdout))
			checkSchema(t, want, s)
			requireSameRows(t, want.rows, got)
			if tt.args[0] == "scan" {
				assert.Contains(t, r.stderr, fmt.Sprintf("rows     %d\n", len(want.rows)))
			}
		})
	}
}

// TestArrowMixedTypes serves a database whose NUMERIC and untyped
// columns hold fields of several types: integers and reals share a
// Float64 column; a column of text that then holds an integer fails at
// that field, named.
func TestArrowMixedTypes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mixed.db")
	db, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	_, err = db.Exec(`CREATE TABLE m (id INTEGER PRIMARY KEY, n NUMERIC, u);
		INSERT INTO m (n, u) VALUES (1, 'a'), (2.5, 'b'), (3, 7);`)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	p := startProvider(t, "--db", path)

	r := consumer(t, p.Socket, "query", "m", "--columns", "id,n", "--format", "arrow")
	require.Equal(t, 0, r.code, r.stderr)
	s, rows := readIPC(t, []byte(r.stdout))
	assert.Equal(t, "float64", s.Field(1).Type.String())
	assert.Equal(t, [][]any{{int64(1), 1.0}, {int64(2), 2.5}, {int64(3), 3.0}}, rows)

	r = consumer(t, p.Socket, "query", "m", "--format", "arrow")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "cwarrow: row 2, column 2 (u): an INT64 in a column of utf8")
}

// TestConsumerArrowNode reads the IPC stream with a reader we did not
// write: the apache-arrow package from npm, installed into a temporary
// directory when node and npm are here and the registry answers.
func TestConsumerArrowNode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir := npmInstall(ctx, t, "apache-arrow@21.2.0")

	p := startProvider(t)
	r := consumer(t, p.Socket, "query", "trips", "--format", "arrow")
	require.Equal(t, 0, r.code, r.stderr)
	stream := filepath.Join(dir, "trips.arrows")
	require.NoError(t, os.WriteFile(stream, []byte(r.stdout), 0o600))
	out := runNode(ctx, t, dir, readJS, stream)

	var got struct {
		Fields []struct {
			Name, Type string
			Nullable   bool
		}
		Rows [][]json.RawMessage
	}
	require.NoError(t, json.Unmarshal(out, &got))
	want := sqliteTable(t, dbPath(p), "SELECT * FROM trips")
	// What SQLite's schema says of each column: NOT NULL, or the INTEGER
	// PRIMARY KEY (the rowid), may hold no NULL.
	_, notNull := sqliteNotNull(t, dbPath(p), "trips")
	require.Len(t, got.Fields, len(want.cols))
	require.Len(t, notNull, len(want.cols))
	for i, f := range got.Fields {
		assert.Equal(t, want.cols[i], f.Name)
		ft, _ := cwarrow.DeclaredType(want.decl[i])
		assert.Equal(t, jsTypeName(cwarrow.ArrowType(ft, false)), f.Type, "column %s", f.Name)
		assert.Equal(t, !notNull[i], f.Nullable, "column %s: apache-arrow's field.nullable against SQLite's schema", f.Name)
	}
	require.Len(t, got.Rows, len(want.rows))
	for i, row := range got.Rows {
		for j, raw := range row {
			assert.Equal(t, want.rows[i][j], fromJS(t, raw, want.rows[i][j]), "row %d, column %s", i, want.cols[j])
		}
	}
}

// npmInstall installs an npm package (a reader we did not write) into a
// temporary directory and returns it; it skips the test, saying why,
// under -short, without node or npm, or when the registry does not
// answer.
func npmInstall(ctx context.Context, t *testing.T, pkg string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("short: no npm install")
	}
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: the test of a third-party reader (%s) needs node and npm", tool, pkg)
		}
	}
	dir := t.TempDir()
	install := exec.CommandContext(ctx, "npm", "install", "--no-save", "--no-audit", "--no-fund", "--no-package-lock", "--prefix", dir, pkg)
	install.Env = append(os.Environ(), "npm_config_update_notifier=false")
	if out, err := install.CombinedOutput(); err != nil {
		t.Skipf("npm install %s failed (is the registry reachable?): %v\n%s", pkg, err, out)
	}
	return dir
}

// readJS prints an Arrow IPC stream's schema and rows as JSON: 64-bit
// integers as {"i": "digits"}, binary as {"b": "hex"}.
const readJS = `
const fs = require('fs');
const { tableFromIPC } = require('apache-arrow');
const table = tableFromIPC(fs.readFileSync(process.argv[2]));
const fields = table.schema.fields.map(f => ({ Name: f.name, Type: String(f.type), Nullable: f.nullable }));
const rows = [];
for (const row of table) {
  rows.push(table.schema.fields.map(f => {
    const v = row[f.name];
    if (v === null || v === undefined) return null;
    if (typeof v === 'bigint') return { i: v.toString() };
    if (v instanceof Uint8Array) return { b: Buffer.from(v).toString('hex') };
    return v;
  }));
}
process.stdout.write(JSON.stringify({ Fields: fields, Rows: rows }));
`

// jsTypeName is how apache-arrow (JS) names an Arrow type.
func jsTypeName(dt arrow.DataType) string {
	switch dt.ID() {
	case arrow.INT64:
		return "Int64"
	case arrow.FLOAT64:
		return "Float64"
	case arrow.STRING:
		return "Utf8"
	case arrow.BINARY:
		return "Binary"
	}
	return dt.String()
}

// fromJS decodes a value readJS printed, as the Go type of like.
func fromJS(t *testing.T, raw json.RawMessage, like any) any {
	t.Helper()
	if string(raw) == "null" {
		return nil
	}
	var tagged struct {
		I *string `json:"i"`
		B *string `json:"b"`
	}
	if raw[0] == '{' {
		require.NoError(t, json.Unmarshal(raw, &tagged))
		switch {
		case tagged.I != nil:
			n, ok := new(big.Int).SetString(*tagged.I, 10)
			require.True(t, ok && n.IsInt64(), *tagged.I)
			return n.Int64()
		case tagged.B != nil:
			b, err := hex.DecodeString(*tagged.B)
			require.NoError(t, err)
			return b
		}
	}
	switch like.(type) {
	case float64:
		f, err := strconv.ParseFloat(string(raw), 64)
		require.NoError(t, err)
		return f
	case string:
		var s string
		require.NoError(t, json.Unmarshal(raw, &s))
		return s
	}
	return string(raw)
}

func errOutput(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// gatewayProcess is a running cwflight.
type gatewayProcess struct {
	addr string
	log  *syncBuffer
}

// startGateway runs cwflight against the provider's socket on a free
// loopback port, with env added to its environment, and stops it when
// the test ends.
func startGateway(t *testing.T, socket string, env []string, args ...string) *gatewayProcess {
	t.Helper()
	b := build(t)
	g := &gatewayProcess{log: &syncBuffer{}}
	cmd := exec.Command(b.cwflight, append([]string{"--socket", socket, "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = g.log
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-done:
			assert.NoError(t, err, "cwflight exit\n%s", g.log)
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Errorf("cwflight ignored SIGINT\n%s", g.log)
		}
	})
	addrRE := regexp.MustCompile(`msg=serving addr=(\S+)`)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := addrRE.FindStringSubmatch(g.log.String()); m != nil {
			g.addr = m[1]
			return g
		}
		select {
		case err := <-done:
			t.Fatalf("cwflight exited: %v\n%s", err, g.log)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("cwflight not serving after 30s\n%s", g.log)
		}
	}
}
