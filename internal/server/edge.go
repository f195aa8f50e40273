package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/ffmpeg"
	"github.com/srs-lite/srs-lite/internal/format/amf0"
	"github.com/srs-lite/srs-lite/internal/http1"
	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/protocol/hls"
	"github.com/srs-lite/srs-lite/internal/protocol/rtmp"
	"github.com/srs-lite/srs-lite/internal/service/edge"
	"github.com/srs-lite/srs-lite/internal/session"
)

// orderEdge: the edge's pulls are sources, closed first (before the
// protocols whose players they feed).
const orderEdge = orderIngest + 1

func init() { register(orderEdge, newEdge) }

// edgeWait bounds how long an HLS playlist request on an edge waits for the
// pull to bring the stream (an RTMP player waits as long as it likes, an
// HTTP-FLV one 10 s).
const edgeWait = 10 * time.Second

// edgeComponent is SRS's play edge ([vhost.cluster] mode = "remote"): a
// player of a stream nobody publishes here makes it pull the stream from the
// vhost's origins (internal/service/edge).
type edgeComponent struct {
	passive
	s *Server
	m *edge.Manager
}

func newEdge(s *Server) (component, error) {
	m, err := edge.New(edge.Deps{Registry: s.reg, Dial: s.dialOrigin, Config: s.edgeConfig,
		Players: s.streamPlayers, Log: s.log})
	if err != nil {
		return nil, err
	}
	// Every protocol's player subscribes to the registry: one hook, on the
	// subscribe path only, starts the pull for all of them.
	s.reg.OnSubscribe(func(st *media.Stream) { m.Demand(st.Vhost, st.App, st.Name) })
	return &edgeComponent{s: s, m: m}, nil
}

func (c *edgeComponent) name() string { return "edge" }

// close stops the pulls: their local publishes end, so players see the end
// of their streams.
func (c *edgeComponent) close(context.Context) error {
	c.m.Close()
	return nil
}

// routes: GET /api/v1/edges lists the pulls; an HLS playlist of an edge
// stream starts its pull (HLS viewers read no ring) and waits for it, ahead
// of the HLS handler.
func (c *edgeComponent) routes(r *routes) {
	r.api.HandleFunc("GET /api/v1/edges", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"code": 0, "server": c.s.serverID, "edges": c.m.Status()})
	})
	// First among the stream handlers: it only waits, and then lets the
	// HLS handler answer.
	r.streams = append([]streamHandler{{"edge", c.serveHLS}}, r.streams...)
}

