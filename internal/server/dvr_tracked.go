package server

import (
	"sync"
	"time"
)

// tracked are the durations of the recordings the DVR finished in this
// run (the API lists TS files with them); empty in the tiny profile.
type tracked struct {
	mu sync.Mutex
	m  map[string]time.Duration
}
