package server

import (
	"context"
	"os"
	"path/filepath"

	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/protocol/hls"
	"github.com/srs-lite/srs-lite/internal/protocol/httpflv"
	"github.com/srs-lite/srs-lite/internal/protocol/rtmp"
	"github.com/srs-lite/srs-lite/internal/service/dvr"
	"github.com/srs-lite/srs-lite/internal/service/hooks"
)

// hookURLs returns the URLs of one hook of a vhost, read from the config in
// force (so a reload changes them at once).
func (s *Server) hookURLs(vhost string, pick func(*config.Hooks) []string) []string {
	v := s.cfg.Load().Vhost(vhost)
	if v == nil {
		return nil
	}
	return pick(&v.Hooks)
}

func rtmpEvent(action string, in rtmp.HookInfo) hooks.Event {
	return hooks.Event{Action: action, ClientID: in.ClientID, IP: in.IP, Vhost: in.Vhost, App: in.App,
		Stream: in.Stream, Param: in.Param, TcURL: in.TcURL,
		StreamURL: "/" + in.App + "/" + in.Stream}
}

// rtmpAsk makes an RTMP hook that may refuse the client.
func (s *Server) rtmpAsk(action string, pick func(*config.Hooks) []string) func(context.Context, rtmp.HookInfo) error {
	return func(ctx context.Context, in rtmp.HookInfo) error {
		ev := rtmpEvent(action, in)
		ev.ServerID = s.serverID
		return s.hooks.Ask(ctx, s.hookURLs(in.Vhost, pick), ev)
	}
}

// rtmpTell makes an RTMP notification hook.
func (s *Server) rtmpTell(action string, pick func(*config.Hooks) []string) func(rtmp.HookInfo) {
	return func(in rtmp.HookInfo) {
		ev := rtmpEvent(action, in)
		ev.ServerID = s.serverID
		s.hooks.Tell(s.hookURLs(in.Vhost, pick), ev)
	}
}

// flvOnPlay is on_play for HTTP-FLV players.
func (s *Server) flvOnPlay(ctx context.Context, in httpflv.PlayInfo) error {
	return s.hooks.Ask(ctx, s.hookURLs(in.Vhost, func(h *config.Hooks) []string { return h.OnPlay }),
		hooks.Event{ServerID: s.serverID, Action: "on_play", ClientID: in.ClientID, IP: in.IP, Vhost: in.Vhost,
			App: in.App, Stream: in.Stream, Param: in.Param, TcURL: in.URL,
			StreamURL: "/" + in.App + "/" + in.Stream})
}

// onDVR is on_dvr: a recording file is complete.
func (s *Server) onDVR(f dvr.File) {
	cwd, _ := os.Getwd()
	file, _ := filepath.Abs(f.Path)
	s.hooks.Tell(s.hookURLs(f.Vhost, func(h *config.Hooks) []string { return h.OnDVR }),
		hooks.Event{ServerID: s.serverID, Action: "on_dvr", Vhost: f.Vhost, App: f.App, Stream: f.Name,
			StreamURL: "/" + f.App + "/" + f.Name, Cwd: cwd, File: file, Duration: f.Duration.Seconds()})
}

// onHLS is on_hls: an HLS segment is complete.
func (s *Server) onHLS(seg hls.SegmentInfo) {
	seq := seg.Seq
	cwd, _ := os.Getwd()
	ev := hooks.Event{ServerID: s.serverID, Action: "on_hls", Vhost: seg.Vhost, App: seg.App, Stream: seg.Stream,
		StreamURL: "/" + seg.App + "/" + seg.Stream, Cwd: cwd, File: seg.File, URL: seg.URL,
		M3U8URL: "/" + seg.App + "/" + seg.Stream + ".m3u8", SeqNo: &seq, Duration: seg.Duration}
	if seg.File != "" {
		ev.M3U8 = filepath.Join(filepath.Dir(seg.File), seg.Stream+".m3u8")
	}
	s.hooks.Tell(s.hookURLs(seg.Vhost, func(h *config.Hooks) []string { return h.OnHLS }), ev)
}
