// Package gb28181 is the SIP side of GB/T 28181: devices (IP cameras, NVRs)
// register with the server over SIP (UDP and TCP), send keepalives and
// their catalogs, and are asked for a channel's media with INVITE; PTZ
// commands go to them as MESSAGE DeviceControl. The media (RTP carrying
// MPEG-PS) is received by a Media the server is given; this package only
// negotiates it. It imports media, its sip and manscdp packages and the
// standard library.
package gb28181

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/protocol/gb28181/manscdp"
	"github.com/srs-lite/srs-lite/internal/protocol/gb28181/sip"
)

// Config is the [gb28181] section.
type Config struct {
	ServerID         string // 20 digits
	Domain           string // 10 digits, the SIP realm
	Password         string // empty: no authentication
	KeepaliveTimeout time.Duration
	MediaPort        int // where devices send media (TCP passive and UDP)
}

// Sink gets a channel's media: frames in order, then Gone once when the
// media ends (the device closed it, or it stopped coming). A frame and its
// payload are valid only during the call. It is an alias of an interface
// literal, the same as the media receiver's (rtpps.Sink), so that either
// side declares it without importing the other.
type Sink = interface {
	Frame(f *media.Frame)
	Gone(err error)
}

// Media receives RTP/PS: Expect maps an SSRC to a sink on the media port
// (TCP passive and UDP) until cancel; Dial connects to a device's port
// (TCP active) for as long as ctx lasts. *rtpps.Receiver is one.
type Media interface {
	Expect(ssrc uint32, sink Sink) (cancel func())
	Dial(ctx context.Context, addr string, ssrc uint32, sink Sink) error
}

// Deps are what the server is given.
type Deps struct {
	Log   *slog.Logger
	Media Media // nil: INVITE is negotiated but no media is received
	// Admit is asked when a device registers (not on refreshes): an error
	// refuses it with 403 (the server's on_connect hook).
	Admit func(ctx context.Context, d Device) error
	// Left is told when a device unregisters or goes offline.
	Left func(d Device)
	// Registered is told after a device registered (not on refreshes).
	Registered func(d Device)
	// MediaStats, when set, gives the API the media counters of an SSRC
	// (nil: none).
	MediaStats func(ssrc uint32) any
}

// Media transports of an INVITE.
const (
	TCPPassive = "tcp-passive" // the device connects to our media port
	TCPActive  = "tcp-active"  // we connect to the device
	UDP        = "udp"
)

// Bounds on what unauthenticated peers can make the server keep.
const (
	maxDevices = 4096 // registered devices (more are refused 503)
	maxNonces  = 4096 // outstanding digest challenges (the oldest go first)
	maxAnswers = 8192 // responses kept for UDP retransmissions
	maxTCP     = 1024 // SIP over TCP connections
	// idleTCP closes a TCP connection that sent nothing this long (a
	// registered device sends keepalives every minute or so).
	idleTCP = 10 * time.Minute
)

// regGrace is how long past its Expires a registration is kept when the
// device has not refreshed it.
const regGrace = 30 * time.Second

// Errors.
var (
	ErrNoDevice  = errors.New("gb28181: no such device or channel")
	ErrOffline   = errors.New("gb28181: device offline")
	ErrRefused   = errors.New("gb28181: refused by the device")
	ErrByeByPeer = errors.New("gb28181: the device ended the call (BYE)")
)

// Server is the SIP server of the GB28181 platform.
type Server struct {
	deps    Deps
	cfg     atomic.Pointer[Config]
	log     *slog.Logger
	clients sip.Clients
	udp     net.PacketConn
	tcp     net.Listener
	port    int

	mu      sync.Mutex
	devices map[string]*device
	nonces  map[string]time.Time
	calls   map[string]*Call // by Call-ID
	answers map[string]answered
	ssrcSeq int
	tcpConn map[*tcpConn]struct{}

	byes   atomic.Int32 // BYE transactions in flight
	sn     atomic.Int64
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed atomic.Bool
}

// answered is a response to a request, kept to answer its UDP
// retransmissions the same way (RFC 3261 17.2).
type answered struct {
	data []byte
	at   time.Time
}

