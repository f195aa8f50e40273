package server

import (
	"context"
	"strings"
	"time"

	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/protocol/rtmp"
	"github.com/srs-lite/srs-lite/internal/service/forward"
	"github.com/srs-lite/srs-lite/internal/service/hooks"
	"github.com/srs-lite/srs-lite/internal/session"
)

// orderForward starts the forwards after the transcoders: both watch
// publishes, neither serves a port.
const orderForward = orderTranscode + 1

func init() { register(orderForward, newForward) }

// edgeProto is the session proto of a stream an edge pulls from its origin:
// such a stream is not pushed back to the origin.
const edgeProto = "edge"

// forwardComponent pushes the publishes of a vhost to [vhost.forward]
// destinations, to the URLs its on_forward hook answers, and, on an edge
// ([vhost.cluster] mode = "remote"), to the origins.
type forwardComponent struct {
	passive
	s *Server
	m *forward.Manager
}

func newForward(s *Server) (component, error) {
	m, err := forward.New(forward.Deps{Registry: s.reg, Clients: s.sessions, Log: s.log, Dial: dialForward})
	if err != nil {
		return nil, err
	}
	return &forwardComponent{s: s, m: m}, nil
}

// rtmpForward is an RTMP client publishing at a destination.
type rtmpForward struct{ *rtmp.Client }

func (c rtmpForward) PeerID() string { return c.Server().ID }

// forwardSendBuffer bounds what a destination that stops reading holds
// in the kernel (Linux doubles it): about 4 s of a 1 Mbps stream, 20 Mbps
// over a 100 ms round trip. The write timeout then ends the connection.
const forwardSendBuffer = 256 << 10

// dialForward connects to an RTMP URL and publishes its stream.
func dialForward(ctx context.Context, u string) (forward.Conn, error) {
	c, err := rtmp.Dial(ctx, u, rtmp.ClientOptions{SendBuffer: forwardSendBuffer})
	if err != nil {
		return nil, err
	}
	if err := c.Publish(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return rtmpForward{c}, nil
}

func (c *forwardComponent) name() string { return "forward" }

// publisherOf returns the session publishing st, if any (not a forward).
func (s *Server) publisherOf(st *media.Stream) (session.Snapshot, bool) {
	for _, c := range s.sessions.List() {
		if c.Role == session.Publisher && c.Proto != "forward" && c.Stream == st.Name && c.App == st.App &&
			strings.EqualFold(c.Vhost, st.Vhost) {
			return c, true
		}
	}
	return session.Snapshot{}, false
}

// forwardTargets are the static targets of a publish of st in vhost v: the
// [vhost.forward] destinations, and the origins of an edge.
// A stream without a publisher session, or one the edge pulls (proto
// "edge"), is not pushed to the origins: it came from there.
func (c *forwardComponent) forwardTargets(v *config.Vhost, st *media.Stream, pub session.Snapshot, found bool) []forward.Target {
	var out []forward.Target
	for _, d := range v.Forward.Destinations {
		u, err := forward.URL(d, st.Vhost, st.App, st.Name, pub.Param)
		if err != nil {
			c.s.log.Warn("forward: bad destination", "destination", d, "err", err)
			continue
		}
		out = append(out, forward.Target{Kind: forward.KindForward, URLs: []string{u}})
	}
	if v.Cluster.Mode == config.ModeRemote && len(v.Cluster.Origins) > 0 && found && pub.Proto != edgeProto {
		t := forward.Target{Kind: forward.KindEdge}
		for _, o := range v.Cluster.Origins {
			if u, err := forward.URL(o, st.Vhost, st.App, st.Name, pub.Param); err == nil {
				t.URLs = append(t.URLs, u)
			}
		}
		out = append(out, t)
	}
	return out
}

// onPublish starts the forwards of a new publish session; the on_forward
// hook is asked in the background.
func (c *forwardComponent) onPublish(st *media.Stream) {
	v := c.s.cfg.Load().Vhost(st.Vhost)
	if v == nil {
		return
	}
	pub, found := c.s.publisherOf(st)
	targets := c.forwardTargets(v, st, pub, found)
	if len(targets) == 0 && len(v.Hooks.OnForward) == 0 {
		return
	}
	p := c.m.Start(st, targets...)
	if urls := v.Hooks.OnForward; len(urls) > 0 {
		go c.askOnForward(p, st, pub, append([]string(nil), urls...))
	}
}

// askOnForward is SRS's dynamic forward: each on_forward URL is asked, and
// the rtmp:// URLs of its answer's data.urls are forwarded to. A failing
// hook is logged; the static destinations go on.
func (c *forwardComponent) askOnForward(p *forward.Publish, st *media.Stream, pub session.Snapshot, urls []string) {
	ev := hooks.Event{ServerID: c.s.serverID, Action: "on_forward", ClientID: pub.ID, IP: pub.IP,
		Vhost: st.Vhost, App: st.App, Stream: st.Name, Param: pub.Param, TcURL: pub.URL}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var targets []forward.Target
	for _, hu := range urls {
		ans, err := c.s.hooks.AskAnswer(ctx, []string{hu}, ev)
		if err != nil {
			c.s.log.Warn("forward: on_forward failed, forwarding to the static destinations only",
				"stream", st.Key(), "url", hu, "err", err)
			continue
		}
		list, _ := ans["urls"].([]any)
		for _, x := range list {
			s, _ := x.(string)
			u, err := forward.URL(s, st.Vhost, st.App, st.Name, pub.Param)
			if err != nil || !rtmp.IsURL(s) {
				c.s.log.Warn("forward: on_forward answered a bad URL", "stream", st.Key(), "url", s)
				continue
			}
			targets = append(targets, forward.Target{Kind: forward.KindDynamic, URLs: []string{u}})
		}
	}
	if len(targets) > 0 {
		c.s.log.Info("forward: on_forward destinations", "stream", st.Key(), "count", len(targets))
		p.Add(targets...)
	}
}

// reload applies changed destinations and origins to the streams being
// published: forwards no longer configured stop, new ones start. The
// on_forward answers stay until the publish ends.
func (c *forwardComponent) reload(_, next *config.Config, ch config.Sections) error {
	if !ch.Has(config.SectionVhosts) {
		return nil
	}
	for _, st := range c.s.reg.Streams() {
		if !st.Publishing() {
			continue
		}
		v := next.Vhost(st.Vhost)
		var targets []forward.Target
		if v != nil {
			pub, found := c.s.publisherOf(st)
			targets = c.forwardTargets(v, st, pub, found)
		}
		c.m.Apply(st, targets, forward.KindForward, forward.KindEdge)
	}
	return nil
}

// close stops every forward.
func (c *forwardComponent) close(context.Context) error { return c.m.Close() }

// status is GET /api/v1/forwards.
func (c *forwardComponent) status() any { return c.m.Status() }
