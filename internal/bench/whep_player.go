//go:build !nortc && !tiny

package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/srtp/v3"

	"github.com/srs-lite/srs-lite/internal/format/flv"
	"github.com/srs-lite/srs-lite/internal/format/stun"
	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/tlscert"
)

// Timers of the WHEP player.
const (
	whepBindWait    = 5 * time.Second        // first STUN binding answered
	whepBindRetry   = 200 * time.Millisecond // binding request retransmission
	whepHandshake   = 10 * time.Second       // DTLS
	whepConsent     = 5 * time.Second        // consent refresh (RFC 7675 asks for 5 s or less)
	whepMaxAnswer   = 64 << 10
	whepNACKHorizon = 512 // a sequence jump larger than this is a restart, not a loss
)

// WHEPPlayer is the Player of WebRTC over WHEP, a lean client built on
// pion's dtls, srtp, rtp and sdp packages (no PeerConnection, no ICE
// agent):
//
//	whep://HOST:PORT/APP/STREAM                      srs-lite's (SRS's) WHEP endpoint
//	http://HOST:PORT/rtc/v1/whep/?app=APP&stream=S   the same, spelled out
//	http://HOST:PORT/.../whep                        any WHEP endpoint (MediaMTX, pion)
//
// It POSTs a recvonly H.264 + Opus offer (setup:active, the fingerprint of
// a certificate made once per process), nominates the answer's UDP host
// candidate with a STUN binding request, runs the DTLS client handshake
// (use_srtp), decrypts SRTP and hands each video frame (the RTP payloads
// between marker bits) and each audio packet to onTag as an FLV tag body,
// so that bench counts bytes, frames, ttff and stalls as for the other
// protocols. Lost video packets are NACKed (RFC 4585). DELETE ends the
// session on exit. Per player: one UDP socket, a socket reader goroutine,
// and the caller's goroutine reading DTLS (pion's DTLS keeps its own).
func WHEPPlayer(ctx context.Context, rawURL string, onTag func(typ uint8, ts uint32, body []byte)) error {
	endpoint, err := WHEPEndpoint(rawURL)
	if err != nil {
		return err
	}
	cert, fp, err := whepCert()
	if err != nil {
		return fmt.Errorf("bench: whep certificate: %w", err)
	}
	w := &whepPlayer{onTag: onTag, ufrag: randHex(4), pwd: randHex(12), done: make(chan struct{}),
		dtlsIn: make(chan []byte, 32), bound: make(chan struct{})}
	ans, loc, err := w.post(ctx, endpoint, whepOffer(w.ufrag, w.pwd, fp))
	if err != nil {
		return err
	}
	if loc != "" {
		defer whepDelete(loc)
	}
	w.ans = ans
	host := ""
	if u, err := url.Parse(endpoint); err == nil {
		host = u.Hostname()
	}
	raddr, err := ans.pickCandidate(host)
	if err != nil {
		return err
	}
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(raddr))
	if err != nil {
		return fmt.Errorf("bench: whep: %w", err)
	}
	// Room for a second of a few Mbit/s while the bench's core is busy.
	_ = conn.SetReadBuffer(1 << 20)
	w.conn = conn
	defer w.close()
	stop := context.AfterFunc(ctx, w.close)
	defer stop()
	go w.readLoop()

	if err := w.bind(ctx); err != nil {
		return err
	}
	dc, err := w.handshake(ctx, cert)
	if err != nil {
		return err
	}
	defer dc.Close()
	// The caller's goroutine reads DTLS: a close_notify from the server
	// ends the play.
	buf := make([]byte, 1500)
	for {
		if _, err := dc.Read(buf); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return io.EOF
		}
	}
}

// WHEPEndpoint returns the HTTP URL a WHEP URL POSTs to: whep://HOST/APP/STREAM
// becomes http://HOST/rtc/v1/whep/?app=APP&stream=STREAM; http(s) URLs are
// used as they are.
func WHEPEndpoint(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("bench: %w", err)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		return rawURL, nil
	case "whep", "wheps":
		app, stream, ok := strings.Cut(strings.Trim(u.Path, "/"), "/")
		if u.Host == "" || !ok || app == "" || stream == "" || strings.Contains(stream, "/") {
			return "", fmt.Errorf("bench: %q: want whep://HOST:PORT/APP/STREAM", rawURL)
		}
		scheme := "http"
		if strings.EqualFold(u.Scheme, "wheps") {
			scheme = "https"
		}
		q := url.Values{"app": {app}, "stream": {stream}}
		return scheme + "://" + u.Host + "/rtc/v1/whep/?" + q.Encode(), nil
	}
	return "", fmt.Errorf("bench: %q: %w", u.Scheme, ErrScheme)
}

