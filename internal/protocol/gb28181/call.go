package gb28181

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/srs-lite/srs-lite/internal/protocol/gb28181/sip"
)

// Call is one INVITE session: a channel's media coming to us.
type Call struct {
	s       *Server
	device  string
	Channel string
	SSRC    uint32
	// Transport is the media transport negotiated (TCPPassive, TCPActive,
	// UDP).
	Transport string

	callID, fromTag, toTag string
	target                 string // the device's Contact: where BYE goes
	cseq                   uint32
	c                      conn
	sink                   Sink
	cancelMedia            func()
	since                  time.Time
	ack                    []byte // sent again for a retransmitted 2xx
	once                   sync.Once
	done                   chan struct{}
}

// Done is closed when the call has ended.
func (c *Call) Done() <-chan struct{} { return c.done }

// SSRCString returns y= of the SDP: 10 digits.
func SSRCString(ssrc uint32) string { return fmt.Sprintf("%010d", ssrc) }

// newSSRC returns the next SSRC for a live play: "0", the domain's digits
// 4..8 (GB/T 28181 annex F: the realm's part), and a 4-digit sequence.
func (s *Server) newSSRC(domain string) uint32 {
	s.mu.Lock()
	s.ssrcSeq = s.ssrcSeq%9999 + 1
	seq := s.ssrcSeq
	s.mu.Unlock()
	mid := "00000"
	if len(domain) >= 8 {
		mid = domain[3:8]
	}
	v, _ := strconv.ParseUint("0"+mid+fmt.Sprintf("%04d", seq), 10, 32)
	return uint32(v)
}

// Invite asks channel ch of device dev for its live media, over transport
// (TCPPassive, TCPActive or UDP; "" is TCPPassive), delivered to sink. It
// returns once the device answered 200 and the ACK was sent. sink.Gone is
// called once when the call ends for any reason but Bye.
func (s *Server) Invite(ctx context.Context, dev, ch, transport string, sink Sink) (*Call, error) {
	if transport == "" {
		transport = TCPPassive
	}
	s.mu.Lock()
	d := s.devices[dev]
	if d == nil || !d.online || d.conn == nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: %s", ErrOffline, dev)
	}
	c := d.conn
	d.cseq++
	cseq := d.cseq
	s.mu.Unlock()
	cfg := s.Config()
	call := &Call{s: s, device: dev, Channel: ch, SSRC: s.newSSRC(cfg.Domain), Transport: transport,
		callID: sip.RandHex(8) + "@srs-lite", fromTag: sip.RandHex(4), cseq: cseq, c: c, sink: sink,
		done: make(chan struct{}), since: time.Now()}
	if s.deps.Media != nil && transport != TCPActive {
		call.cancelMedia = s.deps.Media.Expect(call.SSRC, sink)
	}
	fail := func(err error) (*Call, error) {
		if call.cancelMedia != nil {
			call.cancelMedia()
		}
		return nil, err
	}
	req := s.newRequest(c, "INVITE", ch, cfg, cseq, call.callID, call.fromTag, "")
	req.Add("Content-Type", "APPLICATION/SDP")
	req.Add("Subject", ch+":"+SSRCString(call.SSRC)+","+cfg.ServerID+":0")
	host, _, _ := net.SplitHostPort(c.local().String())
	req.Body = offer(ch, host, cfg.MediaPort, transport, call.SSRC)
	s.mu.Lock()
	s.calls[call.callID] = call
	s.mu.Unlock()
	resp, err := s.clients.Do(ctx, req, c.reliable(), c.send, nil)
	if err == nil && resp.Status/100 != 2 {
		err = fmt.Errorf("%w: INVITE: %d %s", ErrRefused, resp.Status, resp.Reason)
	}
	if err != nil {
		s.mu.Lock()
		delete(s.calls, call.callID)
		s.mu.Unlock()
		return fail(err)
	}
	s.mu.Lock()
	call.toTag = sip.Param(resp.Get("To"), "tag")
	call.target = sip.URIHost(resp.Get("Contact"))
	s.mu.Unlock()
	// ACK: a new transaction for a 2xx, the same CSeq number (RFC 3261 13.2.2.4).
	ack := s.newRequest(c, "ACK", ch, cfg, cseq, call.callID, call.fromTag, call.toTag)
	if call.target != "" {
		ack.URI = "sip:" + ch + "@" + call.target
	}
	ackb := ack.Bytes()
	s.mu.Lock()
	call.ack = ackb
	s.mu.Unlock()
	if err := c.send(ackb); err != nil {
		s.mu.Lock()
		delete(s.calls, call.callID)
		s.mu.Unlock()
		return fail(err)
	}
	if transport == TCPActive && s.deps.Media != nil {
		addr := answerAddr(resp.Body)
		if addr == "" {
			call.Bye()
			return nil, fmt.Errorf("%w: no media address in the answer", ErrRefused)
		}
		// The connection lasts as long as mctx: until the call ends.
		mctx, mcancel := context.WithCancel(s.ctx)
		call.cancelMedia = mcancel
		stop := context.AfterFunc(ctx, mcancel) // an INVITE given up before the dial
		err := s.deps.Media.Dial(mctx, addr, call.SSRC, sink)
		stop()
		if err != nil {
			call.Bye()
			return nil, err
		}
	}
	s.log.Info("gb28181: INVITE answered", "device", dev, "channel", ch, "ssrc", SSRCString(call.SSRC), "transport", transport)
	return call, nil
}

