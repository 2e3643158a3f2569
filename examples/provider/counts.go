package main

import (
	"fmt"
	"strings"
	"sync"
)

// counts remembers the row counts of queries, each with the version of
// the database it was read in, so that a query repeated while the data is
// unchanged skips its count(*): a scan of every row that costs a
// repeated full-table query most of its time (about 25 ms of 1,000,000
// trips).
//
// The version is the provider's own: every write it makes advances it
// before and after (begin, end). A read transaction knows its snapshot is
// the version v when it read v, found no write under way, started the
// snapshot, and read v again: a write that committed before the snapshot
// began advanced the version in between; one still under way was seen.
// Writes made behind the provider's back (another process) are outside
// the server's model anyway (docs/DESIGN.md, "One version per query").
type counts struct {
	mu      sync.Mutex
	writing int    // writes under way
	version uint64 // advanced before and after each write
	byQuery map[string]countAt
}

type countAt struct {
	version uint64
	n       int64
}

// maxCounts bounds the counts kept: past it they are all forgotten.
const maxCounts = 4096

// begin and end bracket a write.
func (c *counts) begin() {
	c.mu.Lock()
	c.writing++
	c.version++
	c.mu.Unlock()
}

func (c *counts) end() {
	c.mu.Lock()
	c.version++
	c.writing--
	c.mu.Unlock()
}

// write brackets a write: defer p.counts.write()().
func (c *counts) write() func() {
	c.begin()
	return c.end
}

// now returns the version and whether no write is under way.
func (c *counts) now() (uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.version, c.writing == 0
}

// get returns the count of query read in version v.
func (c *counts) get(query string, v uint64) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.byQuery[query]
	return at.n, ok && at.version == v
}

// put remembers the count of query read in version v.
func (c *counts) put(query string, v uint64, n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byQuery == nil || len(c.byQuery) >= maxCounts {
		c.byQuery = map[string]countAt{}
	}
	c.byQuery[query] = countAt{v, n}
}

// countKey is what identifies a plan's count: its statement and its
// arguments, each with its type (SQLite compares an int64 1 and a float64
// 1 with a TEXT column differently).
func countKey(pl *plan) string {
	var b strings.Builder
	b.WriteString(pl.count)
	for _, a := range pl.countArgs {
		fmt.Fprintf(&b, "\x00%T:%#v", a, a)
	}
	return b.String()
}
