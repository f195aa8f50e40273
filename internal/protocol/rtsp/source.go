package rtsp

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	pionrtp "github.com/pion/rtp"

	"github.com/srs-lite/srs-lite/internal/dgram"
	"github.com/srs-lite/srs-lite/internal/format/codec/aac"
	"github.com/srs-lite/srs-lite/internal/format/rtp"
	"github.com/srs-lite/srs-lite/internal/media"
)

// Transports of Config.Transport.
const (
	TransportAuto = "auto" // UDP first, TCP when UDP is refused or stays silent
	TransportUDP  = "udp"
	TransportTCP  = "tcp"
)

// Config configures a Source. Zero values take the defaults.
type Config struct {
	// Transport is "auto" (the default), "udp" or "tcp".
	Transport string
	// UDPWait is how long UDP may stay silent after PLAY before "auto" falls
	// back to TCP (default 3 s).
	UDPWait time.Duration
	// Timeout bounds connecting, each request, and a silence of the media
	// (default 10 s).
	Timeout time.Duration
	// UserAgent is sent with every request (default "srs-lite").
	UserAgent string
	// ReorderWindow is the UDP reorder buffer, in packets (default 64).
	ReorderWindow int
}

func (c *Config) defaults() {
	if c.Transport == "" {
		c.Transport = TransportAuto
	}
	if c.UDPWait <= 0 {
		c.UDPWait = 3 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.UserAgent == "" {
		c.UserAgent = "srs-lite"
	}
}

// Publisher takes a source's frames: the output stream of an ingest.
type Publisher interface {
	// Write publishes one frame. Its payload may be scratch memory that is
	// valid during the call only. An error (the stream is taken) stops the
	// source, which returns it.
	Write(f *media.Frame) error
}

// TrackDeclarer is a Publisher that can be told, before the first frame,
// which tracks the camera will send (media.Stream.ExpectTracks): HLS and
// DVR then wait for the video of a camera whose audio comes first.
type TrackDeclarer interface {
	ExpectTracks(video, audio bool)
}

// Errors of a session.
var (
	// ErrNoMedia reports that the camera sent no media for Config.Timeout.
	ErrNoMedia = errors.New("rtsp: no media")
	// ErrNoTracks reports a DESCRIBE answer without a track srs-lite can
	// depacketize.
	ErrNoTracks = errors.New("rtsp: no supported track")
	// errUseTCP makes Run try again over TCP.
	errUseTCP = errors.New("rtsp: UDP did not work")
)

// Source pulls one camera. Run plays one session; call it again (as the
// ingest supervisor does) to reconnect. What the source learns (UDP does not
// work, which quirks it has logged) survives between runs.
type Source struct {
	url     *url.URL
	cfg     Config
	log     *slog.Logger
	quirks  quirks
	tcpOnly atomic.Bool
	ssrc    uint32
	// capture, when set (by tests), sees every RTP packet of a track.
	capture func(kind string, f rtp.Format, pkt []byte)
}

// NewSource returns the source of an rtsp:// URL; credentials in the URL
// are used for Basic or Digest authentication.
func NewSource(input string, cfg Config, log *slog.Logger) (*Source, error) {
	u, err := url.Parse(input)
	if err != nil {
		return nil, fmt.Errorf("rtsp: input %q: %w", input, err)
	}
	if !strings.EqualFold(u.Scheme, "rtsp") || u.Host == "" {
		return nil, fmt.Errorf("rtsp: input %q: want rtsp://[user:password@]host[:port]/path", u.Redacted())
	}
	switch cfg.Transport {
	case "", TransportAuto, TransportUDP, TransportTCP:
	default:
		return nil, fmt.Errorf("rtsp: transport %q: want auto, udp or tcp", cfg.Transport)
	}
	cfg.defaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Source{url: u, cfg: cfg, log: log, ssrc: rand.Uint32()}
	s.quirks.log = log
	return s, nil
}

// Transport returns the transport the next Run starts with.
func (s *Source) Transport() string {
	if s.cfg.Transport == TransportTCP || s.tcpOnly.Load() {
		return TransportTCP
	}
	return TransportUDP
}

// Run plays one session of the camera into pub until ctx is done or the
// session fails, and returns why it ended (ctx.Err() when cancelled).
func (s *Source) Run(ctx context.Context, pub Publisher) error {
	tcp := s.Transport() == TransportTCP
	err := s.session(ctx, pub, tcp)
	if errors.Is(err, errUseTCP) && s.cfg.Transport == TransportAuto {
		s.tcpOnly.Store(true)
		s.log.Info("rtsp: falling back to TCP", "reason", err.Error())
		select { // let the camera drop the UDP session first
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		err = s.session(ctx, pub, true)
	}
	return err
}

// quirks logs each camera quirk once per source.
type quirks struct {
	mu   sync.Mutex
	seen map[string]bool
	log  *slog.Logger
}

func (q *quirks) warn(key, msg string, args ...any) {
	q.mu.Lock()
	first := !q.seen[key]
	if first {
		if q.seen == nil {
			q.seen = map[string]bool{}
		}
		q.seen[key] = true
	}
	q.mu.Unlock()
	if first {
		q.log.Warn("rtsp: "+msg+" (logged once)", args...)
	}
}

// packet is a datagram or interleaved frame handed to the session loop.
type packet struct {
	t    *track
	rtcp bool
	buf  []byte
	at   time.Time
}

// track is one set-up media of a session.
type track struct {
	s       *session
	kind    string
	format  rtp.Format
	others  []rtp.Format // the media's other formats: their packets are dropped
	control *url.URL
	rawCtl  string // a=control as written
	depack  rtp.Depacketizer
	clock   *rtp.TrackClock
	reorder *rtp.Reorder // UDP only
	rx      rxStats
	ch      [2]int // interleaved channels: RTP, RTCP
	udp     [2]*net.UDPConn
	srvPort [2]int

	pkt     pionrtp.Packet
	lastDTS time.Duration
	hasDTS  bool
	lost    uint64
	frames  uint64
	emit    rtp.Emit
	out     func(*pionrtp.Packet)
}

// session is one connection's worth of state.
type session struct {
	src   *Source
	c     *conn
	url   *url.URL // the URL played, without credentials
	base  *url.URL // the aggregate control URL, for PLAY and keep-alives
	tcp   bool
	pub   Publisher
	tl    *rtp.Timeline
	tr    []*track
	byCh  [256]*track
	srvIP net.IP

	pkts   chan packet
	msgs   chan *Message
	errc   chan error
	free   chan []byte
	done   chan struct{}
	wg     sync.WaitGroup
	now    time.Time
	pubErr error

	gotRTP    bool
	lastRTP   time.Time
	playAt    time.Time
	nextKeep  time.Time
	nextRR    time.Time
	keepAlive string
	errCount  map[string]uint64
}

// session connects, plays and pumps one session.
func (s *Source) session(ctx context.Context, pub Publisher, tcp bool) error {
	ss := &session{src: s, tcp: tcp, pub: pub, tl: rtp.NewTimeline(),
		pkts: make(chan packet, 256), msgs: make(chan *Message, 8), errc: make(chan error, 4),
		free: make(chan []byte, 256), done: make(chan struct{}), errCount: map[string]uint64{}}
	ss.tl.Warn = func(key, msg string, args ...any) { s.quirks.warn(key, msg, args...) }
	defer ss.close()
	if err := ss.connect(ctx); err != nil {
		return err
	}
	if err := ss.setup(ctx); err != nil {
		return err
	}
	if d, ok := pub.(TrackDeclarer); ok {
		var video, audio bool
		for _, t := range ss.tr {
			video = video || t.kind == "video"
			audio = audio || t.kind == "audio"
		}
		d.ExpectTracks(video, audio)
	}
	if err := ss.play(ctx); err != nil {
		return err
	}
	return ss.loop(ctx)
}

// connect dials, sends OPTIONS and DESCRIBE, following redirects (RFC 2326
// §11.3.3), and parses the tracks.
func (ss *session) connect(ctx context.Context) error {
	s := ss.src
	u := *s.url
	for hop := 0; ; hop++ {
		if hop > 5 {
			return fmt.Errorf("rtsp: more than 5 redirects")
		}
		if ss.c != nil {
			_ = ss.c.close()
		}
		c, err := dial(ctx, &u, s.cfg.Timeout, s.cfg.UserAgent)
		if err != nil {
			return err
		}
		ss.c = c
		wire := u
		wire.User = nil
		ss.url = &wire
		m, err := c.do(ctx, "OPTIONS", wire.String(), nil)
		if err != nil {
			return err
		}
		if loc, ok := redirect(m); ok {
			if err := ss.follow(&u, loc); err != nil {
				return err
			}
			continue
		}
		if m.StatusCode/100 == 2 {
			c.public = m.Header.Get("Public")
		}
		m, err = c.do(ctx, "DESCRIBE", wire.String(), [][2]string{{"Accept", "application/sdp"}})
		if err != nil {
			return err
		}
		if loc, ok := redirect(m); ok {
			if err := ss.follow(&u, loc); err != nil {
				return err
			}
			continue
		}
		if m.StatusCode/100 != 2 {
			return fmt.Errorf("rtsp: DESCRIBE %s: %d %s", wire.Redacted(), m.StatusCode, m.Reason)
		}
		return ss.describe(m)
	}
}

// redirect reports the Location of a 3xx answer.
func redirect(m *Message) (string, bool) {
	loc := m.Header.Get("Location")
	return loc, m.StatusCode/100 == 3 && loc != ""
}

// follow points u at a redirect's Location, keeping the credentials when
// the new URL has none.
func (ss *session) follow(u *url.URL, loc string) error {
	next, err := u.Parse(loc)
	if err != nil {
		return fmt.Errorf("rtsp: redirect to %q: %w", clip(loc), err)
	}
	if next.User == nil {
		next.User = u.User
	}
	ss.src.log.Info("rtsp: redirected", "to", next.Redacted())
	*u = *next
	return nil
}

// describe parses the SDP of a DESCRIBE answer into the session's tracks:
// the first video and the first audio srs-lite can depacketize.
func (ss *session) describe(m *Message) error {
	q := &ss.src.quirks
	media, sessCtl, repaired, err := parseSDP(m.Body)
	if err != nil {
		return err
	}
	if repaired {
		q.warn("sdp", "SDP out of RFC 4566 order or incomplete: repaired")
	}
	base := ss.baseURL(m)
	if sessCtl != "" && sessCtl != "*" {
		if b, err := controlURL(base, sessCtl); err == nil {
			base = b
		}
	}
	var haveVideo, haveAudio bool
	for _, md := range media {
		if (md.kind == "video" && haveVideo) || (md.kind == "audio" && haveAudio) ||
			(md.kind != "video" && md.kind != "audio") {
			continue
		}
		t, err := ss.newTrack(md)
		if err != nil {
			q.warn("track-"+md.kind+err.Error(), "skipping a track", "media", md.kind, "err", err.Error())
			continue
		}
		t.rawCtl = md.control
		if t.control, err = controlURL(base, md.control); err != nil {
			q.warn("control", "bad a=control: skipping the track", "control", md.control)
			continue
		}
		ss.tr = append(ss.tr, t)
		haveVideo = haveVideo || md.kind == "video"
		haveAudio = haveAudio || md.kind == "audio"
	}
	ss.base = base
	if len(ss.tr) == 0 {
		return fmt.Errorf("%w in %s (srs-lite takes H.264, H.265, AAC, G.711 and Opus)", ErrNoTracks, ss.url.Redacted())
	}
	return nil
}

// baseURL picks the base for relative controls (RFC 2326 §C.1.1):
// Content-Base, Content-Location, or the request URL. A base naming another
// host or scheme (cameras behind NAT, or misconfigured) is corrected to
// the URL we play.
func (ss *session) baseURL(m *Message) *url.URL {
	q := &ss.src.quirks
	for _, h := range []string{"Content-Base", "Content-Location"} {
		v := strings.TrimSpace(m.Header.Get(h))
		if v == "" {
			continue
		}
		b, err := url.Parse(v)
		if err != nil || !strings.EqualFold(b.Scheme, "rtsp") {
			q.warn("content-base", "unusable "+h+": using the request URL", "value", clip(v))
			return ss.url
		}
		b.User = nil
		if !strings.EqualFold(b.Host, ss.url.Host) {
			q.warn("content-base-host", h+" names another host: using ours", "value", b.Host, "ours", ss.url.Host)
			b.Host = ss.url.Host
		}
		return b
	}
	return ss.url
}

// newTrack makes a track of the first format of md that srs-lite can
// depacketize.
func (ss *session) newTrack(md sdpMedia) (*track, error) {
	q := &ss.src.quirks
	var err error = fmt.Errorf("%w: no formats", rtp.ErrUnsupported)
	for i, f := range md.formats {
		if f.Codec() == media.CodecUnknown {
			err = fmt.Errorf("%w: %s/%d", rtp.ErrUnsupported, f.Encoding, f.ClockRate)
			continue
		}
		if f.Encoding == "MPEG4-GENERIC" && f.Params["config"] == "" {
			// Made up from the rtpmap: AAC LC at the clock rate.
			ch := max(f.Channels, 1)
			f.Params["config"] = hex.EncodeToString(aac.BuildASC(aac.ObjectLC, f.ClockRate, ch))
			q.warn("aac-config", "AAC track without config in the SDP: assuming AAC LC", "rate", f.ClockRate, "channels", ch)
		}
		if f.Encoding == "H264" && f.Params["sprop-parameter-sets"] == "" {
			q.warn("h264-sprop", "H.264 track without sprop-parameter-sets: waiting for SPS and PPS in band")
		}
		var d rtp.Depacketizer
		if d, err = rtp.NewDepacketizer(f); err != nil {
			continue
		}
		t := &track{s: ss, kind: md.kind, format: f, depack: d, clock: ss.tl.Track(f.ClockRate)}
		t.others = append(append(t.others, md.formats[:i]...), md.formats[i+1:]...)
		t.rx.rate = int64(f.ClockRate)
		t.emit = t.onFrame
		t.out = t.onPacket
		return t, nil
	}
	return nil, err
}

// setup sends SETUP for each track (RFC 2326 §10.4).
func (ss *session) setup(ctx context.Context) error {
	c := ss.c
	if ra, ok := c.nc.RemoteAddr().(*net.TCPAddr); ok {
		ss.srvIP = ra.IP
	}
	for i := 0; i < len(ss.tr); i++ {
		t := ss.tr[i]
		var tr string
		if ss.tcp {
			t.ch = [2]int{2 * i, 2*i + 1}
			tr = fmt.Sprintf("RTP/AVP/TCP;unicast;interleaved=%d-%d", t.ch[0], t.ch[1])
		} else {
			if err := ss.listenUDP(t); err != nil {
				return err
			}
			tr = fmt.Sprintf("RTP/AVP;unicast;client_port=%d-%d", udpPort(t.udp[0]), udpPort(t.udp[1]))
		}
		m, err := ss.setupTrack(ctx, t, tr)
		if err != nil {
			return err
		}
		if m.StatusCode == 461 && !ss.tcp { // Unsupported Transport
			if i > 0 || ss.src.cfg.Transport != TransportAuto {
				return fmt.Errorf("%w: SETUP: %d %s", errUseTCP, m.StatusCode, m.Reason)
			}
			// The first SETUP: try TCP on the same connection.
			ss.src.tcpOnly.Store(true)
			ss.src.log.Info("rtsp: the camera refuses UDP: using TCP")
			for _, u := range t.udp {
				_ = u.Close()
			}
			t.udp = [2]*net.UDPConn{}
			ss.tcp = true
			i--
			continue
		}
		if m.StatusCode/100 != 2 {
			return fmt.Errorf("rtsp: SETUP %s: %d %s", t.control.Redacted(), m.StatusCode, m.Reason)
		}
		if err := ss.transport(t, m); err != nil {
			return err
		}
		if sess, kv := params(m.Header.Get("Session")); sess != "" {
			c.session = sess
			c.sessTimeout = 60 * time.Second // RFC 2326 §12.37
			if v, ok := kv["timeout"]; ok {
				if n, err := time.ParseDuration(v + "s"); err == nil && n > 0 {
					c.sessTimeout = n
				}
			}
		}
	}
	if c.session == "" {
		ss.src.quirks.warn("session", "SETUP answered without a Session header")
	}
	return nil
}

// setupTrack sends a track's SETUP. A control that the camera does not
// know (a wrong Content-Base) is tried again against the URL we play.
func (ss *session) setupTrack(ctx context.Context, t *track, tr string) (*Message, error) {
	m, err := ss.c.do(ctx, "SETUP", t.control.String(), [][2]string{{"Transport", tr}})
	if err != nil || m.StatusCode/100 == 2 || m.StatusCode == 461 {
		return m, err
	}
	// A quirk: retry with the control resolved against the request URL.
	if alt, aerr := controlURL(ss.url, t.rawCtl); aerr == nil && alt.String() != t.control.String() {
		m2, err := ss.c.do(ctx, "SETUP", alt.String(), [][2]string{{"Transport", tr}})
		if err == nil && m2.StatusCode/100 == 2 {
			ss.src.quirks.warn("setup-url", "SETUP worked only against the request URL: the camera's Content-Base is wrong",
				"control", alt.Redacted())
			t.control = alt
			return m2, nil
		}
	}
	return m, nil
}

// transport reads the Transport header of a SETUP answer (RFC 2326 §12.39).
func (ss *session) transport(t *track, m *Message) error {
	th := m.Header.Get("Transport")
	_, kv := params(th)
	if ss.tcp {
		if v, ok := kv["interleaved"]; ok {
			a, b, ok := portPair(v)
			if !ok || a > 255 || b > 255 {
				return fmt.Errorf("%w: Transport %q", ErrProtocol, clip(th))
			}
			if a != t.ch[0] {
				ss.src.quirks.warn("interleaved", "camera chose other interleaved channels", "want", t.ch[0], "got", a)
			}
			t.ch = [2]int{a, b}
		}
		if ss.byCh[t.ch[0]] != nil || ss.byCh[t.ch[1]] != nil {
			return fmt.Errorf("%w: two tracks on interleaved channel %d", ErrProtocol, t.ch[0])
		}
		ss.byCh[t.ch[0]], ss.byCh[t.ch[1]] = t, t
		return nil
	}
	if strings.Contains(strings.ToUpper(th), "/TCP") {
		return fmt.Errorf("%w: asked for UDP, the camera answered %q", errUseTCP, clip(th))
	}
	a, b, ok := portPair(kv["server_port"])
	if !ok {
		ss.src.quirks.warn("server-port", "SETUP answer without server_port: no receiver reports over UDP")
	}
	t.srvPort = [2]int{a, b}
	if src := net.ParseIP(kv["source"]); src != nil {
		ss.srvIP = src
	}
	return nil
}

// listenUDP binds an even RTP port and the odd RTCP port above it (RFC 3550
// §11) on the address our control connection uses.
func (ss *session) listenUDP(t *track) error {
	ip := net.IPv4zero
	if la, ok := ss.c.nc.LocalAddr().(*net.TCPAddr); ok {
		ip = la.IP
	}
	for range 32 {
		c1, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
		if err != nil {
			return fmt.Errorf("rtsp: UDP: %w", err)
		}
		p := udpPort(c1)
		if p%2 != 0 || p == 65535 {
			_ = c1.Close()
			continue
		}
		c2, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: p + 1})
		if err != nil {
			_ = c1.Close()
			continue
		}
		dgram.SizeBuffers(c1, 1<<20, 0) // a keyframe's burst
		t.udp = [2]*net.UDPConn{c1, c2}
		return nil
	}
	return fmt.Errorf("rtsp: UDP: no free pair of ports")
}

