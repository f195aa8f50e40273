// Package gbsim is a simulated GB/T 28181 device (an IP camera or NVR) for
// tests: it registers over SIP (UDP or TCP) with digest authentication,
// sends keepalives, answers Catalog and DeviceInfo queries, answers INVITE
// with its SDP (and hands the media request to the test), and records the
// PTZ commands and BYEs it gets.
package gbsim

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/srs-lite/srs-lite/internal/protocol/gb28181/manscdp"
	"github.com/srs-lite/srs-lite/internal/protocol/gb28181/sip"
)

// Config is a simulated device.
type Config struct {
	Server    string // the platform's SIP host:port
	Transport string // udp (default) or tcp
	ServerID  string // the platform's id (the request URI's user)
	Domain    string
	DeviceID  string
	Password  string
	Channels  []manscdp.Item
	// DeviceInfo fields.
	Name, Manufacturer, Model, Firmware string
	// Keepalive is the keepalive interval; 0: 60 s.
	Keepalive time.Duration
	// Catalog items per MESSAGE; 0: all in one.
	CatalogChunk int
	// Media is called (in its own goroutine) for each INVITE answered; ctx
	// ends at the call's BYE.
	Media func(ctx context.Context, inv Invite)
	// MediaPort is the port the device's SDP answer names (TCP active).
	MediaPort int
}

// Invite is an INVITE the device answered: where and how to send media.
type Invite struct {
	Channel   string
	Addr      string // the platform's media host:port from the offer
	Transport string // tcp-passive (we connect), tcp-active (it connects to MediaPort), udp
	SSRC      uint32
	SDP       string

	ln net.Listener // tcp-active: where the platform connects
}

// Accept waits for the platform's media connection of a tcp-active
// INVITE (the device listens on the port of its SDP answer).
func (inv Invite) Accept(ctx context.Context) (net.Conn, error) {
	if inv.ln == nil {
		return nil, errors.New("gbsim: not a tcp-active INVITE")
	}
	stop := context.AfterFunc(ctx, func() { inv.ln.Close() })
	defer stop()
	c, err := inv.ln.Accept()
	inv.ln.Close()
	return c, err
}

// Device is a running simulated device.
type Device struct {
	cfg     Config
	c       net.Conn
	br      *bufio.Reader
	clients sip.Clients
	sn      int
	cseq    uint32
	callID  string
	fromTag string

	reqMu   sync.Mutex // cseq
	mu      sync.Mutex
	ptz     []string
	byes    int
	invites []Invite
	calls   map[string]context.CancelFunc
	silent  bool
}

// Dial connects a device to the platform (no message is sent yet).
func Dial(cfg Config) (*Device, error) {
	if cfg.Transport == "" {
		cfg.Transport = "udp"
	}
	if cfg.Keepalive == 0 {
		cfg.Keepalive = time.Minute
	}
	c, err := net.Dial(cfg.Transport, cfg.Server)
	if err != nil {
		return nil, err
	}
	return &Device{cfg: cfg, c: c, br: bufio.NewReader(c), callID: sip.RandHex(8), fromTag: sip.RandHex(4),
		calls: map[string]context.CancelFunc{}}, nil
}

// Close ends the device's connection.
func (d *Device) Close() error { return d.c.Close() }

// PTZ returns the PTZCmd values received so far.
func (d *Device) PTZ() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.ptz...)
}

// Byes returns how many BYEs the device got.
func (d *Device) Byes() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.byes
}

// Invites returns the INVITEs answered.
func (d *Device) Invites() []Invite {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Invite(nil), d.invites...)
}

// Silence stops the keepalives (the device "goes silent").
func (d *Device) Silence() {
	d.mu.Lock()
	d.silent = true
	d.mu.Unlock()
}

func (d *Device) send(b []byte) error {
	_, err := d.c.Write(b)
	return err
}

func (d *Device) reliable() bool { return d.cfg.Transport == "tcp" }

// read reads one message.
func (d *Device) read() (*sip.Message, error) {
	if d.reliable() {
		return sip.Read(d.br)
	}
	buf := make([]byte, 65536)
	for {
		n, err := d.c.Read(buf)
		if err != nil {
			return nil, err
		}
		if m, err := sip.Parse(buf[:n]); err == nil {
			return m, nil
		}
	}
}

func (d *Device) request(method, uri string) *sip.Message {
	d.reqMu.Lock()
	d.cseq++
	cseq := d.cseq
	d.reqMu.Unlock()
	proto := "UDP"
	if d.reliable() {
		proto = "TCP"
	}
	m := &sip.Message{Method: method, URI: uri}
	m.Add("Via", "SIP/2.0/"+proto+" "+d.c.LocalAddr().String()+";rport;branch="+sip.NewBranch())
	m.Add("From", "<sip:"+d.cfg.DeviceID+"@"+d.cfg.Domain+">;tag="+d.fromTag)
	m.Add("To", "<sip:"+d.cfg.DeviceID+"@"+d.cfg.Domain+">")
	m.Add("Call-ID", d.callID)
	m.Add("CSeq", strconv.Itoa(int(cseq))+" "+method)
	m.Add("Contact", "<sip:"+d.cfg.DeviceID+"@"+d.c.LocalAddr().String()+">")
	m.Add("Max-Forwards", "70")
	m.Add("User-Agent", "gbsim")
	return m
}

