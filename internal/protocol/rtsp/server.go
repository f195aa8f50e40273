package rtsp

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/srs-lite/srs-lite/internal/log"
	"github.com/srs-lite/srs-lite/internal/media"
	sess "github.com/srs-lite/srs-lite/internal/session"
)

// Server defaults.
const (
	// DefaultSessionTimeout closes a session that sent no request, no
	// interleaved data and no RTCP for this long (RFC 2326 §12.37: 60 s).
	DefaultSessionTimeout = 60 * time.Second
	// DefaultWaitPublisher is how long DESCRIBE of a stream nobody
	// publishes waits for a publisher (an on-demand ingest starting)
	// before answering 404.
	DefaultWaitPublisher = 2 * time.Second
	// DefaultWaitConfig is how long DESCRIBE of a stream that just started
	// waits for its sequence headers (SPS/PPS, AudioSpecificConfig).
	DefaultWaitConfig = 2 * time.Second
	// writeTimeout bounds a write to a viewer: a viewer that takes no data
	// for this long is closed.
	writeTimeout = 10 * time.Second
	// srEvery is the interval of the RTCP sender reports (RFC 3550 §6.2
	// would allow more; players want one within a few seconds for sync).
	srEvery = 3 * time.Second
)

// ServerConfig holds the RTSP server's settings; zero values take the
// defaults.
type ServerConfig struct {
	SessionTimeout time.Duration
	WaitPublisher  time.Duration // negative: answer 404 at once
	WaitConfig     time.Duration
	// MTU is the size of the RTP packets sent (rtp.DefaultMTU when 0):
	// viewers of one MTU share each frame's packets.
	MTU int
}

func (c *ServerConfig) defaults() {
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = DefaultSessionTimeout
	}
	if c.WaitPublisher == 0 {
		c.WaitPublisher = DefaultWaitPublisher
	}
	if c.WaitConfig <= 0 {
		c.WaitConfig = DefaultWaitConfig
	}
}

// ServerDeps are what the RTSP server needs from its parent.
type ServerDeps struct {
	// Registry holds the streams (required).
	Registry *media.Registry
	// Log gets the session logs; nil discards them.
	Log *slog.Logger
	// Vhost resolves the URL's host and ?vhost= param to a served vhost;
	// nil means media.DefaultVhost always.
	Vhost func(host, vhostParam string) (vhost string, ok bool)
	// Events is told of each client: Connect and Play at DESCRIBE, Connect
	// and Publish at ANNOUNCE; Stop or Unpublish and Close at the end. nil
	// allows every client and keeps no table.
	Events sess.Events
}