func (c *edgeComponent) serveHLS(w http.ResponseWriter, req *http.Request) bool {
	hr, ok := hls.ParsePath(req.URL.Path)
	if !ok || hr.Kind != hls.KindPlaylist {
		return false
	}
	vhost, ok := c.s.vhostFor(req.Host, req.URL.Query().Get("vhost"))
	if !ok {
		return false
	}
	if _, edge := c.s.edgeConfig(vhost); !edge {
		return false
	}
	if st := c.s.reg.Lookup(media.Key{Vhost: vhost, App: hr.App, Stream: hr.Stream}); st != nil && st.Publishing() {
		return false
	}
	// A reader is a player for the pull's idle count until the viewer's
	// session takes over.
	rd := c.s.reg.Subscribe(media.Key{Vhost: vhost, App: hr.App, Stream: hr.Stream}, nil)
	defer rd.Close()
	ctx, cancel := context.WithTimeout(req.Context(), edgeWait)
	defer cancel()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for !rd.Stream().Publishing() {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
	return false
}

// edgeConfig is the edge service's view of a vhost's [vhost.cluster].
func (s *Server) edgeConfig(vhost string) (edge.Config, bool) {
	v := s.cfg.Load().Vhost(vhost)
	if v == nil || v.Cluster.Mode != config.ModeRemote || len(v.Cluster.Origins) == 0 {
		return edge.Config{}, false
	}
	return edge.Config{Origins: v.Cluster.Origins, Protocol: v.Cluster.Protocol}, true
}

// edgeArgs is SRS's edge identity, sent in connect's user arguments object
// (SRS's SrsSimpleRtmpClient::connect_app): the origin logs srs_id as the
// peer's cid.
func edgeArgs(cid string) amf0.Object {
	return amf0.Object{
		{Key: "srs_sig", Value: "srs-lite"},
		{Key: "srs_server", Value: "srs-lite/" + Version},
		{Key: "srs_version", Value: Version},
		{Key: "srs_pid", Value: float64(os.Getpid())},
		{Key: "srs_id", Value: cid},
	}
}

// vhostQuery names a non-default vhost to the origin (SRS's ?vhost=).
func vhostQuery(vhost string) string {
	if vhost == "" || strings.EqualFold(vhost, media.DefaultVhost) {
		return ""
	}
	return "vhost=" + url.QueryEscape(vhost)
}

// dialOrigin connects to an origin and plays the stream: over RTMP
// (following 302s), or over HTTP-FLV from the origin's HTTP port.
func (s *Server) dialOrigin(ctx context.Context, r edge.Request) (edge.Upstream, error) {
	q := vhostQuery(r.Vhost)
	if r.Protocol == "flv" {
		u := "http://" + r.Origin + "/" + r.App + "/" + r.Stream + ".flv"
		if q != "" {
			u += "?" + q
		}
		return dialFLV(ctx, u)
	}
	u := "rtmp://" + r.Origin + "/" + r.App + "/" + r.Stream
	if q != "" {
		u += "?" + q
	}
	c, err := rtmp.DialPlay(ctx, u, rtmp.ClientOptions{ConnectArgs: edgeArgs(r.CID)})
	if err != nil {
		return nil, err
	}
	return rtmpUpstream{c}, nil
}

// rtmpUpstream is an RTMP play of an origin.
type rtmpUpstream struct{ c *rtmp.Client }

func (u rtmpUpstream) PeerID() string { return u.c.Server().ID }
func (u rtmpUpstream) Close() error   { return u.c.Close() }

func (u rtmpUpstream) Pull(ctx context.Context, fn func(*media.Frame) error) error {
	stop := context.AfterFunc(ctx, func() { u.c.Close() })
	defer stop()
	for {
		var f media.Frame
		if err := u.c.ReadFrame(&f); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		if err := fn(&f); err != nil {
			f.Release()
			return err
		}
	}
}

// flvUpstream is an HTTP-FLV play of an origin.
type flvUpstream struct{ body io.ReadCloser }

// flvClient has no overall timeout: the body is the live stream. The dial
// and the headers are bounded by the dial's context.
var flvClient = http1.NewClient(http1.ClientOptions{DialTimeout: 3 * time.Second})

func dialFLV(ctx context.Context, u string) (edge.Upstream, error) {
	// The request lives as long as the pull: ctx bounds the answer only.
	rctx, cancel := context.WithCancel(context.Background())
	stop := context.AfterFunc(ctx, cancel)
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	resp, err := flvClient.Do(req)
	if !stop() { // ctx ended first
		if err == nil {
			resp.Body.Close()
		}
		cancel()
		return nil, fmt.Errorf("GET %s: %w", u, ctx.Err())
	}
	if err != nil {
		cancel()
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return flvUpstream{cancelBody{resp.Body, cancel}}, nil
}

// cancelBody ends the request with the body.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b cancelBody) Close() error {
	b.cancel()
	return b.ReadCloser.Close()
}

// PeerID: HTTP-FLV origins name no connection id.
func (u flvUpstream) PeerID() string { return "" }
func (u flvUpstream) Close() error   { return u.body.Close() }

func (u flvUpstream) Pull(ctx context.Context, fn func(*media.Frame) error) error {
	stop := context.AfterFunc(ctx, func() { u.body.Close() })
	defer stop()
	err := ffmpeg.ReadFrames(u.body, fn)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err == nil {
		err = errors.New("the origin ended the stream")
	}
	return err
}

// traverse is SRS's token_traverse: on an edge vhost that sets it, each
// client's connect (app, tcUrl params such as a token) is made to the
// origins first, in order; a refusal there refuses the client here. An
// origin that does not answer is skipped; none answering refuses too.
func (s *Server) traverse(ctx context.Context, ss *session.Session) error {
	key := ss.Key()
	v := s.cfg.Load().Vhost(key.Vhost)
	if v == nil || v.Cluster.Mode != config.ModeRemote || !v.Cluster.TokenTraverse {
		return nil
	}
	param := strings.TrimPrefix(ss.Snapshot().Param, "?")
	if q := vhostQuery(key.Vhost); q != "" && !strings.Contains(param, "vhost=") {
		param = strings.TrimPrefix(param+"&"+q, "&")
	}
	var last error
	for _, o := range v.Cluster.Origins {
		u := "rtmp://" + o + "/" + key.App
		if param != "" {
			u += "?" + param
		}
		dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		c, err := rtmp.Dial(dctx, u, rtmp.ClientOptions{ConnectArgs: edgeArgs(ss.ID)})
		cancel()
		if err == nil {
			c.Close()
			s.log.Info("edge: token traverse: the origin accepts the client", "cid", ss.ID, "origin", o)
			return nil
		}
		if errors.Is(err, rtmp.ErrRejected) {
			s.log.Warn("edge: token traverse: the origin refuses the client", "cid", ss.ID, "origin", o, "err", err)
			return fmt.Errorf("token traverse: origin %s refused the connect: %w", o, err)
		}
		last = err
	}
	s.log.Warn("edge: token traverse: no origin answers", "cid", ss.ID, "err", last)
	return fmt.Errorf("token traverse: no origin answers: %w", last)
}
