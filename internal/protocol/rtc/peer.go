//go:build !nortc && !tiny

package rtc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	sess "github.com/srs-lite/srs-lite/internal/session"
	"github.com/srs-lite/srs-lite/internal/tlscert"
)

var errConsent = errors.New("consent expired: no STUN binding request from the peer")

// Timeouts of a session's setup.
const (
	bindTimeout      = 30 * time.Second // POST answered to the first valid STUN request
	handshakeTimeout = 15 * time.Second // DTLS
)

// peer is one WebRTC session: a WHEP viewer or a WHIP publisher.
type peer struct {
	s           *Server
	id          string // resource id in Location
	ufrag, pwd  string // ours
	remoteUfrag string
	remoteFP    string // the offer's a=fingerprint (sha-256), "" to accept any
	publish     bool
	sess        *sess.Session
	log         *slog.Logger

	ctx    context.Context
	cancel context.CancelCauseFunc

	addr      atomic.Pointer[netip.AddrPort] // selected UDP path
	tc        atomic.Pointer[tcpConn]        // selected ICE-TCP path, when any
	boundOnce sync.Once
	bindCh    chan struct{}
	lastSTUN  atomic.Int64 // unix nanoseconds
	dtlsCh    chan []byte
	dconn     *dtlsConn

	encMu, decMu sync.Mutex
	enc, dec     *srtp.Context
	ready        atomic.Bool
	decBuf       []byte
	decHdr       rtp.Header

	onRTP  func(h *rtp.Header, pkt []byte) // decrypted RTP (publish), in the socket's goroutine
	onRTCP func(p *rtcpPacket)             // each packet of decrypted RTCP, in the socket's goroutine

	closeOnce sync.Once
	done      chan struct{}
}

func newPeer(s *Server, id string, publish bool) *peer {
	ctx, cancel := context.WithCancelCause(s.ctx)
	p := &peer{s: s, id: id, ufrag: randString(8), pwd: randString(24), publish: publish,
		ctx: ctx, cancel: cancel, bindCh: make(chan struct{}), dtlsCh: make(chan []byte, 64),
		decBuf: make([]byte, 1500), done: make(chan struct{})}
	p.dconn = &dtlsConn{p: p}
	return p
}

// bound records a path proved by a valid STUN binding request: the first
// one starts the DTLS handshake; later ones refresh consent (RFC 7675)
// and move the session when the browser nominates another path.
func (p *peer) bound(from netip.AddrPort, tc *tcpConn) {
	p.lastSTUN.Store(time.Now().UnixNano())
	if tc != nil {
		if p.tc.Load() != tc {
			p.tc.Store(tc)
		}
	} else if a := p.addr.Load(); a == nil || *a != from {
		if p.tc.Load() == nil {
			p.addr.Store(&from)
		}
	}
	p.boundOnce.Do(func() { close(p.bindCh) })
}

// send writes one packet on the selected path: over UDP, SRTP and SRTCP
// through the socket's send queue (batched with every session's), DTLS at
// once.
func (p *peer) send(b []byte) error {
	p.s.stats.PacketsOut.Add(1)
	p.s.stats.BytesOut.Add(uint64(len(b)))
	if p.sess != nil {
		p.sess.BytesOut.Add(uint64(len(b)))
	}
	if tc := p.tc.Load(); tc != nil {
		return tc.write(b)
	}
	a := p.addr.Load()
	if a == nil {
		return errNoPath
	}
	if Classify(b) != KindRTP {
		// The handshake goes out at once, not behind the media of a join
		// storm; the send queue counts its own refused datagrams.
		err := p.s.writeTo(b, *a)
		if err != nil {
			p.s.stats.SendErrors.Add(1)
		}
		return err
	}
	p.s.q.Put1(b, *a)
	return nil
}

var errNoPath = errors.New("rtc: no path to the peer yet")

// dtlsIn queues a DTLS record for the handshake; a full queue drops it
// (DTLS retransmits).
func (p *peer) dtlsIn(b []byte) {
	select {
	case p.dtlsCh <- append([]byte(nil), b...):
	default:
	}
}

// srtpIn decrypts one SRTP or SRTCP packet (RFC 5761 §4: RTCP packet
// types 192..223 in the second byte) and hands it on.
func (p *peer) srtpIn(b []byte) {
	if !p.ready.Load() || len(b) < 12 {
		return
	}
	if p.sess != nil {
		p.sess.BytesIn.Add(uint64(len(b)))
	}
	p.s.stats.PacketsIn.Add(1)
	p.s.stats.BytesIn.Add(uint64(len(b)))
	p.decMu.Lock()
	defer p.decMu.Unlock()
	if b[1] >= 192 && b[1] <= 223 {
		out, err := p.dec.DecryptRTCP(p.decBuf[:0], b, nil)
		if err != nil {
			p.s.stats.SRTPBad.Add(1)
			return
		}
		if p.onRTCP != nil {
			walkRTCP(out, p.onRTCP)
		}
		return
	}
	out, err := p.dec.DecryptRTP(p.decBuf[:0], b, &p.decHdr)
	if err != nil {
		p.s.stats.SRTPBad.Add(1)
		return
	}
	if p.onRTP != nil {
		p.onRTP(&p.decHdr, out)
	}
}

