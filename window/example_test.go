package window_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/cursorwindow/cursorwindow/window"
)

// A provider fills a memfd window and seals it; a consumer opens the
// memfd (received over a unix socket in real use) and reads in place.
func Example() {
	w, err := window.Create(2, window.WithName("example"))
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	for i, name := range []string{"ada", "grace", "linus"} {
		if err := w.AllocRow(); err != nil {
			log.Fatal(err)
		}
		w.PutInt64(0, int64(i+1))
		w.PutString(1, name)
	}
	if err := w.Seal(); err != nil {
		log.Fatal(err)
	}

	r, err := window.Open(w.File())
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	for row := range r.NumRows() {
		id, _ := r.Int64(row, 0)
		name, _ := r.StringView(row, 1)
		fmt.Println(id, name)
	}
	// Output:
	// 1 ada
	// 2 grace
	// 3 linus
}

// A small result is cheaper to copy than to map: an in-memory window's
// bytes travel inline and are read with the same accessors.
func ExampleOpenBytes() {
	w, err := window.New(1)
	if err != nil {
		log.Fatal(err)
	}
	w.AllocRow()
	w.PutFloat64(0, 2.5)
	b, err := w.AppendTo(nil) // compact copy, e.g. to send on a socket
	if err != nil {
		log.Fatal(err)
	}
	r, err := window.OpenBytes(b)
	if err != nil {
		log.Fatal(err)
	}
	v, _ := r.Float64(0, 0)
	s, _ := r.String(0, 0) // numbers convert, as in Android
	fmt.Println(len(b), v, s)
	// Output: 120 2.5 2.5
}

// The worked example of docs/FORMAT.md: two rows of three columns
// starting at position 10 of the result, (7, "hi", 2.5) and (-1, NULL,
// "cursor"): an INT64 column, a STRING column with a NULL, and a column
// whose values have two types.
func Example_format() {
	w, err := window.New(3, window.WithStartPos(10))
	if err != nil {
		log.Fatal(err)
	}
	w.AllocRow()
	w.PutInt64(0, 7)
	w.PutString(1, "hi")
	w.PutFloat64(2, 2.5)
	w.AllocRow()
	w.PutInt64(0, -1)
	w.PutNull(1)
	w.PutString(2, "cursor")
	if err := w.Seal(); err != nil {
		log.Fatal(err)
	}
	b, _ := w.Bytes()
	fmt.Print(hex.Dump(b))
	// Output:
	// 00000000  43 57 49 4e 02 00 00 00  03 00 00 00 02 00 00 00  |CWIN............|
	// 00000010  0a 00 00 00 00 00 00 00  20 01 00 00 00 00 00 00  |........ .......|
	// 00000020  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|
	// 00000030  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|
	// 00000040  01 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|
	// 00000050  d0 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|
	// 00000060  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|
	// 00000070  03 01 00 00 00 00 00 00  e0 00 00 00 00 00 00 00  |................|
	// 00000080  e8 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|
	// 00000090  f8 00 00 00 00 00 00 00  02 00 00 00 00 00 00 00  |................|
	// 000000a0  05 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|
	// 000000b0  00 01 00 00 00 00 00 00  10 01 00 00 00 00 00 00  |................|
	// 000000c0  18 01 00 00 00 00 00 00  06 00 00 00 00 00 00 00  |................|
	// 000000d0  07 00 00 00 00 00 00 00  ff ff ff ff ff ff ff ff  |................|
	// 000000e0  01 00 00 00 00 00 00 00  00 00 00 00 02 00 00 00  |................|
	// 000000f0  02 00 00 00 00 00 00 00  68 69 00 00 00 00 00 00  |........hi......|
	// 00000100  00 00 00 00 00 00 04 40  00 00 00 00 06 00 00 00  |.......@........|
	// 00000110  02 03 00 00 00 00 00 00  63 75 72 73 6f 72 00 00  |........cursor..|
}

