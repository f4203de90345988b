# OpenToken. `make test` is the one test command; CI runs exactly it.
GO ?= go

.PHONY: all generate check-generate build run test bench bench-compare loadtest soak vet lint fmt-check node-deps

all: build

## generate: compile spec/ into generated/ (writes only changed files)
generate:
	$(GO) generate ./generated

## check-generate: fail when generated/ is not what spec/ produces
check-generate:
	$(GO) test ./gen -run 'TestGeneratedIsFresh|TestReadmeTablesAreFresh' -count=1

## build: the gateway binary, bin/opentoken; it names the git revision it
## was built from (`opentoken version`) whatever GOFLAGS says
build:
	$(GO) build -trimpath -buildvcs=auto -o bin/opentoken ./cmd/opentoken

## run: build and start the gateway (emulated upstreams when no keys are set)
run: build
	./bin/opentoken

## fmt-check: fail on files gofmt would change
fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...
	cd sdktest && $(GO) vet ./...

## lint: staticcheck, pinned in tools.go, over both modules
lint:
	$(GO) build -o bin/staticcheck honnef.co/go/tools/cmd/staticcheck
	bin/staticcheck ./...
	cd sdktest && ../bin/staticcheck ./...

## node-deps: the npm packages the Node SDK test drives the gateway with
## (installed again whenever the lockfile is newer than the install)
node-deps:
	@if command -v npm >/dev/null; then \
		[ sdktest/node/node_modules/.package-lock.json -nt sdktest/node/package-lock.json ] || (cd sdktest/node && npm ci --no-audit --no-fund); \
	else echo "npm not found: the Node SDK test will be skipped"; fi

## test: formatting, vet, freshness of generated/, every test with -race, and
## the allocation budgets (which the race detector's own allocations would skew)
test: fmt-check vet lint check-generate node-deps
	$(GO) test -race -count=1 ./...
	cd sdktest && $(GO) test -race -count=1 ./...
	$(GO) test -count=1 -run 'Allocation' ./bench ./server

## bench: every micro-benchmark, with allocations
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## bench-compare: the micro-benchmarks of BASE (a git revision, HEAD by
## default) and of the working tree, interleaved six times, compared with the
## benchstat pinned in tools.go; BENCH selects them
BASE ?= HEAD
BENCH ?= .
bench-compare:
	@set -e; dir=$$(mktemp -d); trap 'git worktree remove --force '$$dir'/base; rm -rf '$$dir EXIT; \
	git worktree add -q --detach $$dir/base $(BASE); \
	(cd $$dir/base && $(GO) test -c -o $$dir/old.test ./bench); \
	$(GO) test -c -o $$dir/new.test ./bench; \
	cd bench; for i in 1 2 3 4 5 6; do \
		$$dir/old.test -test.run '^$$' -test.bench '$(BENCH)' -test.benchmem >> $$dir/old.txt; \
		$$dir/new.test -test.run '^$$' -test.bench '$(BENCH)' -test.benchmem >> $$dir/new.txt; \
	done; cd ..; $(GO) run golang.org/x/perf/cmd/benchstat $$dir/old.txt $$dir/new.txt

## loadtest: the load harness (OpenToken vs a direct call, a bare proxy and
## Portkey, side by side); writes bench/RESULTS.md and bench/plots/
loadtest:
	$(GO) run ./bench/cmd/loadbench -out bench

## soak: ten minutes of mixed traffic with faults, 70 s and 5 min streams,
## memory and descriptors sampled; writes bench/RESULTS-soak.md
soak:
	$(GO) run ./bench/cmd/soak -duration 10m -rate 50