// Register registers: REGISTER, and after a 401 REGISTER again with the
// digest of password. It returns the statuses the platform answered (401
// then 200, or 401 then 403). It must be called before Run, or with
// Run's loop delivering responses (Refresh).
func (d *Device) Register(ctx context.Context, password string, expires int) ([]int, error) {
	var statuses []int
	var auth string
	for range 3 {
		req := d.request("REGISTER", "sip:"+d.cfg.ServerID+"@"+d.cfg.Domain)
		req.Set("Expires", strconv.Itoa(expires))
		if auth != "" {
			req.Add("Authorization", auth)
		}
		resp, err := d.roundTrip(ctx, req)
		if err != nil {
			return statuses, err
		}
		statuses = append(statuses, resp.Status)
		if resp.Status != 401 {
			return statuses, nil
		}
		realm, nonce, _ := sip.Challenge(resp.Get("WWW-Authenticate"))
		dg := sip.Digest{Username: d.cfg.DeviceID, Realm: realm, Nonce: nonce, URI: req.URI}
		dg.Response = dg.Expected("REGISTER", password)
		auth = dg.Header()
	}
	return statuses, errors.New("gbsim: still challenged after 3 REGISTERs")
}

// roundTrip sends req and reads messages until its final response; when
// Run is not reading, it reads the socket itself.
func (d *Device) roundTrip(ctx context.Context, req *sip.Message) (*sip.Message, error) {
	if d.running() {
		return d.clients.Do(ctx, req, d.reliable(), d.send, nil)
	}
	if err := d.send(req.Bytes()); err != nil {
		return nil, err
	}
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(10 * time.Second)
	}
	d.c.SetReadDeadline(dl)
	defer d.c.SetReadDeadline(time.Time{})
	for {
		m, err := d.read()
		if err != nil {
			return nil, err
		}
		if !m.IsRequest() && m.Status >= 200 && m.Get("Call-ID") == req.Get("Call-ID") {
			return m, nil
		}
	}
}

var runningMu sync.Mutex
var runningSet = map[*Device]bool{}

func (d *Device) running() bool {
	runningMu.Lock()
	defer runningMu.Unlock()
	return runningSet[d]
}

// Run serves the device until ctx ends or the connection fails: it sends
// keepalives and answers the platform's requests.
func (d *Device) Run(ctx context.Context) error {
	runningMu.Lock()
	runningSet[d] = true
	runningMu.Unlock()
	defer func() {
		runningMu.Lock()
		delete(runningSet, d)
		runningMu.Unlock()
	}()
	go func() {
		<-ctx.Done()
		d.c.SetReadDeadline(time.Now())
	}()
	go d.keepalives(ctx)
	for {
		m, err := d.read()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if !m.IsRequest() {
			d.clients.Deliver(m)
			continue
		}
		d.handle(ctx, m)
	}
}

func (d *Device) keepalives(ctx context.Context) {
	t := time.NewTicker(d.cfg.Keepalive)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.mu.Lock()
			silent := d.silent
			d.mu.Unlock()
			if !silent {
				d.message(ctx, manscdp.Keepalive(d.nextSN(), d.cfg.DeviceID))
			}
		}
	}
}

func (d *Device) nextSN() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sn++
	return d.sn
}

// message sends a MANSCDP MESSAGE to the platform.
func (d *Device) message(ctx context.Context, body []byte) error {
	req := d.request("MESSAGE", "sip:"+d.cfg.ServerID+"@"+d.cfg.Domain)
	req.Set("Call-ID", sip.RandHex(8))
	req.Add("Content-Type", manscdp.ContentType)
	req.Body = body
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := d.clients.Do(cctx, req, d.reliable(), d.send, nil)
	if err != nil {
		return err
	}
	if resp.Status != 200 {
		return fmt.Errorf("gbsim: MESSAGE answered %d", resp.Status)
	}
	return nil
}

func (d *Device) reply(req *sip.Message, status int, reason string, body []byte, ctype string) {
	r := sip.Response(req, status, reason, d.fromTag)
	if ctype != "" {
		r.Add("Content-Type", ctype)
		r.Add("Contact", "<sip:"+d.cfg.DeviceID+"@"+d.c.LocalAddr().String()+">")
	}
	r.Body = body
	d.send(r.Bytes())
}

