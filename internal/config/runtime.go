package config

// GC percent limits of [server] gc_percent: -1 turns the collector off.
const (
	minGCPercent = 10
	maxGCPercent = 10000
)

// validateRuntime checks the [server] keys a board profile may also set:
// the Go memory limit and GC percent. The board's name is checked when the
// server loads the profile (the config knows no profiles).
func (c *Config) validateRuntime(ps *problems) {
	s := c.Server
	if s.MemoryLimit < 0 {
		ps.check("server.memory_limit", "%d is negative: use 0 for the board's limit", s.MemoryLimit)
	}
	if g := s.GCPercent; g != -1 && (g < minGCPercent || g > maxGCPercent) {
		ps.check("server.gc_percent", "%d: must be -1 (collector off) or %d..%d", g, minGCPercent, maxGCPercent)
	}
}
