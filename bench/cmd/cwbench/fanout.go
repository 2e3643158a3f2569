package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cursorwindow/cursorwindow/bench/internal/grpcstream"
	"github.com/cursorwindow/cursorwindow/bench/internal/mpstream"
	"github.com/cursorwindow/cursorwindow/bench/internal/procmem"
	"github.com/cursorwindow/cursorwindow/bench/internal/table"
	"github.com/cursorwindow/cursorwindow/content"
)

// fanoutTransports are the transports of the fan-out workload. The
// copying ones run twice: holding the rows they read (a consumer that
// needs the result in hand, as a cursorwindow consumer has it) and
// streaming them (reading each row and dropping it).
var fanoutTransports = []fanoutCase{
	{transportCW, false},
	{transportMsgpack, true},
	{transportGRPC, true},
	{transportMsgpack, false},
	{transportGRPC, false},
}

type fanoutCase struct {
	Transport string
	Hold      bool
}

func (f fanoutCase) String() string {
	switch {
	case f.Transport == transportCW:
		return f.Transport
	case f.Hold:
		return f.Transport + " (hold)"
	}
	return f.Transport + " (stream)"
}

// runFanout is one consumer of the fan-out workload: it connects, says
// "ready", waits for "go", reads the whole wide table, reports, and stays
// alive (holding what it read) until its stdin is closed, so that the
// orchestrator can read every process's PSS at the same moment.
func runFanout(s childSpec) error {
	ctx := context.Background()
	in := bufio.NewReader(os.Stdin)
	var scan func() (int64, float64, error)
	switch s.Transport {
	case transportCW:
		c, err := content.Dial(ctx, filepath.Join(s.Dir, sockShared))
		if err != nil {
			return err
		}
		defer c.Close()
		scan = func() (int64, float64, error) {
			cur, err := c.Query(ctx, &content.Query{URI: table.Wide})
			if err != nil {
				return 0, 0, err
			}
			keep(cur) // the result stays open, as the others' rows stay held
			return readCursor(cur, true, false)
		}
	case transportMsgpack:
		c, err := mpstream.Dial(ctx, filepath.Join(s.Dir, sockMsgpack))
		if err != nil {
			return err
		}
		defer c.Close()
		scan = func() (int64, float64, error) { return scanMsgpack(c, table.Wide, 0, s.Hold) }
	case transportGRPC:
		c, err := grpcstream.Dial(filepath.Join(s.Dir, sockGRPC))
		if err != nil {
			return err
		}
		defer c.Close()
		scan = func() (int64, float64, error) { return scanGRPC(ctx, c, table.Wide, 0, s.Hold) }
	default:
		return fmt.Errorf("unknown transport %q", s.Transport)
	}
	fmt.Println("ready")
	if _, err := in.ReadString('\n'); err != nil {
		return err
	}
	start := time.Now()
	rows, sum, err := scan()
	r := result{NS: time.Since(start).Nanoseconds(), Rows: rows, Sum: sum}
	if err != nil {
		r.Err = err.Error()
	}
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		return err
	}
	in.ReadString('\n') // until stdin is closed
	held = nil
	return nil
}

// fanoutRun is the outcome of one fan-out trial.
type fanoutRun struct {
	Wall        time.Duration
	ProviderPSS int64
	ConsumerPSS int64 // all consumers, after the scan
	IdlePSS     int64 // all consumers, connected, before the scan
}

// runFanoutTrial starts a provider of one transport and n consumers, lets
// them read the result at once and measures the wall time until the last
// is done and the PSS of every process at that moment.
func runFanoutTrial(cfg config, fc fanoutCase, n int) (fanoutRun, error) {
	var fr fanoutRun
	dir, err := os.MkdirTemp("", "cwbench-fanout-")
	if err != nil {
		return fr, err
	}
	defer os.RemoveAll(dir)
	only := fc.Transport
	prov, err := startChild(childSpec{Role: roleProvider, Dir: dir, Rows: cfg.Rows, Only: only})
	if err != nil {
		return fr, err
	}
	defer prov.stop()
	var cons []*child
	defer func() {
		for _, c := range cons {
			c.stop()
		}
	}()
	for range n {
		c, err := startChild(childSpec{Role: roleFanout, Dir: dir, Rows: cfg.Rows, Transport: fc.Transport, Hold: fc.Hold})
		if err != nil {
			return fr, err
		}
		cons = append(cons, c)
	}
	for _, c := range cons {
		pss, err := procmem.PSS(c.cmd.Process.Pid)
		if err != nil {
			return fr, err
		}
		fr.IdlePSS += pss
	}
	start := time.Now()
	for _, c := range cons {
		if _, err := c.in.Write([]byte("go\n")); err != nil {
			return fr, err
		}
	}
	want := table.Sum(table.Wide, cfg.Rows)
	for _, c := range cons {
		var r result
		if err := c.read(&r); err != nil {
			return fr, err
		}
		if err := check(r, int64(cfg.Rows), want); err != nil {
			return fr, fmt.Errorf("%v consumer: %w", fc, err)
		}
	}
	fr.Wall = time.Since(start)
	if fr.ProviderPSS, err = procmem.PSS(prov.cmd.Process.Pid); err != nil {
		return fr, err
	}
	for _, c := range cons {
		pss, err := procmem.PSS(c.cmd.Process.Pid)
		if err != nil {
			return fr, err
		}
		fr.ConsumerPSS += pss
	}
	return fr, nil
}
