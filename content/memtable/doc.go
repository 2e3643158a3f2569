// Package memtable is a ready provider of in-memory tables, for services
// whose data lives in Go (metrics, state, caches) rather than in a
// database: a few dozen lines serve a live table with everything a
// consumer can ask of a provider.
//
// A Provider implements provider.Provider and its optional interfaces:
//
//   - Query: projection, selection and order (the grammar of package
//     content/selection, evaluated by SQLite's rules), limit; the rows
//     report their count (provider.Counter), their declared column types
//     and NOT NULL (provider.Typed), and hold their snapshot
//     (provider.Repositioner), so a query reads one version of its table
//     however the consumer moves in it and whatever is written meanwhile.
//   - Insert, Update and Delete, checked against the declared types and
//     NOT NULL; Begin (provider.Transactor) for atomic batches; BulkInsert
//     (provider.BulkInserter), all rows or none.
//   - Call "tables" and "columns", the listing convention of PROTOCOL.md,
//     which Client.Tables reads.
//
// Snapshots cost nothing until a write: a write never changes a row a
// snapshot may hold, it replaces it (copy on write), so a query's rows
// stay as they were for as long as it is open.
//
// Usage:
//
//	p := memtable.New()
//	err := p.AddTable("metrics", []memtable.Column{
//		{Name: "name", Type: memtable.Text, NotNull: true},
//		{Name: "value", Type: memtable.Real},
//	}, nil)
//	srv := provider.NewServer(p)
//	p.OnChange(srv.Change) // the program's own writes notify consumers
//	go srv.Serve(ctx, ln)
//	err = p.Change("metrics", func(tx *memtable.Tx) error {
//		_, err := tx.Update(ctx, "metrics", content.Values{"value": 0.93}, "name = ?", []any{"cpu"})
//		return err
//	})
//
// Writes a consumer sends are served by the server, which notifies
// watchers of the URI itself; the program's own writes go through
// Change, which notifies through the hook OnChange sets.
//
// # Caveats
//
// A Provider is safe for concurrent use. A transaction (Begin, Change)
// holds the provider's lock until it commits or rolls back: queries and
// writes wait for it, and see all of its writes or none. Tables are held
// whole in memory; a query whose selection or order is not empty holds a
// slice of references to the rows it selected (not copies of the rows).
// Values stored are int64, float64, string, []byte or nil; a []byte
// given to the provider must not be modified afterwards.
package memtable
