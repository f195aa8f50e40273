//go:build !nortc && !tiny

// Package rtc is WebRTC for srs-lite: WHIP publish and WHEP play on an
// ICE-lite server. One UDP socket carries every session, demultiplexed by
// the first byte of each datagram (RFC 7983): STUN binding requests are
// answered with short-term credentials (RFC 8445 §7.3 lite), DTLS goes to
// the session's pion/dtls server, SRTP and SRTCP to its pion/srtp
// contexts. ICE-TCP passive (RFC 6544, RFC 4571 framing) runs on the same
// port number. It builds on pion's transport packages, not on the
// pion/webrtc PeerConnection: no ICE agent, no goroutine per track.
package rtc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/srs-lite/srs-lite/internal/dgram"
	"github.com/srs-lite/srs-lite/internal/media"
	sess "github.com/srs-lite/srs-lite/internal/session"
	"github.com/srs-lite/srs-lite/internal/tlscert"
)

// Config is what the server advertises and converts.
type Config struct {
	// Candidate is the address the answers advertise: an IP or host
	// name, or "*" for the addresses of the host's interfaces. The host
	// the client used to reach the API is added too.
	Candidate string
	// ConsentTimeout closes a session that sent no STUN binding request
	// this long (RFC 7675 consent freshness); 0: 30 s.
	ConsentTimeout time.Duration
}

// Deps are the server's collaborators.
type Deps struct {
	Registry *media.Registry // required
	Events   sess.Events     // nil allows everything and keeps no table
	Log      *slog.Logger    // nil discards
	// Vhost resolves a request's vhost from the Host header and the
	// ?vhost= parameter; ok is false for a disabled vhost. nil: the
	// default vhost.
	Vhost func(host, param string) (string, bool)
	// Opus, when not nil, gives an Opus companion reader of an AAC
	// stream for WebRTC viewers (the audio bridge); nil: video only.
	Opus func(key media.Key) (rd *media.Reader, release func(), err error)
	// ToAAC, when not nil, converts a WHIP publisher's Opus to AAC for the
	// other protocols (the audio bridge): push takes Opus frames, out gets
	// AAC frames from the bridge's goroutine, which become the stream's
	// main audio. The Opus goes into the stream as it came either way, as
	// its second audio track (media.TrackOpus) for WHEP viewers and fMP4
	// HLS; nil (or a bridge that cannot run): the main track has no audio.
	ToAAC func(key media.Key, out func(*media.Frame)) (push func(*media.Frame), stop func(), err error)
	// Bridge, when not nil, is closed with the server (after its sessions).
	Bridge io.Closer
}

// Server is the WebRTC media server: one UDP socket and one TCP listener.
type Server struct {
	cfg  atomic.Pointer[Config]
	deps Deps
	log  *slog.Logger
	ctx  context.Context
	stop context.CancelFunc

	udp  *net.UDPConn
	q    *dgram.Queue // the UDP socket's sends: every session's packets, batched
	tcp  net.Listener
	port int

	cert        tls.Certificate
	fingerprint string // sha-256 of the certificate, SDP form

	mu      sync.Mutex
	byUfrag map[string]*peer
	byAddr  map[netip.AddrPort]*peer
	byID    map[string]*peer
	pubs    map[media.Key]*publisher

	wg      sync.WaitGroup
	closed  atomic.Bool
	bWarned sync.Map     // stream ids whose B-frame drops were logged
	nWarned atomic.Int64 // entries of bWarned

	stats          Stats
	rcvbuf, sndbuf atomic.Int64 // the UDP socket's, as granted
}

// Stats counts what the server did, for /metrics and tests.
type Stats struct {
	STUNBad, DTLSBad, SRTPBad, Unknown atomic.Uint64
	PacketsOut, BytesOut               atomic.Uint64
	PacketsIn, BytesIn                 atomic.Uint64
	NACKs, Retransmits, PLIs           atomic.Uint64
	// SendErrors counts datagrams the socket refused (ENOBUFS, EAGAIN,
	// ICMP unreachable): a full send buffer shows here.
	SendErrors atomic.Uint64
	// Paced counts the frames a viewer's catch-up pacing held back.
	Paced atomic.Uint64
	// queueErrors returns the send queue's refused datagrams (media goes
	// out through it, asynchronously); nil before Listen.
	queueErrors func() uint64
}

// Snapshot returns the counters by name, for the API.
func (st *Stats) Snapshot() map[string]uint64 {
	return map[string]uint64{
		"packets_out": st.PacketsOut.Load(), "bytes_out": st.BytesOut.Load(),
		"packets_in": st.PacketsIn.Load(), "bytes_in": st.BytesIn.Load(),
		"nacks": st.NACKs.Load(), "retransmits": st.Retransmits.Load(), "plis": st.PLIs.Load(),
		"send_errors": st.SendErrors.Load() + st.queued(), "stun_bad": st.STUNBad.Load(), "dtls_bad": st.DTLSBad.Load(),
		"srtp_bad": st.SRTPBad.Load(), "unknown": st.Unknown.Load(), "paced": st.Paced.Load(),
	}
}

