package cwparquet_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/cursorwindow/cursorwindow/arrow/cwarrow"
	"github.com/cursorwindow/cursorwindow/arrow/cwparquet"
	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

// A consumer writes a provider's table as a Parquet file, then reads it
// back as any Parquet reader would. In real use the provider is another
// process and the file goes to disk or to DuckDB. (This provider
// declares no types: every column is optional. A column declared NOT
// NULL is required.)
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
	var out bytes.Buffer // os.Stdout, a file, a pipe
	st, err := cwparquet.Write(&out, rr)
	if err != nil {
		log.Fatal(err) // out holds no Parquet file: no footer
	}
	fmt.Printf("%d rows in %d row group\n", st.Rows, st.RowGroups)

	// Read it back.
	pr, err := file.NewParquetReader(bytes.NewReader(out.Bytes()))
	if err != nil {
		log.Fatal(err)
	}
	defer pr.Close()
	fmt.Println(pr.MetaData().Schema)
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		log.Fatal(err)
	}
	tbl, err := fr.ReadTable(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer tbl.Release()
	for i := range int(tbl.NumCols()) {
		fmt.Printf("%s: %v\n", tbl.Column(i).Name(), tbl.Column(i).Data().Chunk(0))
	}
	// Output:
	// 3 rows in 1 row group
	// required group field_id=-1 schema {
	//   optional byte_array field_id=-1 name (String);
	//   optional int64 field_id=-1 moons (Int(bitWidth=64, isSigned=true));
	//   optional byte_array field_id=-1 rings;
	// }
	//
	// name: ["Mercury" "Earth" "Saturn"]
	// moons: [0 1 274]
	// rings: [(null) (null) "bright"]
}
