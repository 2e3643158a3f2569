// Package cwparquet writes Apache Arrow record batches, such as a
// cwarrow.Reader's over a cursorwindow query, as a Parquet file: the
// file DuckDB, Polars, Spark and pandas read without help (the example
// consumer's --format parquet).
//
//	rr, err := cwarrow.NewReader(cur) // rr owns cur
//	if err != nil { ... }
//	defer rr.Release()
//	st, err := cwparquet.Write(os.Stdout, rr)
//	if err != nil { ... } // the output is not a Parquet file: no footer
//	fmt.Fprintf(os.Stderr, "%d rows in %d row groups\n", st.Rows, st.RowGroups)
//
// # Schema
//
// The file's columns are the record batches' fields, in arrow-go's
// pqarrow mapping: Int64 → INT64, Float64 → DOUBLE, String and
// LargeString → BYTE_ARRAY (STRING), Binary and LargeBinary →
// BYTE_ARRAY, Null → INT32 (NULL). A field that is not nullable (a
// column the provider declared NOT NULL, for a cwarrow.Reader) is a
// required column, any other optional. The Arrow schema itself is kept
// in the file's key-value metadata ("ARROW:schema"), so that Arrow
// readers get its fields back exactly, their metadata included
// (cwarrow.MetadataDeclaredType, the column's declared type).
//
// # Streaming
//
// Batches go into row groups as they arrive; a row group is written out
// when it holds WithRowGroupRows rows (default 131,072) or its
// compressed pages reach WithRowGroupBytes (default 64 MiB). Memory
// holds about one row group, one open page per column and one batch,
// whatever the table's size. Pages are compressed with zstd unless
// WithCompression says otherwise.
//
// # Caveats
//
//   - A Parquet file is valid only once its footer is written, at the end:
//     Write returns nil only then. On an error it writes nothing more,
//     so w holds the start of a file without its footer, which readers
//     refuse; it cannot take back what w took (a caller writing to a
//     file it opened should remove it).
//   - Write buffers its output: w's error may surface a row group after
//     the write that caused it. It is a *WriteError (errors.Is ErrWrite).
//   - Write reads rr to its end or its first error and does not release
//     it. WithProgress's function runs on Write's goroutine.
package cwparquet
