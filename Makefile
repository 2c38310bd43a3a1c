# Ward's build. `make run` starts the daemon on its defaults; `make test` runs every test.
GO        ?= go
BIN       := bin/ward
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
PKGS      := ./...
STATICCHECK_VERSION := v0.7.0

.PHONY: build run test test-short bench lint fuzz clean victoria-metrics

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/ward

run: build
	./$(BIN) serve

test:
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

# The remote-write integration test (cmd/ward/e2e_remote_test.go) runs against a real
# VictoriaMetrics single-node built from the Go module proxy and cached here; `make test`
# skips it (with a message) when the binary is absent outside CI. CI builds it first.
VM_VERSION ?= v1.151.0
VM_BIN     ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/ward-test/victoria-metrics-$(VM_VERSION)

victoria-metrics: $(VM_BIN)

$(VM_BIN):
	set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	GOBIN="$$tmp" GOFLAGS=-mod=mod $(GO) install github.com/VictoriaMetrics/VictoriaMetrics/app/victoria-metrics@$(VM_VERSION); \
	mkdir -p "$$(dirname $@)"; mv "$$tmp/victoria-metrics" $@

test-short:
	$(GO) test -count=1 -short $(PKGS)

# Benchmarks and side-by-side comparisons; results go to bench/RESULTS.md.
bench: build
	bench/run.sh

lint:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) $(PKGS)

# Runs every fuzz target for FUZZTIME each (CI uses a short time).
FUZZTIME ?= 10s
fuzz:
	.ci/fuzz.sh $(FUZZTIME)

clean:
	rm -rf bin

# Refreshes the browser libraries kept in ui/static/vendor from the versions pinned in
# ui/package-lock.json. Needs npm; building and running Ward does not.
.PHONY: ui-vendor
ui-vendor:
	set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	cp ui/package.json ui/package-lock.json "$$tmp"/; \
	npm ci --prefix "$$tmp" --no-audit --no-fund; \
	cp "$$tmp"/node_modules/uplot/dist/uPlot.iife.min.js "$$tmp"/node_modules/uplot/dist/uPlot.min.css ui/static/vendor/; \
	cp "$$tmp"/node_modules/uplot/LICENSE ui/static/vendor/uPlot.LICENSE