// Server serves RTSP (RFC 2326) on one TCP listener: viewers play any
// stream as rtsp://HOST/APP/STREAM over TCP interleaved or UDP, and
// publishers push one with ANNOUNCE and RECORD.
type Server struct {
	deps ServerDeps
	log  *slog.Logger

	mu     sync.Mutex
	cfg    ServerConfig
	ln     net.Listener
	conns  map[*srvConn]struct{}
	closed bool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewServer returns a server; Listen starts it.
func NewServer(cfg ServerConfig, deps ServerDeps) (*Server, error) {
	if deps.Registry == nil {
		return nil, errors.New("rtsp: server without a registry")
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.Events == nil {
		deps.Events = sess.Funcs{}
	}
	cfg.defaults()
	s := &Server{deps: deps, log: deps.Log, cfg: cfg, conns: map[*srvConn]struct{}{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// SetConfig applies cfg to the sessions that start from now on.
func (s *Server) SetConfig(cfg ServerConfig) {
	cfg.defaults()
	s.mu.Lock()
	s.cfg = cfg
	s.mu.Unlock()
}

func (s *Server) config() ServerConfig {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

// Listen binds addr and serves it until Close.
func (s *Server) Listen(addr string) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	s.wg.Add(1)
	go s.accept(ln)
	return ln.Addr(), nil
}

// Addr returns the listener's address, or nil.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Drain stops listening; the sessions go on until they end or Close.
func (s *Server) Drain() {
	s.mu.Lock()
	ln := s.ln
	s.mu.Unlock()
	if ln != nil {
		_ = ln.Close()
	}
}

// Close stops listening and ends every session.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	ln := s.ln
	conns := make([]*srvConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	s.cancel()
	var err error
	if ln != nil {
		err = ln.Close()
	}
	for _, c := range conns {
		_ = c.nc.Close()
	}
	s.wg.Wait()
	return err
}

func (s *Server) accept(ln net.Listener) {
	defer s.wg.Done()
	for {
		nc, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		c := s.newConn(nc)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = nc.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			c.serve()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// Sessions returns the number of connections served now.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// srvConn is one client's control connection and its session (srs-lite
// keeps one RTSP session per connection).
type srvConn struct {
	s    *Server
	cfg  ServerConfig
	nc   net.Conn
	br   *bufio.Reader
	log  *slog.Logger
	sess *sess.Session
	ip   string

	wmu  sync.Mutex
	wbuf []byte

	connected bool // Events.Connect said yes
	asked     bool // Events.Play or Publish said yes
	nonce     string
	key       media.Key
	base      string // rtsp://host/app/stream, the URL without query
	query     string // the URL's query without '?'
	sessionID string
	lastSeen  atomicTime

	// Play.
	tracks []*outTrack
	play   *player

	// Publish.
	pub *publisher
}

func (s *Server) newConn(nc net.Conn) *srvConn {
	ip := ""
	if a, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		ip = a.IP.String()
	}
	id := log.NewTraceID()
	c := &srvConn{s: s, cfg: s.config(), nc: nc, br: bufio.NewReaderSize(nc, 16<<10), ip: ip,
		log: s.log.With("cid", id, "remote", nc.RemoteAddr().String())}
	c.sess = sess.New(id, "rtsp", ip)
	c.sess.SetKick(func() { _ = nc.Close() })
	return c
}

// serve reads requests and interleaved data until the client leaves, the
// session times out or it is kicked.
func (c *srvConn) serve() {
	start := time.Now()
	c.lastSeen.set(start)
	var why error
	defer func() {
		c.end(why, start)
	}()
	var buf []byte
	for {
		_ = c.nc.SetReadDeadline(time.Now().Add(c.cfg.SessionTimeout))
		b, err := c.br.Peek(1)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if time.Since(c.lastSeen.get()) < c.cfg.SessionTimeout || c.play != nil && c.play.tcp {
					// The client keeps the session alive with RTCP over
					// UDP; a viewer over TCP needs nothing more than its
					// connection (a dead one fails the writes).
					continue
				}
				why = errors.New("session timeout")
				return
			}
			why = err
			return
		}
		c.lastSeen.set(time.Now())
		if b[0] == '$' {
			var h [4]byte
			if _, err := io.ReadFull(c.br, h[:]); err != nil {
				why = err
				return
			}
			n := int(h[2])<<8 | int(h[3])
			if cap(buf) < n {
				buf = make([]byte, n)
			}
			buf = buf[:n]
			if _, err := io.ReadFull(c.br, buf); err != nil {
				why = err
				return
			}
			c.sess.BytesIn.Add(uint64(4 + n))
			if c.pub != nil {
				c.pub.interleaved(h[1], buf)
			}
			continue
		}
		m, err := ReadMessage(c.br)
		if err != nil {
			if errors.Is(err, ErrProtocol) || errors.Is(err, ErrTooLarge) {
				c.log.Warn("rtsp: bad request", "err", err)
				_ = c.respond(nil, 400, "Bad Request", nil, nil)
			}
			why = err
			return
		}
		if m.Method == "" {
			continue // a response to nothing we asked: ignore
		}
		c.sess.BytesIn.Add(uint64(len(m.Body)))
		if done := c.handle(m); done {
			why = errors.New("teardown")
			return
		}
	}
}

// end closes the session: the player stops, the publisher unpublishes, the
// hooks hear of it.
func (c *srvConn) end(why error, start time.Time) {
	if c.play != nil {
		c.play.stop()
	}
	_ = c.nc.Close()
	ev := c.s.deps.Events
	for _, t := range c.tracks {
		t.closeUDP()
		if t.pk != nil {
			t.pk.Close()
		}
	}
	reason := "done"
	if why != nil && !errors.Is(why, io.EOF) {
		reason = why.Error()
	} else if why != nil {
		reason = "peer closed"
	}
	if c.pub != nil {
		c.pub.close()
		if c.pub.recorded {
			c.log.Info("rtsp: unpublish", "stream", c.key.String(), "reason", reason,
				"bytes", c.sess.BytesIn.Load(), "duration", time.Since(start).Round(time.Millisecond))
		}
		if c.asked {
			ev.Unpublish(c.sess)
		}
	} else if c.asked {
		c.log.Info("rtsp: play end", "stream", c.key.String(), "reason", reason,
			"bytes", c.sess.BytesOut.Load(), "duration", time.Since(start).Round(time.Millisecond))
		ev.Stop(c.sess)
	}
	ev.Close(c.sess)
}

// allowed are the methods of the server's OPTIONS answer.
const allowed = "OPTIONS, DESCRIBE, ANNOUNCE, SETUP, PLAY, PAUSE, RECORD, TEARDOWN, GET_PARAMETER, SET_PARAMETER"

// handle answers one request; done reports that the session ends.
func (c *srvConn) handle(m *Message) (done bool) {
	if sid := m.Header.Get("Session"); sid != "" && m.Method != "OPTIONS" && m.Method != "GET_PARAMETER" {
		id, _, _ := strings.Cut(sid, ";")
		if strings.TrimSpace(id) != c.sessionID {
			_ = c.respond(m, 454, "Session Not Found", nil, nil)
			return false
		}
	}
	switch m.Method {
	case "OPTIONS":
		_ = c.respond(m, 200, "OK", [][2]string{{"Public", allowed}}, nil)
	case "GET_PARAMETER", "SET_PARAMETER":
		_ = c.respond(m, 200, "OK", nil, nil)
	case "DESCRIBE":
		c.describe(m)
	case "ANNOUNCE":
		c.announce(m)
	case "SETUP":
		c.setup(m)
	case "PLAY":
		c.startPlay(m)
	case "PAUSE":
		if c.play == nil && c.pub == nil || c.sessionID == "" {
			_ = c.respond(m, 455, "Method Not Valid in This State", nil, nil)
			return false
		}
		if c.play != nil {
			c.play.stop()
			c.play = nil
		}
		_ = c.respond(m, 200, "OK", nil, nil)
	case "RECORD":
		c.record(m)
	case "TEARDOWN":
		_ = c.respond(m, 200, "OK", nil, nil)
		return true
	default:
		_ = c.respond(m, 501, "Not Implemented", [][2]string{{"Public", allowed}}, nil)
	}
	return false
}

// respond writes a response to m (nil: to an unreadable request), with
// CSeq and, once there is one, Session.
func (c *srvConn) respond(m *Message, code int, reason string, hdr [][2]string, body []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	b := c.wbuf[:0]
	b = append(b, "RTSP/1.0 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	b = append(b, reason...)
	b = append(b, "\r\n"...)
	cseq := "0"
	if m != nil {
		if v := m.Header.Get("CSeq"); v != "" {
			cseq = sanitize(v)
		}
	}
	b = append(b, "CSeq: "+cseq+"\r\nServer: srs-lite\r\n"...)
	if c.sessionID != "" && m != nil {
		b = append(b, "Session: "+c.sessionID+";timeout="+strconv.Itoa(int(c.cfg.SessionTimeout/time.Second))+"\r\n"...)
	}
	for _, h := range hdr {
		b = append(b, h[0]+": "+sanitize(h[1])+"\r\n"...)
	}
	if len(body) > 0 {
		b = append(b, "Content-Length: "+strconv.Itoa(len(body))+"\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, body...)
	c.wbuf = b
	_ = c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	n, err := c.nc.Write(b)
	c.sess.BytesOut.Add(uint64(n))
	return err
}

// target is what a request URL names.
type target struct {
	key   media.Key
	base  string // rtsp://host/app/stream
	query string
	track int // the trackID=N (or streamid=N) of SETUP, -1 when none
	ctl   string
}

// parseTarget parses an rtsp:// URL into a stream and, for SETUP, a track.
// Clients put the track's control before or after the query
// (rtsp://h/app/s/trackID=0?q or rtsp://h/app/s?q/trackID=0).
func (c *srvConn) parseTarget(raw string) (target, int, string) {
	t := target{track: -1}
	rest, ok := cutPrefixFold(raw, "rtsp://")
	if !ok {
		return t, 400, "Bad Request"
	}
	host, path, _ := strings.Cut(rest, "/")
	path, query, _ := strings.Cut(path, "?")
	query = strings.TrimSuffix(query, "/")
	// The control: the last path element of the form name=N, or the same
	// after the query.
	for _, p := range []*string{&query, &path} {
		if i := strings.LastIndexByte(*p, '/'); i >= 0 {
			if last := (*p)[i+1:]; strings.Contains(last, "=") {
				t.ctl = last
				*p = (*p)[:i]
				break
			}
		}
	}
	if t.ctl != "" {
		if _, n, ok := strings.Cut(t.ctl, "="); ok {
			if v, err := strconv.Atoi(n); err == nil && v >= 0 {
				t.track = v
			}
		}
	}
	path = strings.Trim(path, "/")
	i := strings.LastIndexByte(path, '/')
	if i <= 0 || i == len(path)-1 {
		return t, 404, "Not Found"
	}
	app, stream := path[:i], path[i+1:]
	vhost := media.DefaultVhost
	if c.s.deps.Vhost != nil {
		var ok bool
		if vhost, ok = c.s.deps.Vhost(host, paramValue(query, "vhost")); !ok {
			return t, 404, "Not Found"
		}
	}
	t.key = media.Key{Vhost: vhost, App: app, Stream: stream}
	t.base = "rtsp://" + host + "/" + path
	t.query = query
	return t, 0, ""
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// paramValue returns the value of key in a "k=v&k2=v2" query.
func paramValue(query, key string) string {
	for kv := range strings.SplitSeq(query, "&") {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// admit asks the server about the client once it names its stream at
// DESCRIBE or ANNOUNCE: the connection limit and on_connect, then the
// security rules and on_play or on_publish. It answers the request itself
// and returns false when the client is refused: 401 with a challenge when
// a hook said no (the client may come back with credentials), 403 for the
// security rules, 503 at the connection limit.
func (c *srvConn) admit(m *Message, t target, role sess.Role) bool {
	if c.asked {
		if t.key != c.key {
			_ = c.respond(m, 455, "Method Not Valid in This State", nil, nil)
			return false
		}
		return true
	}
	ev := c.s.deps.Events
	cred := parseAuthorization(m.Header.Get("Authorization"))
	param := ""
	if t.query != "" {
		param = "?" + t.query
	}
	c.key, c.base, c.query = t.key, t.base, t.query
	c.sess.SetURL(t.base, cred.hookParam(t.query))
	c.sess.SetStream(t.key, role)
	defer c.sess.SetParam(param) // the password stays out of the API's client list
	ctx, cancel := context.WithTimeout(c.s.ctx, 30*time.Second)
	defer cancel()
	refuse := func(err error, what string) bool {
		switch {
		case errors.Is(err, sess.ErrLimit):
			_ = c.respond(m, 503, "Service Unavailable", nil, nil)
		case errors.Is(err, sess.ErrForbidden):
			_ = c.respond(m, 403, "Forbidden", nil, nil)
		default:
			c.challenge(m)
		}
		c.log.Warn("rtsp: refused", "stream", t.key.String(), "why", what, "err", err, "user", cred.user)
		return false
	}
	if !c.connected {
		if err := ev.Connect(ctx, c.sess); err != nil {
			return refuse(err, "on_connect")
		}
		c.connected = true
	}
	var ans sess.Answer
	var err error
	if role == sess.Publisher {
		ans, err = ev.Publish(ctx, c.sess)
	} else {
		ans, err = ev.Play(ctx, c.sess)
	}
	tell := func() {
		if role == sess.Publisher {
			ev.Unpublish(c.sess)
		} else {
			ev.Stop(c.sess)
		}
	}
	if err != nil {
		tell()
		return refuse(err, map[bool]string{true: "on_publish", false: "on_play"}[role == sess.Publisher])
	}
	if pw := ans["rtsp_password"]; pw != "" && !cred.check(m.Method, pw, c.nonce) {
		tell()
		if cred.scheme != "" {
			c.log.Warn("rtsp: refused", "stream", t.key.String(), "why", "bad credentials", "user", cred.user)
		}
		c.challenge(m)
		return false
	}
	c.asked = true
	return true
}

// challenge answers 401 with a new nonce.
func (c *srvConn) challenge(m *Message) {
	c.nonce = newNonce()
	var hdr [][2]string
	for _, v := range challenges(c.nonce) {
		hdr = append(hdr, [2]string{"WWW-Authenticate", v})
	}
	_ = c.respond(m, 401, "Unauthorized", hdr, nil)
}

// localIP is the address the client reached us on.
func (c *srvConn) localIP() string {
	if a, ok := c.nc.LocalAddr().(*net.TCPAddr); ok {
		if v4 := a.IP.To4(); v4 != nil {
			return v4.String()
		}
		return a.IP.String()
	}
	return "0.0.0.0"
}

// newSessionID makes the session's id at the first SETUP.
func (c *srvConn) newSessionID() {
	if c.sessionID == "" {
		c.sessionID = strings.ToUpper(newNonce()[:16])
	}
}

// transportSpec is one option of a SETUP's Transport header.
type transportSpec struct {
	tcp       bool
	record    bool
	ch        [2]int
	hasCh     bool
	client    [2]int
	hasClient bool
}

// parseTransport picks the first option of a Transport header (RFC 2326
// §12.39) srs-lite serves: RTP/AVP over TCP interleaved or UDP unicast.
func parseTransport(v string) (transportSpec, bool) {
	for opt := range strings.SplitSeq(v, ",") {
		first, kv := params(opt)
		proto := strings.ToUpper(first)
		var ts transportSpec
		switch proto {
		case "RTP/AVP/TCP":
			ts.tcp = true
		case "RTP/AVP", "RTP/AVP/UDP":
		default:
			continue
		}
		if _, multicast := kv["multicast"]; multicast {
			continue
		}
		if strings.EqualFold(kv["mode"], "record") || strings.EqualFold(kv["mode"], "receive") {
			ts.record = true
		}
		if s, ok := kv["interleaved"]; ok {
			a, b, ok := portPair(s)
			if !ok || a > 255 || b > 255 {
				continue
			}
			ts.ch, ts.hasCh = [2]int{a, b}, true
		}
		if s, ok := kv["client_port"]; ok {
			a, b, ok := portPair(s)
			if !ok || a == 0 {
				continue
			}
			ts.client, ts.hasClient = [2]int{a, b}, true
		}
		if !ts.tcp && !ts.hasClient {
			continue
		}
		return ts, true
	}
	return transportSpec{}, false
}

// atomicTime is a time read and written by several goroutines.
type atomicTime struct {
	mu sync.Mutex
	t  time.Time
}

func (a *atomicTime) set(t time.Time) {
	a.mu.Lock()
	a.t = t
	a.mu.Unlock()
}

func (a *atomicTime) get() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.t
}
