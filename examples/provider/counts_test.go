package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

// count opens q and returns the count its rows report.
func count(t *testing.T, p *sqliteProvider, q *content.Query) int64 {
	t.Helper()
	rows, err := p.Query(context.Background(), q)
	require.NoError(t, err)
	defer rows.Close()
	return rows.(provider.Counter).Count()
}

// A query repeated while the data is unchanged takes its count from the
// first; every write the provider makes (alone, in a transaction, rolled
// back or not, and while one is under way) makes the next query count
// again, and every count is the table's.
func TestCountsOfAnUnchangedVersion(t *testing.T) {
	ctx := context.Background()
	p := sampleProvider(t, 40)
	all := &content.Query{URI: "trips"}
	some := &content.Query{URI: "trips", Selection: "passengers = ?", Args: []any{int64(1)}}
	assert.Equal(t, int64(40), count(t, p, all))
	ones := count(t, p, some)
	read := p.countsRead.Load()
	assert.Equal(t, int64(40), count(t, p, all))
	assert.Equal(t, ones, count(t, p, some))
	assert.Equal(t, read, p.countsRead.Load(), "repeated: no count read")

	_, err := p.Insert(ctx, "trips", content.Values{"city": "Lyon", "passengers": 1, "distance_km": 1.5, "duration_s": 300, "fare": 7.25})
	require.NoError(t, err)
	assert.Equal(t, int64(41), count(t, p, all))
	assert.Equal(t, ones+1, count(t, p, some))
	assert.Equal(t, read+2, p.countsRead.Load())

	tx, err := p.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Delete(ctx, "trips", "id = ?", []any{int64(1)})
	require.NoError(t, err)
	assert.Equal(t, int64(41), count(t, p, all), "under way: not committed")
	assert.Equal(t, int64(41), count(t, p, all))
	assert.Equal(t, read+4, p.countsRead.Load(), "a write under way: every query counts")
	require.NoError(t, tx.Commit())
	assert.Equal(t, int64(40), count(t, p, all))

	tx, err = p.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Delete(ctx, "trips", "", nil)
	require.NoError(t, err)
	require.NoError(t, tx.Rollback())
	assert.Equal(t, int64(40), count(t, p, all))
	read = p.countsRead.Load()
	assert.Equal(t, int64(40), count(t, p, all))
	assert.Equal(t, read, p.countsRead.Load())

	n, err := p.Delete(ctx, "trips", "id > ?", []any{int64(30)})
	require.NoError(t, err)
	assert.Equal(t, int64(40-n), count(t, p, all))
}

// An int64 and a float64 argument of the same value are two queries: the
// count of one is never the other's.
func TestCountKeysKeepArgumentTypes(t *testing.T) {
	a := &plan{count: "SELECT count(*) FROM t WHERE s = ?", countArgs: []any{int64(1)}}
	b := &plan{count: a.count, countArgs: []any{float64(1)}}
	assert.NotEqual(t, countKey(a), countKey(b))
	assert.Equal(t, countKey(a), countKey(&plan{count: a.count, countArgs: []any{int64(1)}}))
}
