package sqldriver_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
	"github.com/cursorwindow/cursorwindow/sqldriver"
)

// A provider serves an in-memory table; a program reads and writes it
// with database/sql. In real use the provider is another process.
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

	db := sql.OpenDB(sqldriver.NewConnector(sock)) // or sql.Open("cursorwindow", sock)
	res, err := db.Exec("INSERT INTO planets (name, moons) VALUES (?, ?)", "Saturn", 274)
	if err != nil {
		log.Fatal(err)
	}
	id, _ := res.LastInsertId()
	fmt.Println("inserted row", id)

	rows, err := db.Query("SELECT name, moons FROM planets WHERE moons > ? ORDER BY moons DESC", 1)
	if err != nil {
		log.Fatal(err)
	}
	for rows.Next() {
		var name sql.RawBytes // a view of the provider's window: no copy
		var moons int64
		if err := rows.Scan(&name, &moons); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s %d\n", name, moons)
	}
	if err := rows.Err(); err != nil {
		log.Fatal(err)
	}
	rows.Close()

	_, err = db.Query("SELECT name, count(*) FROM planets GROUP BY name")
	fmt.Println(errors.Is(err, sqldriver.ErrUnsupported), err)

	db.Close()
	stop()
	<-done
	// Output:
	// inserted row 4
	// Saturn 274
	// Jupiter 95
	// Mars 2
	// true sqlparse: not supported: aggregate functions (COUNT) at offset 13 (aggregate the rows as you read them)
}
