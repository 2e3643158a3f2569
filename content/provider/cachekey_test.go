package provider

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/internal/wire"
	"github.com/cursorwindow/cursorwindow/fdpass"
)

// Queries that may have different rows never share a cache key; the
// same query always gets the same one.
func TestQueryKeyIsInjective(t *testing.T) {
	queries := []content.Query{
		{URI: "t"},
		{URI: "t", Limit: 1},
		{URI: "t;1:x"},
		{URI: strings.Repeat("t", 300)}, // longer than queryKey's stack buffer
		{URI: strings.Repeat("t", 300), Selection: "a = ?", Args: []any{strings.Repeat("x", 300)}},
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

// A small result is served again only to the uid and gid it was filled
// for: a provider may answer each caller its own rows, or refuse some.
func TestSmallResultKeptPerCaller(t *testing.T) {
	c := newWindowCache(func(*sentWindow) {})
	query := queryKey(&content.Query{URI: "t", Limit: 1})
	alice, bob, aliceOtherGroup := fdpass.Cred{UID: 1000, GID: 1000}, fdpass.Cred{UID: 1001, GID: 1000}, fdpass.Cred{UID: 1000, GID: 1001}
	msg := &wire.WindowMsg{Columns: []string{"id"}, Rows: 1, Count: 1, Last: true, Inline: []byte("a window")}
	for range 2 { // kept the second time
		snap := c.track(new(snapshot), "t")
		c.keepSmall(appendSmallKey([]byte(query), alice), snap, msg)
		c.untrack(snap)
	}
	got, ok := c.small(appendSmallKey([]byte(query), alice))
	assert.True(t, ok)
	assert.Equal(t, msg.Inline, got.Inline)
	_, ok = c.small(appendSmallKey([]byte(query), bob))
	assert.False(t, ok, "another uid")
	_, ok = c.small(appendSmallKey([]byte(query), aliceOtherGroup))
	assert.False(t, ok, "another gid")

	msg.Inline[0] = 'A'
	got, _ = c.small(appendSmallKey([]byte(query), alice))
	assert.Equal(t, "a window", string(got.Inline), "the kept result is a copy")
}

// A whole result in a shared window is given without a Query only to the
// uid and gid it was filled for, or given to after their Query.
func TestWholeResultPerCaller(t *testing.T) {
	c := newWindowCache(func(*sentWindow) {})
	alice, bob := fdpass.Cred{UID: 1000, GID: 1000, PID: 7}, fdpass.Cred{UID: 1001, GID: 1000}
	msg := &wire.WindowMsg{Columns: []string{"id"}, Rows: 1, Count: 1, Last: true}
	sw := &sentWindow{pooled: true, rows: 1, last: true, count: 1, whole: newWholeResult(msg, alice)}
	key := cacheKey{queryKey(&content.Query{URI: "t"}), 0}
	snap := c.track(new(snapshot), "t")
	c.hold(sw, snap, key)
	c.release(sw)

	got, whole := c.whole(key, fdpass.Cred{UID: 1000, GID: 1000, PID: 8})
	require.NotNil(t, got, "the same uid and gid, another process")
	assert.Equal(t, []string{"id"}, whole.cols)
	c.release(got)
	got, _ = c.whole(key, bob)
	assert.Nil(t, got, "another uid, before its Query")
	c.admit(sw, bob)
	got, _ = c.whole(key, bob)
	assert.NotNil(t, got, "after its Query gave it the window")
	c.release(got)

	c.invalidate("t")
	got, _ = c.whole(key, alice)
	assert.Nil(t, got, "dropped with its URI's windows")
}
