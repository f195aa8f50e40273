//go:build !nortc && !tiny

package rtc

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// A lean WHEP client for srs-lite bench: a hand-written offer, STUN
// binding requests as the controlling agent, a pion/dtls client, SRTP
// decryption, and frames counted by their marker bits. No ICE agent, no
// jitter buffer, no decoding: hundreds of viewers from one machine.

// WHEPURL turns whep://HOST:PORT/APP/STREAM (or an http(s) URL of the
// endpoint) into the endpoint's http URL.
func WHEPURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	switch u.Scheme {
	case "http", "https":
		return raw, nil
	case "whep":
		app, stream, ok := strings.Cut(strings.Trim(u.Path, "/"), "/")
		if !ok || app == "" || stream == "" {
			return "", fmt.Errorf("rtc: %q: want whep://HOST:PORT/APP/STREAM", raw)
		}
		q := u.Query()
		q.Set("app", app)
		q.Set("stream", stream)
		return "http://" + u.Host + WHEPPath + "?" + q.Encode(), nil
	}
	return "", fmt.Errorf("rtc: %q is no WHEP URL", raw)
}

// clientCert is the bench's DTLS certificate, one per process.
var clientCert = sync.OnceValues(func() (tls.Certificate, error) {
	c, _, err := selfSigned()
	return c, err
})

// PlayTags plays a WHEP URL until ctx is done or the session ends, calling
// onTag once per video frame (typ 9) and audio packet (typ 8) with a body
// of the frame's payload size (zeros; only its length is meant).
func PlayTags(ctx context.Context, rawURL string, onTag func(typ uint8, ts uint32, body []byte)) error {
	endpoint, err := WHEPURL(rawURL)
	if err != nil {
		return err
	}
	cert, err := clientCert()
	if err != nil {
		return err
	}
	ufrag, pwd := randString(8), randString(24)
	offer := fmt.Sprintf("v=0\r\no=- %d 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"+
		"m=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:%s\r\na=ice-pwd:%s\r\n"+
		"a=fingerprint:sha-256 %s\r\na=setup:active\r\na=mid:0\r\na=recvonly\r\na=rtcp-mux\r\n"+
		"a=rtpmap:102 H264/90000\r\na=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"+
		"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=recvonly\r\na=rtcp-mux\r\n"+
		"a=rtpmap:111 opus/48000/2\r\n", randUint32(), ufrag, pwd, fingerprintOf(cert.Certificate[0]))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(offer))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/sdp")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("rtc: whep: %w", err)
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, MaxOfferSize))
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		return fmt.Errorf("rtc: whep: %s: %s", res.Status, strings.TrimSpace(string(body)))
	}
	if loc, err := res.Request.URL.Parse(res.Header.Get("Location")); err == nil && res.Header.Get("Location") != "" {
		defer func() {
			r, _ := http.NewRequest(http.MethodDelete, loc.String(), nil)
			if rr, err := http.DefaultClient.Do(r); err == nil {
				rr.Body.Close()
			}
		}()
	}
	ans, err := parseOffer(body) // the same fields: credentials, fingerprint, media
	if err != nil {
		return fmt.Errorf("rtc: whep answer: %w", err)
	}
	var cand string
	for _, l := range strings.Split(string(body), "\r\n") {
		f := strings.Fields(strings.TrimPrefix(l, "a=candidate:"))
		if strings.HasPrefix(l, "a=candidate:") && len(f) >= 6 && strings.EqualFold(f[2], "udp") {
			cand = net.JoinHostPort(f[4], f[5])
			break
		}
	}
	if cand == "" {
		return errors.New("rtc: whep answer has no UDP candidate")
	}
	ra, err := net.ResolveUDPAddr("udp", cand)
	if err != nil {
		return err
	}
	uc, err := net.ListenUDP("udp", nil)
	if err != nil {
		return err
	}
	c := &clientConn{uc: uc, ra: ra, dtlsCh: make(chan []byte, 64), done: make(chan struct{})}
	defer c.close()
	stop := context.AfterFunc(ctx, c.close)
	defer stop()
	user := ans.ufrag + ":" + ufrag
	bind := func() {
		var b [256]byte
		_, _ = uc.WriteToUDP(appendBindingRequest(b[:0], user, ans.pwd), ra)
	}
	go c.read()
	bind()
	go func() { // consent keepalives (RFC 7675), and retries until answered
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-c.done:
				return
			case <-t.C:
				bind()
			}
		}
	}()
	dc, err := dtls.Client(c, ra, &dtls.Config{Certificates: []tls.Certificate{cert}, InsecureSkipVerify: true,
		SRTPProtectionProfiles: []dtls.SRTPProtectionProfile{dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80},
		ExtendedMasterSecret:   dtls.RequireExtendedMasterSecret})
	if err != nil {
		return err
	}
	defer dc.Close()
	hctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	err = dc.HandshakeContext(hctx)
	cancel()
	if err != nil {
		return fmt.Errorf("rtc: dtls: %w", err)
	}
	st, _ := dc.ConnectionState()
	sp, _ := dc.SelectedSRTPProtectionProfile()
	prof := srtp.ProtectionProfile(sp)
	sc := srtp.Config{Profile: prof}
	if err := sc.ExtractSessionKeysFromDTLS(&st, true); err != nil {
		return err
	}
	dec, err := srtp.CreateContext(sc.Keys.RemoteMasterKey, sc.Keys.RemoteMasterSalt, prof)
	if err != nil {
		return err
	}
	go func() { // drain DTLS application data and alerts
		b := make([]byte, 1500)
		for {
			if _, err := dc.Read(b); err != nil {
				c.close()
				return
			}
		}
	}()
	var h rtp.Header
	out := make([]byte, 1500)
	scratch := make([]byte, 0, 1<<20)
	frame := 0
	for {
		var pkt []byte
		select {
		case pkt = <-c.srtpCh():
		case <-c.done:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return io.EOF
		}
		if pkt[1] >= 192 && pkt[1] <= 223 {
			continue // RTCP: sender reports
		}
		p, err := dec.DecryptRTP(out[:0], pkt, &h)
		if err != nil {
			continue
		}
		n := len(p) - h.MarshalSize()
		if h.PayloadType == 111 {
			onTag(8, h.Timestamp/48, scratch[:n])
			continue
		}
		frame += n
		if h.Marker {
			if frame > cap(scratch) {
				scratch = make([]byte, 0, frame)
			}
			onTag(9, h.Timestamp/90, scratch[:frame])
			frame = 0
		}
	}
}

