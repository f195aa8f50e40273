package server

import (
	"context"
	"fmt"

	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/service/hooks"
	"github.com/srs-lite/srs-lite/internal/session"
)

// The server is every protocol's session.Events: the session table, the
// connection limit and the SRS hooks all answer here, from one record.
var _ session.Events = (*Server)(nil)

// Connect admits a session into the table: refused when the server has
// server.max_connections sessions already (the API's own requests are not
// sessions) or when on_connect says no.
func (s *Server) Connect(ctx context.Context, ss *session.Session) error {
	err := s.connect(ctx, ss)
	if err != nil {
		s.sessions.Refused()
	}
	return err
}

func (s *Server) connect(ctx context.Context, ss *session.Session) error {
	if max := s.limit.max.Load(); max > 0 && int64(s.sessions.Len()) >= max {
		s.limit.refused(ss.IP)
		return fmt.Errorf("%w (%d)", session.ErrLimit, max)
	}
	if err := s.ask(ctx, "on_connect", ss, func(h *config.Hooks) []string { return h.OnConnect }); err != nil {
		return err
	}
	// An edge vhost with token_traverse asks its origin too (edge.go).
	if err := s.traverse(ctx, ss); err != nil {
		return err
	}
	if ss.MarkConnected() {
		s.sessions.Add(ss)
	}
	return nil
}

// Publish checks the vhost's security rules, then asks on_publish.
func (s *Server) Publish(ctx context.Context, ss *session.Session) (session.Answer, error) {
	if err := s.secure(ss, false); err != nil {
		s.sessions.Refused()
		return nil, err
	}
	ans, err := s.askAnswer(ctx, "on_publish", ss, func(h *config.Hooks) []string { return h.OnPublish })
	if err != nil {
		s.sessions.Refused()
	}
	return ans, err
}

// Play checks the vhost's security rules, then asks on_play.
func (s *Server) Play(ctx context.Context, ss *session.Session) (session.Answer, error) {
	if err := s.secure(ss, true); err != nil {
		s.sessions.Refused()
		return nil, err
	}
	ans, err := s.askAnswer(ctx, "on_play", ss, func(h *config.Hooks) []string { return h.OnPlay })
	if err != nil {
		s.sessions.Refused()
	}
	return ans, err
}

// secure applies [vhost.security] (SRS's security) to a publish or play of
// any protocol, with the rules of the config in force: a reload changes
// them for the next client, and does not touch the clients already
// admitted (as SRS, which checks only when a client starts). A refusal
// wraps session.ErrForbidden, which each protocol answers with its own
// error, and is logged with the rule that decided it.
func (s *Server) secure(ss *session.Session, play bool) error {
	return s.checkSecurity(ss.ID, ss.Proto, ss.IP, ss.Key(), play)
}

// checkSecurity applies the security rules of key's vhost to a client at
// ip; cid and proto are for the log. HLS without sessions (hls_ctx off)
// calls it for every request.
func (s *Server) checkSecurity(cid, proto, ip string, key media.Key, play bool) error {
	v := s.cfg.Load().Vhost(key.Vhost)
	if v == nil || !v.Security.Enabled {
		return nil
	}
	d := v.Security.Check(play, ip)
	if d.Allowed {
		s.log.Debug("security: "+d.Reason, "cid", cid, "proto", proto, "stream", key.String())
		return nil
	}
	s.log.Warn("security: "+d.Reason, "cid", cid, "proto", proto, "stream", key.String(), "ip", ip)
	return fmt.Errorf("%w: %s", session.ErrForbidden, d.Reason)
}

// Unpublish tells on_unpublish.
func (s *Server) Unpublish(ss *session.Session) {
	s.tell("on_unpublish", ss, func(h *config.Hooks) []string { return h.OnUnpublish })
}

// Stop tells on_stop.
func (s *Server) Stop(ss *session.Session) {
	s.tell("on_stop", ss, func(h *config.Hooks) []string { return h.OnStop })
}

// Close takes a connected session out of the table and tells on_close,
// with its bytes, once.
func (s *Server) Close(ss *session.Session) {
	if !ss.Connected() || !ss.MarkClosed() {
		return
	}
	s.sessions.Remove(ss)
	s.tell("on_close", ss, func(h *config.Hooks) []string { return h.OnClose })
}

// hookURLs returns the URLs of one hook of a vhost, read from the config in
// force (so a reload changes them at once).
func (s *Server) hookURLs(vhost string, pick func(*config.Hooks) []string) []string {
	v := s.cfg.Load().Vhost(vhost)
	if v == nil {
		return nil
	}
	return pick(&v.Hooks)
}

// event is SRS's hook body for a session.
func (s *Server) event(action string, ss *session.Session) hooks.Event {
	sn := ss.Snapshot()
	ev := hooks.Event{ServerID: s.serverID, Action: action, ClientID: sn.ID, IP: sn.IP, Vhost: sn.Vhost,
		App: sn.App, Stream: sn.Stream, Param: sn.Param, StreamID: sn.StreamID}
	if sn.Stream != "" {
		ev.StreamURL = "/" + sn.App + "/" + sn.Stream
	}
	// tcUrl for RTMP; the request (or srt://) URL for the others.
	ev.TcURL = sn.URL
	if action == "on_close" {
		in, out := sn.BytesIn, sn.BytesOut
		ev.RecvBytes, ev.SendBytes = &in, &out
	}
	return ev
}

func (s *Server) ask(ctx context.Context, action string, ss *session.Session, pick func(*config.Hooks) []string) error {
	_, err := s.askAnswer(ctx, action, ss, pick)
	return err
}

func (s *Server) askAnswer(ctx context.Context, action string, ss *session.Session, pick func(*config.Hooks) []string) (session.Answer, error) {
	urls := s.hookURLs(ss.Key().Vhost, pick)
	if len(urls) == 0 {
		return nil, nil
	}
	ans, err := s.hooks.AskAnswer(ctx, urls, s.event(action, ss))
	if err != nil {
		return nil, err
	}
	var out session.Answer
	for _, k := range []string{"srt_passphrase", "rtsp_password"} {
		if v := ans.String(k); v != "" {
			if out == nil {
				out = session.Answer{}
			}
			out[k] = v
		}
	}
	return out, nil
}

func (s *Server) tell(action string, ss *session.Session, pick func(*config.Hooks) []string) {
	if urls := s.hookURLs(ss.Key().Vhost, pick); len(urls) > 0 {
		s.hooks.Tell(urls, s.event(action, ss))
	}
}
