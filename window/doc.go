// Package window implements a cursor window: a table of rows held in one
// block of memory that a provider process fills once and any number of
// consumer processes read in place, as Android's CursorWindow does.
//
// The memory is a memfd mapped MAP_SHARED (or, for small results, ordinary
// Go memory copied as bytes: an inline window). Its layout, format version
// 2, documented byte by byte in docs/FORMAT.md, is a fixed header, a
// directory of columns and, per column, the buffers of an Apache Arrow
// array: a validity bitmap, 8-byte values or 4-byte offsets into a data
// buffer; a column whose values have several types keeps a type byte a
// row. The field of any (row, column) is found by arithmetic alone. Field
// types are NULL, INT64, FLOAT64, STRING and BLOB.
//
// # Writing
//
//	w, err := window.Create(3)              // a memfd window of 3 columns
//	defer w.Close()
//	for _, r := range rows {
//		if err := w.AllocRow(); err != nil { ... } // ErrWindowFull: next window
//		w.PutInt64(0, r.ID)
//		w.PutString(1, r.Name)
//		if err := w.PutBlob(2, r.Data); err != nil { ... } // row rolled back
//	}
//	err = w.Seal()                          // immutable from now on
//	send(w.File())                          // e.g. with SCM_RIGHTS
//
// Writer.Row writes a whole row in column order, each field a few stores
// into its column's buffers (the fast write path):
//
//	row := w.Row()
//	row.Int64(r.ID)
//	row.String(r.Name)
//	if err := row.Err(); err != nil { ... } // as the Put methods report it
//
// A window starts small and doubles up to its maximum size (2 MiB by
// default, WithMaxSize); within it, each column's buffers have room sized
// from the rows written so far, and are moved when one is full. A row that does not fit is rolled back whole and
// ErrWindowFull returned, so the caller starts the next window with it; a
// row that does not fit an empty window needs a window with a larger
// maximum. Seal compacts the region and seals the memfd against writing,
// shrinking and growing; SealReusable seals it with F_SEAL_FUTURE_WRITE so
// that the writer, and only the writer, can Reset and refill the same
// pages once no reader holds the window (a window pool).
//
// # Recycling and growing into shared memory
//
// A provider keeps its shared windows in a Pool: windows of one size under
// a memory budget, handed out by Get (which waits, with a context and up
// to a bounded time, for one to come back when the budget is spent, then
// fails with ErrPoolExhausted) and given back by Put once no consumer
// holds them; the next Get resets one and it is refilled in place, its
// pages already faulted in.
//
//	pool, err := window.NewPool(2<<20, 256<<20)   // 128 windows of 2 MiB
//	w, err := window.New(3, window.WithMaxSize(16<<10)) // small: Go memory
//	... AllocRow/Put until ErrWindowFull, then:
//	shared, err := pool.Get(ctx, 3, w.StartPos())
//	err = w.MoveTo(shared)                   // the rows, not put again
//	... fill on, then shared.SealReusable(), send shared.File()
//	pool.Put(shared)                         // once the consumer released it
//
// # Reading
//
//	r, err := window.Open(f)   // checks the seals and the size, maps read-only
//	defer r.Close()
//	for row := range r.NumRows() {
//		id, err := r.Int64(row, 0)
//		name, err := r.StringView(row, 1) // zero-copy
//	}
//
// A scan reads each row through Row, whose accessors inline into the
// loop: ok is true when the field has the accessor's type, and the
// Window's accessor of the same name handles the rest (NULL, conversions,
// errors):
//
//	for i := range r.NumRows() {
//		row, _ := r.Row(i)
//		id, ok := row.Int64(0)
//		if !ok {
//			id, err = r.Int64(i, 0)
//		}
//		name, ok := row.Bytes(1) // a view: valid until Close
//		...
//	}
//
// The batch reads (Int64s, Float64s, Views, Types) copy a run of one
// column into a caller's slice, as a columnar consumer (Arrow) wants it.
// Faster still, an INT64 or FLOAT64 column is a slice over the window
// (Int64Values, Float64Values: no call and no check a row), and Buffers
// hands out a column's buffers as docs/FORMAT.md lays them out:
//
//	if ids, ok := r.Int64Values(0); ok { // a view: valid until Close
//		for _, id := range ids { ... }
//	}
//
// OpenBytes reads an inline window from a byte slice with the same
// accessors. Every accessor checks the row, the column and a string's
// offsets against the header and directory read once at open: a corrupt or hostile window
// yields ErrCorrupt, never a panic or a read outside the region.
// WithSizeLimit makes every reader refuse a window larger than it will
// take (ErrTooLarge) before mapping or copying any of it.
//
// A consumer that is sent recycled windows keeps its mappings in a
// Mappings cache, keyed by the identity of the memory: Mappings.Open maps
// a window file once and, when the provider sends the same file refilled,
// only validates its header and directory again; Mappings.CopyLocation does the same for
// a window announced by name or segment id and returns a private copy.
//
//	maps := window.NewMappings(64, window.WithSizeLimit(2<<20))
//	r, err := maps.Open(f)   // takes f and closes it
//	... read, then r.Close() // the mapping waits, idle, for the next refill
//
// # Backings
//
// A window's bytes live in a memfd by default. WithBacking chooses another
// place, with the same writer: ShmBacking (a POSIX shm object in
// /dev/shm, found by name), SysVBacking (a System V segment, found by id)
// or FileBacking (a checksummed file made durable at Seal, found by path,
// even after its writer is gone). Writer.Location says where a window is,
// and OpenLocation reads it there. None of these can be sealed, so
// OpenLocation reads a private copy, made and checked while the region is
// mapped: nothing the owner does to the region afterwards, truncating or
// rewriting it, reaches the reader. A sealed memfd is passed to a child
// process with Writer.Inherit and OpenInherited. Writer.Close removes
// names and segments; RemoveStale removes those a crashed writer left.
// docs/BACKINGS.md compares them, with measured costs.
//
//	w, err := window.Create(3, window.WithBacking(window.ShmBacking()))
//	... fill, then w.Seal()
//	loc := w.Location()                       // tell the reader
//	r, err := window.OpenLocation(loc)        // in the reader: a private copy
//
// # Caveats
//
//   - Only a memfd can be sealed. A POSIX shm object or a file can be
//     truncated or rewritten by its owner while it is read, and a System V
//     segment rewritten: OpenLocation and Mappings.CopyLocation therefore
//     return private copies (a fault while copying is ErrCorrupt, not a
//     crash), and no reader this package returns maps such memory.
//   - Views (Bytes, StringView, Views, Row.Bytes, Int64Values,
//     Float64Values, Buffers, and Writer.Bytes) point into the window's
//     memory: they are valid only until Close and must not be modified. Copy
//     what you keep (String, AppendBytes). A copy from OpenLocation or
//     CopyLocation is Go memory: its views stay valid until it is garbage.
//   - A Writer is not safe for concurrent use. A Window may be read by many
//     goroutines at once, but Close must not race with reads. A Pool and a
//     Mappings are safe for concurrent use.
//   - Open does not take ownership of the file: the mapping stays valid
//     after the file is closed, until Window.Close. Mappings.Open does: it
//     closes the file, whatever it returns.
//   - A window from Mappings.Open shares its mapping with the cache: its
//     views are valid only until its Close, after which the provider may
//     refill the memory under them. WithQuarantine makes such a stale view
//     fault instead (the idle mapping is made inaccessible).
//   - A window from Pool.Get must go back with Put, even if closed, and
//     only once no reader holds it: it counts against the budget until
//     then, and Put panics on a window that is not out of that pool.
//   - Open accepts only sealed memfds: an unsealed one could be truncated
//     under the reader (SIGBUS) or changed while it is read. The readers of
//     the other backings check owner and mode instead (ErrPermission).
//   - A window sealed with SealReusable can be changed by its writer: a
//     provider must not Reset it (or Put it back to its Pool) while a
//     consumer still reads it.
//   - A region's pages are allocated (fallocate) when it is created or
//     grown, so a full filesystem or tmpfs is an error wrapping
//     syscall.ENOSPC from Create, AllocRow or a Put method (the row is
//     rolled back), not a SIGBUS in a later store. A System V segment
//     cannot be allocated ahead: its pages are taken as they are first
//     written (docs/BACKINGS.md).
package window