func udpPort(c *net.UDPConn) int { return c.LocalAddr().(*net.UDPAddr).Port }

// play sends PLAY (RFC 2326 §10.5) and starts the readers.
func (ss *session) play(ctx context.Context) error {
	c := ss.c
	m, err := c.do(ctx, "PLAY", ss.playURL(), [][2]string{{"Range", "npt=0.000-"}})
	if err != nil {
		return err
	}
	if m.StatusCode/100 == 4 && m.StatusCode != 461 && ss.playURL() != ss.url.String() {
		// A quirk: a camera that wants PLAY on the URL it was asked for,
		// not on its Content-Base.
		m2, err := c.do(ctx, "PLAY", ss.url.String(), [][2]string{{"Range", "npt=0.000-"}})
		if err != nil {
			return err
		}
		if m2.StatusCode/100 == 2 {
			ss.src.quirks.warn("play-url", "PLAY worked only on the request URL, not the Content-Base")
			ss.base, m = ss.url, m2
		}
	}
	if m.StatusCode == 461 && !ss.tcp {
		return fmt.Errorf("%w: PLAY: %d %s", errUseTCP, m.StatusCode, m.Reason)
	}
	if m.StatusCode/100 != 2 {
		return fmt.Errorf("rtsp: PLAY %s: %d %s", ss.url.Redacted(), m.StatusCode, m.Reason)
	}
	now := time.Now()
	ss.playAt, ss.lastRTP = now, now
	ss.keepAlive = "OPTIONS"
	if strings.Contains(strings.ToUpper(c.public), "GET_PARAMETER") {
		ss.keepAlive = "GET_PARAMETER"
	}
	ss.nextKeep = now.Add(ss.keepInterval())
	ss.nextRR = now.Add(time.Second)
	names := make([]string, len(ss.tr))
	for i, t := range ss.tr {
		names[i] = t.format.Encoding
	}
	tr := "udp"
	if ss.tcp {
		tr = "tcp"
	}
	ss.src.log.Info("rtsp: playing", "url", ss.url.Redacted(), "transport", tr, "tracks", strings.Join(names, ","))
	ss.wg.Add(1)
	go ss.readTCP()
	if !ss.tcp {
		for _, t := range ss.tr {
			// Open the path through NATs and firewalls, and tell cameras that
			// wait for one that we are here.
			if t.srvPort[1] != 0 {
				_, _ = t.udp[1].WriteToUDP(appendRR(nil, ss.src.ssrc, nil, "srs-lite", now),
					&net.UDPAddr{IP: ss.srvIP, Port: t.srvPort[1]})
			}
			for k := range 2 {
				ss.wg.Add(1)
				go ss.readUDP(t, k == 1)
			}
		}
	}
	return nil
}

