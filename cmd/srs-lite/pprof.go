//go:build !tiny

package main

import (
	"os"
	"runtime/pprof"

	"github.com/srs-lite/srs-lite/internal/buildinfo"
)

// SRS_LITE_CPUPROFILE=FILE writes a CPU profile for `go tool pprof` (for
// development; left out of tiny builds with runtime/pprof).
func init() {
	buildinfo.Register("cpu-profile")
	startProfile = func() func() {
		p := os.Getenv("SRS_LITE_CPUPROFILE")
		if p == "" {
			return func() {}
		}
		f, err := os.Create(p)
		if err != nil || pprof.StartCPUProfile(f) != nil {
			return func() {}
		}
		return func() { pprof.StopCPUProfile(); f.Close() }
	}
}
