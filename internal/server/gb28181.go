//go:build !nogb28181 && !tiny

package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/device/ptz"
	"github.com/srs-lite/srs-lite/internal/format/codec"
	"github.com/srs-lite/srs-lite/internal/log"
	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/protocol/gb28181"
	"github.com/srs-lite/srs-lite/internal/protocol/gb28181/manscdp"
	"github.com/srs-lite/srs-lite/internal/protocol/hls"
	"github.com/srs-lite/srs-lite/internal/session"
)

// orderGB28181: the GB28181 plays are sources, closed before the protocols
// whose players they feed (like the edge's pulls).
const orderGB28181 = orderIngest + 2

func init() {
	register(orderGB28181, newGB28181)
	ptzBackends = append(ptzBackends, gbPTZ)
}

// gbIdle is how long a channel invited for players stays up after the
// last player left, before BYE.
const gbIdle = 10 * time.Second

// gbRefusedFor is how long a channel whose publish was refused (on_publish,
// security rules) is not invited again.
const gbRefusedFor = 30 * time.Second

// gbApp is the app of the channels' streams: live/DEVICEID_CHANNELID.
const gbApp = "live"

// gbMediaFactory makes the RTP/PS receiver on the media port's sockets
// (set by the media half, gb28181_media.go); nil: INVITE without media.
var gbMediaFactory func(tcp net.Listener, udp net.PacketConn, log *slog.Logger) (gb28181.Media, func() error)

// gbMediaStats gives the API the counters of an SSRC of the media half's
// receiver (nil: none).
var gbMediaStats func(m gb28181.Media, ssrc uint32) any

// gbComponent is the GB28181 SIP server of [gb28181] and the on-demand
// plays of its devices' channels.
type gbComponent struct {
	s *Server

	mu         sync.Mutex
	srv        *gb28181.Server // nil: off
	cfg        config.GB28181
	closeMedia func() error
	mtcp       net.Listener
	mudp       net.PacketConn
	mediaPort  int // bound
	plays      map[media.Key]*gbPlay
	refused    map[media.Key]time.Time // by on_publish or the security rules, when
	devices    map[string]*session.Session
	ctx        context.Context
	cancel     context.CancelFunc
	wg         sync.WaitGroup
}

func newGB28181(s *Server) (component, error) {
	c := &gbComponent{s: s, plays: map[media.Key]*gbPlay{}, devices: map[string]*session.Session{},
		refused: map[media.Key]time.Time{}}
	s.reg.OnSubscribe(func(st *media.Stream) { c.demand(st.Key()) })
	return c, nil
}

func (c *gbComponent) name() string { return "gb28181" }

func gbConfig(g config.GB28181) gb28181.Config {
	return gb28181.Config{ServerID: g.ServerID, Domain: g.Domain, Password: g.Password,
		KeepaliveTimeout: g.KeepaliveTimeout.D(), MediaPort: g.MediaPort}
}

func (c *gbComponent) start(_ context.Context, cfg *config.Config) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cfg = cfg.GB28181
	if !cfg.GB28181.Enabled {
		return nil
	}
	return c.open(cfg.GB28181)
}

// open binds the SIP and media sockets and starts the server, under mu.
func (c *gbComponent) open(g config.GB28181) error {
	udp, tcp, err := gbListenPair(g.Listen, "gb28181 (SIP)")
	if err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(g.Listen)
	maddr := net.JoinHostPort(host, strconv.Itoa(g.MediaPort))
	mudp, mtcp, err := gbListenPair(maddr, "gb28181 media")
	if err != nil {
		udp.Close()
		tcp.Close()
		return err
	}
	maddr = mtcp.Addr().String()
	c.mediaPort = mtcp.Addr().(*net.TCPAddr).Port
	var m gb28181.Media
	c.closeMedia = nil
	if gbMediaFactory != nil {
		m, c.closeMedia = gbMediaFactory(mtcp, mudp, c.s.log)
	}
	c.mtcp, c.mudp = mtcp, mudp
	c.ctx, c.cancel = context.WithCancel(context.Background())
	deps := gb28181.Deps{Log: c.s.log, Media: m, Admit: c.admit, Left: c.left, Registered: c.registered}
	if m != nil && gbMediaStats != nil {
		deps.MediaStats = func(ssrc uint32) any { return gbMediaStats(m, ssrc) }
	}
	c.srv = gb28181.New(c.sipConfig(g), deps)
	c.srv.Serve(udp, tcp)
	c.s.setAddr("gb28181", udp.LocalAddr().String())
	c.s.setAddr("gb28181_media", maddr)
	c.s.log.Info("gb28181: SIP server listening", "listen", g.Listen, "udp", udp.LocalAddr().String(),
		"tcp", tcp.Addr().String(), "media", maddr, "server_id", g.ServerID, "domain", g.Domain)
	c.wg.Add(1)
	go c.supervise(c.ctx, c.srv)
	return nil
}