// clientConn demultiplexes the client's socket: DTLS to pion's client
// (as its net.PacketConn), SRTP to the player.
type clientConn struct {
	uc        *net.UDPConn
	ra        *net.UDPAddr
	dtlsCh    chan []byte
	srtp      chan []byte
	srtpOnce  sync.Once
	done      chan struct{}
	closeOnce sync.Once
}

func (c *clientConn) srtpCh() chan []byte {
	c.srtpOnce.Do(func() { c.srtp = make(chan []byte, 512) })
	return c.srtp
}

func (c *clientConn) read() {
	ch := c.srtpCh()
	buf := make([]byte, 1<<16)
	for {
		n, _, err := c.uc.ReadFromUDP(buf)
		if err != nil {
			c.close()
			return
		}
		switch Classify(buf[:n]) {
		case KindDTLS:
			select {
			case c.dtlsCh <- append([]byte(nil), buf[:n]...):
			default:
			}
		case KindRTP:
			select {
			case ch <- append([]byte(nil), buf[:n]...):
			default: // the player is behind: a lost packet
			}
		}
	}
}

func (c *clientConn) close() {
	c.closeOnce.Do(func() {
		close(c.done)
		_ = c.uc.Close()
	})
}

func (c *clientConn) ReadFrom(b []byte) (int, net.Addr, error) {
	select {
	case d := <-c.dtlsCh:
		return copy(b, d), c.ra, nil
	case <-c.done:
		return 0, nil, net.ErrClosed
	}
}

func (c *clientConn) WriteTo(b []byte, _ net.Addr) (int, error) { return c.uc.WriteToUDP(b, c.ra) }
func (c *clientConn) Close() error                              { return nil }
func (c *clientConn) LocalAddr() net.Addr                       { return c.uc.LocalAddr() }
func (c *clientConn) SetDeadline(time.Time) error               { return nil }
func (c *clientConn) SetReadDeadline(time.Time) error           { return nil }
func (c *clientConn) SetWriteDeadline(time.Time) error          { return nil }

// appendBindingRequest appends a binding request as the controlling agent
// nominating the pair (RFC 8445 §7.2.2): USERNAME, USE-CANDIDATE,
// MESSAGE-INTEGRITY with the server's pwd, FINGERPRINT.
func appendBindingRequest(dst []byte, user, pwd string) []byte {
	start := len(dst)
	var tx [12]byte
	binary.BigEndian.PutUint32(tx[:], randUint32())
	binary.BigEndian.PutUint32(tx[4:], randUint32())
	binary.BigEndian.PutUint32(tx[8:], randUint32())
	dst = binary.BigEndian.AppendUint16(dst, stunBindingRequest)
	dst = append(dst, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, stunMagic)
	dst = append(dst, tx[:]...)
	dst = binary.BigEndian.AppendUint16(dst, attrUsername)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(user)))
	dst = append(dst, user...)
	for (len(dst)-start)%4 != 0 {
		dst = append(dst, 0)
	}
	dst = binary.BigEndian.AppendUint16(dst, attrUseCandidate)
	dst = append(dst, 0, 0)
	return appendIntegrity(dst, start, pwd)
}
