//go:build race

package dgram

// raceEnabled: the race detector makes sync.Pool drop items at random, so
// pool-backed allocation counts are not deterministic.
const raceEnabled = true