// sipConfig is the SIP server's config: g, with the media port bound
// (media_port 0, in tests, is any free port). Under mu.
func (c *gbComponent) sipConfig(g config.GB28181) gb28181.Config {
	sc := gbConfig(g)
	sc.MediaPort = c.mediaPort
	return sc
}

// gbListenPair binds a UDP socket and a TCP listener on addr; with port 0
// (tests) both on the port UDP got, tried again when TCP's twin is taken.
func gbListenPair(addr, what string) (net.PacketConn, net.Listener, error) {
	host, port, _ := net.SplitHostPort(addr)
	tries := 1
	if port == "0" {
		tries = 20
	}
	var err error
	for range tries {
		var udp net.PacketConn
		udp, err = net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("cannot listen for %s on udp %s: %w", what, addr, unwrapAddrInUse(err))
		}
		tcpAddr := net.JoinHostPort(host, strconv.Itoa(udp.LocalAddr().(*net.UDPAddr).Port))
		var tcp net.Listener
		if tcp, err = net.Listen("tcp", tcpAddr); err == nil {
			return udp, tcp, nil
		}
		udp.Close()
	}
	return nil, nil, fmt.Errorf("cannot listen for %s on tcp %s: %w", what, addr, unwrapAddrInUse(err))
}

// shut stops the server and its plays, under mu.
func (c *gbComponent) shut() {
	if c.srv == nil {
		return
	}
	c.cancel()
	c.s.setAddr("gb28181", "")
	c.s.setAddr("gb28181_media", "")
	plays := c.plays
	c.plays = map[media.Key]*gbPlay{}
	srv := c.srv
	c.srv = nil
	c.mu.Unlock()
	for _, p := range plays {
		p.stop()
	}
	c.wg.Wait()
	srv.Close()
	if c.closeMedia != nil {
		c.closeMedia()
	}
	c.mtcp.Close()
	c.mudp.Close()
	c.mu.Lock()
}

func (c *gbComponent) reload(_, next *config.Config, ch config.Sections) error {
	if !ch.Has(config.SectionGB28181) {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.cfg
	g := next.GB28181
	c.cfg = g
	if c.srv != nil && g.Enabled && old.Listen == g.Listen && old.MediaPort == g.MediaPort {
		c.srv.SetConfig(c.sipConfig(g))
		return nil
	}
	c.shut()
	if g.Enabled {
		return c.open(g)
	}
	return nil
}

func (c *gbComponent) close(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.shut()
	return nil
}

// server returns the SIP server, or nil when off.
func (c *gbComponent) server() *gb28181.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.srv
}

// admit makes a registering device a session (protocol gb28181) and asks
// on_connect: its hooks see the device as a client of app "gb28181",
// stream DEVICEID.
func (c *gbComponent) admit(ctx context.Context, d gb28181.Device) error {
	host, _, _ := net.SplitHostPort(d.Address)
	ss := session.New(log.NewTraceID(), "gb28181", host)
	ss.SetURL("sip:"+d.ID+"@"+d.Address, "")
	ss.SetStream(media.Key{Vhost: media.DefaultVhost, App: "gb28181", Stream: d.ID}, session.None)
	if err := c.s.Connect(ctx, ss); err != nil {
		return err
	}
	c.mu.Lock()
	if old := c.devices[d.ID]; old != nil {
		c.mu.Unlock()
		c.s.Close(old)
		c.mu.Lock()
	}
	c.devices[d.ID] = ss
	c.mu.Unlock()
	return nil
}

// left ends a device's session (on_close).
func (c *gbComponent) left(d gb28181.Device) {
	c.mu.Lock()
	ss := c.devices[d.ID]
	delete(c.devices, d.ID)
	c.mu.Unlock()
	if ss != nil {
		c.s.Close(ss)
	}
}

// registered starts the device's always-on channels at once (the
// supervisor would within a second).
func (c *gbComponent) registered(gb28181.Device) {
	c.mu.Lock()
	srv := c.srv
	c.mu.Unlock()
	if srv != nil {
		c.alwaysOn(srv)
	}
}

// supervise starts the always-on channels of online devices every second.
func (c *gbComponent) supervise(ctx context.Context, srv *gb28181.Server) {
	defer c.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.alwaysOn(srv)
		}
	}
}

