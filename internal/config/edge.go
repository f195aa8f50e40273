package config

// validateEdge checks the edge keys of [vhost.cluster]: the mode, the
// origins an edge pulls from and how it pulls. origin_cluster and coworkers
// are the origin's.
func (v *Vhost) validateEdge(ps *problems, p string) {
	c := v.Cluster
	oneOf(ps, p+".cluster.mode", c.Mode, ModeLocal, ModeRemote)
	oneOf(ps, p+".cluster.protocol", c.Protocol, "rtmp", "flv")
	for _, o := range c.Origins {
		if _, _, err := splitAddr(o, true); err != nil {
			ps.check(p+".cluster.origins", "%v", err)
			break
		}
	}
	// The origin cluster is not in this build: refused when set, never
	// silently ignored.
	if c.OriginCluster {
		ps.check(p+".cluster.origin_cluster", "not supported yet (the origin cluster is not in this build)")
	}
	if len(c.Coworkers) > 0 {
		ps.check(p+".cluster.coworkers", "not supported yet (the origin cluster is not in this build)")
	}
	if c.Mode == ModeRemote && len(c.Origins) == 0 {
		ps.check(p+".cluster.origins", "an edge (mode = %q) needs at least one origin", ModeRemote)
	}
}
