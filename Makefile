# httpmq developer tasks. "make" alone lists them.

GO          ?= go
BIN         ?= bin/httpmq
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
FUZZTIME    ?= 20s
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(shell $(GO) env GOPATH)/bin/staticcheck
ARGS        ?=
BENCH_OUT   ?= bin/benchmarks.jsonl
BENCH_CHART ?= bin/benchmarks.png
PYTHON      ?= /usr/bin/python3
# The modules of the repository: the server (.), the wire protocol and the
# Go SDK, which have go.mod files of their own. "go ... ./..." does not
# enter nested modules, so test and lint run in each.
MODULES     := . protocol clients/go
PYTHON_DEBS := python3-websockets python3-msgpack python3-httpx python3-h2 python3-pytest python3-pytest-asyncio

.DEFAULT_GOAL := help
.PHONY: help build image run test test-deps test-python test-ts lint fmt doc fuzz bench bench-chart clean

help: ## Display this help screen
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "%-12s %s\n", $$1, $$2}'

build: ## Build the httpmq binary into bin/httpmq
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/httpmq

image: ## Build the container image httpmq:VERSION (needs a Docker engine; see docs/operations.md)
	docker build -t httpmq:$(VERSION) --build-arg VERSION=$(VERSION) .

run: ## Run "httpmq serve" (embedded JetStream in ./data); pass flags with ARGS="..."
	$(GO) run ./cmd/httpmq serve $(ARGS)

test: test-deps ## Run every test of every module with the race detector (installs what test-deps lists if missing)
	@set -e; for m in $(MODULES); do echo "== go test $$m"; (cd $$m && $(GO) test -race -count=1 ./...); done
	@$(MAKE) --no-print-directory test-python

test-python: ## Run the Python SDK's suite (clients/python) against a real httpmq, with Debian's python3
	cd clients/python && GO="$(GO)" $(PYTHON) -m pytest -q

test-ts: ## Run the TypeScript SDK's suite (clients/ts: npm ci, build, Chromium and Node against a real httpmq)
	$(GO) test -count=1 ./clients/ts

# What the tests need beyond Go: a command and the Debian package that has it.
TEST_DEPS := chromium:chromium docker-compose:docker-compose systemd-analyze:systemd python3:python3 nodejs:nodejs npm:npm

test-deps: ## Install what the tests need beyond Go: Debian's chromium (browser tests), docker-compose and systemd (packaging checks), nodejs and npm (clients/ts); needs root, otherwise those tests skip
	@missing=""; for dep in $(TEST_DEPS); do \
		cmd=$${dep%%:*}; pkg=$${dep#*:}; \
		if [ "$$cmd" = chromium ] && [ -n "$$HTTPMQ_CHROMIUM" ]; then continue; fi; \
		command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing$$missing for the tests"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
		else \
			echo "not installed:$$missing; the tests that need them will skip (apt-get install$$missing)"; \
		fi; \
	fi
	@if ! $(PYTHON) -c 'import websockets, msgpack, httpx, h2, pytest, pytest_asyncio' 2>/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing Debian's Python packages for clients/python"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(PYTHON_DEBS) >/dev/null; \
		else \
			echo "Python packages missing: make test-python will fail (apt-get install $(PYTHON_DEBS))"; \
		fi; \
	fi

lint: ## Check formatting (gofmt), go vet, staticcheck and tidy go.mod files, in every module
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then echo "gofmt needed (make fmt):"; echo "$$unformatted"; exit 1; fi
	@set -e; for m in $(MODULES); do echo "go vet $$m"; (cd $$m && $(GO) vet ./...); done
	@if ! "$(STATICCHECK)" -version 2>/dev/null | grep -q "($(STATICCHECK_VERSION:v%=%))"; then \
		echo "installing staticcheck $(STATICCHECK_VERSION)"; \
		$(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION); \
	fi
	@set -e; for m in $(MODULES); do echo "staticcheck $$m"; (cd $$m && "$(STATICCHECK)" ./...); done
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) mod tidy -diff) || { echo "go.mod or go.sum of $$m not tidy (go mod tidy in $$m)"; exit 1; }; done

fmt: ## Format every Go file (gofmt -w)
	gofmt -w .

doc: ## List the documentation and check the OpenAPI contract test
	@cat docs/README.md
	@echo
	$(GO) test -count=1 -run 'OpenAPI' ./admin/...

fuzz: ## Run each fuzz target for FUZZTIME (default 20s)
	@set -e; for m in $(MODULES); do (cd $$m; for pkg in $$($(GO) list ./...); do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$pkg $$target"; \
			$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done); done

bench: ## Measure httpmq against native nats.go: table on stdout, figures in BENCH_OUT (bin/benchmarks.jsonl); ARGS="-short" for a quick check
	$(GO) build -o bin/httpmq-bench ./cmd/httpmq-bench
	bin/httpmq-bench -json -count 100000 $(ARGS) > $(BENCH_OUT)
	bin/httpmq-bench -table-from $(BENCH_OUT)

bench-chart: ## Draw BENCH_CHART (bin/benchmarks.png) from BENCH_OUT (installs Debian's python3-matplotlib if missing)
	@/usr/bin/python3 -c 'import matplotlib' 2>/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-matplotlib >/dev/null)
	/usr/bin/python3 scripts/bench-chart.py $(BENCH_OUT) $(BENCH_CHART)

clean: ## Remove build output (bin/) and the default data directory (./data)
	rm -rf bin data