func (c *gbComponent) alwaysOn(srv *gb28181.Server) {
	c.mu.Lock()
	chans := c.cfg.Channels
	c.mu.Unlock()
	for _, ch := range chans {
		if !ch.AlwaysOn {
			continue
		}
		name := ch.Stream
		if name == "" {
			name = ch.ID
		}
		c.play(media.Key{Vhost: media.DefaultVhost, App: gbApp, Stream: name}, true)
	}
}

// resolve maps a stream to a device's channel: a [[gb28181.channel]]
// stream name, DEVICEID_CHANNELID, or a channel id.
func (c *gbComponent) resolve(srv *gb28181.Server, k media.Key) (dev, ch string, e config.GBChannel, ok bool) {
	if k.App != gbApp {
		return "", "", e, false
	}
	c.mu.Lock()
	id := k.Stream
	for _, x := range c.cfg.Channels {
		if x.Stream == k.Stream || x.Stream == "" && x.ID == k.Stream {
			id, e = x.ID, x
			break
		}
	}
	c.mu.Unlock()
	dev, ch, ok = srv.Resolve(id)
	return dev, ch, e, ok && srv.Online(dev)
}

// demand is the registry's subscribe hook: a player of a channel's stream
// that nobody publishes makes us invite the channel.
func (c *gbComponent) demand(k media.Key) { c.play(k, false) }

