# srs-lite — see README.md.
GO       ?= go
BIN      ?= bin/srs-lite
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X github.com/srs-lite/srs-lite/internal/server.Version=$(VERSION)
CONF     ?= conf/srs-lite.toml
# Packages whose unit tests run under the race detector.
UNIT     := ./internal/... ./cmd/...

.PHONY: all build run test unit integration fuzz-seeds bench vet deps clean

all: build

## build: the static server binary, bin/srs-lite
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/srs-lite

## run: build, then run with conf/srs-lite.toml (the defaults, commented)
run: build
	./$(BIN) -c $(CONF)

## test: vet, unit tests (race detector, fuzz seed corpora) and integration tests against ffmpeg
test: deps vet unit integration

## deps: make sure the test peers (ffmpeg, ffprobe) are installed
deps:
	@scripts/test-deps.sh

vet:
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 -timeout 10m $(UNIT)

integration: build
	SRS_LITE_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 10m -v ./test/... 2>&1 | scripts/summarize-tests.sh

## bench: every hot-path benchmark, with allocations
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./internal/...

clean:
	rm -rf bin
