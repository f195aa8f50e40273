package server

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"slices"

	"github.com/srs-lite/srs-lite/internal/api"
	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/device/board"
	"github.com/srs-lite/srs-lite/internal/media"
)

// boardInfo is the board profile in force and what it set.
type boardInfo struct {
	profile  *board.Profile
	memory   board.Memory
	applied  []string // keys the profile set
	kept     []string // keys the config file set, which win over the profile
	runtime  board.Runtime
	maxConns int
}

// withBoard returns a copy of c with the board profile's values filled in
// where the config file sets none: the profile [server] board names (found
// next to the config file, in /etc/srs-lite/board, or built in), or, with
// none named, the sizing of the built-in profile for the RAM size. Keys the
// file sets win over the profile, which wins over the built-in defaults. A
// profile that cannot be loaded, or that makes the config invalid, is an
// error that matches config.ErrInvalid.
func (s *Server) withBoard(c *config.Config) (*config.Config, *boardInfo, error) {
	mem, err := board.ReadMemory()
	if err != nil {
		s.log.Debug("board: RAM size unknown", "err", err)
	}
	var p *board.Profile
	if c.Server.Board == "" {
		p = board.Detect(mem.Total, runtime.GOARCH)
	} else {
		dir := ""
		if f := c.File(); f != "" {
			dir = filepath.Dir(f)
		}
		if p, err = board.Load(c.Server.Board, dir); err != nil {
			return nil, nil, fmt.Errorf("%w: server.board: %v", config.ErrInvalid, err)
		}
	}
	bi := &boardInfo{profile: p, memory: mem}
	n := c.Clone()
	set := func(key, shown string, apply func()) {
		if c.Defined(key) {
			bi.kept = append(bi.kept, key)
			return
		}
		apply()
		if !slices.Contains(bi.applied, shown) {
			bi.applied = append(bi.applied, shown)
		}
	}
	set("server.max_connections", "server.max_connections", func() { n.Server.MaxConnections = p.MaxConnections })
	set("server.memory_limit", "server.memory_limit", func() { n.Server.MemoryLimit = config.Size(p.MemoryLimit.Resolve(mem.Total)) })
	set("server.gc_percent", "server.gc_percent", func() { n.Server.GCPercent = p.GCPercent })
	for i := range n.Vhosts {
		v := &n.Vhosts[i]
		set(fmt.Sprintf("vhost[%d].ring_frames", i), "vhost.ring_frames", func() { v.RingFrames = p.RingFrames })
		set(fmt.Sprintf("vhost[%d].gop_cache_max_frames", i), "vhost.gop_cache_max_frames",
			func() { v.GOPCacheMaxFrames = p.GOPCacheMaxFrames })
		if p.HLSInMemory {
			set(fmt.Sprintf("vhost[%d].hls.path", i), "vhost.hls.path", func() { v.HLS.Path = "" })
		}
	}
	// A profile picked by RAM size sizes the server; where its logs go and
	// which devices it has are for a profile chosen by name.
	if !p.Detected {
		if p.LogFile != "" {
			set("log.file", "log.file", func() { n.Log.File = p.LogFile })
		}
		for _, sp := range p.Serial {
			if slices.ContainsFunc(n.Serials, func(e config.Serial) bool { return e.Name == sp.Name }) {
				bi.kept = append(bi.kept, "serial "+sp.Name)
				continue
			}
			n.Serials = append(n.Serials, config.Serial{Name: sp.Name, Device: sp.Device, Baud: sp.Baud,
				Protocol: sp.Protocol, Address: sp.Address})
			if !slices.Contains(bi.applied, "serial") {
				bi.applied = append(bi.applied, "serial")
			}
		}
	}
	if err := n.Validate(); err != nil {
		return nil, nil, fmt.Errorf("board %s (%s) makes the config invalid: %w", p.Name, p.Source, err)
	}
	return n, bi, nil
}