// playURL is the aggregate control URL (RFC 2326 §C.1.1) for PLAY,
// keep-alives and TEARDOWN: the session's base.
func (ss *session) playURL() string {
	if ss.base != nil {
		return ss.base.String()
	}
	return ss.url.String()
}

// keepInterval is half the session timeout, between 2 and 30 seconds.
func (ss *session) keepInterval() time.Duration {
	return min(max(ss.c.sessTimeout/2, 2*time.Second), 30*time.Second)
}

func (ss *session) getBuf() []byte {
	select {
	case b := <-ss.free:
		return b[:0]
	default:
		return make([]byte, 0, 2048)
	}
}

func (ss *session) putBuf(b []byte) {
	select {
	case ss.free <- b:
	default:
	}
}

// readTCP reads the control connection: interleaved frames, answers to
// keep-alives, and the server's own requests.
func (ss *session) readTCP() {
	defer ss.wg.Done()
	c := ss.c
	for {
		if ss.tcp {
			_ = c.nc.SetReadDeadline(time.Now().Add(ss.src.cfg.Timeout))
		} else {
			_ = c.nc.SetReadDeadline(time.Time{})
		}
		ch, data, m, err := c.next(ss.getBuf())
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && ss.tcp {
				err = fmt.Errorf("%w for %s", ErrNoMedia, ss.src.cfg.Timeout)
			} else {
				err = fmt.Errorf("rtsp: read: %w", err)
			}
			ss.fail(err)
			return
		}
		if m != nil {
			ss.putBuf(data)
			if m.Method != "" {
				if m.Method == "REDIRECT" || m.Method == "TEARDOWN" {
					ss.fail(fmt.Errorf("rtsp: the camera sent %s", m.Method))
					return
				}
				c.answer(m)
				continue
			}
			select {
			case ss.msgs <- m:
			case <-ss.done:
				return
			}
			continue
		}
		t := ss.byCh[ch]
		if t == nil {
			ss.putBuf(data)
			continue
		}
		select {
		case ss.pkts <- packet{t: t, rtcp: ch == t.ch[1], buf: data, at: time.Now()}:
		case <-ss.done:
			return
		}
	}
}