func (d *Device) handle(ctx context.Context, m *sip.Message) {
	switch m.Method {
	case "MESSAGE":
		d.reply(m, 200, "OK", nil, "")
		doc, err := manscdp.Parse(m.Body)
		if err != nil {
			return
		}
		switch doc.CmdType {
		case "Catalog":
			go d.catalog(ctx, doc.SN)
		case "DeviceInfo":
			go d.message(ctx, manscdp.DeviceInfo(doc.SN, d.cfg.DeviceID, d.cfg.Name, d.cfg.Manufacturer, d.cfg.Model, d.cfg.Firmware, len(d.cfg.Channels)))
		case "DeviceControl":
			d.mu.Lock()
			d.ptz = append(d.ptz, doc.PTZCmd)
			d.mu.Unlock()
		}
	case "INVITE":
		d.invite(ctx, m)
	case "ACK":
	case "BYE":
		d.mu.Lock()
		d.byes++
		if cancel := d.calls[m.Get("Call-ID")]; cancel != nil {
			cancel()
			delete(d.calls, m.Get("Call-ID"))
		}
		d.mu.Unlock()
		d.reply(m, 200, "OK", nil, "")
	default:
		d.reply(m, 200, "OK", nil, "")
	}
}

func (d *Device) catalog(ctx context.Context, sn int) {
	items := d.cfg.Channels
	chunk := d.cfg.CatalogChunk
	if chunk <= 0 {
		chunk = max(1, len(items))
	}
	for i := 0; i < len(items) || i == 0; i += chunk {
		end := min(i+chunk, len(items))
		d.message(ctx, manscdp.Catalog(sn, d.cfg.DeviceID, len(items), items[i:end]))
		if end >= len(items) {
			return
		}
	}
}

// invite answers INVITE with 200 and the device's SDP.
func (d *Device) invite(ctx context.Context, m *sip.Message) {
	inv := Invite{Channel: sip.URIUser(m.URI), SDP: string(m.Body)}
	var host, port string
	tcp := false
	setup := ""
	for _, l := range strings.Split(string(m.Body), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "c=IN IP4 "):
			host = l[len("c=IN IP4 "):]
		case strings.HasPrefix(l, "m=video "):
			f := strings.Fields(l)
			if len(f) > 2 {
				port, tcp = f[1], strings.HasPrefix(f[2], "TCP")
			}
		case strings.HasPrefix(l, "a=setup:"):
			setup = l[len("a=setup:"):]
		case strings.HasPrefix(l, "y="):
			v, _ := strconv.ParseUint(l[2:], 10, 32)
			inv.SSRC = uint32(v)
		}
	}
	inv.Addr = net.JoinHostPort(host, port)
	switch {
	case !tcp:
		inv.Transport = "udp"
	case setup == "active":
		inv.Transport = "tcp-active"
	default:
		inv.Transport = "tcp-passive"
	}
	local, _, _ := net.SplitHostPort(d.c.LocalAddr().String())
	proto, asetup := "RTP/AVP", ""
	if tcp {
		proto = "TCP/RTP/AVP"
		if inv.Transport == "tcp-active" {
			asetup = "a=setup:passive\r\na=connection:new\r\n"
		} else {
			asetup = "a=setup:active\r\na=connection:new\r\n"
		}
	}
	mport := d.cfg.MediaPort
	if mport == 0 {
		mport = 15060
	}
	if inv.Transport == "tcp-active" {
		ln, err := net.Listen("tcp", net.JoinHostPort(local, "0"))
		if err != nil {
			d.reply(m, 500, "Server Internal Error", nil, "")
			return
		}
		inv.ln = ln
		mport = ln.Addr().(*net.TCPAddr).Port
	}
	answer := "v=0\r\no=" + d.cfg.DeviceID + " 0 0 IN IP4 " + local + "\r\ns=Play\r\nc=IN IP4 " + local +
		"\r\nt=0 0\r\nm=video " + strconv.Itoa(mport) + " " + proto + " 96\r\na=sendonly\r\na=rtpmap:96 PS/90000\r\n" +
		asetup + "y=" + fmt.Sprintf("%010d", inv.SSRC) + "\r\nf=\r\n"
	// Recorded before the answer, so that the platform sees it once its
	// INVITE returns.
	cctx, cancel := context.WithCancel(ctx)
	d.mu.Lock()
	d.invites = append(d.invites, inv)
	d.calls[m.Get("Call-ID")] = cancel
	d.mu.Unlock()
	d.reply(m, 200, "OK", []byte(answer), "APPLICATION/SDP")
	if d.cfg.Media != nil {
		go d.cfg.Media(cctx, inv)
	}
}

// Unregister sends REGISTER with Expires: 0 (Run must be running).
func (d *Device) Unregister(ctx context.Context) ([]int, error) {
	return d.Register(ctx, d.cfg.Password, 0)
}
