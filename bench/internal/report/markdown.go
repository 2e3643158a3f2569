package report

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"
)

// Transport names the harness uses, and how the report labels them.
var labels = map[string]string{
	"cursorwindow-filled":  "1 cursorwindow, shared memfds, filled (first-time query)",
	"cursorwindow":         "1 cursorwindow, shared memfds, cached (repeated query, default server)",
	"cursorwindow-inline":  "2 cursorwindow inline (window bytes through the socket)",
	"msgpack":              "3 msgpack stream over a unix socket",
	"grpc":                 "4 gRPC server stream, 1,000 rows a message",
	"in-process":           "5 in-process Go slices",
	"cursorwindow-rows":    "1 cursorwindow, cached, read row by row (window.Row)",
	"fd-roundtrip-raw":     "SCM_RIGHTS round trip, raw syscalls",
	"fd-roundtrip-netconn": "SCM_RIGHTS round trip, net.UnixConn + fdpass",
	"window-fresh":         "cursorwindow: fill new 2 MiB memfd windows",
	"window-recycled":      "cursorwindow: refill one pooled window (Reset)",
	"msgpack-encode":       "msgpack provider: encode the rows",
	"grpc-encode":          "gRPC provider: build and encode 1,000-row batches",
	"memory-copy":          "floor: copy each row's 113 window bytes into a 2 MiB buffer (memmove)",
	"memory-read":          "floor: read each row's 113 window bytes (8-byte loads)",
}

func label(t string) string {
	if l, ok := labels[t]; ok {
		return l
	}
	if n, ok := strings.CutPrefix(t, "cursorwindow-filled-prefetch-"); ok {
		return "1 cursorwindow, filled, WithPrefetch(" + n + ")"
	}
	if n, ok := strings.CutPrefix(t, "cursorwindow-cached-prefetch-"); ok {
		return "1 cursorwindow, cached, WithPrefetch(" + n + ")"
	}
	if strings.HasPrefix(t, "cursorwindow-") && strings.HasSuffix(t, "KiB") {
		return "cursorwindow query answered by a cached " + strings.TrimPrefix(t, "cursorwindow-") + " window"
	}
	return t
}

// Target is one of the project's targets with the figure measured.
type Target struct {
	What     string
	Want     string
	Measured string
	Met      bool
	Known    bool // false when the run lacks the figures
}

