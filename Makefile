# tracehound — build, test, benchmark and demo.
# `make demo` and `make test` do all set-up on a fresh machine (Go modules;
# later milestones add Debian packages and npm through .ci/setup).

GO        ?= go
BIN       := bin/tracehound
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X github.com/tracehound/tracehound/app.Version=$(VERSION)
# Tests and builds share the machine's two cores; DuckDB's cgo link is heavy.
TESTFLAGS ?= -timeout 20m
FUZZTIME  ?= 2s
# The data directory of `make demo` and `make ipdata`.
DATA      ?= ./tracehound-data

.PHONY: all setup build test test-faults test-ui test-acceptance bench bench-go bench-ingest bench-large demo ipdata ui lint fuzz clean

all: build

# Debian packages the tests use as real clients (CrowdSec bouncer, nft, ipset).
setup:
	@.ci/setup

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/tracehound

test: setup
	$(GO) vet ./...
	$(GO) test $(TESTFLAGS) ./...
	@$(MAKE) --no-print-directory test-acceptance
	@$(MAKE) --no-print-directory test-faults
	@$(MAKE) --no-print-directory test-ui

# The acceptance runs of exclusions (a week of a scenario, the built-in
# rules replayed with and without each candidate): about 3 minutes.
test-acceptance:
	TRACEHOUND_ACCEPTANCE=1 $(GO) test -count=1 -v -timeout 60m -run 'TestSuggestionsOnBenignSpike|TestDryRunFlagsCampaignOnDataVault' ./app/

# The crash (kill -9 while ingesting), 3x overload and disk-full tests of
# the real binary, about two minutes, loopback only; prints their figures.
test-faults:
	@log=$$(mktemp); TRACEHOUND_FAULT_TESTS=1 $(GO) test -count=1 -v -timeout 10m -run '^TestFault' ./cmd/tracehound/ >$$log 2>&1; rc=$$?; \
	grep -E '^(--- |ok|FAIL|PASS)|^FIGURES|fault_test.go' $$log | grep -v '^    fault_test.go:[0-9]*: FIGURES'; \
	[ $$rc -eq 0 ] || tail -50 $$log; rm -f $$log; exit $$rc

# Go benchmarks of the hot paths, then the end-to-end ingest load test.
bench: bench-go bench-ingest

# The reference-query and inventory benchmarks build 10-million-span stores
# first (cached under $$TMPDIR/tracehound-bench for the queries).
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./span/ ./store/duckdb/ ./app/
	$(GO) test -run '^$$' -bench 'Template|Classify' -benchmem ./apimap/
	$(GO) test -run '^$$' -bench BuildInventory -benchtime 3x ./apimap/
	$(GO) test -run '^$$' -bench FiftyRules -benchtime 5x ./alert/
	$(GO) test -run '^$$' -bench . -benchmem ./alert/stepfile/

# Timings at full scale: a week of a 12 M/day stream (84 M synthetic spans,
# built once into LARGE_STORE, about 11 minutes, then compacted as the
# server would, about 9 minutes); the forensic questions (≤ 2 s each) and
# investigations of 3 and of 1,000 addresses (≤ 3 s, ≤ 60 s). Not part of
# `bench`: it needs about 6 GB of disk and half an hour the first time. A
# forensic question over its bound is reported and the investigations
# still run.
LARGE_STORE ?= $${TMPDIR:-/tmp}/tracehound-large/traces.duckdb
bench-large:
	@mkdir -p $$(dirname $(LARGE_STORE))
	-FORENSICS_LARGE_STORE=$(LARGE_STORE) FORENSICS_LARGE_SPANS=84000000 $(GO) test -count=1 -v -timeout 90m -run TestLargeStoreTimes ./forensics/
	DETECT_LARGE_STORE=$(LARGE_STORE) $(GO) test -count=1 -v -timeout 30m -run TestLargeStoreInvestigations ./detect/

# End-to-end OTLP/HTTP ingest: a real server process, 2 clients, 512 spans
# per request, ~20 attributes per span, 60 s; reports spans/s, peak RSS
# and the server's CPU per span.
bench-ingest: build
	$(GO) run ./internal/loadgen -server $(BIN) -duration $${DURATION:-60s}

demo: ipdata
	@$(MAKE) --no-print-directory ui || echo "make demo: WARNING: could not build the web UI (needs npm); the binary serves a placeholder page, the CLI and API work" >&2
	@$(MAKE) --no-print-directory build
	$(BIN) demo --data $(DATA)

# Offline IP range tables (ASN and country, CC BY 4.0) into $(DATA)/ipdata,
# where enrichment finds them. Fetching needs npm and the network; without
# them this warns and enrichment keeps the embedded data-center ASN set.
ipdata:
	@ipintel/data/fetch.sh $(DATA)/ipdata || echo "make ipdata: WARNING: could not fetch the IP range tables (needs npm and network); IP enrichment falls back to the embedded data-center ASN set" >&2

# The web UI (web/ui) builds into web/dist, which the binary embeds;
# without it the binary serves a placeholder page that says to run this.
ui:
	cd web/ui && npm ci --no-audit --no-fund && npm run build

# UI unit tests (Vitest), then browser tests against a real seeded server
# (Debian chromium through playwright-core); screenshots of every page go
# to web/ui/e2e/screenshots (E2E_SCREENSHOTS).
test-ui: ui
	cd web/ui && npm test
	web/ui/e2e/run.sh

lint:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }

# Short coverage-guided fuzzing of every fuzz target (FUZZTIME each).
fuzz:
	FUZZTIME=$(FUZZTIME) .ci/fuzz

clean:
	rm -rf bin tracehound-data