// New returns a server with cfg.
func New(cfg Config, deps Deps) *Server {
	if deps.Log == nil {
		deps.Log = slog.Default()
	}
	s := &Server{deps: deps, log: deps.Log, devices: map[string]*device{}, nonces: map[string]time.Time{},
		calls: map[string]*Call{}, answers: map[string]answered{}, tcpConn: map[*tcpConn]struct{}{}}
	s.cfg.Store(&cfg)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// SetConfig applies a new config (reload): new registrations use it.
func (s *Server) SetConfig(cfg Config) { s.cfg.Store(&cfg) }

// Config returns the config in force.
func (s *Server) Config() Config { return *s.cfg.Load() }

// Serve serves SIP on udp and tcp (either may be nil) until Close.
func (s *Server) Serve(udp net.PacketConn, tcp net.Listener) {
	s.udp, s.tcp = udp, tcp
	if udp != nil {
		s.port = udp.LocalAddr().(*net.UDPAddr).Port
		s.wg.Add(1)
		go s.serveUDP()
	}
	if tcp != nil {
		if s.port == 0 {
			s.port = tcp.Addr().(*net.TCPAddr).Port
		}
		s.wg.Add(1)
		go s.serveTCP()
	}
	s.wg.Add(1)
	go s.watch()
}

// Close stops the server: calls get BYE, sockets close.
func (s *Server) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.mu.Lock()
	calls := make([]*Call, 0, len(s.calls))
	for _, c := range s.calls {
		calls = append(calls, c)
	}
	s.mu.Unlock()
	for _, c := range calls {
		c.Bye()
	}
	// Let the BYEs go out (and be answered) for up to a second.
	for deadline := time.Now().Add(time.Second); s.byes.Load() > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	s.cancel()
	if s.udp != nil {
		s.udp.Close()
	}
	if s.tcp != nil {
		s.tcp.Close()
	}
	s.mu.Lock()
	for c := range s.tcpConn {
		c.c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

func (s *Server) serveUDP() {
	defer s.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, addr, err := s.udp.ReadFrom(buf)
		if err != nil {
			if s.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if n <= 4 {
			continue // CRLF keepalives
		}
		m, err := sip.Parse(buf[:n])
		if err != nil {
			s.log.Debug("gb28181: bad SIP datagram", "from", addr.String(), "err", err)
			continue
		}
		s.handle(&udpConn{pc: s.udp, addr: addr, port: s.port}, m)
	}
}

func (s *Server) serveTCP() {
	defer s.wg.Done()
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			if s.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(50 * time.Millisecond)
			continue
		}
		tc := &tcpConn{c: c}
		s.mu.Lock()
		if len(s.tcpConn) >= maxTCP {
			s.mu.Unlock()
			s.log.Warn("gb28181: SIP over TCP refused: too many connections", "peer", c.RemoteAddr().String(), "max", maxTCP)
			c.Close()
			continue
		}
		s.tcpConn[tc] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				c.Close()
				s.mu.Lock()
				delete(s.tcpConn, tc)
				s.mu.Unlock()
			}()
			br := bufio.NewReaderSize(c, 8192)
			for {
				c.SetReadDeadline(time.Now().Add(idleTCP))
				m, err := sip.Read(br)
				if err != nil {
					if !errors.Is(err, net.ErrClosed) && !errors.Is(err, context.Canceled) && err.Error() != "EOF" {
						s.log.Debug("gb28181: SIP over TCP ends", "peer", c.RemoteAddr().String(), "err", err)
					}
					return
				}
				s.handle(tc, m)
			}
		}()
	}
}

// handle dispatches one message from c.
func (s *Server) handle(c conn, m *sip.Message) {
	if !m.IsRequest() {
		if !s.clients.Deliver(m) && m.Status/100 == 2 {
			// A 2xx to INVITE sent again (our ACK was lost): ACK again.
			if _, method := m.CSeq(); method == "INVITE" {
				var ack []byte
				s.mu.Lock()
				if call := s.calls[m.Get("Call-ID")]; call != nil {
					ack = call.ack
				}
				s.mu.Unlock()
				if ack != nil {
					c.send(ack)
				}
			}
		}
		return
	}
	if !c.reliable() && m.Method != "ACK" {
		_, method := m.CSeq()
		k := m.Branch() + " " + method + " " + m.Get("Call-ID")
		s.mu.Lock()
		a, ok := s.answers[k]
		s.mu.Unlock()
		if ok {
			c.send(a.data) // a retransmission: the same answer
			return
		}
	}
	switch m.Method {
	case "REGISTER":
		s.register(c, m)
	case "MESSAGE":
		s.message(c, m)
	case "BYE":
		s.bye(c, m)
	case "ACK":
	case "OPTIONS", "NOTIFY", "INFO":
		s.reply(c, m, 200, "OK", nil)
	default:
		s.reply(c, m, 405, "Method Not Allowed", nil)
	}
}