// handshake waits for the browser's first valid STUN request, runs the
// DTLS server handshake and makes the SRTP contexts from its keying
// material (RFC 5764 §4.2).
func (p *peer) handshake() error {
	t := time.NewTimer(bindTimeout)
	defer t.Stop()
	select {
	case <-p.bindCh:
	case <-t.C:
		return errors.New("no STUN binding request")
	case <-p.ctx.Done():
		return context.Cause(p.ctx)
	}
	cfg := &dtls.Config{
		Certificates:           []tls.Certificate{p.s.cert},
		SRTPProtectionProfiles: []dtls.SRTPProtectionProfile{dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80},
		ExtendedMasterSecret:   dtls.RequestExtendedMasterSecret,
		ClientAuth:             dtls.RequireAnyClientCert,
		InsecureSkipVerify:     true, // self-signed: checked against the offer's fingerprint instead
		VerifyPeerCertificate:  p.verifyFingerprint,
	}
	dc, err := dtls.Server(p.dconn, p.dconn.RemoteAddr(), cfg)
	if err != nil {
		return fmt.Errorf("dtls: %w", err)
	}
	ctx, cancel := context.WithTimeout(p.ctx, handshakeTimeout)
	defer cancel()
	if err := dc.HandshakeContext(ctx); err != nil {
		_ = dc.Close()
		return fmt.Errorf("dtls handshake: %w", err)
	}
	st, ok := dc.ConnectionState()
	sp, ok2 := dc.SelectedSRTPProtectionProfile()
	if !ok || !ok2 {
		return errors.New("dtls: no SRTP profile negotiated")
	}
	prof := srtp.ProtectionProfile(sp)
	sc := srtp.Config{Profile: prof}
	if err := sc.ExtractSessionKeysFromDTLS(&st, false); err != nil {
		return fmt.Errorf("srtp keys: %w", err)
	}
	if p.enc, err = srtp.CreateContext(sc.Keys.LocalMasterKey, sc.Keys.LocalMasterSalt, prof); err != nil {
		return fmt.Errorf("srtp: %w", err)
	}
	if p.dec, err = srtp.CreateContext(sc.Keys.RemoteMasterKey, sc.Keys.RemoteMasterSalt, prof,
		srtp.SRTPReplayProtection(256), srtp.SRTCPReplayProtection(128)); err != nil {
		return fmt.Errorf("srtp: %w", err)
	}
	p.ready.Store(true)
	// Keep reading so that DTLS alerts (close_notify) end the session.
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, err := dc.Read(buf); err != nil {
				if !errors.Is(err, context.Canceled) {
					p.close(errors.New("dtls closed"))
				}
				return
			}
		}
	}()
	context.AfterFunc(p.ctx, func() { _ = dc.Close() })
	p.log.Info("rtc connected", "srtp", prof.String(), "path", p.pathString())
	return nil
}

// pathString names the selected path for the log.
func (p *peer) pathString() string {
	if tc := p.tc.Load(); tc != nil {
		return "tcp " + tc.c.RemoteAddr().String()
	}
	if a := p.addr.Load(); a != nil {
		return "udp " + a.String()
	}
	return ""
}

// verifyFingerprint checks the browser's DTLS certificate against the
// offer's a=fingerprint (RFC 8842 §5).
func (p *peer) verifyFingerprint(raw [][]byte, _ [][]*x509.Certificate) error {
	if p.remoteFP == "" {
		return nil
	}
	if len(raw) == 0 {
		return errors.New("no certificate")
	}
	if !strings.EqualFold(tlscert.Fingerprint(raw[0]), p.remoteFP) {
		return errors.New("certificate does not match the offer's fingerprint")
	}
	return nil
}

// sendRTCP encrypts and sends RTCP packets.
func (p *peer) sendRTCP(raw []byte) error {
	if !p.ready.Load() || len(raw) == 0 {
		return nil
	}
	p.encMu.Lock()
	out, err := p.enc.EncryptRTCP(nil, raw, nil)
	p.encMu.Unlock()
	if err != nil {
		return err
	}
	return p.send(out)
}

// alive reports whether the browser still asks for consent (RFC 7675).
func (p *peer) alive() bool {
	return time.Since(time.Unix(0, p.lastSTUN.Load())) < p.s.cfg.Load().ConsentTimeout
}

// close ends the session once, with why as the cause.
func (p *peer) close(why error) {
	p.closeOnce.Do(func() {
		p.cancel(why)
		p.s.remove(p)
		close(p.done)
	})
}

// dtlsConn is the session's net.PacketConn for pion's DTLS: reads come
// from the demultiplexer, writes go out on the selected path.
type dtlsConn struct{ p *peer }

func (c *dtlsConn) ReadFrom(b []byte) (int, net.Addr, error) {
	select {
	case d := <-c.p.dtlsCh:
		return copy(b, d), c.RemoteAddr(), nil
	case <-c.p.ctx.Done():
		return 0, nil, net.ErrClosed
	}
}

func (c *dtlsConn) WriteTo(b []byte, _ net.Addr) (int, error) {
	if err := c.p.send(b); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (c *dtlsConn) Close() error                     { return nil }
func (c *dtlsConn) LocalAddr() net.Addr              { return c.p.s.Addr() }
func (c *dtlsConn) RemoteAddr() net.Addr             { return peerAddr(c.p.id) }
func (c *dtlsConn) SetDeadline(time.Time) error      { return nil }
func (c *dtlsConn) SetReadDeadline(time.Time) error  { return nil }
func (c *dtlsConn) SetWriteDeadline(time.Time) error { return nil }

// peerAddr names a session for DTLS, whatever path it takes.
type peerAddr string

func (a peerAddr) Network() string { return "rtc" }
func (a peerAddr) String() string  { return string(a) }

// protect encrypts one RTP packet into dst (which must have room for the
// packet and its tag) and returns the protected packet.
func (p *peer) protect(dst, plain []byte, h *rtp.Header) ([]byte, error) {
	p.encMu.Lock()
	out, err := p.enc.EncryptRTP(dst, plain, h)
	p.encMu.Unlock()
	return out, err
}
