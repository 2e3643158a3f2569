// Package cwarrow reads a cursorwindow query result as Apache Arrow
// record batches: an array.RecordReader over a content.Cursor, for
// arrow-go programs, Arrow IPC streams (the example consumer's
// --format arrow, read by DuckDB, Polars or pyarrow) and Flight servers
// (the Flight SQL gateway, package gateway).
//
//	cur, err := client.Query(ctx, &content.Query{URI: "trips"})
//	if err != nil { ... }
//	rr, err := cwarrow.NewReader(cur) // rr owns cur from here
//	if err != nil { ... }
//	defer rr.Release()
//	w := ipc.NewWriter(os.Stdout, ipc.WithSchema(rr.Schema()))
//	for rr.Next() {
//		err = w.Write(rr.RecordBatch())
//	}
//	err = rr.Err()
//
// # Types
//
// Each column has one Arrow type for the whole result:
//
//	INT64    Int64
//	FLOAT64  Float64
//	STRING   String (LargeString with WithLargeTypes)
//	BLOB     Binary (LargeBinary with WithLargeTypes)
//	NULL     a null in the column's validity bitmap, whatever its type
//
// A window's fields are typed one by one, and a column's fields may
// differ (SQLite allows it), so the column's type is decided once, by
// this rule:
//
//  1. The column's declared type (Cursor.ColumnTypes), read by SQLite's
//     affinity rules (DeclaredType): INTEGER, BIGINT → Int64; TEXT,
//     VARCHAR → String; BLOB → Binary; REAL, DOUBLE → Float64.
//  2. Otherwise (no declared type, or one of NUMERIC affinity such as
//     NUMERIC, DECIMAL, BOOLEAN, DATE), the values of the first batch
//     decide, which NewReader then reads before it returns: the type of
//     the column's first non-NULL field, Float64 if the batch holds both
//     INT64 and FLOAT64 fields (SQLite stores 2.0 as the integer 2 in a
//     NUMERIC column), Null if it holds only NULLs. (The first batch is
//     the first window's rows, WithBatchRows at most.)
//
// A field that does not fit its column's type stops the reader with a
// *FieldError naming its row and column and wrapping ErrMixedTypes (the
// rows before it are read);
// nothing is converted, with one exception that loses nothing: an INT64
// goes into a Float64 column when a float64 holds it exactly (|v| ≤
// 2^53). A STRING that is not valid UTF-8 is an error too
// (ErrInvalidUTF8), as is a NULL in a column declared NOT NULL
// (ErrNotNull): an Arrow reader never receives a value its schema says
// cannot be there. The schema's fields carry the declared type in their
// metadata (MetadataDeclaredType) and are nullable unless the column was
// declared NOT NULL.
//
// # Batches
//
// A batch holds the rows of one window, the block of shared memory the
// provider filled (Cursor.NextBlock), at most: a window's rows are cut
// into several batches after WithBatchRows rows, before the row that
// would take the batch's values past WithBatchBytes, and before a String
// or Binary column's values would pass 2 GiB - 1 bytes (their offsets
// are int32; WithLargeTypes lifts that). A field that does not fit ends
// its batch before its row: Next returns the rows before it, and the
// error comes with the next batch.
//
// A window's columns are laid out as Arrow lays out an array
// (docs/FORMAT.md), so a batch's arrays point into the window: their
// numbers, validity bitmaps and string bytes are the provider's shared
// memory, not a copy (the cursor holds the window for them,
// Cursor.HoldBlock). Two things are copied: a String or Binary column's
// offsets, checked on the way (arrow-go trusts offsets, and a provider
// may rewrite a pooled window it shares: wrong values then, never a
// panic), and a whole batch whose window has a column Arrow cannot
// point into: a mixed column, fields of another type than the column's
// (INT64s in a Float64 column), a column of NULLs only; so are the first
// batch when it decides the schema, a batch whose values pass
// WithBatchBytes (it is cut there), an inline window whose bytes are not
// 8-byte aligned, and every batch on a big-endian machine.
// WithCopiedBatches copies every batch.
//
// # Caveats
//
//   - The Reader owns the cursor (NewReader takes it, also when it fails)
//     and closes it as soon as the rows end or fail, or at the last
//     Release: the provider's windows go back to it then, not when the
//     Reader is garbage-collected.
//   - A record batch from RecordBatch is valid until the next Next or the
//     last Release; Retain it to keep it. Its arrays point into the
//     provider's window, which stays mapped and held until the last
//     array over it is released, even after the Reader and its cursor
//     are: a batch kept counts against the windows the connection may
//     hold (the provider's Limits; past them the rows come in small
//     inline windows, 16 KiB by default, or busy). Release batches when
//     done; to keep many, or
//     for long, use WithCopiedBatches, whose memory is the allocator's
//     alone (WithAllocator).
//   - The cursor's context bounds every window fetch: cancelling it ends
//     the rows with the context's error (Err).
//   - A Reader is not safe for concurrent use.
package cwarrow