// reply answers req on c; edit, when not nil, adds headers.
func (s *Server) reply(c conn, req *sip.Message, status int, reason string, edit func(*sip.Message)) {
	r := sip.Response(req, status, reason, sip.RandHex(4))
	r.Add("User-Agent", "srs-lite")
	if edit != nil {
		edit(r)
	}
	data := r.Bytes()
	if !c.reliable() {
		_, method := req.CSeq()
		s.mu.Lock()
		if len(s.answers) < maxAnswers {
			s.answers[req.Branch()+" "+method+" "+req.Get("Call-ID")] = answered{data, time.Now()}
		}
		s.mu.Unlock()
	}
	if err := c.send(data); err != nil {
		s.log.Debug("gb28181: send", "peer", c.remote().String(), "err", err)
	}
}

// register answers REGISTER: MD5 digest with realm = domain (401 with a
// challenge, 403 for wrong credentials), Expires 0 unregisters.
func (s *Server) register(c conn, m *sip.Message) {
	cfg := s.Config()
	id := sip.URIUser(m.Get("From"))
	if id == "" {
		s.reply(c, m, 400, "Bad Request", nil)
		return
	}
	expires := 3600
	if e := m.Get("Expires"); e != "" {
		expires, _ = strconv.Atoi(strings.TrimSpace(e))
	} else if e := sip.Param(m.Get("Contact"), "expires"); e != "" {
		expires, _ = strconv.Atoi(e)
	}
	if cfg.Password != "" {
		d, ok := sip.ParseDigest(m.Get("Authorization"))
		s.mu.Lock()
		_, known := s.nonces[d.Nonce]
		s.mu.Unlock()
		switch {
		case !ok || !known:
			nonce := sip.RandHex(16)
			s.mu.Lock()
			if len(s.nonces) >= maxNonces {
				var oldest string
				var at time.Time
				for k, t := range s.nonces {
					if oldest == "" || t.Before(at) {
						oldest, at = k, t
					}
				}
				delete(s.nonces, oldest)
			}
			s.nonces[nonce] = time.Now()
			s.mu.Unlock()
			s.reply(c, m, 401, "Unauthorized", func(r *sip.Message) {
				r.Add("WWW-Authenticate", `Digest realm="`+cfg.Domain+`", nonce="`+nonce+`", algorithm=MD5`)
			})
			return
		case !d.Check("REGISTER", cfg.Password):
			// The username is not compared with the device id: cameras
			// have a separate "authentication id" field; the password
			// decides.
			s.log.Warn("gb28181: register refused: wrong credentials", "device", id, "peer", c.remote().String())
			s.reply(c, m, 403, "Forbidden", nil)
			return
		}
	}
	if expires <= 0 {
		s.reply(c, m, 200, "OK", func(r *sip.Message) { r.Add("Expires", "0") })
		s.unregister(id, "unregistered")
		return
	}
	now := time.Now()
	s.mu.Lock()
	d := s.devices[id]
	fresh := d == nil || !d.online
	s.mu.Unlock()
	if fresh && s.deps.Admit != nil {
		view := Device{ID: id, Transport: c.transport(), Address: c.remote().String(), Online: true, Registered: now}
		if err := s.deps.Admit(s.ctx, view); err != nil {
			s.log.Warn("gb28181: register refused", "device", id, "err", err)
			s.reply(c, m, 403, "Forbidden", nil)
			return
		}
	}
	s.mu.Lock()
	d = s.devices[id]
	if d == nil && len(s.devices) >= maxDevices {
		s.mu.Unlock()
		s.log.Warn("gb28181: register refused: too many devices", "device", id, "max", maxDevices)
		s.reply(c, m, 503, "Service Unavailable", nil)
		return
	}
	if d == nil {
		d = &device{id: id}
		s.devices[id] = d
	}
	d.conn, d.online, d.expires = c, true, time.Duration(expires)*time.Second
	if fresh {
		d.registered = now
	}
	d.refreshed = now
	d.lastKeepalive = now
	s.mu.Unlock()
	s.reply(c, m, 200, "OK", func(r *sip.Message) {
		if ct := m.Get("Contact"); ct != "" {
			r.Add("Contact", ct)
		}
		r.Add("Expires", strconv.Itoa(expires))
		r.Add("Date", now.Format("2006-01-02T15:04:05.000")) // GB28181 time sync
	})
	if fresh {
		s.log.Info("gb28181: device registered", "device", id, "transport", c.transport(), "peer", c.remote().String())
		if s.deps.Registered != nil {
			s.deps.Registered(s.view(id))
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.query(id, "DeviceInfo")
			s.query(id, "Catalog")
		}()
	}
}

