package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cursorwindow/cursorwindow/bench/internal/report"
	"github.com/cursorwindow/cursorwindow/bench/internal/stats"
	"github.com/cursorwindow/cursorwindow/bench/internal/table"
)

// scanTransports are the transports of the full scan, in the order of the
// report; rounds rotate it.
var scanTransports = append([]string{
	transportCWFilled, transportCW, transportCWInline, transportMsgpack, transportGRPC, transportInProc,
}, prefetchTransports()...)

// prefetchTransports are the filled scans with the other prefetch
// settings (which default overlaps fill and read best), and the cached
// scans with deeper ones.
func prefetchTransports() []string {
	var ts []string
	for _, n := range prefetchVariants {
		ts = append(ts, fmt.Sprintf("%s%d", prefetchPrefix, n))
	}
	for _, n := range cachedPrefetchVariants {
		ts = append(ts, fmt.Sprintf("%s%d", cachedPrefetchPrefix, n))
	}
	return ts
}

// readTransports are the readers of the read workload: the cursor a
// column at a time (the one its target counts), row by row, Go slices.
var readTransports = []string{transportCW, transportCWRows, transportInProc}

// smallTransports are the transports of the small queries.
var smallTransports = []string{
	transportCW, transportCWFilled, transportCWInline, transportMsgpack, transportGRPC, transportInProc,
}

func handoffTransports() []string {
	ts := []string{transportFDRaw, transportFDNet}
	for _, size := range handoffSizes {
		ts = append(ts, transportHandoff(size))
	}
	return ts
}

var fillVariants = []string{fillFresh, fillRecycled, fillMsgpack, fillGRPC, fillMemCopy, fillMemRead}

// rotate returns xs rotated left by k: each round starts with another
// transport, so none always runs first or last.
func rotate[T any](xs []T, k int) []T {
	k %= len(xs)
	return append(slices.Clone(xs[k:]), xs[:k]...)
}

