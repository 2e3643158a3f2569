package content_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
)

func ordersProvider() *contenttest.MemProvider {
	p := contenttest.NewMemProvider()
	p.AddTable("orders", []string{"id", "customer", "total"}, [][]any{{int64(0), "ann", 10.0}})
	p.AddTable("items", []string{"order_id", "sku", "qty"}, nil)
	return p
}

// Back-references carry an insert's id into later operations' values
// and selection arguments; each URI's watchers hear of the batch once.
func TestApplyBatch(t *testing.T) {
	path, _ := startServer(t, ordersProvider())
	c := contenttest.Dial(t, path)
	ctx := context.Background()
	wo, err := c.Register(ctx, "orders", false)
	require.NoError(t, err)
	wi, err := c.Register(ctx, "items", false)
	require.NoError(t, err)

	res, err := c.ApplyBatch(ctx, []content.Operation{
		{Op: content.OpInsert, URI: "orders", Values: content.Values{"id": 1, "customer": "bob", "total": 0.0}},
		{Op: content.OpInsert, URI: "items", Values: content.Values{"sku": "A", "qty": 2}, ValueRefs: map[string]int{"order_id": 0}},
		{Op: content.OpInsert, URI: "items", Values: content.Values{"sku": "B", "qty": 1}, ValueRefs: map[string]int{"order_id": 0}},
		{Op: content.OpUpdate, URI: "orders", Values: content.Values{"total": 42.5}, Selection: "id = ?", Args: []any{nil}, ArgRefs: map[int]int{0: 0}},
		{Op: content.OpDelete, URI: "items", Selection: "qty = ?", Args: []any{nil}, ArgRefs: map[int]int{0: 3}},
	})
	require.NoError(t, err)
	// MemProvider's ids are row indexes: the new order's is 1. The update
	// changed one row, and the delete removed the items of qty 1 (the
	// update's count).
	assert.Equal(t, []int64{1, 0, 1, 1, 1}, res)
	checkTable(t, c, "orders", [][]any{{int64(0), "ann", 10.0}, {int64(1), "bob", 42.5}})
	checkTable(t, c, "items", [][]any{{int64(1), "A", int64(2)}})
	for _, w := range []*content.Watch{wo, wi} {
		select {
		case <-w.C():
		case <-time.After(10 * time.Second):
			t.Fatal("no notification")
		}
	}
	// A second, empty batch sends nothing; had the first notified twice,
	// the coalesced second would be waiting.
	_, err = c.ApplyBatch(ctx, nil)
	require.NoError(t, err)
	_, err = c.Insert(ctx, "items", content.Values{"sku": "C"})
	require.NoError(t, err)
	select {
	case <-wi.C(): // the insert's
	case <-time.After(10 * time.Second):
		t.Fatal("no notification")
	}
	select {
	case uri := <-wo.C():
		t.Fatalf("orders notified twice (%s)", uri)
	default:
	}
}

// A batch whose third operation fails leaves every table as it was.
func TestApplyBatchAllOrNothing(t *testing.T) {
	p := ordersProvider()
	path, _ := startServer(t, p)
	c := contenttest.Dial(t, path)
	ctx := context.Background()
	w, err := c.Register(ctx, "orders", false)
	require.NoError(t, err)
	_, err = c.ApplyBatch(ctx, []content.Operation{
		{Op: content.OpInsert, URI: "orders", Values: content.Values{"customer": "bob"}},
		{Op: content.OpUpdate, URI: "orders", Values: content.Values{"total": 1.0}},
		{Op: content.OpInsert, URI: "orders", Values: content.Values{"no_such_column": 1}},
		{Op: content.OpDelete, URI: "orders"},
	})
	var we *content.WriteError
	require.ErrorAs(t, err, &we)
	assert.Equal(t, int64(2), we.Index)
	assert.Zero(t, we.Kept)
	require.ErrorIs(t, err, content.ErrBadRequest)
	checkTable(t, c, "orders", [][]any{{int64(0), "ann", 10.0}})
	select {
	case uri := <-w.C():
		t.Fatalf("a batch that changed nothing notified %s", uri)
	default:
	}
}

// Malformed batches are refused before anything is applied.
func TestApplyBatchRefusals(t *testing.T) {
	path, _ := startServer(t, ordersProvider())
	c := contenttest.Dial(t, path)
	ctx := context.Background()
	for name, ops := range map[string][]content.Operation{
		"a reference forward":   {{Op: content.OpInsert, URI: "orders", ValueRefs: map[string]int{"id": 1}}, {Op: content.OpInsert, URI: "orders"}},
		"a reference to itself": {{Op: content.OpInsert, URI: "orders", ValueRefs: map[string]int{"id": 0}}},
		"an argument not there": {{Op: content.OpInsert, URI: "orders"}, {Op: content.OpDelete, URI: "orders", ArgRefs: map[int]int{3: 0}}},
		"a query":               {{Op: content.OpQuery, URI: "orders"}},
		// Refused before it is sent, as the provider would refuse it.
		"more operations than a batch holds": slices.Repeat([]content.Operation{{Op: content.OpInsert, URI: "orders"}}, 100_000),
	} {
		_, err := c.ApplyBatch(ctx, ops)
		require.ErrorIs(t, err, content.ErrBadRequest, name)
	}
	checkTable(t, c, "orders", [][]any{{int64(0), "ann", 10.0}})

	// A provider that cannot be atomic refuses batches.
	path, _ = startServer(t, rowByRow{&failing{MemProvider: ordersProvider()}})
	c = contenttest.Dial(t, path)
	_, err := c.ApplyBatch(ctx, []content.Operation{{Op: content.OpInsert, URI: "orders"}})
	require.ErrorIs(t, err, content.ErrUnsupported)
	checkTable(t, c, "orders", [][]any{{int64(0), "ann", 10.0}})
}