// unregister marks a device offline, ends its calls and tells Left.
func (s *Server) unregister(id, why string) {
	s.mu.Lock()
	d := s.devices[id]
	if d == nil || !d.online {
		s.mu.Unlock()
		return
	}
	d.online = false
	var calls []*Call
	for _, c := range s.calls {
		if c.device == id {
			calls = append(calls, c)
		}
	}
	v := d.view()
	s.mu.Unlock()
	s.log.Info("gb28181: device offline", "device", id, "why", why)
	for _, c := range calls {
		c.end(fmt.Errorf("%w (%s)", ErrOffline, why), false)
	}
	if s.deps.Left != nil {
		s.deps.Left(v)
	}
}

// query sends a Query MESSAGE to a device and waits for its 200.
func (s *Server) query(id, cmd string) {
	body := manscdp.Query(cmd, int(s.sn.Add(1)), id)
	if _, err := s.request(s.ctx, id, id, "MESSAGE", manscdp.ContentType, body, nil); err != nil {
		s.log.Warn("gb28181: query", "device", id, "cmd", cmd, "err", err)
	}
}

// message answers a MESSAGE and reads its MANSCDP body.
func (s *Server) message(c conn, m *sip.Message) {
	id := sip.URIUser(m.Get("From"))
	s.mu.Lock()
	d := s.devices[id]
	known := d != nil && d.online
	s.mu.Unlock()
	if !known {
		// SRS answers 200 and ignores; a 403 makes cameras register again.
		s.reply(c, m, 403, "Forbidden", nil)
		return
	}
	doc, err := manscdp.Parse(m.Body)
	if err != nil {
		s.log.Debug("gb28181: bad MANSCDP", "device", id, "err", err)
		s.reply(c, m, 400, "Bad Request", nil)
		return
	}
	s.reply(c, m, 200, "OK", nil)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch doc.CmdType {
	case "Keepalive":
		d.lastKeepalive = time.Now()
	case "DeviceInfo":
		d.name, d.manufacturer, d.model, d.firmware = doc.DeviceName, doc.Manufacturer, doc.Model, doc.Firmware
	case "Catalog":
		if doc.Root != "Response" && doc.Root != "Notify" {
			return
		}
		if doc.Root == "Response" && doc.SN != d.catalogSN {
			// A new catalog: it replaces the old one as its MESSAGEs
			// come. A Notify (a change) updates the channels it lists.
			d.catalogSN = doc.SN
			d.channels = nil
		}
		for _, it := range doc.Items {
			d.setChannel(it)
		}
	}
}

// bye answers a device's BYE: the call's media ends.
func (s *Server) bye(c conn, m *sip.Message) {
	s.mu.Lock()
	call := s.calls[m.Get("Call-ID")]
	s.mu.Unlock()
	if call == nil {
		s.reply(c, m, 481, "Call/Transaction Does Not Exist", nil)
		return
	}
	s.reply(c, m, 200, "OK", nil)
	call.end(ErrByeByPeer, false)
}

// watch marks devices offline after keepalive_timeout without a keepalive
// (or when their registration expires), and forgets old nonces and
// answers.
func (s *Server) watch() {
	defer s.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case now := <-t.C:
			cfg := s.Config()
			var gone []string
			s.mu.Lock()
			for id, d := range s.devices {
				if !d.online {
					continue
				}
				if cfg.KeepaliveTimeout > 0 && now.Sub(d.lastKeepalive) > cfg.KeepaliveTimeout {
					gone = append(gone, id)
				} else if d.expires > 0 && now.Sub(d.refreshed) > d.expires+regGrace {
					gone = append(gone, id) // the registration ran out unrefreshed
				}
			}
			for k, at := range s.nonces {
				if now.Sub(at) > 5*time.Minute {
					delete(s.nonces, k)
				}
			}
			for k, a := range s.answers {
				if now.Sub(a.at) > 64*sip.T1 {
					delete(s.answers, k)
				}
			}
			s.mu.Unlock()
			for _, id := range gone {
				s.unregister(id, "no keepalive")
			}
		}
	}
}