// readUDP reads a track's RTP or RTCP socket.
func (ss *session) readUDP(t *track, rtcp bool) {
	defer ss.wg.Done()
	conn := t.udp[0]
	if rtcp {
		conn = t.udp[1]
	}
	for {
		b := ss.getBuf()
		b = b[:cap(b)]
		if len(b) < 2048 {
			b = make([]byte, 2048)
		}
		n, addr, err := conn.ReadFromUDP(b)
		if err != nil {
			ss.fail(fmt.Errorf("rtsp: UDP read: %w", err))
			return
		}
		if ss.srvIP != nil && !addr.IP.Equal(ss.srvIP) && !ss.srvIP.IsUnspecified() {
			ss.putBuf(b)
			continue // not from the camera
		}
		select {
		case ss.pkts <- packet{t: t, rtcp: rtcp, buf: b[:n], at: time.Now()}:
		case <-ss.done:
			return
		}
	}
}

// fail reports a reader's error to the loop.
func (ss *session) fail(err error) {
	select {
	case ss.errc <- err:
	default:
	}
}

// loop handles packets, keep-alives and receiver reports until ctx is done
// or the session fails.
func (ss *session) loop(ctx context.Context) error {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-ss.errc:
			return err
		case p := <-ss.pkts:
			ss.now = p.at
			if p.rtcp {
				if err := ss.onRTCP(p.t, p.buf); err != nil {
					return err
				}
			} else {
				ss.onRTP(p.t, p.buf)
			}
			ss.putBuf(p.buf)
			if ss.pubErr != nil {
				return ss.pubErr
			}
		case m := <-ss.msgs:
			if m.StatusCode == 454 { // Session Not Found
				return fmt.Errorf("rtsp: keep-alive: %d %s: the camera dropped the session", m.StatusCode, m.Reason)
			}
			if m.StatusCode/100 != 2 {
				ss.src.quirks.warn("keepalive", "keep-alive refused", "method", ss.keepAlive, "status", m.StatusCode)
			}
		case now := <-tick.C:
			if err := ss.tick(now); err != nil {
				return err
			}
		}
	}
}

