package board

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// Runtime is what the Go runtime runs with: the soft memory limit
// (debug.SetMemoryLimit; 0: none) and the GC percent (debug.SetGCPercent;
// -1: off), and whether each came from the environment (GOMEMLIMIT, GOGC),
// which wins over any profile or config.
type Runtime struct {
	MemoryLimit    int64 `json:"memory_limit"`
	GCPercent      int   `json:"gc_percent"`
	MemoryLimitEnv bool  `json:"memory_limit_env,omitempty"`
	GCPercentEnv   bool  `json:"gc_percent_env,omitempty"`
}

// noLimit is the runtime's value for "no memory limit".
const noLimit = int64(^uint64(0) >> 1) // math.MaxInt64

// SetRuntime applies limit (bytes; 0: none) and gcPercent (0: leave it) to
// the Go runtime, except what the environment set (GOMEMLIMIT, GOGC), and
// returns what is in force afterwards.
func SetRuntime(limit int64, gcPercent int) Runtime {
	var r Runtime
	if os.Getenv("GOMEMLIMIT") != "" {
		r.MemoryLimitEnv = true
	} else {
		if limit <= 0 {
			limit = noLimit
		}
		debug.SetMemoryLimit(limit)
	}
	r.MemoryLimit = debug.SetMemoryLimit(-1) // a negative value only reads it
	if r.MemoryLimit == noLimit {
		r.MemoryLimit = 0
	}
	if env := os.Getenv("GOGC"); env != "" {
		r.GCPercentEnv = true
		r.GCPercent = 100
		if strings.EqualFold(env, "off") {
			r.GCPercent = -1
		} else if n, err := strconv.Atoi(env); err == nil {
			r.GCPercent = n
		}
		return r
	}
	if gcPercent == 0 {
		gcPercent = debug.SetGCPercent(100) // read it back: it was unset
	}
	debug.SetGCPercent(gcPercent)
	r.GCPercent = gcPercent
	return r
}
