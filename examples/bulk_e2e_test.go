package examples_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The real binaries: a table exported as CSV, deleted, and loaded back
// in one bulk insert reads back the same; a load that breaks a constraint
// names its row and keeps nothing; a batch applies together or not at all.
func TestBulkInsertAndBatch(t *testing.T) {
	p := startProvider(t)
	sel := []string{"--where", "id <= ?", "--arg", "200", "--order", "id", "--columns", "id,started_at,city,distance_km,duration_s,passengers,fare,tip"}
	csv := ok(t, p.Socket, append([]string{"query", "trips", "--format", "csv"}, sel...)...)
	file := filepath.Join(t.TempDir(), "trips.csv")
	require.NoError(t, os.WriteFile(file, []byte(csv), 0o600))

	assert.Contains(t, ok(t, p.Socket, "delete", "trips", "--where", "id <= ?", "--arg", "200"), "deleted 200 rows")
	assert.Contains(t, ok(t, p.Socket, "insert", "trips", "--from", file), "inserted 200 rows into trips")
	assert.Equal(t, csv, ok(t, p.Socket, append([]string{"query", "trips", "--format", "csv"}, sel...)...))

	r := consumer(t, p.Socket, "insert", "trips", "--from", file) // the ids are taken now
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "row 1 of the input")
	assert.Contains(t, r.stderr, "UNIQUE constraint failed")
	assert.Contains(t, r.stderr, "nothing was inserted")

	batch := filepath.Join(t.TempDir(), "batch.jsonl")
	require.NoError(t, os.WriteFile(batch, []byte(strings.Join([]string{
		`{"op": "update", "uri": "trips", "values": {"tip": 99.5}, "where": "id = ?", "args": [7]}`,
		`{"op": "delete", "uri": "trips", "where": "id = ?", "args": [8]}`,
		`{"op": "insert", "uri": "trips", "values": {"city": "no fare"}}`,
	}, "\n")), 0o600))
	r = consumer(t, p.Socket, "batch", batch)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "line 3 (insert trips)")
	assert.Contains(t, r.stderr, "nothing was applied")
	out := ok(t, p.Socket, "query", "trips", "--where", "id >= ? AND id <= ?", "--arg", "7", "--arg", "8", "--columns", "id,tip", "--format", "csv")
	assert.Equal(t, "id,tip\n"+strings.Join(csvColumns(csv, 7, 8), "\n")+"\n", out, "the batch changed nothing")
}

// csvColumns returns "id,tip" lines of the rows of an exported trips CSV
// (columns as sel above) with the given ids.
func csvColumns(csv string, ids ...int) []string {
	var out []string
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	for _, id := range ids {
		f := strings.Split(lines[id], ",") // line id holds id (the header is line 0)
		out = append(out, f[0]+","+f[len(f)-1])
	}
	return out
}