func (c *gbComponent) play(k media.Key, always bool) {
	c.mu.Lock()
	srv := c.srv
	if srv == nil || c.plays[k] != nil || time.Since(c.refused[k]) < gbRefusedFor {
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	dev, ch, e, ok := c.resolve(srv, k)
	if !ok {
		return
	}
	if st := c.s.reg.Lookup(k); st != nil && st.Publishing() {
		return // published by someone else
	}
	c.mu.Lock()
	if c.srv != srv || c.plays[k] != nil {
		c.mu.Unlock()
		return
	}
	p := &gbPlay{c: c, srv: srv, key: k, dev: dev, ch: ch, always: always || e.AlwaysOn, transport: e.Transport,
		gone: make(chan error, 1), done: make(chan struct{})}
	p.ctx, p.cancel = context.WithCancel(c.ctx)
	c.plays[k] = p
	c.wg.Add(1)
	c.mu.Unlock()
	go p.run()
}

// gbPlay is one channel invited into one stream: INVITE again when the
// media goes while players remain, BYE gbIdle after the last one left.
type gbPlay struct {
	c         *gbComponent
	srv       *gb28181.Server
	key       media.Key
	dev, ch   string
	always    bool
	transport string
	ctx       context.Context
	cancel    context.CancelFunc
	gone      chan error
	done      chan struct{}

	mu     sync.Mutex // the frames' goroutine against run
	st     *media.Stream
	sess   *session.Session
	info   codec.Described
	frames uint64
	ended  bool // unpublished: a late frame does not publish again
}

func (p *gbPlay) stop() {
	p.cancel()
	<-p.done
}

func (p *gbPlay) players() int {
	n := p.c.s.streamPlayers(p.key.Vhost, p.key.App, p.key.Stream)
	if st := p.c.s.reg.Lookup(p.key); st != nil {
		n += st.Stats().Readers
	}
	return n
}

func (p *gbPlay) run() {
	l := p.c.s.log.With("stream", p.key.String(), "device", p.dev, "channel", p.ch)
	defer p.c.wg.Done()
	defer close(p.done)
	defer func() {
		p.c.mu.Lock()
		if p.c.plays[p.key] == p {
			delete(p.c.plays, p.key)
		}
		p.c.mu.Unlock()
		p.unpublish()
	}()
	// The publisher's session, admitted by the security rules and
	// on_publish before the camera is asked.
	host := ""
	if d, ok := p.srv.Device(p.dev); ok {
		host, _, _ = net.SplitHostPort(d.Address)
	}
	ss := session.New(log.NewTraceID(), "gb28181", host)
	ss.SetURL("sip:"+p.ch+"@"+p.dev, "")
	ss.SetStream(p.key, session.Publisher)
	ss.SetKick(p.cancel)
	hctx, hcancel := context.WithTimeout(p.ctx, 10*time.Second)
	_, err := p.c.s.Publish(hctx, ss)
	hcancel()
	if err != nil {
		l.Warn("gb28181: publish refused", "err", err, "retry", gbRefusedFor.String())
		p.c.mu.Lock()
		p.c.refused[p.key] = time.Now()
		p.c.mu.Unlock()
		return
	}
	p.mu.Lock()
	p.sess = ss
	p.mu.Unlock()
	backoff := time.Second
	for {
		if !p.always && p.players() == 0 && p.idleFor(l) {
			return
		}
		if !p.srv.Online(p.dev) {
			l.Info("gb28181: device offline: play ends")
			return
		}
		start := time.Now()
		ictx, icancel := context.WithTimeout(p.ctx, 10*time.Second)
		call, err := p.srv.Invite(ictx, p.dev, p.ch, p.transport, p)
		icancel()
		if err != nil {
			if p.ctx.Err() != nil {
				return
			}
			l.Warn("gb28181: INVITE failed", "err", err, "retry", backoff.String())
			select {
			case <-p.ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 30*time.Second)
			continue
		}
		l.Info("gb28181: play", "ssrc", gb28181.SSRCString(call.SSRC), "invite", time.Since(start).Round(time.Millisecond).String())
		backoff = time.Second
		if !p.hold(l, call) {
			return
		}
	}
}

// idleFor waits up to gbIdle for a player; true when none came.
func (p *gbPlay) idleFor(l *slog.Logger) bool {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	until := time.Now().Add(gbIdle)
	for time.Now().Before(until) {
		select {
		case <-p.ctx.Done():
			return true
		case <-t.C:
			if p.players() > 0 {
				return false
			}
		}
	}
	l.Info("gb28181: no players", "after", gbIdle.String())
	return true
}

// hold keeps a call up until the players are gone (BYE, false), the media
// ends (true: invite again), or the play is stopped (BYE, false).
func (p *gbPlay) hold(l *slog.Logger, call *gb28181.Call) bool {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	var empty time.Time
	for {
		select {
		case <-p.ctx.Done():
			call.Bye()
			return false
		case err := <-p.gone:
			l.Warn("gb28181: media ended", "err", err)
			call.Bye()
			return true // invite again (run leaves when no players are left)
		case <-call.Done():
			return true
		case now := <-t.C:
			if p.always || p.players() > 0 {
				empty = time.Time{}
				continue
			}
			if empty.IsZero() {
				empty = now
			} else if now.Sub(empty) >= gbIdle {
				l.Info("gb28181: no players: BYE", "after", gbIdle.String())
				call.Bye()
				return false
			}
		}
	}
}

// Frame is the gb28181.Sink: a frame of the channel, written to the stream
// (published at the first frame).
func (p *gbPlay) Frame(f *media.Frame) {
	fr := *f
	if fr.Buf() != nil {
		fr.Retain()
	} else {
		fr.Own()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sess == nil || p.ended || p.st == nil && !p.publish() {
		fr.Release()
		return
	}
	p.info.Note(p.st, &fr)
	p.sess.BytesIn.Add(uint64(len(fr.Payload)))
	p.frames++
	p.st.Write(&fr)
}

// Gone is the gb28181.Sink's end of media.
func (p *gbPlay) Gone(err error) {
	select {
	case p.gone <- err:
	default:
	}
}

// publish takes the stream and makes the publisher's session, under mu.
func (p *gbPlay) publish() bool {
	st, err := p.c.s.reg.Publish(p.key)
	if err != nil {
		if !errors.Is(err, media.ErrBusy) {
			p.c.s.log.Warn("gb28181: publish", "stream", p.key.String(), "err", err)
		}
		return false
	}
	p.st = st
	p.sess.SetStreamID(st.ID)
	p.c.s.sessions.Add(p.sess)
	p.c.s.log.Info("gb28181: publishing", "stream", p.key.String(), "cid", p.sess.ID)
	return true
}

func (p *gbPlay) unpublish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ended = true
	if p.st == nil {
		return
	}
	p.st.Unpublish()
	p.st = nil
	p.c.s.sessions.Remove(p.sess)
	p.c.s.Unpublish(p.sess)
	p.c.s.log.Info("gb28181: unpublish", "stream", p.key.String(), "frames", p.frames)
}

// routes: the devices API, and HLS playlists of channels (HLS viewers
// read no ring: the request itself invites the channel and waits for it).
func (c *gbComponent) routes(r *routes) {
	r.api.HandleFunc("GET /api/v1/gb28181/devices", func(w http.ResponseWriter, _ *http.Request) {
		devs := []gb28181.Device{}
		if srv := c.server(); srv != nil {
			devs = srv.Devices()
		}
		gbJSON(w, http.StatusOK, map[string]any{"code": 0, "server": c.s.serverID, "devices": devs})
	})
	r.api.HandleFunc("GET /api/v1/gb28181/devices/{id}", func(w http.ResponseWriter, req *http.Request) {
		srv := c.server()
		if srv == nil {
			gbJSON(w, http.StatusNotFound, map[string]any{"code": 404, "server": c.s.serverID, "msg": "gb28181 is not enabled"})
			return
		}
		d, ok := srv.Device(req.PathValue("id"))
		if !ok {
			gbJSON(w, http.StatusNotFound, map[string]any{"code": 404, "server": c.s.serverID, "msg": "no such device"})
			return
		}
		gbJSON(w, http.StatusOK, map[string]any{"code": 0, "server": c.s.serverID, "device": d})
	})
	r.streams = append([]streamHandler{{"gb28181", c.serveHLS}}, r.streams...)
}

func gbJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (c *gbComponent) serveHLS(w http.ResponseWriter, req *http.Request) bool {
	srv := c.server()
	if srv == nil {
		return false
	}
	hr, ok := hls.ParsePath(req.URL.Path)
	if !ok || hr.Kind != hls.KindPlaylist || hr.App != gbApp {
		return false
	}
	vhost, ok := c.s.vhostFor(req.Host, req.URL.Query().Get("vhost"))
	if !ok {
		return false
	}
	k := media.Key{Vhost: vhost, App: hr.App, Stream: hr.Stream}
	if st := c.s.reg.Lookup(k); st != nil && st.Publishing() {
		return false
	}
	if _, _, _, ok := c.resolve(srv, k); !ok {
		return false
	}
	rd := c.s.reg.Subscribe(k, nil) // invites the channel (demand)
	defer rd.Close()
	ctx, cancel := context.WithTimeout(req.Context(), 10*time.Second)
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

// gbPTZ sends a PTZ command to a GB28181 channel named by its channel id
// or DEVICEID_CHANNELID; false when name is not one.
func gbPTZ(s *Server, ctx context.Context, name string, cmd ptz.Command) (bool, error) {
	c := find[*gbComponent](s)
	if c == nil {
		return false, nil
	}
	srv := c.server()
	if srv == nil {
		return false, nil
	}
	dev, ch, ok := srv.Resolve(name)
	if !ok {
		return false, nil
	}
	hex, err := gbPTZCmd(cmd)
	if err != nil {
		return true, err
	}
	return true, srv.PTZ(ctx, dev, ch, hex)
}

// gbPTZCmd maps the API's command onto PTZCmd: speeds 1..63 (Pelco's
// scale, 64 turbo) become 0..255 for pan and tilt, 0..15 for zoom.
func gbPTZCmd(c ptz.Command) (string, error) {
	speed := c.Speed
	switch {
	case speed == 0:
		speed = ptz.DefaultSpeed
	case speed < 0 || speed > ptz.TurboSpeed:
		return "", fmt.Errorf("%w: %d: want 1..%d, %d for turbo", ptz.ErrSpeed, c.Speed, ptz.MaxSpeed, ptz.TurboSpeed)
	}
	v := byte(min(speed*255/ptz.MaxSpeed, 255))
	z := byte(max(1, min(speed*15/ptz.MaxSpeed, 15)))
	switch c.Action {
	case ptz.PanLeft:
		return manscdp.PTZCmd(manscdp.PTZLeft, v, 0, 0)
	case ptz.PanRight:
		return manscdp.PTZCmd(manscdp.PTZRight, v, 0, 0)
	case ptz.TiltUp:
		return manscdp.PTZCmd(manscdp.PTZUp, 0, v, 0)
	case ptz.TiltDown:
		return manscdp.PTZCmd(manscdp.PTZDown, 0, v, 0)
	case ptz.ZoomIn:
		return manscdp.PTZCmd(manscdp.PTZZoomIn, 0, 0, z)
	case ptz.ZoomOut:
		return manscdp.PTZCmd(manscdp.PTZZoomOut, 0, 0, z)
	case ptz.Stop:
		return manscdp.PTZCmd(0, 0, 0, 0)
	case ptz.PresetSet, ptz.PresetGo:
		if c.Preset < 1 || c.Preset > 255 {
			return "", fmt.Errorf("%w: %d: want 1..255", ptz.ErrPreset, c.Preset)
		}
		op := byte(manscdp.PTZPresetSet)
		if c.Action == ptz.PresetGo {
			op = manscdp.PTZPresetGo
		}
		return manscdp.PTZCmd(op, 0, byte(c.Preset), 0)
	}
	return "", fmt.Errorf("%w %q", ptz.ErrAction, c.Action)
}