// tick checks the media timeout and the UDP fallback, and sends keep-alives
// and receiver reports when due.
func (ss *session) tick(now time.Time) error {
	cfg := &ss.src.cfg
	if !ss.tcp && !ss.gotRTP && now.Sub(ss.playAt) > cfg.UDPWait && cfg.Transport == TransportAuto {
		return fmt.Errorf("%w: no RTP over UDP within %s", errUseTCP, cfg.UDPWait)
	}
	if now.Sub(ss.lastRTP) > cfg.Timeout {
		return fmt.Errorf("%w for %s", ErrNoMedia, cfg.Timeout)
	}
	if now.After(ss.nextKeep) {
		ss.nextKeep = now.Add(ss.keepInterval())
		if _, err := ss.c.send(ss.keepAlive, ss.playURL(), nil); err != nil {
			return fmt.Errorf("rtsp: keep-alive: %w", err)
		}
	}
	if now.After(ss.nextRR) {
		ss.nextRR = now.Add(5 * time.Second) // RFC 3550 §6.2: 5 s minimum
		for _, t := range ss.tr {
			if err := ss.sendRR(t, now); err != nil {
				return err
			}
		}
		ss.logStats()
	}
	return nil
}

// sendRR sends a receiver report for a track (RFC 3550 §6.4.2).
func (ss *session) sendRR(t *track, now time.Time) error {
	if !t.rx.started {
		return nil
	}
	b := appendRR(ss.getBuf(), ss.src.ssrc, &t.rx, "srs-lite", now)
	defer ss.putBuf(b)
	if ss.tcp {
		if err := ss.c.write(appendInterleaved(nil, uint8(t.ch[1]), b)); err != nil {
			return fmt.Errorf("rtsp: RTCP: %w", err)
		}
		return nil
	}
	if t.srvPort[1] != 0 {
		_, _ = t.udp[1].WriteToUDP(b, &net.UDPAddr{IP: ss.srvIP, Port: t.srvPort[1]})
	}
	return nil
}