// whepPlayer is one WHEP session.
type whepPlayer struct {
	onTag      func(typ uint8, ts uint32, body []byte)
	ufrag, pwd string
	ans        *whepAnswer
	conn       *net.UDPConn
	tieBreaker uint64

	bound     chan struct{} // closed by the first binding success
	boundOnce sync.Once
	txID      atomic.Pointer[[12]byte] // the binding request in flight
	dtlsIn    chan []byte
	dec       atomic.Pointer[srtp.Context] // set once DTLS is done; used by readLoop only
	enc       *srtp.Context                // readLoop only (NACKs)
	consent   *time.Timer

	closeOnce sync.Once
	done      chan struct{}

	// readLoop's state.
	hdr         rtp.Header
	plain       []byte
	vbuf, abuf  []byte
	vts         uint32
	vhave, vkey bool
	vfirst      bool
	vbase       uint32
	abase       uint32
	afirst      bool
	lastSeq     uint16
	seqOK       bool
	rtcpBuf     []byte
}

// post sends the offer and returns the parsed answer and the session's
// absolute Location.
func (w *whepPlayer) post(ctx context.Context, endpoint, offer string) (*whepAnswer, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(offer))
	if err != nil {
		return nil, "", fmt.Errorf("bench: %w", err)
	}
	req.Header.Set("Content-Type", "application/sdp")
	resp, err := whepClient().Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("bench: whep: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, whepMaxAnswer))
	if err != nil {
		return nil, "", fmt.Errorf("bench: whep: %w", err)
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("bench: whep post %s: %s: %s: %w", endpoint, resp.Status,
			strings.TrimSpace(string(body[:min(len(body), 200)])), ErrStatus)
	}
	loc := ""
	if l := resp.Header.Get("Location"); l != "" {
		if u, err := resp.Request.URL.Parse(l); err == nil {
			loc = u.String()
		}
	}
	ans, err := parseWHEPAnswer(body)
	if err != nil {
		if loc != "" {
			whepDelete(loc)
		}
		return nil, "", err
	}
	return ans, loc, nil
}

// whepDelete ends a session (WHEP §4.3), best effort.
func whepDelete(loc string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, loc, nil)
	if err != nil {
		return
	}
	if resp, err := whepClient().Do(req); err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

var whepClient = sync.OnceValue(func() *http.Client {
	return &http.Client{Transport: newTransport(MaxInFlight), Timeout: headerTimeout}
})

// bind nominates the candidate: binding requests every whepBindRetry until
// one is answered, then a consent refresh every whepConsent.
func (w *whepPlayer) bind(ctx context.Context) error {
	var tb [8]byte
	_, _ = rand.Read(tb[:])
	w.tieBreaker = binary.BigEndian.Uint64(tb[:])
	deadline := time.NewTimer(whepBindWait)
	defer deadline.Stop()
	retry := time.NewTicker(whepBindRetry)
	defer retry.Stop()
	for {
		w.sendBinding()
		select {
		case <-w.bound:
			w.consent = time.AfterFunc(whepConsent, w.refresh)
			return nil
		case <-deadline.C:
			return fmt.Errorf("bench: whep: no STUN answer from %s", w.conn.RemoteAddr())
		case <-ctx.Done():
			return ctx.Err()
		case <-w.done:
			return ctx.Err()
		case <-retry.C:
		}
	}
}

// refresh sends a consent binding request and rearms itself.
func (w *whepPlayer) refresh() {
	select {
	case <-w.done:
		return
	default:
	}
	w.sendBinding()
	w.consent.Reset(whepConsent)
}

// bindingPriority is our host candidate's priority (RFC 8445 §5.1.2.1, type
// preference 126, local preference 65535, component 1) as the
// peer-reflexive one (type preference 110) the server learns it as.
const bindingPriority = 110<<24 | 65535<<8 | 255