func (st *Stats) queued() uint64 {
	if st.queueErrors == nil {
		return 0
	}
	return st.queueErrors()
}

// ErrClosed is returned by a closed server.
var ErrClosed = errors.New("rtc: server closed")

// New returns a server with a new self-signed DTLS certificate.
func New(cfg Config, deps Deps) (*Server, error) {
	if deps.Registry == nil {
		return nil, errors.New("rtc: no registry")
	}
	if deps.Events == nil {
		deps.Events = sess.Funcs{}
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	cert, fp, err := selfSigned()
	if err != nil {
		return nil, fmt.Errorf("rtc: certificate: %w", err)
	}
	s := &Server{deps: deps, log: deps.Log, cert: cert, fingerprint: fp,
		byUfrag: map[string]*peer{}, byAddr: map[netip.AddrPort]*peer{}, byID: map[string]*peer{}}
	s.ctx, s.stop = context.WithCancel(context.Background())
	s.SetConfig(cfg)
	return s, nil
}

// SetConfig applies cfg to the sessions made from now on.
func (s *Server) SetConfig(cfg Config) {
	if cfg.ConsentTimeout <= 0 {
		cfg.ConsentTimeout = 30 * time.Second
	}
	if cfg.Candidate == "" {
		cfg.Candidate = "*"
	}
	s.cfg.Store(&cfg)
}

// selfSigned makes the process's DTLS certificate: ECDSA P-256, as
// browsers expect, and its SDP fingerprint (RFC 8122 §5).
func selfSigned() (tls.Certificate, string, error) {
	c, err := tlscert.Ephemeral("srs-lite", 365*24*time.Hour)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	return c, tlscert.Fingerprint(c.Certificate[0]), nil
}

// socketBuffer is the receive and send buffer the UDP socket asks for: a
// few hundred milliseconds of every session's media (300 viewers of 1 Mbps
// are 37 MB/s) when the sender or the reader is late.
const socketBuffer = 4 << 20

// SocketBuffers returns the UDP socket's receive and send buffer sizes as
// the kernel reports them (0: not known).
func (s *Server) SocketBuffers() (rcv, snd int) { return int(s.rcvbuf.Load()), int(s.sndbuf.Load()) }

// Listen binds the UDP socket and the ICE-TCP listener on addr and serves
// them until Close. With port 0 it picks a port free for both.
func (s *Server) Listen(addr string) error {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(addr)
	var u *net.UDPConn
	var t net.Listener
	for try := 0; ; try++ {
		if u, err = net.ListenUDP("udp", ua); err != nil {
			return err
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		t, err = net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err == nil {
			break
		}
		_ = u.Close()
		if ua.Port != 0 || try == 20 {
			return err // a fixed port: TCP must have that one
		}
	}
	rcv, snd := dgram.SizeBuffers(u, socketBuffer, socketBuffer)
	s.rcvbuf.Store(int64(rcv))
	s.sndbuf.Store(int64(snd))
	s.log.Info("rtc: UDP socket buffers", "want", socketBuffer, "rcvbuf", rcv, "sndbuf", snd)
	s.udp, s.tcp, s.port = u, t, u.LocalAddr().(*net.UDPAddr).Port
	s.q = dgram.NewQueue(dgram.NewWriter(u))
	s.stats.queueErrors = s.q.Errors
	s.wg.Add(3)
	go func() {
		defer s.wg.Done()
		s.q.Run(s.ctx.Done())
	}()
	go s.readUDP()
	go s.acceptTCP()
	return nil
}

// Addr returns the UDP address, once Listen has run.
func (s *Server) Addr() net.Addr {
	if s.udp == nil {
		return nil
	}
	return s.udp.LocalAddr()
}

// Sessions returns how many WebRTC sessions are open.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byID)
}

// Stats returns the server's counters.
func (s *Server) Stats() *Stats { return &s.stats }

// Close ends every session and closes the sockets.
func (s *Server) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.stop()
	if s.udp != nil {
		_ = s.udp.Close()
		_ = s.tcp.Close()
	}
	s.mu.Lock()
	ps := make([]*peer, 0, len(s.byID))
	for _, p := range s.byID {
		ps = append(ps, p)
	}
	s.mu.Unlock()
	for _, p := range ps {
		p.close(errors.New("server closed"))
	}
	s.wg.Wait()
	if s.deps.Bridge != nil {
		_ = s.deps.Bridge.Close()
	}
	return nil
}

// add registers a new peer under its id and local ufrag.
func (s *Server) add(p *peer) {
	s.mu.Lock()
	s.byID[p.id] = p
	s.byUfrag[p.ufrag] = p
	s.mu.Unlock()
}

