# cursorwindow — build, test, benchmark, fuzz and demo targets.
# Every target works on a fresh machine with only Go installed (modules are
# fetched through the Go module proxy).
#
# The repository holds four modules: the library (.), arrow/ (Arrow and
# the Flight SQL gateway, with arrow-go and gRPC), examples/ (the example
# programs, with modernc.org/sqlite and arrow/) and bench/ (the benchmark
# harness). Each has its own go.mod, so the library's stays small.

GO          ?= go
PKGS        ?= ./...
FUZZTIME    ?= 60s
SHORTFUZZ   ?= 3s
BENCHTIME   ?= 1s
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

MODULES     := arrow examples bench

.PHONY: all build test fmt-check vet race fuzz fuzz-short bench bench-flight harness harness-pinned arrow-module examples-module bench-module lint demo clean

all: build

build:
	$(GO) build $(PKGS)
	for m in $(MODULES); do (cd $$m && $(GO) build ./...) || exit 1; done

vet:
	$(GO) vet $(PKGS)
	for m in $(MODULES); do (cd $$m && $(GO) vet ./...) || exit 1; done

race:
	$(GO) test -race -count=1 $(PKGS)

# make test: gofmt of every file, vet of every module, the library's race-enabled test suite
# (which also runs every fuzz target's seed corpus), a short
# coverage-guided run of every fuzz target, then each other module's
# tests: arrow (race), examples (the end-to-end tests of the real
# binaries, the database/sql driver against SQLite, Arrow and Parquet
# read back by arrow-go and, if node and npm are here, by apache-arrow
# and DuckDB from npm) and
# the benchmark harness's smoke test.
test: fmt-check vet race fuzz-short arrow-module examples-module bench-module

# Every tracked Go file is gofmt'd (make lint also runs staticcheck).
fmt-check:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "not gofmt'd:"; gofmt -l $$(git ls-files '*.go'); exit 1)

arrow-module:
	cd arrow && $(GO) test -race -count=1 ./...

# The examples' tests run the real binaries in child processes and compare
# with SQLite: without -race, whose build of modernc.org/sqlite (and arrow-go)
# would double a cold make test. The concurrent code they drive is the
# library's and the driver's, whose own tests run under -race above.
examples-module:
	cd examples && $(GO) test -count=1 ./...

bench-module:
	cd bench && $(GO) test -count=1 ./...

fuzz-short:
	FUZZTIME=$(SHORTFUZZ) ./scripts/fuzz.sh

# make fuzz FUZZTIME=10m for longer runs.
fuzz:
	FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

# make bench: the library's go benchmarks, then the harness comparing
# cursorwindow with the other transports across processes, which writes
# docs/BENCHMARKS.md and docs/benchmarks.png (a few minutes).
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $(PKGS)
	$(MAKE) harness

# make bench-flight: the Flight SQL gateway against the harness's gRPC
# stream and a Flight server of Arrow memory, 1,000,000 wide rows on
# loopback TCP, and the RecordReader's cost over a cursor scan (a few
# minutes; not part of make test).
bench-flight:
	cd bench && $(GO) test -run '^$$' -bench 'Flight|RecordReader' -benchtime 3x -timeout 30m ./internal/flightstream/

# make harness HARNESS_FLAGS=-quick for a fast look (writes the same files).
HARNESS_FLAGS ?=
harness:
	cd bench && $(GO) build -o ../bin/cwbench ./cmd/cwbench
	./bin/cwbench -md docs/BENCHMARKS.md -png docs/benchmarks.png $(HARNESS_FLAGS)

# make harness-pinned: the same run with every process pinned to CPU 0,
# so that no wake-up crosses CPUs (docs/BENCHMARKS-PINNED.md): on a
# virtual machine whose idle CPUs wake slowly at times, the small-query
# and handoff ratios of one unpinned run depend on when it ran.
harness-pinned:
	cd bench && $(GO) build -o ../bin/cwbench ./cmd/cwbench
	./bin/cwbench -cpu 0 -md docs/BENCHMARKS-PINNED.md -png docs/benchmarks-pinned.png $(HARNESS_FLAGS)

lint:
	$(GO) run $(STATICCHECK) $(PKGS)
	for m in $(MODULES); do (cd $$m && $(GO) run $(STATICCHECK) ./...) || exit 1; done
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)

# make demo: build examples/provider and examples/consumer into ./bin, serve
# the generated sample database (1,000,000 trips) and run consumer commands
# against it; see scripts/demo.sh. ROWS=N for a smaller database.
demo:
	GO="$(GO)" ./scripts/demo.sh

clean:
	$(GO) clean -testcache