// logStats is the periodic stats line of the session, at debug level.
func (ss *session) logStats() {
	for _, t := range ss.tr {
		ss.src.log.Debug("rtsp: track", "codec", t.format.Encoding, "frames", t.frames, "lost", t.lost,
			"errors", ss.errCount)
	}
}

// onRTCP takes sender reports for the timeline and the receiver reports;
// a BYE ends the session.
func (ss *session) onRTCP(t *track, b []byte) error {
	bye, err := parseRTCP(b, func(sr senderReport) {
		t.rx.onSR(sr.ntp, ss.now)
		t.clock.SenderReport(sr.ntp, sr.rtp)
	})
	if err != nil {
		ss.src.quirks.warn("rtcp", "bad RTCP packet", "err", err.Error())
	}
	if bye {
		return fmt.Errorf("rtsp: the camera ended the stream (RTCP BYE)")
	}
	return nil
}

// onRTP parses a packet and feeds it, in order, to the depacketizer.
func (ss *session) onRTP(t *track, b []byte) {
	if c := ss.src.capture; c != nil {
		c(t.kind, t.format, b)
	}
	if err := t.pkt.Unmarshal(b); err != nil || t.pkt.Version != 2 {
		ss.count("bad-rtp", "bad RTP packet")
		return
	}
	if pt := t.pkt.PayloadType; pt != t.format.PayloadType {
		for _, f := range t.others {
			if f.PayloadType == pt {
				return // another format of the media (telephone-event, ...)
			}
		}
		if pt == 13 { // comfort noise, RFC 3389
			return
		}
		ss.src.quirks.warn("pt", "RTP payload type differs from the SDP: taken anyway",
			"sdp", t.format.PayloadType, "rtp", pt)
	}
	ss.gotRTP, ss.lastRTP = true, ss.now
	t.rx.update(t.pkt.SSRC, t.pkt.SequenceNumber, t.pkt.Timestamp, ss.now)
	if ss.tcp {
		t.onPacket(&t.pkt)
		return
	}
	if t.reorder == nil {
		t.reorder = rtp.NewReorder(ss.src.cfg.ReorderWindow)
	}
	lost, _ := t.reorder.Push(&t.pkt, t.out)
	t.lost += uint64(lost)
}

