# padchat: `make run` starts the daemon with demo users, `make test` runs everything CI runs.
GO       ?= go
BIN      := bin
DATA     ?= var
FUZZTIME ?= 10s

.PHONY: all build run run-cluster test unit lint cross fuzz-smoke fuzz soak bench bench-smoke bench-files bench-compare bench-cluster clean

all: build

# Without cgo: the daemon needs no C library, and with it every OS thread the
# runtime makes is a pthread (8 MiB stack mapping, libc's thread code paged in:
# 128-192 kB of the idle bench's growth at 1,000 connections). Tests keep cgo
# (go test -race needs it).
build:
	CGO_ENABLED=0 $(GO) build -o $(BIN)/ ./cmd/...

run: build
	$(BIN)/padchatd --data $(DATA) --demo

# Three nodes and a NATS server on this machine, demo users alice, bob, carol (docs/CLUSTER.md).
run-cluster: build
	GO=$(GO) BIN=$(BIN) DIR=$(DATA)/cluster contrib/run-cluster.sh

# The one test command: format, vet, cross-builds, race-enabled tests, fuzz smoke.
test: lint cross unit fuzz-smoke

unit:
	$(GO) test -race -count=1 -timeout 25m ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

# kqueue cannot run here; make sure it and every BSD path at least build and vet.
cross:
	GOOS=darwin $(GO) build ./...
	GOOS=darwin $(GO) vet ./...
	GOOS=freebsd $(GO) build ./...
	GOOS=openbsd $(GO) build ./...
	GOOS=netbsd $(GO) build ./...

# Every fuzz target for FUZZTIME (one target per go test -fuzz run).
fuzz-smoke:
	FUZZTIME=$(FUZZTIME) .ci/fuzz

fuzz:
	FUZZTIME=5m .ci/fuzz

# The crash-point test with many runs of every point (make test runs each twice),
# the cluster fault test with many node kills (make test kills two), and
# IDLE_CONNS idle native connections held by one padchatd, every one answered
# after idling (its RSS and fds per connection in the line printed; about 8
# minutes for 19,000, most of it creating 19,000 users' pads).
CRASH_RUNS    ?= 20
CLUSTER_KILLS ?= 20
IDLE_CONNS    ?= 19000
soak: build
	PADCHAT_CRASH_RUNS=$(CRASH_RUNS) $(GO) test -race -count=1 -timeout 60m -run 'TestCrashPoint' -v ./tests/
	PADCHAT_CLUSTER_KILLS=$(CLUSTER_KILLS) $(GO) test -race -count=1 -timeout 30m -run 'TestClusterNodeKills' -v ./tests/
	$(BIN)/padchat-bench idle --target native --padchatd $(BIN)/padchatd --conns $(IDLE_CONNS) --settle 30s --strict --quiet

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# padchatd side by side with ngircd, Redis and NATS (installs them with apt if
# missing); writes bench/results/<date>.md and .svg. PADCHATD=path measures
# another padchatd build; BASELINE=path runs a second one in the same rounds
# (before/after), with BASELINE_BENCH=path if it speaks another protocol version.
PADCHATD       ?= $(BIN)/padchatd
BASELINE       ?=
BASELINE_BENCH ?= $(BIN)/padchat-bench
bench-compare: build
	PADCHATD=$(PADCHATD) BASELINE=$(BASELINE) BASELINE_BENCH=$(BASELINE_BENCH) bench/compare.sh

# Fan-out with the subscribers spread over 1, 2 and 3 cluster nodes (and one
# standalone padchatd), medians of 3; writes bench/results/<date>-cluster.md.
bench-cluster: build
	GO=$(GO) PADCHATD=$(BIN)/padchatd BENCH=$(BIN)/padchat-bench bench/cluster.sh

# A small padchatd-only run so the load generator keeps working (CI runs it).
bench-smoke: build
	$(BIN)/padchat-bench fanout --target native --padchatd $(BIN)/padchatd --subs 10 --pubs 2 --msgs 200 --strict --quiet
	$(BIN)/padchat-bench dm --target native --padchatd $(BIN)/padchatd --pubs 2 --msgs 100 --strict --quiet
	$(BIN)/padchat-bench files --padchatd $(BIN)/padchatd --file-size 4MiB --quiet

# Files (issue 17's figures): a 200 MB transfer as fast as it goes and to a
# 20 MB/s reader (MB/s, pad per file byte, daemon RSS growth), then a
# 100-client room's latency without and with a 200 MB file beside it.
bench-files: build
	$(BIN)/padchat-bench files --padchatd $(BIN)/padchatd --file-size 200MiB --quiet
	$(BIN)/padchat-bench files --padchatd $(BIN)/padchatd --file-size 200MiB --file-rate 20 --quiet
	$(BIN)/padchat-bench latency --padchatd $(BIN)/padchatd --subs 100 --quiet
	$(BIN)/padchat-bench latency --padchatd $(BIN)/padchatd --subs 100 --file-size 200MiB --file-rate 40 --quiet

clean:
	rm -rf $(BIN)
