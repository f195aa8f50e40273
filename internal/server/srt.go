package server

import (
	"context"
	"fmt"
	"sync"

	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/protocol/srt"
	"github.com/srs-lite/srs-lite/internal/service/hooks"
)

// srtServers holds each Server's SRT server, keyed by *Server (the Server
// struct has no field for it).
var srtServers sync.Map // *Server -> *srt.Server

// srtConfig maps [srt] onto the SRT server's settings.
func srtConfig(c *config.Config) srt.ServerConfig {
	s := c.SRT
	return srt.ServerConfig{Config: srt.Config{
		Latency:         s.Latency.D(),
		PeerLatency:     s.PeerLatency.D(),
		MaxBW:           int64(s.MaxBW),
		Passphrase:      s.Passphrase,
		PBKeyLen:        s.PBKeyLen,
		MSS:             s.MSS,
		PeerIdleTimeout: s.PeerIdleTimeout.D(),
	}}
}

// listenSRT binds the SRT listener when [srt] is enabled, and records its
// address as s.addrs["srt"].
func (s *Server) listenSRT(c *config.Config) error {
	if !c.SRT.Enabled {
		return nil
	}
	srv, err := srt.NewServer(srtConfig(c), srt.ServerDeps{
		Registry: s.reg, Clients: s.clients, Log: s.log, Vhost: s.vhostFor,
		OnPublish:   s.srtAsk("on_publish", func(h *config.Hooks) []string { return h.OnPublish }),
		OnPlay:      s.srtAsk("on_play", func(h *config.Hooks) []string { return h.OnPlay }),
		OnUnpublish: s.srtTell("on_unpublish", func(h *config.Hooks) []string { return h.OnUnpublish }),
		OnStop:      s.srtTell("on_stop", func(h *config.Hooks) []string { return h.OnStop }),
	})
	if err != nil {
		return fmt.Errorf("srt: %w", err)
	}
	addr, err := srv.Listen(c.SRT.Listen)
	if err != nil {
		return fmt.Errorf("cannot listen for srt on %s: %w", c.SRT.Listen, unwrapAddrInUse(err))
	}
	srtServers.Store(s, srv)
	s.mu.Lock()
	s.addrs["srt"] = addr.String()
	s.mu.Unlock()
	return nil
}

// closeSRT closes the SRT listener and its connections, at shutdown:
// publishers unpublish, players end.
func (s *Server) closeSRT() {
	if v, ok := srtServers.LoadAndDelete(s); ok {
		_ = v.(*srt.Server).Close()
	}
}

// reloadSRT applies changed [srt] settings to the connections accepted
// from now on. Turning SRT on or off, or a new listen address, takes effect
// at the next start.
func (s *Server) reloadSRT(old, next *config.Config) {
	if old.SRT == next.SRT {
		return
	}
	if old.SRT.Enabled != next.SRT.Enabled || old.SRT.Listen != next.SRT.Listen {
		s.log.Warn("srt: enabled or listen changed: it takes effect at the next start")
	}
	v, ok := srtServers.Load(s)
	if !ok {
		return
	}
	if err := v.(*srt.Server).SetConfig(srtConfig(next)); err != nil {
		s.log.Error("srt: reload failed, keeping the running settings", "err", err)
	}
}

func srtEvent(action string, in srt.HookInfo) hooks.Event {
	return hooks.Event{Action: action, ClientID: in.ClientID, IP: in.IP, Vhost: in.Vhost, App: in.App,
		Stream: in.Stream, Param: in.Param, TcURL: in.StreamURL, StreamURL: "/" + in.App + "/" + in.Stream}
}

// srtAsk makes an SRT hook that may refuse the caller, during its
// handshake. An allowing answer may give the stream's passphrase
// ({"code": 0, "data": {"srt_passphrase": "..."}}, or at the top level),
// which then replaces [srt] passphrase for this caller.
func (s *Server) srtAsk(action string, pick func(*config.Hooks) []string) func(context.Context, srt.HookInfo) (string, error) {
	return func(ctx context.Context, in srt.HookInfo) (string, error) {
		ev := srtEvent(action, in)
		ev.ServerID = s.serverID
		ans, err := s.hooks.AskAnswer(ctx, s.hookURLs(in.Vhost, pick), ev)
		if err != nil {
			return "", err
		}
		p := ans.String("srt_passphrase")
		if n := len(p); n != 0 && (n < 10 || n > 79) {
			return "", fmt.Errorf("the hook's srt_passphrase has %d characters: SRT wants 10 to 79", n)
		}
		return p, nil
	}
}

// srtTell makes an SRT notification hook.
func (s *Server) srtTell(action string, pick func(*config.Hooks) []string) func(srt.HookInfo) {
	return func(in srt.HookInfo) {
		ev := srtEvent(action, in)
		ev.ServerID = s.serverID
		s.hooks.Tell(s.hookURLs(in.Vhost, pick), ev)
	}
}
