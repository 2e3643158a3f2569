// Package report turns the harness's results into the markdown report
// (docs/BENCHMARKS.md) and the chart (docs/benchmarks.png): medians,
// ratios, and a verdict on each of the project's targets.
package report

import "time"

// Results are the summarised figures of one run.
type Results struct {
	Env     Env
	Scans   []Scan
	Read    []Read
	Small   []Latency
	Handoff []Latency
	Fanout  []Fanout
	Fill    []Fill
}

// Env describes the machine and the run.
type Env struct {
	Date, Go, OS, CPU, Kernel, Command, Elapsed  string
	Commit                                       string // the library's commit
	Pinned                                       string // the CPU every process ran on ("": any)
	Cores                                        int
	MemGiB                                       float64
	Rows, Rounds, FanoutRounds, SmallN, HandoffN int
}

// Scan is the median time of a full scan of a table over a transport.
type Scan struct {
	Table, Transport string
	Rows             int
	NS               float64
}

// RowsPerSec returns the scan's throughput.
func (s Scan) RowsPerSec() float64 { return perSec(s.Rows, s.NS) }

// Read is the median time to read every value of a mapped result.
type Read struct {
	Transport string
	Rows      int
	NS        float64
}

// Latency summarises round trips: a query of Rows rows (0 for a handoff).
type Latency struct {
	Transport string
	Rows      int
	N         int // round trips measured
	P50, P99  time.Duration
}

// Fanout is the median of the trials of one transport with Consumers
// consumers: wall time until the last consumer is done, and PSS.
type Fanout struct {
	Transport   string
	Consumers   int
	WallNS      float64
	TotalPSS    float64 // provider plus consumers, bytes
	ProviderPSS float64
	ConsumerPSS float64 // all consumers after the scan
	IdlePSS     float64 // all consumers, connected, before the scan
}

// Fill is the median cost of producing Rows rows on the provider.
type Fill struct {
	Variant       string
	Rows          int
	NS            float64
	Allocs, Bytes float64 // heap allocations and bytes for all the rows
}

func perSec(n int, ns float64) float64 {
	if ns <= 0 {
		return 0
	}
	return float64(n) / (ns / 1e9)
}
