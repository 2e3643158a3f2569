// Command cwdemo shows a window crossing a process boundary without being
// copied: it fills sealed memfd windows with generated sensor readings,
// starts a copy of itself as a consumer that inherits the memfds, and the
// consumer reads every row in place and prints a summary.
//
// Usage:
//
//	cwdemo [-rows N]
package main

import (
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/cursorwindow/cursorwindow/window"
)

const consumerEnv = "CWDEMO_CONSUMER"

func main() {
	log.SetFlags(0)
	log.SetPrefix("cwdemo: ")
	if fds := os.Getenv(consumerEnv); fds != "" {
		if err := consume(strings.Split(fds, ",")); err != nil {
			log.Fatal(err)
		}
		return
	}
	rows := flag.Int("rows", 1_000_000, "rows to generate")
	flag.Parse()
	if err := provide(*rows); err != nil {
		log.Fatal(err)
	}
}

// provide fills windows with rows of (id INT64, value FLOAT64, sensor
// STRING, payload BLOB) and hands their memfds to a child process.
func provide(n int) error {
	start := time.Now()
	rng := rand.New(rand.NewPCG(1, 2)) // deterministic sample data
	payload := make([]byte, 16)
	var ws []*window.Writer
	defer func() {
		for _, w := range ws {
			w.Close()
		}
	}()
	newWindow := func(pos int) (*window.Writer, error) {
		w, err := window.Create(4, window.WithName("cwdemo"), window.WithStartPos(int64(pos)))
		if err == nil {
			ws = append(ws, w)
		}
		return w, err
	}
	w, err := newWindow(0)
	if err != nil {
		return err
	}
	for i := 0; i < n; {
		err := putRow(w, i, rng, payload)
		if err == nil {
			i++
			continue
		}
		if w.NumRows() == 0 {
			return err // the row does not fit an empty window
		}
		if err := w.Seal(); err != nil {
			return err
		}
		if w, err = newWindow(i); err != nil {
			return err
		}
	}
	if err := w.Seal(); err != nil {
		return err
	}
	fmt.Printf("provider: %d rows in %d sealed memfd windows (%.1f MiB), filled in %v\n",
		n, len(ws), float64(totalSize(ws))/(1<<20), time.Since(start).Round(time.Millisecond))

	cmd := exec.Command(os.Args[0])
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	fds := make([]string, len(ws))
	for i, w := range ws {
		fd, err := w.Inherit(cmd) // the child's descriptor number for it
		if err != nil {
			return err
		}
		fds[i] = strconv.Itoa(fd)
	}
	cmd.Env = append(os.Environ(), consumerEnv+"="+strings.Join(fds, ","))
	fmt.Printf("provider: passing %d file descriptors to consumer process\n", len(ws))
	return cmd.Run()
}

func putRow(w *window.Writer, i int, rng *rand.Rand, payload []byte) error {
	if err := w.AllocRow(); err != nil {
		return err
	}
	for j := range payload {
		payload[j] = byte(rng.Uint32())
	}
	w.PutInt64(0, int64(i))
	w.PutFloat64(1, 20+rng.NormFloat64()*5)
	if err := w.PutString(2, "sensor-"+strconv.Itoa(i%64)); err != nil {
		return err
	}
	return w.PutBlob(3, payload)
}

func totalSize(ws []*window.Writer) int {
	n := 0
	for _, w := range ws {
		n += w.Size()
	}
	return n
}

// consume opens the inherited windows, whose descriptor numbers the
// parent passed, and reads every row in place.
func consume(fds []string) error {
	start := time.Now()
	n := len(fds)
	var rows, bytes int
	var sum, minV, maxV float64
	minV, maxV = 1e300, -1e300
	for _, s := range fds {
		fd, err := strconv.Atoi(s)
		if err != nil {
			return err
		}
		r, err := window.OpenInherited(fd) // checks the seals; closes fd
		if err != nil {
			return err
		}
		for row := range r.NumRows() {
			v, err := r.Float64(row, 1)
			if err != nil {
				r.Close()
				return err
			}
			s, _ := r.StringView(row, 2)
			b, _ := r.Bytes(row, 3)
			bytes += len(s) + len(b)
			sum += v
			minV, maxV = min(minV, v), max(maxV, v)
		}
		rows += r.NumRows()
		r.Close()
	}
	el := time.Since(start)
	fmt.Printf("consumer (pid %d): read %d rows in place from %d windows in %v (%.1f M rows/s)\n",
		os.Getpid(), rows, n, el.Round(time.Microsecond), float64(rows)/el.Seconds()/1e6)
	fmt.Printf("consumer: value min %.2f max %.2f mean %.3f; %d string and blob bytes viewed, none copied\n",
		minV, maxV, sum/float64(rows), bytes)
	return nil
}
