# gocluster build, test and release entry points.
GO       ?= go
BIN      := bin/gocluster
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X github.com/gocluster/gocluster/internal/cli.Version=$(VERSION)
RUN_ARGS ?=

.PHONY: all build run setup test fuzz unit e2e race bench faults docs vet fmt clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/gocluster

setup:
	@./scripts/setup.sh

# The main job: a local cluster on the embedded engine, until Ctrl-C. It
# needs nothing but Go (modules download on build), not even redis-server.
run: build
	./$(BIN) local up $(RUN_ARGS)

# The end-to-end suites about administering real servers: `make test` runs
# them against redis-server/redis-cli, then again against
# valkey-server/valkey-cli (e2e/valkey always runs against Valkey).
SERVER_E2E := ./e2e/check ./e2e/commands ./e2e/dropin ./e2e/migrate ./e2e/provision ./e2e/repair ./e2e/badinput ./e2e/watch

# All tests: unit, race and end-to-end against real redis-server / redis-cli
# and valkey-server / valkey-cli, then a bounded fuzz run of the engine.
test: setup vet
	$(GO) test -race -count=1 -timeout 40m ./...
	GOCLUSTER_TEST_SERVER=valkey $(GO) test -race -count=1 -timeout 40m $(SERVER_E2E)
	$(MAKE) --no-print-directory fuzz

# Fuzzing of the engine's hostile-input surface, FUZZTIME per target
# (`make fuzz FUZZTIME=30m` for a long run). Go fuzzes one target at a time.
FUZZTIME ?= 20s
FUZZ_ARGS = -run '^$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
fuzz:
	GO=$(GO) ./.ci/fuzz '^FuzzReader$$' ./pkg/engine/resp $(FUZZ_ARGS)
	GO=$(GO) ./.ci/fuzz '^FuzzReadReply$$' ./pkg/engine/resp $(FUZZ_ARGS)
	GO=$(GO) ./.ci/fuzz '^FuzzDispatch$$' ./pkg/engine/server $(FUZZ_ARGS)
	GO=$(GO) ./.ci/fuzz '^FuzzMatch$$' ./pkg/engine/store $(FUZZ_ARGS)
	GO=$(GO) ./.ci/fuzz '^FuzzHLL$$' ./pkg/engine/store $(FUZZ_ARGS)
	GO=$(GO) ./.ci/fuzz '^FuzzDecodeMessage$$' ./pkg/engine/cluster $(FUZZ_ARGS)
	GO=$(GO) ./.ci/fuzz '^FuzzDecodeDump$$' ./pkg/engine/rdb $(FUZZ_ARGS)
	GO=$(GO) ./.ci/fuzz '^FuzzReplay$$' ./pkg/engine/aof $(FUZZ_ARGS)

unit:
	$(GO) test -count=1 ./pkg/... ./internal/...

e2e: setup build
	$(GO) test -count=1 -timeout 40m ./e2e/...

bench: setup build
	$(GO) test -count=1 -timeout 60m -run '^$$' -bench . -benchtime 1x ./e2e/bench/...
	GOCLUSTER_TEST_SERVER=valkey $(GO) test -count=1 -timeout 60m -run '^$$' -bench . -benchtime 1x ./e2e/bench

# The fault campaign (docs/reliability.md): gocluster commands interrupted
# by faults at random moments on real clusters, every acknowledged write
# checked afterwards. `make test` runs its short default; a long run is
# `make faults FAULTS_TRIALS=300`, one trial again `make faults
# FAULTS_SEED=<seed> FAULTS_TRIALS=1`. FAULTS_REPORT=file keeps the tables.
FAULTS_SEED ?= $(shell date +%s)
faults: setup
	FAULTS_SEED=$(FAULTS_SEED) $(GO) test -count=1 -timeout 0 -run '^TestFaultCampaign$$' -v ./e2e/faults

docs: build
	$(GO) run ./internal/tools/gendocs docs

vet:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin dist
