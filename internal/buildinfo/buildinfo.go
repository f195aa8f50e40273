// Package buildinfo says what a binary is: its version (stamped by the build
// with -ldflags "-X .../buildinfo.Version=..."), its build profile (full or
// tiny), the Go toolchain and target, and the features compiled in.
//
// Optional parts are dropped from small-flash builds by build tags. Each such
// part registers its feature name from an init function in a file that
// carries the same build constraint as the part itself, so the list printed
// by `srs-lite -v` is exactly what the linker kept:
//
//	//go:build !tiny
//
//	package rtc
//
//	func init() { buildinfo.Register("webrtc") }
//
// The tags in use: tiny (the small-flash profile: make cross-tiny or
// TAGS=tiny), noconsole (leaves out the web console; tiny implies it) and
// nethttpomithttp2 (the standard library's switch that drops HTTP/2 from
// net/http; the tiny profile sets it).
package buildinfo

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
)

// Version is the srs-lite version, stamped by the build (-ldflags -X);
// "dev" in a plain `go build`.
var Version = "dev"

var (
	mu       sync.Mutex
	features []string
)

// Register records features compiled into this binary. Call it from an init
// function in a file whose build constraint matches the feature's. Names are
// short lower-case words ("rtmp", "webrtc", "web-ui"); a repeated name is
// recorded once.
func Register(names ...string) {
	mu.Lock()
	defer mu.Unlock()
	for _, n := range names {
		if n != "" && !slices.Contains(features, n) {
			features = append(features, n)
		}
	}
}

// Features returns the registered features, sorted.
func Features() []string {
	mu.Lock()
	defer mu.Unlock()
	out := slices.Clone(features)
	slices.Sort(out)
	return out
}

// Has reports whether a feature is compiled in.
func Has(name string) bool {
	mu.Lock()
	defer mu.Unlock()
	return slices.Contains(features, name)
}

// Profile is the build profile: "tiny" when built with the tiny tag, else
// "full".
func Profile() string { return profile }

// Info is everything `srs-lite -v` prints.
type Info struct {
	Version  string   // Version
	Profile  string   // "full" or "tiny"
	Go       string   // runtime.Version()
	OS, Arch string   // runtime.GOOS, runtime.GOARCH
	Settings []string // "KEY=VALUE" build settings that matter on a board: GOARM, GOMIPS, -tags, ...
	Features []string // sorted
}

// Read collects the Info of the running binary.
func Read() Info {
	in := Info{Version: Version, Profile: profile, Go: runtime.Version(),
		OS: runtime.GOOS, Arch: runtime.GOARCH, Features: Features()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "GOARM", "GOMIPS", "GOMIPS64", "GOAMD64", "GOARM64", "GORISCV64", "-tags", "CGO_ENABLED", "vcs.revision", "vcs.modified":
				in.Settings = append(in.Settings, s.Key+"="+s.Value)
			}
		}
	}
	return in
}

// Write prints the Info as `srs-lite -v` shows it:
//
//	srs-lite 0.1.0 (full)
//	go: go1.26.8 linux/mipsle GOMIPS=softfloat CGO_ENABLED=0
//	features: http-api http-flv http2 rtmp sd_notify
func (in Info) Write(w io.Writer) error {
	_, err := fmt.Fprintf(w, "srs-lite %s (%s)\ngo: %s %s/%s%s\nfeatures: %s\n",
		in.Version, in.Profile, in.Go, in.OS, in.Arch, prefixed(" ", in.Settings),
		strings.Join(in.Features, " "))
	return err
}

func prefixed(sep string, ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return sep + strings.Join(ss, sep)
}
