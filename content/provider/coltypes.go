package provider

import (
	"slices"
	"sync/atomic"

	"github.com/cursorwindow/cursorwindow/content"
)

// wireTypes is a result's declared column types in the form a first
// reply carries them (wire.WindowMsg's Types and Nullable). It is never
// changed once made: replies on every connection send the same slices.
type wireTypes struct {
	types    []content.ColumnType // what it was made from, a copy
	names    []string
	nullable []int8
}

func newWireTypes(types []content.ColumnType) *wireTypes {
	wt := &wireTypes{
		types:    slices.Clone(types),
		names:    make([]string, len(types)),
		nullable: make([]int8, len(types)),
	}
	for i, t := range types {
		wt.names[i] = t.DatabaseType
		switch {
		case !t.NullableKnown:
			wt.nullable[i] = -1
		case t.Nullable:
			wt.nullable[i] = 1
		}
	}
	return wt
}

// typesCache keeps the wire forms of the type sets the server's queries
// declared last, so that the first reply of a query whose provider
// declares the types an earlier query's did (the same table and
// projection) allocates nothing for them. It holds a few type sets of at
// most maxPooledColumns columns: a consumer inventing projections makes
// it evict, never grow. Its lookup compares contents (a provider may
// build its types per query), taking no lock.
type typesCache struct {
	slots [typesCacheSize]atomic.Pointer[wireTypes]
	next  atomic.Uint32
}

// typesCacheSize is how many type sets a typesCache holds.
const typesCacheSize = 8

// get returns the wire form of types.
func (c *typesCache) get(types []content.ColumnType) *wireTypes {
	if len(types) > maxPooledColumns {
		return newWireTypes(types)
	}
	for i := range c.slots {
		if wt := c.slots[i].Load(); wt != nil && slices.Equal(wt.types, types) {
			return wt
		}
	}
	wt := newWireTypes(types)
	c.slots[c.next.Add(1)%typesCacheSize].Store(wt)
	return wt
}
