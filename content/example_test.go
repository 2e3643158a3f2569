package content_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

// A provider serves an in-memory table; a consumer queries it and reads
// the rows in place. In real use the two are separate processes.
func Example() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "provider.sock")

	p := contenttest.NewMemProvider()
	p.AddTable("planets", []string{"name", "moons"}, [][]any{
		{"Mercury", 0}, {"Earth", 1}, {"Mars", 2}, {"Jupiter", 95},
	})
	ln, err := provider.Listen(sock, 0o600)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	srv := provider.NewServer(p, provider.WithLogger(slog.New(slog.DiscardHandler)))
	go func() { done <- srv.Serve(ctx, ln) }()

	c, err := content.Dial(context.Background(), sock)
	if err != nil {
		log.Fatal(err)
	}
	cur, err := c.Query(context.Background(), &content.Query{
		URI: "planets", Selection: "moons > ?", Args: []any{0}, Order: "moons DESC",
	})
	if err != nil {
		log.Fatal(err)
	}
	for cur.Next() {
		name, _ := cur.StringView(0)
		moons, _ := cur.Int64(1)
		fmt.Println(name, moons)
	}
	if err := cur.Err(); err != nil {
		log.Fatal(err)
	}
	cur.Close()
	c.Close()
	stop()
	<-done
	// Output:
	// Jupiter 95
	// Mars 2
	// Earth 1
}