// remove forgets p everywhere.
func (s *Server) remove(p *peer) {
	s.mu.Lock()
	if s.byID[p.id] == p {
		delete(s.byID, p.id)
	}
	if s.byUfrag[p.ufrag] == p {
		delete(s.byUfrag, p.ufrag)
	}
	for a, q := range s.byAddr {
		if q == p {
			delete(s.byAddr, a)
		}
	}
	s.mu.Unlock()
}

// peerByAddr returns the session that last proved addr (a valid STUN
// binding request), or nil.
func (s *Server) peerByAddr(a netip.AddrPort) *peer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byAddr[a]
}

// Kind of a datagram by its first byte (RFC 7983 §7).
type Kind uint8

// Datagram kinds.
const (
	KindUnknown Kind = iota
	KindSTUN
	KindDTLS
	KindRTP // RTP or RTCP (SRTP, SRTCP)
)

// Classify names what a datagram carries by its first byte (RFC 7983:
// 0..3 STUN, 20..63 DTLS, 128..191 RTP/RTCP; ZRTP and TURN channels are
// not ours).
func Classify(b []byte) Kind {
	if len(b) == 0 {
		return KindUnknown
	}
	switch c := b[0]; {
	case c <= 3:
		return KindSTUN
	case c >= 20 && c <= 63:
		return KindDTLS
	case c >= 128 && c <= 191:
		return KindRTP
	}
	return KindUnknown
}

// readUDP is the one reader of the UDP socket.
func (s *Server) readUDP() {
	defer s.wg.Done()
	buf := make([]byte, 1<<16)
	for {
		n, from, err := s.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if s.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		s.dispatch(buf[:n], from, nil)
	}
}

// dispatch hands one datagram (or one RFC 4571 frame from an ICE-TCP
// connection tc) to its session.
func (s *Server) dispatch(b []byte, from netip.AddrPort, tc *tcpConn) {
	switch Classify(b) {
	case KindSTUN:
		s.handleSTUN(b, from, tc)
	case KindDTLS:
		if p := s.peerByAddr(from); p != nil {
			p.dtlsIn(b)
		} else {
			s.stats.DTLSBad.Add(1)
		}
	case KindRTP:
		if p := s.peerByAddr(from); p != nil {
			p.srtpIn(b)
		} else {
			s.stats.SRTPBad.Add(1)
		}
	default:
		s.stats.Unknown.Add(1)
	}
}

// writeTo sends one datagram over UDP at once: STUN answers and DTLS
// records, which a join waits for, are not queued behind the media of the
// other sessions (a join storm's GOP bursts).
func (s *Server) writeTo(b []byte, to netip.AddrPort) error {
	_, err := s.udp.WriteToUDPAddrPort(b, to)
	return err
}

// candidates returns the addresses to advertise for a request that reached
// the API at apiHost: the configured candidate (or the interfaces' for
// "*": the listen address, or for a wildcard one the interfaces') and
// apiHost, IPv4 before IPv6, loopback only when there is nothing else, and
// without duplicates.
func (s *Server) candidates(apiHost string) []string {
	c := s.cfg.Load().Candidate
	var out []string
	seen := map[string]bool{}
	add := func(a string) {
		if a != "" && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	if h, _, err := net.SplitHostPort(apiHost); err == nil {
		apiHost = h
	}
	apiHost = strings.Trim(apiHost, "[]")
	if ip := net.ParseIP(apiHost); ip != nil && !ip.IsUnspecified() {
		add(ip.String())
	} else if apiHost != "" && apiHost != "localhost" {
		add(apiHost)
	}
	if c != "*" {
		add(c)
		return out
	}
	// A socket bound to one address is reached at that address only. A
	// wildcard one is dual-stack: IPv6 addresses too (link-local ones
	// need a zone no browser knows).
	var v6 bool
	if s.udp != nil {
		ip := s.udp.LocalAddr().(*net.UDPAddr).IP
		if !ip.IsUnspecified() {
			add(ip.String())
			return out
		}
		v6 = true
	}
	var loop, six []string
	ifs, _ := net.Interfaces()
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			n, ok := a.(*net.IPNet)
			switch {
			case !ok || n.IP.IsLinkLocalUnicast():
			case n.IP.IsLoopback():
				if n.IP.To4() != nil {
					loop = append(loop, n.IP.String())
				}
			case n.IP.To4() != nil:
				add(n.IP.String())
			case v6:
				six = append(six, n.IP.String())
			}
		}
	}
	for _, a := range six {
		add(a)
	}
	if len(out) == 0 {
		for _, l := range loop {
			add(l)
		}
	}
	return out
}

// firstBWarning reports whether the stream's B-frame drops are not logged
// yet, and remembers them (forgetting all after 1024 streams).
func (s *Server) firstBWarning(streamID string) bool {
	if _, seen := s.bWarned.LoadOrStore(streamID, true); seen {
		return false
	}
	if s.nWarned.Add(1) > 1024 {
		s.bWarned.Clear()
		s.nWarned.Store(0)
	}
	return true
}
