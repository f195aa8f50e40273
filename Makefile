# srs-lite — see README.md.
GO       ?= go
BIN      ?= bin/srs-lite
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
MODULE   := github.com/srs-lite/srs-lite
LDFLAGS  := -s -w -X $(MODULE)/internal/server.Version=$(VERSION) -X $(MODULE)/internal/buildinfo.Version=$(VERSION)
CONF     ?= conf/srs-lite.toml
# Packages whose unit tests run under the race detector.
UNIT     := ./internal/... ./cmd/...
# Cross builds (scripts/cross.sh names): all of them, and those make test runs
# under qemu-user. TAGS=tiny (or make cross-tiny) builds the small-flash profile.
CROSS_TARGETS      ?= amd64 arm64 armv7 armv6 armv5 mipsle mips mips64le riscv64
CROSS_TEST_TARGETS ?= mipsle mips armv5 armv7 arm64
# Packages whose unit tests run on big-endian mips; empty: every wire-format package that exists.
CROSS_UNIT_PKGS    ?=
TAGS     ?=

.PHONY: all build run test unit integration fuzz-seeds bench vet deps clean \
	cross cross-tiny cross-test-bins cross-unit size-check package package-check

all: build

## build: the static server binary, bin/srs-lite
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/srs-lite

## run: build, then run with conf/srs-lite.toml (the defaults, commented)
run: build
	./$(BIN) -c $(CONF)

## test: vet, unit tests (race detector, fuzz seed corpora), the wire-format tests on big-endian
## mips under qemu, integration tests against ffmpeg (cross builds under qemu too), a .deb and an .ipk
test: deps vet unit cross-unit package-check integration

## deps: make sure the test peers (ffmpeg, ffprobe) are installed
deps:
	@scripts/test-deps.sh

vet:
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 -timeout 10m $(UNIT)
	@# The allocation pins again without -race, under which sync.Pool drops items at random;
	@# and SRT's real-time loss and latency tests, whose deadlines -race's slowdown breaks.
	$(GO) test -count=1 -timeout 5m -run 'Alloc' $(UNIT)
	$(GO) test -count=1 -timeout 5m -run 'TestLossyLink|TestTooLittleLatency' ./internal/protocol/srt/
	@# What the tiny profile builds differently: its config refusals, components, API and HTTP client.
	$(GO) test -count=1 -timeout 5m -tags tiny ./internal/config/ ./internal/server/ ./internal/api/ ./internal/http1/ ./internal/service/hooks/ ./internal/config/txn/

# The HTTP tests again against a tiny build, which serves and calls HTTP with
# internal/http1 rather than net/http's server and client: real players
# (hls.js, mpegts.js, GStreamer, VLC, ffmpeg), nginx, hooks, OTA, cluster.
TINY_TESTS := ^(TestBrowserHLS|TestBrowserHTTPFLV|TestLLHLS|TestHLSLive|TestHLSAudioOnly|TestGStreamerHLS|TestVLCPlay|TestHTTPRemux|TestHooks|TestHeartbeat|TestConfigPull|TestConfigPullSigned|TestConfigPut|TestOriginClusterHTTP|TestEdgeFLVPull|TestAPIAuth|TestAPILoopbackOnly|TestStaticFilesTraversal|TestMaxConnectionsEveryProtocol|TestKickPlayer)$$

integration: build cross-test-bins
	SRS_LITE_BIN=$(CURDIR)/$(BIN) SRS_LITE_CROSS_DIR=$(CURDIR)/bin $(GO) test -count=1 -timeout 15m -v ./test/... 2>&1 | scripts/summarize-tests.sh
	CGO_ENABLED=0 $(GO) build -trimpath -tags tiny,nethttpomithttp2 -ldflags "$(LDFLAGS)" -o bin/srs-lite-tiny ./cmd/srs-lite
	SRS_LITE_BIN=$(CURDIR)/bin/srs-lite-tiny $(GO) test -count=1 -timeout 5m -parallel 4 -v -run '$(TINY_TESTS)' ./test/ 2>&1 | LABEL="integration (tiny build)" scripts/summarize-tests.sh

## bench: every hot-path benchmark, with allocations
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./internal/...

## cross: static, stripped, version-stamped binaries for every target: bin/srs-lite-linux-TARGET,
## then a size table checked against packaging/size-budget.txt
cross:
	VERSION=$(VERSION) TAGS="$(TAGS)" scripts/cross.sh $(CROSS_TARGETS)

## cross-tiny: the same in the tiny profile (bin/srs-lite-linux-TARGET-tiny)
cross-tiny:
	VERSION=$(VERSION) TAGS="tiny $(TAGS)" scripts/cross.sh $(CROSS_TARGETS)

# What make test runs under qemu, and the tiny mipsle build for its size budget.
cross-test-bins:
	VERSION=$(VERSION) scripts/cross.sh $(CROSS_TEST_TARGETS)
	VERSION=$(VERSION) TAGS=tiny scripts/cross.sh mipsle

## cross-unit: unit tests of the wire-format packages on big-endian mips (go test -exec qemu-mips-static)
cross-unit:
	scripts/cross-unit.sh $(CROSS_UNIT_PKGS)

## size-check: the size table of bin/srs-lite-linux-*, failing on a budget overrun
size-check:
	scripts/size-check.sh

## package: .deb and .ipk for every architecture into dist/ (nfpm, pinned in packaging/nfpm)
package: cross
	scripts/package.sh

# One .deb and one .ipk, built fresh and inspected (make test).
package-check: build
	VERSION=$(VERSION) scripts/cross.sh amd64 mipsle >/dev/null
	rm -rf dist/check
	DIST=dist/check scripts/package.sh deb:amd64 ipk:mipsel_24kc
	SRS_LITE_BIN=$(CURDIR)/$(BIN) SRS_LITE_DIST=$(CURDIR)/dist/check $(GO) test -count=1 ./packaging/

clean:
	rm -rf bin dist
