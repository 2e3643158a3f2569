package content

import "fmt"

// Query is what a consumer asks a provider for, as Android's
// ContentResolver.query: a URI (or table) with an optional projection, a
// selection with bound arguments, a sort order and a limit.
type Query struct {
	URI        string
	Projection []string // columns; empty for all
	Selection  string   // a filter with ? placeholders, provider-defined
	Args       []any    // bound to the placeholders, never spliced in
	Order      string   // provider-defined sort order
	Limit      int64    // 0 for no limit
}

// String describes q for logs and errors.
func (q *Query) String() string {
	return fmt.Sprintf("%s projection=%v selection=%q args=%v order=%q limit=%d",
		q.URI, q.Projection, q.Selection, q.Args, q.Order, q.Limit)
}

// ColumnType is what a provider declares about a result column, from
// its schema: what database/sql's ColumnType methods report on the
// consumer.
type ColumnType struct {
	// DatabaseType is the declared type as the provider's schema names
	// it ("INTEGER", "TEXT", "REAL", "BLOB", ...), "" when unknown. The
	// values' window types are per field: SQLite lets a field differ from
	// its column's declared type.
	DatabaseType string
	// Nullable reports whether the column may hold NULL; meaningful only
	// if NullableKnown.
	Nullable, NullableKnown bool
}
