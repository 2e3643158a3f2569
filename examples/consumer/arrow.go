package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/cursorwindow/cursorwindow/arrow/cwarrow"
	"github.com/cursorwindow/cursorwindow/content"
)

// arrowStats is what an Arrow stream carried.
type arrowStats struct {
	rows, batches int64
	elapsed       time.Duration
}

// queryArrow runs q and writes its rows to w as an Arrow IPC stream: the
// schema, one record batch per window, the end-of-stream marker. A
// result without rows is a stream of its schema alone.
func queryArrow(ctx context.Context, e *env, q *content.Query, w *bufio.Writer) (arrowStats, error) {
	var st arrowStats
	if e.tty {
		return st, usagef("--format arrow writes binary Arrow IPC: send stdout to a file or a pipe (| duckdb, > trips.arrows)")
	}
	c, err := e.dial(ctx)
	if err != nil {
		return st, err
	}
	defer c.Close()
	start := time.Now()
	cur, err := c.Query(ctx, q, scanPrefetch)
	if err != nil {
		return st, err
	}
	e.wd.kick()
	rr, err := cwarrow.NewReader(cur) // rr owns cur
	if err != nil {
		return st, err
	}
	defer rr.Release()
	iw := ipc.NewWriter(w, ipc.WithSchema(rr.Schema()))
	for rr.Next() {
		rec := rr.RecordBatch()
		if err := iw.Write(rec); err != nil {
			return st, err
		}
		st.rows += rec.NumRows()
		st.batches++
		e.wd.kick() // the provider keeps answering
	}
	if err := rr.Err(); err != nil {
		return st, err
	}
	if err := iw.Close(); err != nil {
		return st, err
	}
	st.elapsed = time.Since(start)
	return st, w.Flush()
}

// scanArrow writes the rows as queryArrow does, and a summary on stderr.
func scanArrow(ctx context.Context, e *env, table string, q *content.Query) error {
	bw := bufio.NewWriterSize(e.stdout, 1<<20)
	st, err := queryArrow(ctx, e, q, bw)
	if err != nil {
		return err
	}
	return printArrowSummary(e.stderr, table, st)
}

func printArrowSummary(w io.Writer, table string, st arrowStats) error {
	_, err := fmt.Fprintf(w, "table    %s\nrows     %d\nbatches  %d (Arrow IPC on stdout)\nelapsed  %s\nrows/s   %.0f\n",
		escapeControls(table), st.rows, st.batches, st.elapsed.Round(time.Millisecond), float64(st.rows)/st.elapsed.Seconds())
	return err
}
