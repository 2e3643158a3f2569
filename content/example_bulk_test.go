package content_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

// exampleServer serves p on a fresh socket and returns a client of it and
// a function that stops both.
func exampleServer(p provider.Provider) (*content.Client, func()) {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	sock := filepath.Join(dir, "provider.sock")
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
	return c, func() { c.Close(); stop(); <-done; os.RemoveAll(dir) }
}

// A consumer loads many rows at once: they travel in sealed windows of
// shared memory, a few in flight, while the provider inserts them.
func ExampleClient_BulkInsert() {
	p := contenttest.NewMemProvider() // a Transactor: a load is all or nothing
	p.AddTable("squares", []string{"n", "square"}, nil)
	c, stop := exampleServer(p)
	defer stop()

	ctx := context.Background()
	b, err := c.BulkInsert(ctx, "squares", []string{"n", "square"})
	if err != nil {
		log.Fatal(err)
	}
	for n := range 100_000 {
		if err := b.Append(n, n*n); err != nil {
			break // the load failed: Close says why
		}
	}
	inserted, err := b.Close()
	var we *content.WriteError
	if errors.As(err, &we) {
		log.Fatalf("row %d failed (%d kept): %v", we.Index, we.Kept, we.Err)
	}
	fmt.Println("inserted", inserted)
	// Output:
	// inserted 100000
}

// A batch applies several writes together or not at all; an operation
// can use the id an earlier one inserted.
func ExampleClient_ApplyBatch() {
	p := contenttest.NewMemProvider() // ids are row indexes
	p.AddTable("orders", []string{"id", "customer"}, nil)
	p.AddTable("items", []string{"order_id", "sku"}, nil)
	c, stop := exampleServer(p)
	defer stop()

	res, err := c.ApplyBatch(context.Background(), []content.Operation{
		{Op: content.OpInsert, URI: "orders", Values: content.Values{"id": 0, "customer": "ann"}},
		{Op: content.OpInsert, URI: "items", Values: content.Values{"sku": "A"}, ValueRefs: map[string]int{"order_id": 0}},
		{Op: content.OpInsert, URI: "items", Values: content.Values{"sku": "B"}, ValueRefs: map[string]int{"order_id": 0}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res)

	_, err = c.ApplyBatch(context.Background(), []content.Operation{
		{Op: content.OpDelete, URI: "items"},
		{Op: content.OpInsert, URI: "orders", Values: content.Values{"no_such_column": 1}},
	})
	var we *content.WriteError
	if errors.As(err, &we) {
		fmt.Println("operation", we.Index, "failed; nothing applied:", errors.Is(err, content.ErrBadRequest))
	}
	// Output:
	// [0 0 1]
	// operation 1 failed; nothing applied: true
}