// sendBinding sends a nominating binding request with a new transaction id.
func (w *whepPlayer) sendBinding() {
	var tx [12]byte
	_, _ = rand.Read(tx[:])
	w.txID.Store(&tx)
	m := stun.AppendBindingRequest(make([]byte, 0, 128), tx[:], w.ans.ufrag, w.ufrag, w.ans.pwd, bindingPriority, w.tieBreaker)
	_, _ = w.conn.Write(m)
}

// handshake runs the DTLS client handshake and makes the SRTP contexts
// (RFC 5764 §4.2).
func (w *whepPlayer) handshake(ctx context.Context, cert tls.Certificate) (*dtls.Conn, error) {
	cfg := &dtls.Config{
		Certificates:           []tls.Certificate{cert},
		SRTPProtectionProfiles: []dtls.SRTPProtectionProfile{dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80},
		ExtendedMasterSecret:   dtls.RequestExtendedMasterSecret,
		InsecureSkipVerify:     true, // self-signed: checked against the answer's fingerprint
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if w.ans.fingerprint == "" {
				return nil
			}
			if len(raw) == 0 || !strings.EqualFold(tlscert.Fingerprint(raw[0]), w.ans.fingerprint) {
				return errors.New("server certificate does not match the answer's fingerprint")
			}
			return nil
		},
	}
	dc, err := dtls.Client(&whepDTLSConn{w}, w.conn.RemoteAddr(), cfg)
	if err != nil {
		return nil, fmt.Errorf("bench: whep dtls: %w", err)
	}
	hctx, cancel := context.WithTimeout(ctx, whepHandshake)
	defer cancel()
	if err := dc.HandshakeContext(hctx); err != nil {
		_ = dc.Close()
		return nil, fmt.Errorf("bench: whep dtls handshake: %w", err)
	}
	st, ok := dc.ConnectionState()
	sp, ok2 := dc.SelectedSRTPProtectionProfile()
	if !ok || !ok2 {
		_ = dc.Close()
		return nil, errors.New("bench: whep dtls: no SRTP profile negotiated")
	}
	prof := srtp.ProtectionProfile(sp)
	sc := srtp.Config{Profile: prof}
	if err := sc.ExtractSessionKeysFromDTLS(&st, true); err != nil {
		_ = dc.Close()
		return nil, fmt.Errorf("bench: whep srtp keys: %w", err)
	}
	enc, err := srtp.CreateContext(sc.Keys.LocalMasterKey, sc.Keys.LocalMasterSalt, prof)
	if err != nil {
		_ = dc.Close()
		return nil, fmt.Errorf("bench: whep srtp: %w", err)
	}
	dec, err := srtp.CreateContext(sc.Keys.RemoteMasterKey, sc.Keys.RemoteMasterSalt, prof)
	if err != nil {
		_ = dc.Close()
		return nil, fmt.Errorf("bench: whep srtp: %w", err)
	}
	w.enc = enc
	w.dec.Store(dec) // publishes enc to readLoop too
	return dc, nil
}

// close ends the session's socket and timers, once.
func (w *whepPlayer) close() {
	w.closeOnce.Do(func() {
		close(w.done)
		if w.consent != nil {
			w.consent.Stop()
		}
		_ = w.conn.Close()
	})
}

