package provider

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/cursorwindow/cursorwindow/content"
)

// Queries that may have different rows never share a cache key; the
// same query always gets the same one.
func TestQueryKeyIsInjective(t *testing.T) {
	queries := []content.Query{
		{URI: "t"},
		{URI: "t", Limit: 1},
		{URI: "t;1:x"},
		{URI: "t", Projection: []string{"a,b"}},
		{URI: "t", Projection: []string{"a", "b"}},
		{URI: "t", Projection: []string{"ab"}},
		{URI: "t", Selection: "a = ?", Args: []any{int64(1)}},
		{URI: "t", Selection: "a = ?", Args: []any{1.0}},
		{URI: "t", Selection: "a = ?", Args: []any{"1"}},
		{URI: "t", Selection: "a = ?", Args: []any{[]byte("1")}},
		{URI: "t", Selection: "a = ?", Args: []any{nil}},
		{URI: "t", Selection: "a = ?", Args: []any{int8(1)}},
		{URI: "t", Selection: "a = ?", Args: []any{true}},
		{URI: "t", Selection: "a = ?", Args: []any{math.Copysign(0, -1)}},
		{URI: "t", Selection: "a = ?", Args: []any{0.0}},
		{URI: "t", Selection: "a = ?", Args: []any{"x", "y"}},
		{URI: "t", Selection: "a = ?", Args: []any{"x;1:y"}},
		{URI: "t", Selection: "a = ?", Args: []any{[]any{"x", "y"}}},
		{URI: "t", Order: "a"},
		{URI: "t", Selection: "a"},
	}
	seen := map[string]int{}
	for i, q := range queries {
		k := queryKey(&q)
		if j, dup := seen[k]; dup {
			t.Errorf("queries %d and %d share the key %q", j, i, k)
		}
		seen[k] = i
		q2 := q
		assert.Equal(t, k, queryKey(&q2), "query %d: the same key every time", i)
	}
}