// startBoard applies the board profile to the config the server starts
// with, from New: the returned config is the one to run. The logger is
// reconfigured when the profile moved the log.
func (s *Server) startBoard(cfg *config.Config) (*config.Config, error) {
	eff, bi, err := s.withBoard(cfg)
	if err != nil {
		return nil, err
	}
	if eff.Log != cfg.Log {
		if err := s.logger.Reconfigure(LogOptions(eff)); err != nil {
			return nil, fmt.Errorf("board %s: [log]: %w", bi.profile.Name, err)
		}
	}
	s.boardApplied(eff, bi)
	return eff, nil
}

// boardApplied records bi as the profile in force for c, the config just
// stored, and applies c's Go memory limit and GC percent. A change of
// profile or limits on reload is logged; the first one is logged by
// startOTA, once the server runs (a start that fails prints one line only).
func (s *Server) boardApplied(c *config.Config, bi *boardInfo) {
	bi.runtime = board.SetRuntime(int64(c.Server.MemoryLimit), c.Server.GCPercent)
	bi.maxConns = c.Server.MaxConnections
	prev := s.board.Swap(bi)
	if prev == nil || prev.profile.Name == bi.profile.Name && prev.runtime == bi.runtime && prev.maxConns == bi.maxConns &&
		slices.Equal(prev.applied, bi.applied) && slices.Equal(prev.kept, bi.kept) {
		return
	}
	s.logBoard()
}

// logBoard logs the board profile in force.
func (s *Server) logBoard() {
	bi := s.board.Load()
	if bi == nil {
		return
	}
	how := "named by [server] board"
	if bi.profile.Detected {
		how = "picked by RAM size"
	}
	s.log.Info("board profile in force", "board", bi.profile.Name, "how", how, "source", bi.profile.Source,
		"ram", int64(bi.memory.Total), "memory_limit", bi.runtime.MemoryLimit, "gc_percent", bi.runtime.GCPercent,
		"max_connections", bi.maxConns, "applied", bi.applied, "kept_from_config", bi.kept)
}

// boardView is the board part of the API's summaries: the profile in force
// and the limits applied.
func (s *Server) boardView() any {
	bi := s.board.Load()
	if bi == nil {
		return nil
	}
	c := s.cfg.Load()
	p := bi.profile
	v := map[string]any{
		"name": p.Name, "description": p.Description, "source": p.Source, "detected": p.Detected,
		"ram_kbyte": bi.memory.Total / 1024, "ram_source": bi.memory.Source,
		"memory_limit": bi.runtime.MemoryLimit, "memory_limit_profile": p.MemoryLimit.String(),
		"memory_limit_env": bi.runtime.MemoryLimitEnv, "gc_percent": bi.runtime.GCPercent,
		"gc_percent_env": bi.runtime.GCPercentEnv, "max_connections": c.Server.MaxConnections,
		"hls_in_memory": p.HLSInMemory, "log_file": c.Log.File,
		"video": append([]string{}, p.Video...), "applied": append([]string{}, bi.applied...),
		"kept_from_config": append([]string{}, bi.kept...),
	}
	if dv := c.Vhost(media.DefaultVhost); dv != nil {
		v["ring_frames"], v["gop_cache_max_frames"] = dv.RingFrames, dv.GOPCacheMaxFrames
	}
	serial := make([]map[string]any, 0, len(c.Serials))
	for _, e := range c.Serials {
		serial = append(serial, map[string]any{"name": e.Name, "device": e.Device, "protocol": e.Protocol, "address": e.Address})
	}
	v["serial"] = serial
	return v
}

// apiAccess maps [http_api.auth] onto the API's access policy.
func (s *Server) apiAccess() api.Access {
	a := s.cfg.Load().HTTPAPI.Auth
	return api.Access{Username: a.Username, Password: a.Password, Token: a.Token, Read: a.Read}
}

// CheckBoard loads the board profile c names (or the one its RAM size
// picks) and checks the config with it applied, as the server would at
// start: for `srs-lite -t`. Its errors match config.ErrInvalid.
func CheckBoard(c *config.Config) error {
	s := &Server{log: slog.New(slog.DiscardHandler)}
	_, _, err := s.withBoard(c)
	return err
}