// readLoop reads the socket until it is closed and demultiplexes by the
// first byte (RFC 7983): STUN, DTLS, SRTP/SRTCP.
func (w *whepPlayer) readLoop() {
	buf := make([]byte, 1500)
	w.plain = make([]byte, 1500)
	w.vbuf = make([]byte, 5, 64<<10)
	w.abuf = make([]byte, 0, 1500)
	w.rtcpBuf = make([]byte, 0, 128)
	for {
		n, err := w.conn.Read(buf)
		if err != nil {
			select {
			case <-w.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			// A refused port (ICMP) while the server is not there yet.
			continue
		}
		if n == 0 {
			continue
		}
		b := buf[:n]
		switch c := b[0]; {
		case c < 4:
			w.onSTUN(b)
		case c >= 20 && c < 64:
			select {
			case w.dtlsIn <- append([]byte(nil), b...):
			default: // DTLS retransmits
			}
		case c >= 128 && c < 192:
			if dec := w.dec.Load(); dec != nil && n >= 12 && (b[1] < 192 || b[1] > 223) {
				w.onSRTP(dec, b)
			}
		}
	}
}

// onSTUN takes a binding success for our request in flight, and answers a
// full ICE agent's own checks.
func (w *whepPlayer) onSTUN(b []byte) {
	typ, tx, ok := stun.Type(b)
	if !ok {
		return
	}
	switch typ {
	case stun.BindingSuccess:
		if cur := w.txID.Load(); cur != nil && bytes.Equal(cur[:], tx) {
			w.boundOnce.Do(func() { close(w.bound) })
		}
	case stun.BindingRequest:
		ra, _ := netip.ParseAddrPort(w.conn.RemoteAddr().String())
		m := stun.AppendBindingSuccess(make([]byte, 0, 96), tx, ra, w.pwd)
		_, _ = w.conn.Write(m)
	}
}

// onSRTP decrypts one RTP packet and measures it.
func (w *whepPlayer) onSRTP(dec *srtp.Context, b []byte) {
	out, err := dec.DecryptRTP(w.plain[:0], b, &w.hdr)
	if err != nil {
		return
	}
	h := &w.hdr
	off := h.MarshalSize()
	end := len(out)
	if h.Padding && end > off {
		end -= int(out[end-1])
	}
	if off > end {
		return
	}
	payload := out[off:end]
	switch h.PayloadType {
	case w.ans.videoPT:
		w.onVideo(h, payload)
	case w.ans.audioPT:
		if !w.afirst {
			w.afirst, w.abase = true, h.Timestamp
		}
		f := media.Frame{Codec: w.ans.audioCodec, Flags: media.FlagKey}
		if w.ans.audioClock > 0 {
			f.DTS = time.Duration(h.Timestamp-w.abase) * time.Second / time.Duration(w.ans.audioClock)
		}
		w.abuf = append(flv.AppendBodyHeader(w.abuf[:0], &f), payload...)
		w.onTag(flv.TagAudio, flv.Timestamp(&f), w.abuf)
	}
}

// onVideo gathers a frame's packets (one RTP timestamp, ended by the
// marker bit) and NACKs the gaps.
func (w *whepPlayer) onVideo(h *rtp.Header, payload []byte) {
	seq := h.SequenceNumber
	if w.seqOK {
		d := seq - w.lastSeq
		switch {
		case d == 0 || d > 0x8000:
			return // a duplicate, a late or a retransmitted packet: its frame is gone
		case d > 1 && d < whepNACKHorizon:
			w.nack(h.SSRC, w.lastSeq+1, d-1)
		}
	}
	w.lastSeq, w.seqOK = seq, true
	if w.vhave && h.Timestamp != w.vts {
		w.emitVideo() // the previous frame lost its marker
	}
	if !w.vfirst {
		w.vfirst, w.vbase = true, h.Timestamp
	}
	w.vts, w.vhave = h.Timestamp, true
	if isH264Key(payload) {
		w.vkey = true
	}
	w.vbuf = append(w.vbuf, payload...)
	if h.Marker {
		w.emitVideo()
	}
}

// emitVideo hands the gathered frame to onTag with its FLV body header.
func (w *whepPlayer) emitVideo() {
	f := media.Frame{Codec: media.CodecH264, DTS: time.Duration(w.vts-w.vbase) * time.Second / 90000}
	if w.vkey {
		f.Flags = media.FlagKey
	}
	if hdr := flv.AppendBodyHeader(w.vbuf[:0], &f); len(hdr) == 5 {
		w.onTag(flv.TagVideo, flv.Timestamp(&f), w.vbuf)
	}
	w.vbuf, w.vhave, w.vkey = w.vbuf[:5], false, false
}

// nack asks for n packets from first (RFC 4585 §6.2.1 generic NACK; one
// FCI covers 17 packets).
func (w *whepPlayer) nack(ssrc uint32, first, n uint16) {
	n = min(n, 17*8) // a burst this long will not be repaired in time anyway
	m := w.rtcpBuf[:0]
	m = append(m, 0x81, 205, 0, 0) // V=2 FMT=1 PT=RTPFB, length set below
	m = binary.BigEndian.AppendUint32(m, 1)
	m = binary.BigEndian.AppendUint32(m, ssrc)
	for n > 0 {
		pid, k := first, min(n, 17)
		var blp uint16
		for i := uint16(1); i < k; i++ {
			blp |= 1 << (i - 1)
		}
		m = binary.BigEndian.AppendUint16(m, pid)
		m = binary.BigEndian.AppendUint16(m, blp)
		first, n = first+k, n-k
	}
	binary.BigEndian.PutUint16(m[2:], uint16(len(m)/4-1))
	w.rtcpBuf = m
	if out, err := w.enc.EncryptRTCP(nil, m, nil); err == nil {
		_, _ = w.conn.Write(out)
	}
}

// isH264Key reports whether an RTP payload (RFC 6184) starts or carries an
// IDR picture or an SPS.
func isH264Key(p []byte) bool {
	if len(p) < 2 {
		return false
	}
	switch t := p[0] & 0x1f; t {
	case 5, 7:
		return true
	case 24: // STAP-A: the first aggregated NAL unit
		return len(p) > 3 && (p[3]&0x1f == 5 || p[3]&0x1f == 7)
	case 28: // FU-A start of an IDR
		return p[1]&0x80 != 0 && p[1]&0x1f == 5
	}
	return false
}

// whepDTLSConn is the net.PacketConn pion's DTLS client reads and writes:
// records come from readLoop, writes go to the socket.
type whepDTLSConn struct{ w *whepPlayer }

func (c *whepDTLSConn) ReadFrom(b []byte) (int, net.Addr, error) {
	select {
	case d := <-c.w.dtlsIn:
		return copy(b, d), c.w.conn.RemoteAddr(), nil
	case <-c.w.done:
		return 0, nil, net.ErrClosed
	}
}

func (c *whepDTLSConn) WriteTo(b []byte, _ net.Addr) (int, error) { return c.w.conn.Write(b) }
func (c *whepDTLSConn) Close() error                              { return nil }
func (c *whepDTLSConn) LocalAddr() net.Addr                       { return c.w.conn.LocalAddr() }
func (c *whepDTLSConn) SetDeadline(time.Time) error               { return nil }
func (c *whepDTLSConn) SetReadDeadline(time.Time) error           { return nil }
func (c *whepDTLSConn) SetWriteDeadline(time.Time) error          { return nil }

// whepOffer writes a recvonly H.264 + Opus offer. No candidates: the server
// learns our address from the binding request (a peer-reflexive candidate
// to a full ICE agent).
func whepOffer(ufrag, pwd, fp string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=- %d 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\na=msid-semantic: WMS\r\n", time.Now().UnixNano()&0x7fffffff)
	media := func(kind, mid, fmts, lines string) {
		fmt.Fprintf(&b, "m=%s 9 UDP/TLS/RTP/SAVPF %s\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n", kind, fmts)
		fmt.Fprintf(&b, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=fingerprint:sha-256 %s\r\na=setup:active\r\n", ufrag, pwd, fp)
		fmt.Fprintf(&b, "a=mid:%s\r\na=recvonly\r\na=rtcp-mux\r\na=rtcp-rsize\r\n%s", mid, lines)
	}
	media("video", "0", "102 106", "a=rtpmap:102 H264/90000\r\na=rtcp-fb:102 nack\r\na=rtcp-fb:102 nack pli\r\n"+
		"a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"+
		"a=rtpmap:106 H264/90000\r\na=rtcp-fb:106 nack\r\na=rtcp-fb:106 nack pli\r\n"+
		"a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640032\r\n")
	media("audio", "1", "111", "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n")
	return b.String()
}

// whepAnswer is what the player needs of an answer.
type whepAnswer struct {
	ufrag, pwd, fingerprint string
	candidates              []netip.AddrPort // UDP
	videoPT, audioPT        uint8            // 0xff when absent
	audioCodec              media.Codec
	audioClock              int
}

// parseWHEPAnswer reads an SDP answer with pion/sdp.
func parseWHEPAnswer(b []byte) (*whepAnswer, error) {
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("bench: whep answer: %w", err)
	}
	a := &whepAnswer{videoPT: 0xff, audioPT: 0xff}
	a.ufrag, _ = sd.Attribute("ice-ufrag")
	a.pwd, _ = sd.Attribute("ice-pwd")
	fp, _ := sd.Attribute("fingerprint")
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Port.Value == 0 {
			continue
		}
		for _, at := range md.Attributes {
			switch at.Key {
			case "ice-ufrag":
				if a.ufrag == "" {
					a.ufrag = at.Value
				}
			case "ice-pwd":
				if a.pwd == "" {
					a.pwd = at.Value
				}
			case "fingerprint":
				if fp == "" {
					fp = at.Value
				}
			case "candidate":
				if ap, ok := parseUDPCandidate(at.Value); ok {
					a.candidates = append(a.candidates, ap)
				}
			case "rtpmap":
				pts, enc, _ := strings.Cut(at.Value, " ")
				pt, err := strconv.ParseUint(pts, 10, 8)
				if err != nil {
					continue
				}
				parts := strings.Split(enc, "/")
				clock := 0
				if len(parts) > 1 {
					clock, _ = strconv.Atoi(parts[1])
				}
				switch name := strings.ToUpper(parts[0]); {
				case md.MediaName.Media == "video" && name == "H264" && a.videoPT == 0xff:
					a.videoPT = uint8(pt)
				case md.MediaName.Media == "audio" && a.audioPT == 0xff:
					codec, ok := map[string]media.Codec{"OPUS": media.CodecOpus, "PCMA": media.CodecPCMA, "PCMU": media.CodecPCMU}[name]
					if ok {
						a.audioPT, a.audioCodec, a.audioClock = uint8(pt), codec, clock
					}
				}
			}
		}
	}
	if algo, val, ok := strings.Cut(fp, " "); ok && strings.EqualFold(algo, "sha-256") {
		a.fingerprint = strings.TrimSpace(val)
	}
	switch {
	case a.ufrag == "" || a.pwd == "":
		return nil, errors.New("bench: whep answer: no ice-ufrag/ice-pwd")
	case a.videoPT == 0xff && a.audioPT == 0xff:
		return nil, errors.New("bench: whep answer: no H.264 video or audio accepted")
	}
	return a, nil
}