// Devices returns every device, ordered by id.
func (s *Server) Devices() []Device {
	s.mu.Lock()
	out := make([]Device, 0, len(s.devices))
	for _, d := range s.devices {
		v := d.view()
		v.Calls = s.callsOf(d.id)
		out = append(out, v)
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Device returns one device.
func (s *Server) Device(id string) (Device, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.devices[id]
	if d == nil {
		return Device{}, false
	}
	v := d.view()
	v.Calls = s.callsOf(id)
	return v, true
}

func (s *Server) view(id string) Device {
	v, _ := s.Device(id)
	return v
}

// callsOf lists a device's calls, under mu.
func (s *Server) callsOf(id string) []CallInfo {
	out := []CallInfo{}
	for _, c := range s.calls {
		if c.device == id {
			ci := CallInfo{Channel: c.Channel, SSRC: SSRCString(c.SSRC), Transport: c.Transport, Since: c.since}
			if s.deps.MediaStats != nil {
				ci.Media = s.deps.MediaStats(c.SSRC)
			}
			out = append(out, ci)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SSRC < out[j].SSRC })
	return out
}

// Resolve finds a channel by "DEVICEID_CHANNELID" or by a channel id
// alone (the first online device that lists it), returning the device and
// channel ids.
func (s *Server) Resolve(name string) (dev, ch string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, b, cut := strings.Cut(name, "_"); cut {
		if d := s.devices[a]; d != nil {
			return a, b, true
		}
		return "", "", false
	}
	ids := make([]string, 0, len(s.devices))
	for id := range s.devices {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		for _, c := range s.devices[id].channels {
			if c.DeviceID == name {
				return id, name, true
			}
		}
	}
	return "", "", false
}

// Online reports whether a device is registered and alive.
func (s *Server) Online(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.devices[id]
	return d != nil && d.online
}

// PTZ sends a DeviceControl MESSAGE with PTZCmd cmd to a channel of a
// device and waits for its 200.
func (s *Server) PTZ(ctx context.Context, dev, ch, cmd string) error {
	if !s.Online(dev) {
		return fmt.Errorf("%w: %s", ErrOffline, dev)
	}
	body := manscdp.Control(int(s.sn.Add(1)), ch, cmd)
	_, err := s.request(ctx, dev, ch, "MESSAGE", manscdp.ContentType, body, nil)
	return err
}

// request sends a request outside any dialog to user (the device or one
// of its channels) of device dev, and waits for its final response; a
// response other than 2xx is an error.
func (s *Server) request(ctx context.Context, dev, user, method, ctype string, body []byte, edit func(*sip.Message)) (*sip.Message, error) {
	s.mu.Lock()
	d := s.devices[dev]
	if d == nil || d.conn == nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: %s", ErrNoDevice, dev)
	}
	c := d.conn
	d.cseq++
	cseq := d.cseq
	s.mu.Unlock()
	cfg := s.Config()
	req := s.newRequest(c, method, user, cfg, cseq, sip.RandHex(8)+"@srs-lite", sip.RandHex(4), "")
	if ctype != "" {
		req.Add("Content-Type", ctype)
	}
	req.Body = body
	if edit != nil {
		edit(req)
	}
	resp, err := s.clients.Do(ctx, req, c.reliable(), c.send, nil)
	if err != nil {
		return nil, err
	}
	if resp.Status/100 != 2 {
		return resp, fmt.Errorf("%w: %d %s", ErrRefused, resp.Status, resp.Reason)
	}
	return resp, nil
}

// newRequest builds a request to user on the device behind c.
func (s *Server) newRequest(c conn, method, user string, cfg Config, cseq uint32, callID, fromTag, toTag string) *sip.Message {
	remote := c.remote().String()
	local := c.local().String()
	proto := "UDP"
	if c.reliable() {
		proto = "TCP"
	}
	req := &sip.Message{Method: method, URI: "sip:" + user + "@" + remote}
	req.Add("Via", "SIP/2.0/"+proto+" "+local+";rport;branch="+sip.NewBranch())
	req.Add("From", "<sip:"+cfg.ServerID+"@"+cfg.Domain+">;tag="+fromTag)
	to := "<sip:" + user + "@" + cfg.Domain + ">"
	if toTag != "" {
		to += ";tag=" + toTag
	}
	req.Add("To", to)
	req.Add("Call-ID", callID)
	req.Add("CSeq", strconv.FormatUint(uint64(cseq), 10)+" "+method)
	req.Add("Contact", "<sip:"+cfg.ServerID+"@"+local+">")
	req.Add("Max-Forwards", "70")
	req.Add("User-Agent", "srs-lite")
	return req
}