// run runs every workload and writes the report.
func run(cfg config, log io.Writer) error {
	begin := time.Now()
	res := &report.Results{Env: environment(cfg)}
	dir, err := os.MkdirTemp("", "cwbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	prov, err := startChild(childSpec{Role: roleProvider, Dir: dir, Rows: cfg.Rows})
	if err != nil {
		return err
	}
	defer prov.stop()
	cons, err := startChild(childSpec{Role: roleConsumer, Dir: dir, Rows: cfg.Rows})
	if err != nil {
		return err
	}
	defer cons.stop()

	scans := map[[2]string][]float64{}
	reads := map[string][]float64{}
	small := map[string][]time.Duration{}
	handoff := map[string][]time.Duration{}
	fills := map[string][]result{}
	sums := map[string]float64{table.Wide: table.Sum(table.Wide, cfg.Rows), table.Narrow: table.Sum(table.Narrow, cfg.Rows)}

	// Round 0 warms up: caches filled, windows faulted in, connections
	// busy once. Its figures are dropped.
	for round := 0; round <= cfg.Rounds; round++ {
		fmt.Fprintf(log, "cwbench: round %d of %d (%v)\n", round, cfg.Rounds, time.Since(begin).Round(time.Second))
		for _, v := range rotate(fillVariants, round) {
			r, err := cons.call(command{Op: opFill, Transport: v, Table: table.Wide})
			if err != nil {
				return err
			}
			if round > 0 {
				fills[v] = append(fills[v], r)
			}
		}
		for _, tbl := range []string{table.Wide, table.Narrow} {
			for _, t := range rotate(scanTransports, round) {
				r, err := cons.call(command{Op: opScan, Transport: t, Table: tbl})
				if err == nil {
					err = check(r, int64(cfg.Rows), sums[tbl])
				}
				if err != nil {
					return fmt.Errorf("scan %s %s: %w", t, tbl, err)
				}
				if round > 0 {
					k := [2]string{tbl, t}
					scans[k] = append(scans[k], float64(r.NS))
				}
			}
		}
		for _, t := range rotate(readTransports, round) {
			r, err := cons.call(command{Op: opRead, Transport: t})
			if err == nil {
				err = check(r, int64(cfg.Rows), sums[table.Wide])
			}
			if err != nil {
				return fmt.Errorf("read %s: %w", t, err)
			}
			if round > 0 {
				reads[t] = append(reads[t], float64(r.NS))
			}
		}
		for _, limit := range []int{1, 100} {
			n := cfg.SmallN
			if round == 0 {
				n = max(n/10, 5)
			}
			for _, t := range rotate(smallTransports, round) {
				r, err := cons.call(command{Op: opSmall, Transport: t, Table: table.Wide, Limit: limit, N: n})
				if err == nil {
					err = check(r, int64(limit), table.Sum(table.Wide, limit))
				}
				if err != nil {
					return fmt.Errorf("small %s %d: %w", t, limit, err)
				}
				if round > 0 {
					k := fmt.Sprintf("%s/%d", t, limit)
					small[k] = appendNS(small[k], r.Lat)
				}
			}
		}
		for _, t := range rotate(handoffTransports(), round) {
			n := cfg.HandoffN
			if round == 0 {
				n = max(n/10, 5)
			}
			r, err := cons.call(command{Op: opHandoff, Transport: t, N: n})
			if err != nil {
				return fmt.Errorf("handoff %s: %w", t, err)
			}
			if round > 0 {
				handoff[t] = appendNS(handoff[t], r.Lat)
			}
		}
	}
	cons.stop()
	prov.stop()

	for _, tbl := range []string{table.Wide, table.Narrow} {
		for _, t := range scanTransports {
			res.Scans = append(res.Scans, report.Scan{Table: tbl, Transport: t, NS: stats.Median(scans[[2]string{tbl, t}]), Rows: cfg.Rows})
		}
	}
	for _, t := range readTransports {
		res.Read = append(res.Read, report.Read{Transport: t, NS: stats.Median(reads[t]), Rows: cfg.Rows})
	}
	for _, limit := range []int{1, 100} {
		for _, t := range smallTransports {
			lat := small[fmt.Sprintf("%s/%d", t, limit)]
			res.Small = append(res.Small, latency(t, limit, lat))
		}
	}
	for _, t := range handoffTransports() {
		res.Handoff = append(res.Handoff, latency(t, 0, handoff[t]))
	}
	for _, v := range fillVariants {
		var ns, allocs, bytes []float64
		for _, r := range fills[v] {
			ns = append(ns, float64(r.NS))
			allocs = append(allocs, float64(r.Allocs))
			bytes = append(bytes, float64(r.Bytes))
		}
		res.Fill = append(res.Fill, report.Fill{
			Variant: v, Rows: cfg.Rows, NS: stats.Median(ns), Allocs: stats.Median(allocs), Bytes: stats.Median(bytes),
		})
	}

	// Fan-out: a provider of one transport and n consumers per trial.
	fan := map[string][]fanoutRun{}
	for round := range cfg.FanoutRounds {
		for _, n := range cfg.Fanout {
			for _, fc := range rotate(fanoutTransports, round) {
				fmt.Fprintf(log, "cwbench: fan-out round %d, %d × %v (%v)\n", round+1, n, fc, time.Since(begin).Round(time.Second))
				fr, err := runFanoutTrial(cfg, fc, n)
				if err != nil {
					return fmt.Errorf("fan-out %v × %d: %w", fc, n, err)
				}
				k := fmt.Sprintf("%v/%d", fc, n)
				fan[k] = append(fan[k], fr)
			}
		}
	}
	for _, fc := range fanoutTransports {
		for _, n := range cfg.Fanout {
			runs := fan[fmt.Sprintf("%v/%d", fc, n)]
			med := func(f func(fanoutRun) float64) float64 {
				var xs []float64
				for _, r := range runs {
					xs = append(xs, f(r))
				}
				return stats.Median(xs)
			}
			res.Fanout = append(res.Fanout, report.Fanout{
				Transport: fc.String(), Consumers: n,
				WallNS:      med(func(r fanoutRun) float64 { return float64(r.Wall) }),
				TotalPSS:    med(func(r fanoutRun) float64 { return float64(r.ProviderPSS + r.ConsumerPSS) }),
				ProviderPSS: med(func(r fanoutRun) float64 { return float64(r.ProviderPSS) }),
				ConsumerPSS: med(func(r fanoutRun) float64 { return float64(r.ConsumerPSS) }),
				IdlePSS:     med(func(r fanoutRun) float64 { return float64(r.IdlePSS) }),
			})
		}
	}
	res.Env.Elapsed = time.Since(begin).Round(time.Second).String()
	return write(cfg, res)
}

func appendNS(ds []time.Duration, ns []int64) []time.Duration {
	for _, n := range ns {
		ds = append(ds, time.Duration(n))
	}
	return ds
}

func latency(t string, rows int, lat []time.Duration) report.Latency {
	return report.Latency{
		Transport: t, Rows: rows, N: len(lat),
		P50: stats.Percentile(lat, 50), P99: stats.Percentile(lat, 99),
	}
}

// write writes the report, the chart and the raw results.
func write(cfg config, res *report.Results) error {
	if cfg.Markdown != "" {
		var b bytes.Buffer
		if err := report.Markdown(&b, res, cfg.PNG); err != nil {
			return err
		}
		if err := os.WriteFile(cfg.Markdown, b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	if cfg.PNG != "" {
		if err := report.Chart(cfg.PNG, res); err != nil {
			return err
		}
	}
	if cfg.JSON != "" {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(cfg.JSON, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// environment describes the machine and the run.
func environment(cfg config) report.Env {
	e := report.Env{
		Date: time.Now().UTC().Format("2006-01-02 15:04 MST"), Go: runtime.Version(),
		Cores: runtime.NumCPU(), Command: cfg.Command, Rows: cfg.Rows, Rounds: cfg.Rounds,
		FanoutRounds: cfg.FanoutRounds, SmallN: cfg.SmallN, HandoffN: cfg.HandoffN,
		OS: runtime.GOOS + "/" + runtime.GOARCH,
	}
	if cfg.CPU >= 0 {
		e.Pinned = strconv.Itoa(cfg.CPU)
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				e.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		fmt.Sscanf(string(b), "MemTotal: %d kB", &kb)
		e.MemGiB = float64(kb) / (1 << 20)
	}
	if out, err := exec.Command("uname", "-r").Output(); err == nil {
		e.Kernel = strings.TrimSpace(string(out))
	}
	e.Commit = libraryCommit(filepath.Dir(cfg.Markdown))
	return e
}

// libraryCommit names the library's commit in the git work tree holding
// dir, noting uncommitted changes to the library's packages; "" outside
// a work tree.
func libraryCommit(dir string) string {
	out, err := exec.Command("git", "-C", dir, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return ""
	}
	commit := strings.TrimSpace(string(out))
	diff := exec.Command("git", "-C", dir, "diff", "--quiet", "HEAD", "--", ":/content", ":/window", ":/fdpass", ":/parcel")
	if diff.Run() != nil {
		commit += " with uncommitted library changes"
	}
	return commit
}