// parseUDPCandidate reads "foundation component udp priority ip port typ ..."
// (RFC 8839 §5.1).
func parseUDPCandidate(v string) (netip.AddrPort, bool) {
	f := strings.Fields(v)
	if len(f) < 6 || !strings.EqualFold(f[2], "udp") {
		return netip.AddrPort{}, false
	}
	ip, err := netip.ParseAddr(f[4])
	port, err2 := strconv.ParseUint(f[5], 10, 16)
	if err != nil || err2 != nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ip, uint16(port)), true
}

// pickCandidate chooses the UDP candidate on the host the URL names, then
// the first IPv4 one, then the URL's host with the first candidate's port
// (a full ICE agent may leave loopback out of its candidates).
func (a *whepAnswer) pickCandidate(host string) (netip.AddrPort, error) {
	if len(a.candidates) == 0 {
		return netip.AddrPort{}, errors.New("bench: whep answer: no UDP candidate")
	}
	hip, herr := netip.ParseAddr(host)
	if herr != nil {
		if ips, err := net.LookupIP(host); err == nil && len(ips) > 0 {
			if ip, ok := netip.AddrFromSlice(ips[0]); ok {
				hip, herr = ip.Unmap(), nil
			}
		}
	}
	for _, c := range a.candidates {
		if herr == nil && c.Addr() == hip {
			return c, nil
		}
	}
	if herr == nil && hip.IsLoopback() {
		return netip.AddrPortFrom(hip, a.candidates[0].Port()), nil
	}
	for _, c := range a.candidates {
		if c.Addr().Is4() {
			return c, nil
		}
	}
	return a.candidates[0], nil
}

// whepCert makes the process's self-signed DTLS certificate once and
// returns it with its sha-256 fingerprint.
func whepCert() (tls.Certificate, string, error) {
	c := whepCertOnce()
	return c.cert, c.fp, c.err
}

var whepCertOnce = sync.OnceValue(func() certResult {
	c, fp, err := makeCert()
	return certResult{c, fp, err}
})

type certResult struct {
	cert tls.Certificate
	fp   string
	err  error
}

func makeCert() (tls.Certificate, string, error) {
	c, err := tlscert.Ephemeral("srs-lite-bench", 30*24*time.Hour)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	return c, tlscert.Fingerprint(c.Certificate[0]), nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
