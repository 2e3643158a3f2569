package cwarrow_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/cursorwindow/cursorwindow/arrow/cwarrow"
	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

// A consumer reads a provider's table as Arrow record batches. In real
// use the provider is another process.
func Example() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "provider.sock")
	p := contenttest.NewMemProvider()
	p.AddTable("planets", []string{"name", "moons", "rings"}, [][]any{
		{"Mercury", 0, nil}, {"Earth", 1, nil}, {"Saturn", 274, []byte("bright")},
	})
	ln, err := provider.Listen(sock, 0o600)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go provider.NewServer(p, provider.WithLogger(slog.New(slog.DiscardHandler))).Serve(ctx, ln)

	c, err := content.Dial(ctx, sock)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	cur, err := c.Query(ctx, &content.Query{URI: "planets"})
	if err != nil {
		log.Fatal(err)
	}
	rr, err := cwarrow.NewReader(cur) // rr owns cur
	if err != nil {
		log.Fatal(err)
	}
	defer rr.Release()
	fmt.Println(rr.Schema())
	for rr.Next() {
		rec := rr.RecordBatch()
		for i, col := range rec.Columns() {
			fmt.Printf("%s: %v\n", rec.ColumnName(i), col)
		}
	}
	if err := rr.Err(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// schema:
	//   fields: 3
	//     - name: type=utf8, nullable
	//     - moons: type=int64, nullable
	//     - rings: type=binary, nullable
	// name: ["Mercury" "Earth" "Saturn"]
	// moons: [0 1 274]
	// rings: [(null) (null) "bright"]
}
