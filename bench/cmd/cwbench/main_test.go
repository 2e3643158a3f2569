package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/bench/internal/report"
)

// TestMain lets the test binary play the harness's child roles: the
// harness re-executes os.Executable(), which is this binary under go test.
func TestMain(m *testing.M) {
	if spec := os.Getenv(envChild); spec != "" {
		os.Exit(runChild(spec))
	}
	os.Exit(m.Run())
}

// TestQuick runs every workload with tiny counts, across real processes,
// and checks that the report, the chart and the raw results are written
// with a figure for every transport.
func TestQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("starts some 30 processes")
	}
	dir := t.TempDir()
	cfg := quickConfig()
	cfg.Rows, cfg.SmallN, cfg.HandoffN, cfg.Rounds = 5_000, 5, 5, 1
	cfg.Markdown = filepath.Join(dir, "BENCHMARKS.md")
	cfg.PNG = filepath.Join(dir, "benchmarks.png")
	cfg.JSON = filepath.Join(dir, "results.json")
	cfg.Command = "cwbench (smoke test)"
	require.NoError(t, run(cfg, testLog{t}))

	md, err := os.ReadFile(cfg.Markdown)
	require.NoError(t, err)
	assert.Contains(t, string(md), "## Targets")
	assert.NotContains(t, string(md), "not measured")
	png, err := os.ReadFile(cfg.PNG)
	require.NoError(t, err)
	assert.Equal(t, "\x89PNG", string(png[:4]))

	b, err := os.ReadFile(cfg.JSON)
	require.NoError(t, err)
	var res report.Results
	require.NoError(t, json.Unmarshal(b, &res))
	assert.Len(t, res.Scans, 2*len(scanTransports))
	for _, s := range res.Scans {
		assert.Positive(t, s.NS, "%s %s", s.Table, s.Transport)
	}
	assert.Len(t, res.Small, 2*len(smallTransports))
	assert.Len(t, res.Handoff, len(handoffTransports()))
	assert.Len(t, res.Fanout, len(fanoutTransports)*len(cfg.Fanout))
	for _, f := range res.Fanout {
		assert.Positive(t, f.TotalPSS, "%s × %d", f.Transport, f.Consumers)
	}
	assert.Len(t, res.Fill, len(fillVariants))
}

type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