// Targets evaluates the project's targets (issues 6, 24 and 28) on the
// results.
func Targets(r *Results) []Target {
	var ts []Target
	filled := r.scan("wide", "cursorwindow-filled")
	for _, alt := range []struct {
		t    string
		want float64
	}{{"msgpack", 20}, {"grpc", 10}} {
		o := r.scan("wide", alt.t)
		t := Target{What: "Full scan, wide table: cursorwindow (filled) vs " + alt.t, Want: fmt.Sprintf("≥ %.0f×", alt.want)}
		if filled.NS > 0 && o.NS > 0 {
			x := o.NS / filled.NS
			t.Measured, t.Met, t.Known = fmt.Sprintf("%.1f× (cached: %.1f×)", x, o.NS/r.scan("wide", "cursorwindow").NS), x >= alt.want, true
		}
		ts = append(ts, t)
	}
	// Issue 24's: the cached scans, and the provider's refill.
	t := Target{What: "Full scan, wide table: cursorwindow (cached) vs msgpack", Want: "≥ 60×"}
	if c, m := r.scan("wide", "cursorwindow"), r.scan("wide", "msgpack"); c.NS > 0 && m.NS > 0 {
		x := m.NS / c.NS
		t.Measured, t.Met, t.Known = fmt.Sprintf("%.1f×", x), x >= 60, true
	}
	ts = append(ts, t)
	t = Target{What: "Full scan, narrow table: cursorwindow (cached)", Want: "≥ 500 M rows/s"}
	if c, g := r.scan("narrow", "cursorwindow"), r.scan("narrow", "in-process"); c.NS > 0 {
		x := c.RowsPerSec() / 1e6
		t.Measured, t.Met, t.Known = fmt.Sprintf("%.0f M rows/s", x), x >= 500, true
		if g.NS > 0 {
			t.Measured += fmt.Sprintf(" (in-process Go slices: %.0f M)", g.RowsPerSec()/1e6)
		}
	}
	ts = append(ts, t)
	t = Target{What: "Provider refill of a pooled window vs the memmove floor of its rows' bytes", Want: "≤ 1.5×"}
	if f, m := r.fill("window-recycled"), r.fill("memory-copy"); f.NS > 0 && m.NS > 0 {
		x := f.NS / m.NS
		t.Measured, t.Met, t.Known = fmt.Sprintf("%.2f× (%.1f vs %.1f ns/row)", x, f.NS/float64(max(f.Rows, 1)), m.NS/float64(max(m.Rows, 1))), x <= 1.5, true
	}
	ts = append(ts, t)
	t = Target{What: "Read efficiency: cursor over a mapped window vs Go slices", Want: "≥ 0.75×"}
	if c, s := r.read("cursorwindow"), r.read("in-process"); c.NS > 0 && s.NS > 0 {
		x := s.NS / c.NS
		t.Measured, t.Met, t.Known = fmt.Sprintf("%.2f× (%.1f vs %.1f ns/row)", x, c.NS/float64(c.Rows), s.NS/float64(s.Rows)), x >= 0.75, true
		if rows := r.read("cursorwindow-rows"); rows.NS > 0 {
			t.Measured += fmt.Sprintf("; row by row through window.Row: %.2f×", s.NS/rows.NS)
		}
	}
	ts = append(ts, t)
	t = Target{What: "Fan-out: total PSS, most consumers vs one (cursorwindow)", Want: "≤ 1.1×"}
	if one, most := r.fanout("cursorwindow", 1), r.fanoutMost("cursorwindow"); one.TotalPSS > 0 && most.Consumers > 1 {
		x := most.TotalPSS / one.TotalPSS
		t.What = fmt.Sprintf("Fan-out: total PSS, %d consumers vs one (cursorwindow)", most.Consumers)
		t.Measured = fmt.Sprintf("%.2f× (%s vs %s; of the %s more, %s is the idle Go runtime of the %d extra processes)",
			x, mib(most.TotalPSS), mib(one.TotalPSS), mib(most.TotalPSS-one.TotalPSS), mib(most.IdlePSS-one.IdlePSS), most.Consumers-1)
		t.Met, t.Known = x <= 1.1, true
	}
	ts = append(ts, t)
	t = Target{What: "1-row query: cursorwindow vs bare msgpack request/response, p50", Want: "≤ 1.3×"}
	if c, m := r.small("cursorwindow", 1), r.small("msgpack", 1); c.N > 0 && m.N > 0 {
		x := float64(c.P50) / float64(m.P50)
		t.Measured, t.Met, t.Known = fmt.Sprintf("%.2f× (%s vs %s)", x, us(c.P50), us(m.P50)), x <= 1.3, true
	}
	ts = append(ts, t)
	t = Target{What: "Handoff: query answered by a pooled 2 MiB window vs raw fd round trip, p50", Want: "≤ 2×"}
	if c, f := r.handoff("cursorwindow-2048KiB"), r.handoff("fd-roundtrip-raw"); c.N > 0 && f.N > 0 {
		x := float64(c.P50) / float64(f.P50)
		t.Measured, t.Met, t.Known = fmt.Sprintf("%.2f× (%s vs %s)", x, us(c.P50), us(f.P50)), x <= 2, true
		if n := r.handoff("fd-roundtrip-netconn"); n.N > 0 {
			t.Measured += fmt.Sprintf("; %.2f× the net.UnixConn round trip (%s)", float64(c.P50)/float64(n.P50), us(n.P50))
		}
	}
	ts = append(ts, t)
	t = Target{What: "Handoff does not grow with window size: 8 MiB vs 256 KiB window, p50", Want: "≤ 1.2×"}
	if big, small := r.handoff("cursorwindow-8192KiB"), r.handoff("cursorwindow-256KiB"); big.N > 0 && small.N > 0 {
		x := float64(big.P50) / float64(small.P50)
		t.Measured, t.Met, t.Known = fmt.Sprintf("%.2f× (%s vs %s)", x, us(big.P50), us(small.P50)), x <= 1.2, true
	}
	ts = append(ts, t)
	return ts
}

func (r *Results) scan(tbl, t string) Scan {
	for _, s := range r.Scans {
		if s.Table == tbl && s.Transport == t {
			return s
		}
	}
	return Scan{}
}

func (r *Results) fill(v string) Fill {
	for _, f := range r.Fill {
		if f.Variant == v {
			return f
		}
	}
	return Fill{}
}

func (r *Results) read(t string) Read {
	for _, x := range r.Read {
		if x.Transport == t {
			return x
		}
	}
	return Read{}
}

