package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"syscall"
	"time"

	"github.com/cursorwindow/cursorwindow/arrow/cwarrow"
	"github.com/cursorwindow/cursorwindow/arrow/cwparquet"
	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/examples/internal/progress"
)

// queryParquet runs q and writes its rows to stdout as a Parquet file
// (cwparquet.Write: row groups written as the rows arrive, the footer
// last), drawing a progress bar on stderr when it is a terminal. On an
// error the message says that stdout holds no complete file.
func queryParquet(ctx context.Context, e *env, table string, q *content.Query) (cwparquet.Stats, time.Duration, error) {
	if e.tty {
		return cwparquet.Stats{}, 0, usagef("--format parquet writes a binary Parquet file: send stdout to a file or a pipe (> trips.parquet)")
	}
	c, err := e.dial(ctx)
	if err != nil {
		return cwparquet.Stats{}, 0, err
	}
	defer c.Close()
	start := time.Now()
	cur, err := c.Query(ctx, q, scanPrefetch)
	if err != nil {
		return cwparquet.Stats{}, 0, err
	}
	e.wd.kick()
	bar := progress.New(e.stderr, "writing "+escapeControls(table)+" as Parquet", cur.Count())
	rr, err := cwarrow.NewReader(cur) // rr owns cur
	if err != nil {
		return cwparquet.Stats{}, 0, incompleteParquet(err, 0)
	}
	defer rr.Release()
	// A reader that closes the pipe early gets a message, not a silent
	// death by SIGPIPE: the file it leaves is incomplete.
	signal.Ignore(syscall.SIGPIPE)
	st, err := cwparquet.Write(e.stdout, rr, cwparquet.WithProgress(func(s cwparquet.Stats) {
		e.wd.kick() // the provider keeps answering
		bar.Update(s.Rows)
	}))
	bar.Done()
	if err != nil {
		return st, 0, incompleteParquet(err, st.Bytes)
	}
	return st, time.Since(start), nil
}

// incompleteParquet says what a failed write left on stdout.
func incompleteParquet(err error, written int64) error {
	left := "nothing was written to stdout"
	if written > 0 {
		left = fmt.Sprintf("the %d bytes written to stdout are not a Parquet file (no footer)", written)
	}
	var we *cwparquet.WriteError
	if errors.As(err, &we) {
		return &explained{msg: fmt.Sprintf("writing the Parquet file to stdout: %v; %s", we.Err, left), err: err}
	}
	return &explained{msg: fmt.Sprintf("%s; %s", providerMessage(err), left), err: err}
}

// scanParquet writes the rows as queryParquet does, and a summary on
// stderr.
func scanParquet(ctx context.Context, e *env, table string, q *content.Query) error {
	st, elapsed, err := queryParquet(ctx, e, table, q)
	if err != nil {
		return err
	}
	return printParquetSummary(e.stderr, table, st, elapsed)
}

func printParquetSummary(w io.Writer, table string, st cwparquet.Stats, elapsed time.Duration) error {
	_, err := fmt.Fprintf(w, "table       %s\nrows        %d\nrow groups  %d\nbytes       %d (Parquet on stdout)\nelapsed     %s\nrows/s      %.0f\n",
		escapeControls(table), st.Rows, st.RowGroups, st.Bytes, elapsed.Round(time.Millisecond), float64(st.Rows)/elapsed.Seconds())
	return err
}
