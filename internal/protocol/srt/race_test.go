//go:build race

package srt

// raceEnabled: the race detector slows the code 5-10x, so the real-time
// loss and latency tests (deadlines of 20-250 ms) run without it (make unit
// runs them in a native step).
const raceEnabled = true
