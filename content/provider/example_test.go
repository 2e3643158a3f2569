package provider_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/provider"
	"github.com/cursorwindow/cursorwindow/window"
)

// sensors is a provider written from scratch: a guide to the Provider
// contract.
//
//   - Query returns Rows; the server calls Next, then Put for the row it
//     has allocated in the window. If Put returns window.ErrWindowFull the
//     server starts the next window and calls Put again for the same row,
//     so Put must be repeatable: read the row in Next, write it in Put.
//   - A request the provider cannot serve as asked is an error wrapping
//     content.ErrBadRequest (ErrNotFound for an unknown URI): the consumer
//     sees that meaning and the text after the sentinel's. Any other error
//     reaches the consumer as ErrInternal without its text (it is logged):
//     wrap a sentinel when the text is meant for the consumer.
//   - A query reads one version of the data from Query to its end: Rows
//     read the data as it is when Query returns (here, a copy). Rows that
//     can start again at any position of that version implement
//     provider.Repositioner (here, an index into the copy): the server
//     then serves every move of the cursor from them, whatever changed
//     since. Without it, the server calls Query again to move backwards,
//     only while the data is unchanged (return the same rows in the same
//     order), and answers content.ErrChanged after a change.
//   - The server enforces Query.Limit itself.
//   - A change to the data goes through Server.Change (or is followed by
//     NotifyChange), so that no consumer is served windows from before it,
//     and no query is continued on data newer than its own.
//   - Rows implementing provider.Typed declare their columns' types;
//     provider.Counter, their count.
type sensors struct {
	provider.ReadOnly // writes refused with ErrUnsupported

	mu       sync.Mutex
	readings []float64
}

func (s *sensors) Query(_ context.Context, q *content.Query) (provider.Rows, error) {
	if q.URI != "readings" {
		return nil, fmt.Errorf("%w: %q (this provider serves readings)", content.ErrNotFound, q.URI)
	}
	if q.Selection != "" {
		return nil, fmt.Errorf("%w: readings take no selection", content.ErrBadRequest)
	}
	s.mu.Lock()
	snapshot := slices.Clone(s.readings)
	s.mu.Unlock()
	return &readingRows{vals: snapshot, i: -1}, nil
}

func (s *sensors) record(v float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readings = append(s.readings, v)
}

type readingRows struct {
	vals []float64
	i    int
}

func (r *readingRows) Columns() []string { return []string{"seq", "value"} }
func (r *readingRows) Next() bool        { r.i++; return r.i < len(r.vals) }
func (r *readingRows) Err() error        { return nil }
func (r *readingRows) Close() error      { return nil }
func (r *readingRows) Count() int64      { return int64(len(r.vals)) }
func (r *readingRows) ColumnTypes() []content.ColumnType {
	return []content.ColumnType{{DatabaseType: "INTEGER", NullableKnown: true}, {DatabaseType: "REAL", NullableKnown: true}}
}

// Reposition implements provider.Repositioner: the next Next yields row
// start of the copy the query read.
func (r *readingRows) Reposition(_ context.Context, start int64) error {
	r.i = int(min(start, int64(len(r.vals)))) - 1
	return nil
}

// Put writes the current row; it may be called twice for one row.
func (r *readingRows) Put(w *window.Writer) error {
	if err := w.PutInt64(0, int64(r.i)); err != nil {
		return err
	}
	return w.PutFloat64(1, r.vals[r.i])
}

// Writing a Provider: a provider of sensor readings, served, changed
// through Server.Change, and queried.
func Example_writingAProvider() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "provider.sock")

	p := &sensors{readings: []float64{20.5, 21}}
	ln, err := provider.Listen(sock, 0o600)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	srv := provider.NewServer(p, provider.WithLogger(slog.New(slog.DiscardHandler)))
	done := make(chan error)
	go func() { done <- srv.Serve(ctx, ln) }()

	// A change, then a notification, with no stale window in between.
	srv.Change("readings", func() error { p.record(22.25); return nil })

	c, err := content.Dial(context.Background(), sock)
	if err != nil {
		log.Fatal(err)
	}
	cur, err := c.Query(context.Background(), &content.Query{URI: "readings"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cur.Columns(), cur.Count(), cur.ColumnTypes()[1].DatabaseType)
	for cur.Next() {
		seq, _ := cur.Int64(0)
		v, _ := cur.Float64(1)
		fmt.Println(seq, v)
	}
	cur.Close()

	_, err = c.Query(context.Background(), &content.Query{URI: "readings", Selection: "value > ?"})
	fmt.Println(errors.Is(err, content.ErrBadRequest), err)
	_, err = c.Insert(context.Background(), "readings", content.Values{"value": 1})
	fmt.Println(errors.Is(err, content.ErrUnsupported))

	c.Close()
	stop()
	<-done
	// Output:
	// [seq value] 3 REAL
	// 0 20.5
	// 1 21
	// 2 22.25
	// true content: provider: bad request: readings take no selection
	// true
}