func (r *Results) small(t string, rows int) Latency {
	for _, x := range r.Small {
		if x.Transport == t && x.Rows == rows {
			return x
		}
	}
	return Latency{}
}

func (r *Results) handoff(t string) Latency {
	for _, x := range r.Handoff {
		if x.Transport == t {
			return x
		}
	}
	return Latency{}
}

func (r *Results) fanout(t string, n int) Fanout {
	for _, x := range r.Fanout {
		if x.Transport == t && x.Consumers == n {
			return x
		}
	}
	return Fanout{}
}

func (r *Results) fanoutMost(t string) Fanout {
	var most Fanout
	for _, x := range r.Fanout {
		if x.Transport == t && x.Consumers > most.Consumers {
			most = x
		}
	}
	return most
}

func mib(b float64) string { return fmt.Sprintf("%.0f MiB", b/(1<<20)) }

func us(d time.Duration) string { return fmt.Sprintf("%.1f µs", float64(d)/1e3) }

func ms(ns float64) string {
	if ns < 1e6 {
		return fmt.Sprintf("%.3f ms", ns/1e6)
	}
	return fmt.Sprintf("%.1f ms", ns/1e6)
}

func mrows(perSec float64) string { return fmt.Sprintf("%.1f M", perSec/1e6) }

// Markdown writes the report. chart, if not empty, is the chart's path,
// linked relative to the report.
func Markdown(w io.Writer, r *Results, chart string) error {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	e := r.Env
	p("# Benchmarks: cursorwindow against the transports users would pick instead\n\n")
	p("<!-- Generated by `make bench` (bench/cmd/cwbench). Do not edit: run it again. -->\n\n")
	commit := ""
	if e.Commit != "" {
		commit = ", library at " + e.Commit
	}
	p("Generated %s by `%s` (%s in all%s). Analysis: [PERFORMANCE.md](PERFORMANCE.md#benchmark-harness-cursorwindow-against-the-alternatives).\n\n", e.Date, e.Command, e.Elapsed, commit)
	p("- Machine: %s, %d cores, %.0f GiB, Linux %s (%s), %s. **A shared machine**: other work may run on the same cores, so absolute figures move from run to run; the ratios, measured side by side, are what to read.\n", e.CPU, e.Cores, e.MemGiB, e.Kernel, e.OS, e.Go)
	if e.Pinned != "" {
		p("- **Every process was pinned to CPU %s** (`-cpu`): no wake-up crosses CPUs, and the providers and consumers share one CPU's time (the scans and the fan-out are slower than on all CPUs).\n", e.Pinned)
	}
	p("- Every table has %s rows. The provider and every consumer are separate processes; each provider serves from typed Go slices built before timing. Transports are interleaved within a round, their order rotated each round; a warm-up round is dropped; figures are medians of %d rounds (fan-out: %d), latencies percentiles over all rounds' round trips (%d a round per transport).\n", thousands(e.Rows), e.Rounds, e.FanoutRounds, e.SmallN)
	p("- Wide table: int64, float64, a 25-byte string and a 64-byte blob per row (113 window bytes: two values, two offsets, the string and the blob). Narrow: one int64 (8 bytes a row in a window). Every consumer reads every value and checks a checksum.\n\n")
	if chart != "" {
		p("![scan throughput and fan-out memory](%s)\n\n", filepath.Base(chart))
	}

	p("## Targets\n\n| target | wanted | measured | |\n|---|---|---|---|\n")
	for _, t := range Targets(r) {
		verdict := "not measured"
		if t.Known {
			verdict = "**missed**"
			if t.Met {
				verdict = "met"
			}
		}
		p("| %s | %s | %s | %s |\n", t.What, t.Want, t.Measured, verdict)
	}

	p("\n## (a) Full scan\n\nTime from sending the query to reading the last value, every value read (cursorwindow: block by block, a column at a time, in place: numbers through `Window.Int64Values` and `Float64Values`, strings' and blobs' lengths from their checked offsets, nothing copied; the copying transports decode into row structs).\n\n")
	for _, tbl := range []string{"wide", "narrow"} {
		base := r.scan(tbl, "cursorwindow-filled")
		p("### %s table\n\n| transport | median | rows/s | ns/row | cursorwindow (filled) is |\n|---|---:|---:|---:|---:|\n", tbl)
		for _, s := range r.Scans {
			if s.Table != tbl {
				continue
			}
			ratio := ""
			if s.NS > 0 && base.NS > 0 {
				ratio = fmt.Sprintf("%.2f×", s.NS/base.NS)
			}
			p("| %s | %s | %s | %.1f | %s |\n", label(s.Transport), ms(s.NS), mrows(s.RowsPerSec()), s.NS/float64(max(s.Rows, 1)), ratio)
		}
		p("\n")
	}
	p("\"cursorwindow (filled) is N×\" reads: that transport takes N times as long (N < 1: it is faster). \"Filled\" is a server with window sharing off, so every scan fills every window, from its pool of recycled memfds (a provider's steady state); \"cached\" is the default server answering a repeated query from the sealed windows it keeps.\n\n")

	p("### Read efficiency\n\nReading every value of the wide table once the result is mapped: a cursor over one window that holds the whole, cached, already mapped result (the query itself not timed), against the same loop over Go slices in the consumer. The cursorwindow reader reads a column at a time (ids and fares in place through `Window.Int64Values` and `Float64Values`, lengths from the checked offsets), as every cursorwindow scan in this report does; \"row by row\" reads each row through `window.Row`'s inlined accessors.\n\n| reader | median | ns/row | vs Go slices |\n|---|---:|---:|---:|\n")
	slices := r.read("in-process")
	for _, x := range r.Read {
		p("| %s | %s | %.2f | %.2f× |\n", label(x.Transport), ms(x.NS), x.NS/float64(max(x.Rows, 1)), slices.NS/x.NS)
	}

	p("\n## (b) Small queries\n\nA query of 1 or 100 wide rows, every value read, one after another on one connection (%d a round per transport).\n\n", e.SmallN)
	p("| transport | rows | p50 | p99 | p50 vs msgpack |\n|---|---:|---:|---:|---:|\n")
	for _, l := range r.Small {
		m := r.small("msgpack", l.Rows)
		p("| %s | %d | %s | %s | %.2f× |\n", label(l.Transport), l.Rows, us(l.P50), us(l.P99), float64(l.P50)/float64(m.P50))
	}
	p("\n### Handoff\n\nA query answered by one cached, pooled window (about 90 %% full, already mapped by the consumer, which reads one value and closes the cursor), against the floor: one byte out, one byte back with a memfd attached, the descriptor closed (%d a round).\n\n", e.HandoffN)
	p("| round trip | p50 | p99 | p50 vs raw fd round trip |\n|---|---:|---:|---:|\n")
	raw := r.handoff("fd-roundtrip-raw")
	for _, l := range r.Handoff {
		p("| %s | %s | %s | %.2f× |\n", label(l.Transport), us(l.P50), us(l.P99), float64(l.P50)/float64(raw.P50))
	}

	p("\n## (c) Fan-out\n\nN consumer processes read the whole wide table at once from a provider process that serves only that transport (a fresh provider per trial). Wall time runs from the start signal to the last consumer's last value; PSS (`/proc/PID/smaps_rollup`) of every process is read when all are done, before any exits. cursorwindow consumers keep their cursor open (the result stays in hand, mapped); \"hold\" consumers of the copying transports keep the rows they decoded, \"stream\" consumers drop each row after reading it. \"Idle\" is the consumers' PSS once connected, before the scan: the Go runtime's fixed cost per process.\n\n")
	p("| transport | consumers | wall | total PSS | vs 1 consumer | provider | consumers | consumers idle | total less idle, vs 1 consumer |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, f := range r.Fanout {
		one := r.fanout(f.Transport, 1)
		p("| %s | %d | %s | %s | %.2f× | %s | %s | %s | %.2f× |\n", f.Transport, f.Consumers, ms(f.WallNS), mib(f.TotalPSS), f.TotalPSS/one.TotalPSS,
			mib(f.ProviderPSS), mib(f.ConsumerPSS), mib(f.IdlePSS), (f.TotalPSS-f.IdlePSS)/(one.TotalPSS-one.IdlePSS))
	}

	p("\n## (d) Provider fill\n\nThe provider's work to produce the wide table's rows, in one process: filling 2 MiB windows from the typed table through `provider.Rows.Put` (sealing each with `SealReusable`), or encoding the rows as the copying providers do. Allocations are for all the rows.\n\n")
	p("| work | median | rows/s | ns/row | allocations | bytes allocated |\n|---|---:|---:|---:|---:|---:|\n")
	for _, f := range r.Fill {
		p("| %s | %s | %s | %.1f | %.0f | %s |\n", label(f.Variant), ms(f.NS), mrows(perSec(f.Rows, f.NS)), f.NS/float64(max(f.Rows, 1)), f.Allocs, mib(f.Bytes))
	}
	return nil
}
