# cursorwindow — build, test, benchmark, fuzz and demo targets.
# Every target works on a fresh machine with only Go installed (modules are
# fetched through the Go module proxy).

GO          ?= go
PKGS        ?= ./...
FUZZTIME    ?= 60s
SHORTFUZZ   ?= 3s
BENCHTIME   ?= 1s
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all build test vet race fuzz fuzz-short bench harness bench-module lint demo clean

all: build

build:
	$(GO) build $(PKGS)

vet:
	$(GO) vet $(PKGS)

race:
	$(GO) test -race -count=1 $(PKGS)

# make test: vet, the race-enabled test suite (which also runs every fuzz
# target's seed corpus), a short coverage-guided run of every fuzz target,
# and the benchmark harness module (its own go.mod): vet and its smoke test.
test: vet race fuzz-short bench-module

bench-module:
	cd bench && $(GO) vet ./... && $(GO) test ./...

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

# make harness HARNESS_FLAGS=-quick for a fast look (writes the same files).
HARNESS_FLAGS ?=
harness:
	cd bench && $(GO) build -o ../bin/cwbench ./cmd/cwbench
	./bin/cwbench -md docs/BENCHMARKS.md -png docs/benchmarks.png $(HARNESS_FLAGS)

lint:
	$(GO) run $(STATICCHECK) $(PKGS)
	cd bench && $(GO) run $(STATICCHECK) ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)

# make demo: build examples/provider and examples/consumer into ./bin, serve
# the generated sample database (1,000,000 trips) and run consumer commands
# against it; see scripts/demo.sh. ROWS=N for a smaller database.
demo:
	GO="$(GO)" ./scripts/demo.sh

clean:
	$(GO) clean -testcache
