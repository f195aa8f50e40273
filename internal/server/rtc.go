//go:build !nortc && !tiny

package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/srs-lite/srs-lite/internal/buildinfo"
	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/protocol/rtc"
	"github.com/srs-lite/srs-lite/internal/service/audiobridge"
)

func init() {
	register(orderRTC, newRTC)
	buildinfo.Register("webrtc")
}

// orderRTC starts WebRTC after the RTMP listener, beside the other
// protocols.
const orderRTC = orderRTMP + 5

// rtcComponent is WebRTC: WHIP and WHEP on the API port, media on [rtc]
// listen (UDP, and ICE-TCP on the same port number).
type rtcComponent struct {
	s  *Server
	mu sync.Mutex
	rs *rtc.Server // nil while WebRTC is off
	br *audiobridge.Bridge
}

func newRTC(s *Server) (component, error) { return &rtcComponent{s: s}, nil }

func (c *rtcComponent) name() string { return "rtc" }

func rtcConfig(cfg *config.Config) rtc.Config {
	return rtc.Config{Candidate: cfg.RTC.Candidate}
}

// bind makes and binds a WebRTC server for cfg, or nil when it is off.
func (c *rtcComponent) bind(cfg *config.Config) (*rtc.Server, *audiobridge.Bridge, error) {
	if !cfg.RTC.Enabled {
		return nil, nil, nil
	}
	br := audiobridge.New(c.s.reg, audiobridge.Options{Mode: cfg.RTC.AACToOpus, Logger: c.s.log})
	rs, err := rtc.New(rtcConfig(cfg), rtc.Deps{Registry: c.s.reg, Events: c.s, Log: c.s.log, Vhost: c.s.vhostFor,
		Opus: br.Opus, ToAAC: br.ToAAC, Bridge: br})
	if err != nil {
		_ = br.Close()
		return nil, nil, err
	}
	if err := rs.Listen(cfg.RTC.Listen); err != nil {
		_ = rs.Close()
		return nil, nil, fmt.Errorf("cannot listen for rtc on %s: %w", cfg.RTC.Listen, unwrapAddrInUse(err))
	}
	return rs, br, nil
}

func (c *rtcComponent) set(rs *rtc.Server, br *audiobridge.Bridge) *rtc.Server {
	c.mu.Lock()
	old := c.rs
	c.rs, c.br = rs, br
	c.mu.Unlock()
	addr := ""
	if rs != nil {
		addr = rs.Addr().String()
	}
	c.s.setAddr("rtc", addr)
	return old
}

func (c *rtcComponent) start(_ context.Context, cfg *config.Config) error {
	rs, br, err := c.bind(cfg)
	if err != nil {
		return err
	}
	c.set(rs, br)
	return nil
}

// reload applies [rtc]: the candidate to the sessions answered from now
// on; a new address or aac_to_opus (or WebRTC turned on or off) binds the
// new socket first and ends the sessions of the old one.
func (c *rtcComponent) reload(old, next *config.Config, ch config.Sections) error {
	if !ch.Has(config.SectionRTC) {
		return nil
	}
	if old.RTC.Enabled == next.RTC.Enabled && old.RTC.Listen == next.RTC.Listen && old.RTC.AACToOpus == next.RTC.AACToOpus {
		c.mu.Lock()
		rs := c.rs
		c.mu.Unlock()
		if rs != nil {
			rs.SetConfig(rtcConfig(next))
		}
		return nil
	}
	rs, br, err := c.bind(next)
	if err != nil {
		return err
	}
	if prev := c.set(rs, br); prev != nil {
		c.s.log.Info("rtc: listen address changed: the old sessions end", "old", old.RTC.Listen, "new", next.RTC.Listen)
		go prev.Close()
	}
	return nil
}

func (c *rtcComponent) close(context.Context) error {
	if rs := c.set(nil, nil); rs != nil {
		return rs.Close()
	}
	return nil
}

// routes puts WHIP and WHEP on the API port.
func (c *rtcComponent) routes(r *routes) {
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		c.mu.Lock()
		rs := c.rs
		c.mu.Unlock()
		if rs == nil {
			http.Error(w, "WebRTC is off ([rtc] enabled = false)", http.StatusNotFound)
			return
		}
		rs.ServeHTTP(w, req)
	})
	r.api.Handle(rtc.WHIPPath, h)
	r.api.Handle(rtc.WHEPPath, h)
	r.api.HandleFunc("GET /api/v1/rtc", c.status)
}

// status answers GET /api/v1/rtc: whether WebRTC is on, whether AAC
// streams have audio for WebRTC viewers (the audio bridge: "video-only:
// ffmpeg missing" and the like), and the conversions running.
func (c *rtcComponent) status(w http.ResponseWriter, _ *http.Request) {
	c.mu.Lock()
	rs, br := c.rs, c.br
	c.mu.Unlock()
	out := map[string]any{"code": 0, "server": c.s.serverID, "enabled": rs != nil}
	if rs != nil {
		out["listen"] = rs.Addr().String()
		out["sessions"] = rs.Sessions()
		out["stats"] = rs.Stats().Snapshot()
		rcv, snd := rs.SocketBuffers()
		out["socket"] = map[string]int{"rcvbuf": rcv, "sndbuf": snd}
	}
	if br != nil {
		audio := map[string]any{"aac_to_opus": br.Unavailable() == "", "decoder": br.Decoder()}
		if why := br.Unavailable(); why != "" {
			audio["why"] = why
		}
		out["audio"] = audio
		out["bridges"] = br.Stats()
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}