// A provider answers in Go memory while the result is small and, when the
// rows outgrow the inline limit, continues in a pooled memfd window without
// putting them again; the window goes back to the pool once its consumer
// is done and is refilled in place. The consumer keeps its mapping of the
// recycled window (Mappings), so the refill is not mapped again.
func ExamplePool() {
	pool, err := window.NewPool(64<<10, 1<<20) // 16 windows of 64 KiB
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	consumer := window.NewMappings(64, window.WithSizeLimit(64<<10))
	defer consumer.Close()

	for _, n := range []int{3, 200} { // two queries, of 3 and 200 rows
		w, err := window.New(1, window.WithMaxSize(1<<10)) // inline limit: 1 KiB
		if err != nil {
			log.Fatal(err)
		}
		for i := range n {
			err := w.AllocRow()
			if errors.Is(err, window.ErrWindowFull) && w.File() == nil {
				if w, err = share(pool, w); err == nil {
					err = w.AllocRow() // the row that did not fit
				}
			}
			if err != nil {
				log.Fatal(err) // ErrPoolExhausted: the provider is busy
			}
			w.PutInt64(0, int64(i))
		}
		if w.File() == nil {
			w.Seal()
			b, _ := w.Bytes() // sent inline
			fmt.Println("inline:", len(b), "bytes")
			w.Close()
			continue
		}
		w.SealReusable()
		f, _ := os.Open(fmt.Sprintf("/proc/self/fd/%d", w.File().Fd())) // as received
		r, err := consumer.Open(f)                                      // closes f
		if err != nil {
			log.Fatal(err)
		}
		last, _ := r.Int64(r.NumRows()-1, 0)
		fmt.Println("shared:", r.NumRows(), "rows, the last", last)
		r.Close()   // the consumer releases the window...
		pool.Put(w) // ...and the provider takes it back for the next fill
	}
	// Output:
	// inline: 136 bytes
	// shared: 200 rows, the last 199
}

// share continues the fill of the Go-memory window w in a window of the
// pool, and closes w.
func share(pool *window.Pool, w *window.Writer) (*window.Writer, error) {
	shared, err := pool.Get(context.Background(), w.NumColumns(), w.StartPos())
	if err != nil {
		return w, err
	}
	if err := w.MoveTo(shared); err != nil {
		pool.Put(shared)
		return w, err
	}
	w.Close()
	return shared, nil
}

// A provider writes a whole row with a RowWriter: each field is a few
// stores into its column's buffers, in column order.
func ExampleWriter_Row() {
	w, err := window.New(3)
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	for i, name := range []string{"ada", "grace"} {
		if err := w.AllocRow(); err != nil {
			log.Fatal(err)
		}
		row := w.Row()
		row.Int64(int64(i + 1))
		row.String(name)
		row.Float64(float64(len(name)) / 2)
		if err := row.Err(); err != nil {
			log.Fatal(err) // ErrWindowFull: the row was rolled back
		}
	}
	b, err := w.AppendTo(nil)
	if err != nil {
		log.Fatal(err)
	}
	r, err := window.OpenBytes(b)
	if err != nil {
		log.Fatal(err)
	}
	for row := range r.NumRows() {
		id, _ := r.Int64(row, 0)
		name, _ := r.StringView(row, 1)
		f, _ := r.Float64(row, 2)
		fmt.Println(id, name, f)
	}
	// Output:
	// 1 ada 1.5
	// 2 grace 2.5
}

// A scan reads each row through Row, whose accessors inline into the
// loop; what they leave (here a NULL) goes to the Window's accessor of the
// same name, which converts it or says what is wrong.
func ExampleWindow_Row() {
	w, err := window.New(3)
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	for i, name := range []string{"ada", "grace", "linus"} {
		if err := w.AllocRow(); err != nil {
			log.Fatal(err)
		}
		w.PutInt64(0, int64(i+1))
		w.PutString(1, name)
		if i != 1 {
			w.PutFloat64(2, float64(i)+0.5) // row 1 leaves column 2 NULL
		}
	}
	b, err := w.AppendTo(nil)
	if err != nil {
		log.Fatal(err)
	}
	r, err := window.OpenBytes(b)
	if err != nil {
		log.Fatal(err)
	}
	for i := range r.NumRows() {
		row, _ := r.Row(i)
		id, ok := row.Int64(0)
		if !ok {
			log.Fatalf("row %d: column 0 is %s", i, row.Type(0))
		}
		name, ok := row.Bytes(1) // a view into the window: nothing copied
		if !ok {
			name, err = r.Bytes(i, 1)
		}
		fare, ok := row.Float64(2)
		if !ok {
			fare, err = r.Float64(i, 2) // NULL reads as 0
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(id, string(name), row.Type(2), fare)
	}
	// Output:
	// 1 ada FLOAT64 0.5
	// 2 grace NULL 0
	// 3 linus FLOAT64 2.5
}
