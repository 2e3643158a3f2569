// Command cwbench compares cursorwindow with the transports a Go developer
// would otherwise pick to hand a table from one process to others on the
// same host, measured side by side in one run, across real processes:
//
//  1. cursorwindow: windows passed as sealed memfds, rows read in place;
//  2. cursorwindow forced inline: the same window bytes copied through the
//     socket;
//  3. msgpack: rows encoded field by field as msgpack arrays (no
//     reflection, 256 KiB buffers: the fastest stream a careful developer
//     writes), over a unix socket, decoded field by field;
//  4. gRPC over a unix socket: server streaming, 1,000 rows a message,
//     msgpack codec;
//  5. in-process: the consumer reading the same values from its own Go
//     slices.
//
// Workloads: (a) full scans of a wide and a narrow table; the cost of
// reading a mapped window through the cursor against Go slices; (b) 1-row
// and 100-row queries; the handoff of a pooled window against a raw
// descriptor round trip; (c) fan-out: 1, 4 and 16 consumers reading the
// same result at once, wall time and total PSS; (d) the provider's fill
// cost. Transports are interleaved within every round and the rounds
// repeated; the report gives medians and ratios.
//
// Usage:
//
//	cwbench [-quick] [-rows N] [-rounds R] [-fanout-rounds R] [-small-n N] [-handoff-n N] [-cpu C]
//	        [-md docs/BENCHMARKS.md] [-png docs/benchmarks.png] [-json results.json]
//
// cwbench re-executes itself for the provider and consumer roles; the
// variable CWBENCH_CHILD selects a role and carries its settings.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// config is one run's settings.
type config struct {
	Rows         int    // rows of each table
	Rounds       int    // rounds of the sequential workloads
	FanoutRounds int    // rounds of the fan-out workload
	Fanout       []int  // consumer counts of the fan-out workload
	SmallN       int    // queries per transport and round, small queries
	HandoffN     int    // round trips per transport and round, handoff
	Markdown     string // report path ("" for none)
	PNG          string // chart path ("" for none)
	JSON         string // raw results path ("" for none)
	Command      string // the command line, for the report
	CPU          int    // the CPU every process is pinned to (-1: none)
}

func defaultConfig() config {
	return config{
		Rows: 1_000_000, Rounds: 5, FanoutRounds: 3, Fanout: []int{1, 4, 16},
		SmallN: 400, HandoffN: 400,
		Markdown: "docs/BENCHMARKS.md", PNG: "docs/benchmarks.png",
		CPU: -1,
	}
}

// quickConfig is the smoke-test size: every workload, tiny counts.
func quickConfig() config {
	c := defaultConfig()
	c.Rows, c.Rounds, c.FanoutRounds, c.Fanout = 20_000, 2, 1, []int{1, 2}
	c.SmallN, c.HandoffN = 20, 20
	return c
}

func main() {
	if spec := os.Getenv(envChild); spec != "" {
		os.Exit(runChild(spec))
	}
	quick := flag.Bool("quick", false, "small counts, for a smoke test")
	rows := flag.Int("rows", 0, "rows of each table (default 1,000,000; 20,000 with -quick)")
	rounds := flag.Int("rounds", 0, "rounds of the sequential workloads (default 5)")
	fanRounds := flag.Int("fanout-rounds", 0, "rounds of the fan-out workload (default 3)")
	md := flag.String("md", "", "markdown report (default docs/BENCHMARKS.md)")
	png := flag.String("png", "", "chart (default docs/benchmarks.png)")
	smallN := flag.Int("small-n", 0, "queries per transport and round, small queries (default 400)")
	handoffN := flag.Int("handoff-n", 0, "round trips per transport and round, handoff (default 400)")
	js := flag.String("json", "", "also write the raw results as JSON here")
	cpu := flag.Int("cpu", -1, "pin every process to this CPU (default: none)")
	flag.Parse()
	cfg := defaultConfig()
	if *quick {
		cfg = quickConfig()
	}
	if *rows > 0 {
		cfg.Rows = *rows
	}
	if *rounds > 0 {
		cfg.Rounds = *rounds
	}
	if *fanRounds > 0 {
		cfg.FanoutRounds = *fanRounds
	}
	if *smallN > 0 {
		cfg.SmallN = *smallN
	}
	if *handoffN > 0 {
		cfg.HandoffN = *handoffN
	}
	if *md != "" {
		cfg.Markdown = *md
	}
	if *png != "" {
		cfg.PNG = *png
	}
	cfg.JSON = *js
	cfg.CPU = *cpu
	cfg.Command = "cwbench " + strings.Join(os.Args[1:], " ")
	if cfg.CPU >= 0 {
		if err := pin(cfg.CPU); err != nil {
			fmt.Fprintln(os.Stderr, "cwbench: -cpu:", err)
			os.Exit(2)
		}
	}
	if err := run(cfg, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "cwbench:", err)
		os.Exit(1)
	}
}

// pin pins every thread of this process to cpu; the children it starts
// inherit the affinity (fork and exec keep it), and so do the threads
// they start. With every process on one CPU no wake-up crosses CPUs: on
// a virtual machine, waking an idle virtual CPU can cost tens of
// microseconds, more than a small query's own work, and how often it
// happens varies from run to run (docs/PERFORMANCE.md, "Small
// queries").
func pin(cpu int) error {
	var set unix.CPUSet
	set.Set(cpu)
	for range 2 { // a thread started while the first pass ran is pinned by the second
		ents, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		for _, e := range ents {
			tid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			if err := unix.SchedSetaffinity(tid, &set); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("CPU %d: %w", cpu, err)
			}
		}
	}
	return nil
}

// envChild names the environment variable that makes the program a child:
// its value is the JSON of a childSpec.
const envChild = "CWBENCH_CHILD"

// childSpec is what a child process is asked to be.
type childSpec struct {
	Role      string // roleProvider, roleConsumer or roleFanout
	Dir       string // the directory of the provider's sockets
	Rows      int
	Only      string // provider: serve this transport only ("" for all)
	Transport string // fanout: the transport to read with
	Hold      bool   // fanout: keep the rows read (copying transports)
}

const (
	roleProvider = "provider"
	roleConsumer = "consumer"
	roleFanout   = "fanout"
)

func runChild(spec string) int {
	var s childSpec
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		fmt.Fprintln(os.Stderr, "cwbench child:", err)
		return 2
	}
	var err error
	switch s.Role {
	case roleProvider:
		err = runProvider(s)
	case roleConsumer:
		err = runConsumer(s)
	case roleFanout:
		err = runFanout(s)
	default:
		err = fmt.Errorf("unknown role %q", s.Role)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "cwbench %s: %v\n", s.Role, err)
		return 1
	}
	return 0
}
