package memtable_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/memtable"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

// A live metrics provider: the program keeps its metrics in a table and
// updates them as samples come; consumers query them with selections and
// orders, and are told when they change. In real use the provider and
// the consumer are separate processes.
func Example_metrics() {
	dir, err := os.MkdirTemp("", "metrics")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "metrics.sock")

	// The provider: one table, served on a socket.
	p := memtable.New()
	err = p.AddTable("metrics", []memtable.Column{
		{Name: "name", Type: memtable.Text, NotNull: true},
		{Name: "value", Type: memtable.Real, NotNull: true},
		{Name: "unit", Type: memtable.Text},
	}, [][]any{{"cpu", 0.25, "ratio"}, {"mem", 512, "MiB"}, {"conns", 3, nil}})
	if err != nil {
		log.Fatal(err)
	}
	ln, err := provider.Listen(sock, 0o600)
	if err != nil {
		log.Fatal(err)
	}
	srv := provider.NewServer(p, provider.WithLogger(slog.New(slog.DiscardHandler)))
	p.OnChange(srv.Change) // the program's own writes notify consumers
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Serve(ctx, ln) }()

	// record stores a sample, as a sampler goroutine would.
	record := func(name string, value float64) {
		err := p.Change("metrics", func(tx *memtable.Tx) error {
			_, err := tx.Update(ctx, "metrics", content.Values{"value": value}, "name = ?", []any{name})
			return err
		})
		if err != nil {
			log.Fatal(err)
		}
	}

	// A consumer: watches the table and lists the metrics above 1.
	c, err := content.Dial(ctx, sock)
	if err != nil {
		log.Fatal(err)
	}
	w, err := c.Register(ctx, "metrics", false)
	if err != nil {
		log.Fatal(err)
	}
	show := func() {
		cur, err := c.Query(ctx, &content.Query{
			URI: "metrics", Projection: []string{"name", "value"},
			Selection: "value > ? AND name NOT IN (?)", Args: []any{1, "cpu"}, Order: "value DESC",
		})
		if err != nil {
			log.Fatal(err)
		}
		defer cur.Close()
		for cur.Next() {
			name, _ := cur.String(0)
			value, _ := cur.Float64(1)
			fmt.Printf("%s=%g ", name, value)
		}
		fmt.Println(cur.Err())
	}

	show()
	record("conns", 1024)
	fmt.Println("changed:", <-w.C())
	show()

	w.Close()
	c.Close()
	stop()
	<-done
	// Output:
	// mem=512 conns=3 <nil>
	// changed: metrics
	// conns=1024 mem=512 <nil>
}