// onPacket depacketizes one in-order packet.
func (t *track) onPacket(p *pionrtp.Packet) {
	if err := t.depack.Push(p, t.emit); err != nil {
		t.s.depackErr(err)
	}
}

// depackErr logs each kind of depacketizer error once, and counts.
func (ss *session) depackErr(err error) {
	switch {
	case errors.Is(err, rtp.ErrLoss):
		ss.errCount["loss"]++
	case errors.Is(err, rtp.ErrNoParams):
		ss.src.quirks.warn("no-params", "video without parameter sets so far: frames dropped until SPS/PPS come",
			"err", err.Error())
	default:
		ss.count("depack-"+errKind(err), err.Error())
	}
}

func errKind(err error) string {
	for _, e := range []error{rtp.ErrMalformed, rtp.ErrUnsupported, rtp.ErrTooLarge} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return "other"
}

func (ss *session) count(key, msg string) {
	ss.errCount[key]++
	ss.src.quirks.warn(key, msg)
}

// onFrame puts an access unit on the session clock and publishes it.
func (t *track) onFrame(ts uint32, f *media.Frame) {
	ss := t.s
	if ss.pubErr != nil {
		return
	}
	d := t.clock.Time(ts, ss.now)
	if t.hasDTS && d < t.lastDTS {
		// Decode order must not go back; video whose RTP timestamps do
		// (B-frames) is sent in decode order with PTS = DTS.
		ss.src.quirks.warn("ts-back-"+t.kind, "RTP timestamps go backwards (B-frames?): clamped",
			"codec", t.format.Encoding)
		d = t.lastDTS
	}
	t.lastDTS, t.hasDTS = d, true
	f.DTS, f.PTS = d, d
	if !f.IsConfig() {
		t.frames++
	}
	if err := ss.pub.Write(f); err != nil {
		ss.pubErr = err
	}
}

// close tears the session down: TEARDOWN (not waited for), then the
// sockets, then the readers.
func (ss *session) close() {
	close(ss.done)
	if c := ss.c; c != nil {
		if c.session != "" {
			_, _ = c.send("TEARDOWN", ss.playURL(), nil)
		}
		_ = c.close()
	}
	for _, t := range ss.tr {
		for _, u := range t.udp {
			if u != nil {
				_ = u.Close()
			}
		}
	}
	ss.wg.Wait()
}