// Bye ends the call: BYE to the device, media mapping removed. Gone is
// not called.
func (c *Call) Bye() { c.end(nil, true) }

// end ends the call once: err, when not nil, goes to the sink's Gone;
// bye sends a BYE.
func (c *Call) end(err error, bye bool) {
	c.once.Do(func() {
		s := c.s
		s.mu.Lock()
		delete(s.calls, c.callID)
		toTag, target := c.toTag, c.target
		s.mu.Unlock()
		if c.cancelMedia != nil {
			c.cancelMedia()
		}
		close(c.done)
		if bye {
			cfg := s.Config()
			req := s.newRequest(c.c, "BYE", c.Channel, cfg, c.cseq+1, c.callID, c.fromTag, toTag)
			if target != "" {
				req.URI = "sip:" + c.Channel + "@" + target
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			s.byes.Add(1)
			go func() {
				defer s.byes.Add(-1)
				defer cancel()
				if _, err := s.clients.Do(ctx, req, c.c.reliable(), c.c.send, nil); err != nil {
					s.log.Debug("gb28181: BYE", "device", c.device, "err", err)
				}
			}()
			s.log.Info("gb28181: BYE sent", "device", c.device, "channel", c.Channel, "ssrc", SSRCString(c.SSRC))
		}
		if err != nil && c.sink != nil {
			c.sink.Gone(err)
		}
	})
}

// offer is our SDP offer for a live play.
func offer(ch, host string, port int, transport string, ssrc uint32) []byte {
	proto, setup := "RTP/AVP", ""
	switch transport {
	case TCPPassive:
		proto, setup = "TCP/RTP/AVP", "a=setup:passive\r\na=connection:new\r\n"
	case TCPActive:
		proto, setup = "TCP/RTP/AVP", "a=setup:active\r\na=connection:new\r\n"
	}
	return []byte("v=0\r\n" +
		"o=" + ch + " 0 0 IN IP4 " + host + "\r\n" +
		"s=Play\r\n" +
		"c=IN IP4 " + host + "\r\n" +
		"t=0 0\r\n" +
		"m=video " + strconv.Itoa(port) + " " + proto + " 96\r\n" +
		"a=recvonly\r\n" +
		"a=rtpmap:96 PS/90000\r\n" +
		setup +
		"y=" + SSRCString(ssrc) + "\r\n" +
		"f=\r\n")
}

// answerAddr returns host:port of the device's media in an SDP answer.
func answerAddr(sdp []byte) string {
	var host, port string
	for _, l := range strings.Split(string(sdp), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "c=IN IP4 "):
			host = strings.TrimSpace(l[len("c=IN IP4 "):])
		case strings.HasPrefix(l, "m=video "):
			if f := strings.Fields(l); len(f) > 1 {
				port = f[1]
			}
		}
	}
	if host == "" || port == "" {
		return ""
	}
	return net.JoinHostPort(host, port)
}
