package srt

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/srs-lite/srs-lite/internal/dgram"
)

// Defaults of Config.
const (
	DefaultLatency         = 120 * time.Millisecond
	DefaultPBKeyLen        = 16
	DefaultMSS             = 1500
	DefaultPeerIdleTimeout = 5 * time.Second
	DefaultConnectTimeout  = 3 * time.Second
	// DefaultCheckTimeout bounds a listener's Check: a libsrt caller
	// gives up connecting after 3 s.
	DefaultCheckTimeout = 2500 * time.Millisecond
)

// ErrConfig reports an invalid Config.
var ErrConfig = errors.New("srt: invalid config")

// Config holds the connection settings of a listener or a caller; they
// follow libsrt's socket options of the same names.
type Config struct {
	// Latency is our receiver's TSBPD delay (SRTO_RCVLATENCY); the peers
	// agree on the larger of it and the peer's SRTO_PEERLATENCY (§4.4).
	Latency time.Duration
	// PeerLatency is the least TSBPD delay we ask of the peer's receiver
	// (SRTO_PEERLATENCY).
	PeerLatency time.Duration
	// MaxBW caps the sending rate in bytes per second, retransmissions
	// included; 0 paces at the input rate plus 25% (§5.1).
	MaxBW int64
	// Passphrase, when set, requires encryption (§6); 10 to 79 characters.
	Passphrase string
	// PBKeyLen is the AES key length a caller picks: 16, 24 or 32. A
	// listener takes the caller's.
	PBKeyLen int
	// MSS is the largest datagram with its IP and UDP headers, 76..1500.
	MSS int
	// PeerIdleTimeout closes a connection whose peer sent nothing that long.
	PeerIdleTimeout time.Duration
	// StreamID is the caller's stream id (§3.2.1.3); a listener ignores it.
	StreamID string
	// ConnectTimeout bounds a caller's handshake.
	ConnectTimeout time.Duration
}

func (c Config) withDefaults() (Config, error) {
	if c.Latency == 0 {
		c.Latency = DefaultLatency
	}
	if c.PeerLatency == 0 {
		c.PeerLatency = DefaultLatency
	}
	if c.PBKeyLen == 0 {
		c.PBKeyLen = DefaultPBKeyLen
	}
	if c.MSS == 0 {
		c.MSS = DefaultMSS
	}
	if c.PeerIdleTimeout == 0 {
		c.PeerIdleTimeout = DefaultPeerIdleTimeout
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	switch {
	case c.Latency < 0 || c.PeerLatency < 0 || c.Latency > time.Minute || c.PeerLatency > time.Minute:
		return c, fmt.Errorf("%w: latency out of 0..60s", ErrConfig)
	case c.PBKeyLen != 16 && c.PBKeyLen != 24 && c.PBKeyLen != 32:
		return c, fmt.Errorf("%w: pbkeylen %d: use 16, 24 or 32", ErrConfig, c.PBKeyLen)
	case c.MSS < 76 || c.MSS > maxDatagram:
		return c, fmt.Errorf("%w: mss %d out of 76..1500", ErrConfig, c.MSS)
	case c.Passphrase != "" && (len(c.Passphrase) < 10 || len(c.Passphrase) > 79):
		return c, fmt.Errorf("%w: a passphrase has 10 to 79 characters", ErrConfig)
	case c.MaxBW < 0 || c.PeerIdleTimeout < 0:
		return c, fmt.Errorf("%w: negative maxbw or peer idle timeout", ErrConfig)
	case len(c.StreamID) > maxSIDBytes:
		return c, fmt.Errorf("%w: stream id longer than %d bytes", ErrConfig, maxSIDBytes)
	}
	return c, nil
}

// Request describes a caller at its conclusion handshake, for a listener's
// Check.
type Request struct {
	Remote    netip.AddrPort
	SocketID  uint32 // the caller's socket id (Conn.PeerSocketID once accepted)
	StreamID  string
	Encrypted bool // the caller sent key material
}

// ListenConfig configures a Listener.
type ListenConfig struct {
	Config
	// Check, when not nil, decides on each caller before its handshake
	// completes (it runs in its own goroutine, for at most
	// DefaultCheckTimeout). It returns the passphrase the caller must use
	// ("" for none), or an error that refuses the caller: a RejectReason
	// is sent as is, any other error as SRT_REJX_FORBIDDEN. nil accepts
	// every caller with Config.Passphrase.
	Check func(ctx context.Context, req *Request) (passphrase string, err error)
	// Backlog is how many connections may wait for Accept; 0 means 64.
	Backlog int
	// Rejected, when not nil, is told of every caller refused for a reason
	// of the listener's own (version, encryption, backlog...): those that
	// Check refused it knows already.
	Rejected func(req *Request, why RejectReason)
}

type peerKey struct {
	addr netip.AddrPort
	id   uint32
}

type answered struct {
	resp    []byte
	expires time.Time
}

// maxPending bounds the callers whose Check is running.
const maxPending = 256

// Listener accepts SRT callers on one UDP socket (§4.3.1).
type Listener struct {
	m      *mux
	cfg    atomic.Pointer[ListenConfig]
	secret [32]byte
	accept chan *Conn
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	pending map[peerKey]struct{}
	done    map[peerKey]answered
	expired time.Time
	closed  bool
	wg      sync.WaitGroup

	rejects atomic.Uint64
}

// Listen binds addr (UDP) and answers handshakes on it.
func Listen(addr string, cfg ListenConfig) (*Listener, error) {
	var err error
	if cfg.Config, err = cfg.Config.withDefaults(); err != nil {
		return nil, err
	}
	if cfg.Backlog <= 0 {
		cfg.Backlog = 64
	}
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("srt: listen %s: %w", addr, err)
	}
	pc, err := dgram.ListenSocket("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("srt: listen %s: %w", addr, err)
	}
	l := &Listener{m: newMux(pc), accept: make(chan *Conn, cfg.Backlog),
		pending: map[peerKey]struct{}{}, done: map[peerKey]answered{}}
	l.cfg.Store(&cfg)
	_, _ = rand.Read(l.secret[:])
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.m.hs = l.handshake
	l.m.q = dgram.NewQueue(l.m.bw)
	l.m.start(l.expire)
	return l, nil
}

// Addr returns the bound UDP address.
func (l *Listener) Addr() net.Addr { return l.m.pc.LocalAddr() }

// Buffers returns the socket's receive and send buffer sizes as the kernel
// reports them (0: not known).
func (l *Listener) Buffers() (rcv, snd int) { return l.m.rcvbuf, l.m.sndbuf }

// SetConfig replaces the settings of connections accepted from now on; the
// Check and Backlog stay.
func (l *Listener) SetConfig(c Config) error {
	c, err := c.withDefaults()
	if err != nil {
		return err
	}
	old := l.cfg.Load()
	n := *old
	n.Config = c
	l.cfg.Store(&n)
	return nil
}

// Accept waits for the next connection.
func (l *Listener) Accept() (*Conn, error) {
	select {
	case c := <-l.accept:
		return c, nil
	case <-l.ctx.Done():
		return nil, net.ErrClosed
	}
}

// Close stops accepting, closes every connection (each peer gets a
// shutdown) and the socket. It is idempotent.
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	l.cancel()
	l.wg.Wait()
	l.m.close()
	for {
		select {
		case c := <-l.accept:
			c.CloseWithError(ErrClosed)
		default:
			return nil
		}
	}
}

// Rejected returns how many callers were refused.
func (l *Listener) Rejected() uint64 { return l.rejects.Load() }

// cookie is the SYN cookie of an address for a one-minute bucket
// (§4.3.1.1): a keyed hash, so the listener keeps no state for inductions.
func (l *Listener) cookie(from netip.AddrPort, bucket int64) uint32 {
	mac := hmac.New(sha256.New, l.secret[:])
	a := from.Addr().As16()
	mac.Write(a[:])
	var b [10]byte
	binary.BigEndian.PutUint16(b[0:], from.Port())
	binary.BigEndian.PutUint64(b[2:], uint64(bucket))
	mac.Write(b[:])
	return binary.BigEndian.Uint32(mac.Sum(nil))
}

func (l *Listener) handshake(b []byte, from netip.AddrPort, at time.Time) {
	h, cif, err := parseCtrl(b)
	if err != nil || h.typ != ctrlHandshake {
		return
	}
	hs, err := parseHandshake(cif)
	if err != nil {
		return
	}
	switch hs.typ {
	case hsInduction:
		l.induction(hs, from, at)
	case hsConclusion:
		l.conclusion(h, hs, from, at)
	}
}

// induction answers an induction request (§4.3.1.1): HSv5, the SRT magic,
// and a cookie the conclusion must carry back.
func (l *Listener) induction(hs *handshake, from netip.AddrPort, at time.Time) {
	cfg := l.cfg.Load()
	resp := handshake{version: 5, extField: srtMagic, isn: hs.isn, mtu: uint32(cfg.MSS),
		flowWindow: flowWindow, typ: hsInduction, socketID: hs.socketID,
		cookie: l.cookie(from, at.Unix()/60), peerIP: wireIP(from.Addr())}
	l.sendHS(&resp, hs.socketID, from)
}

func (l *Listener) sendHS(hs *handshake, dst uint32, to netip.AddrPort) []byte {
	b := appendCtrl(make([]byte, 0, 256), ctrlHeader{typ: ctrlHandshake, dst: dst})
	b = hs.append(b)
	l.m.send(b, to)
	return b
}

// conclusion handles a conclusion request (§4.3.1.2): checks it, then has
// Check decide in a goroutine of its own. Repeats while that runs are
// ignored; repeats after it get the same answer.
func (l *Listener) conclusion(h ctrlHeader, hs *handshake, from netip.AddrPort, at time.Time) {
	key := peerKey{from, hs.socketID}
	l.mu.Lock()
	if a, ok := l.done[key]; ok {
		l.mu.Unlock()
		l.m.send(a.resp, from)
		return
	}
	_, busy := l.pending[key]
	closed := l.closed
	l.mu.Unlock()
	if busy || closed {
		return
	}
	bucket := at.Unix() / 60
	if hs.cookie != l.cookie(from, bucket) && hs.cookie != l.cookie(from, bucket-1) {
		return // not from an induction of ours: ignored (SYN flood)
	}
	var rej RejectReason = -1
	switch {
	case hs.version != 5:
		rej = RejVersion // HSv4 callers (libsrt before 1.3) are not supported
	case hs.hs == nil || hs.hsType != extTypeHSREQ:
		rej = RejRogue
	case hs.hs.flags&flagSTREAM != 0:
		rej = RejMessageAPI // file (buffer) mode: we serve live only
	case hs.congestion != "" && hs.congestion != "live":
		rej = RejCongestion
	case hs.filter:
		rej = RejFilter
	case hs.group:
		rej = RejGroup
	case hs.km != nil && hs.kmType != extTypeKMREQ:
		rej = RejRogue
	}
	if rej >= 0 {
		l.refuse(key, hs, rej, at)
		return
	}
	hs.km = append([]byte(nil), hs.km...) // it aliases the read buffer
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	if len(l.pending) >= maxPending {
		l.mu.Unlock()
		l.refuse(key, hs, RejResource, at)
		return
	}
	l.pending[key] = struct{}{}
	l.wg.Add(1)
	l.mu.Unlock()
	go func() {
		defer l.wg.Done()
		l.decide(key, h, hs, at)
	}()
}

// refuse rejects a caller for a reason of the listener's own, and tells
// Rejected.
func (l *Listener) refuse(key peerKey, hs *handshake, why RejectReason, at time.Time) {
	l.reject(key, hs, why, at)
	if f := l.cfg.Load().Rejected; f != nil {
		f(&Request{Remote: key.addr, SocketID: key.id, StreamID: hs.streamID, Encrypted: hs.km != nil}, why)
	}
}

// reject answers a caller's conclusion with a rejection (§4.3.1.2: the
// handshake type carries the reason plus 1000) and remembers the answer for
// its repeats.
func (l *Listener) reject(key peerKey, hs *handshake, why RejectReason, at time.Time) {
	resp := handshake{version: 5, isn: hs.isn, mtu: hs.mtu, flowWindow: hs.flowWindow,
		typ: uint32(hsRejectBase + why), cookie: hs.cookie, peerIP: wireIP(key.addr.Addr())}
	b := l.sendHS(&resp, hs.socketID, key.addr)
	l.rejects.Add(1)
	l.mu.Lock()
	delete(l.pending, key)
	l.done[key] = answered{resp: b, expires: at.Add(10 * time.Second)}
	l.mu.Unlock()
}

// decide runs Check, checks the key material with the passphrase, and
// accepts or refuses the caller.
func (l *Listener) decide(key peerKey, h ctrlHeader, hs *handshake, at time.Time) {
	cfg := l.cfg.Load()
	pass := cfg.Passphrase
	if cfg.Check != nil {
		ctx, cancel := context.WithTimeout(l.ctx, DefaultCheckTimeout)
		p, err := cfg.Check(ctx, &Request{Remote: key.addr, SocketID: key.id, StreamID: hs.streamID, Encrypted: hs.km != nil})
		cancel()
		if err != nil {
			why := RejXForbidden
			var r RejectReason
			if errors.As(err, &r) {
				why = r
			}
			l.reject(key, hs, why, time.Now())
			return
		}
		pass = p
	}
	var cr *crypter
	switch {
	case pass == "" && hs.km == nil:
	case pass == "" || hs.km == nil:
		// One side encrypts and the other does not: libsrt's enforced
		// encryption refuses it.
		l.refuse(key, hs, RejUnsecure, time.Now())
		return
	default:
		var err error
		if cr, err = crypterFromKM(pass, hs.km); err != nil {
			l.refuse(key, hs, RejBadSecret, time.Now())
			return
		}
	}
	rcvLat := max(cfg.Latency, time.Duration(hs.hs.sndDelay)*time.Millisecond)
	sndLat := max(cfg.PeerLatency, time.Duration(hs.hs.rcvDelay)*time.Millisecond)
	mtu := min(int(hs.mtu), cfg.MSS)
	if mtu < 76 {
		mtu = cfg.MSS
	}
	resp := handshake{version: 5, extField: hsExtHSREQ, isn: hs.isn, mtu: uint32(mtu),
		flowWindow: flowWindow, typ: hsConclusion, cookie: hs.cookie, peerIP: wireIP(key.addr.Addr()),
		hsType: extTypeHSRSP, hs: &hsExt{version: srtVersion, flags: ourFlags,
			rcvDelay: uint16(rcvLat / time.Millisecond), sndDelay: uint16(sndLat / time.Millisecond)}}
	if cr != nil {
		resp.extField |= hsExtKMREQ
		resp.kmType, resp.km = extTypeKMRSP, hs.km
	}
	l.mu.Lock()
	if l.closed || len(l.accept) == cap(l.accept) {
		closed := l.closed
		l.mu.Unlock()
		if !closed {
			l.refuse(key, hs, RejBacklog, time.Now())
		}
		return
	}
	l.m.mu.Lock()
	if l.m.closed {
		l.m.mu.Unlock()
		l.mu.Unlock()
		return
	}
	id := l.m.newIDLocked()
	resp.socketID = id
	c := newConn(l.m, connParams{raddr: key.addr, id: id, peerID: hs.socketID, isn: hs.isn,
		start: time.Now(), peerTS: h.ts, hsArrival: at, rcvLat: rcvLat, sndLat: sndLat,
		idle: cfg.PeerIdleTimeout, maxBW: cfg.MaxBW, mtu: mtu, peerWin: int(hs.flowWindow),
		cr: cr, streamID: hs.streamID})
	b := appendCtrl(make([]byte, 0, 256), ctrlHeader{typ: ctrlHandshake, dst: hs.socketID})
	c.hsResp = resp.append(b)
	l.m.addLocked(c)
	l.m.mu.Unlock()
	delete(l.pending, key)
	l.done[key] = answered{resp: c.hsResp, expires: time.Now().Add(10 * time.Second)}
	l.accept <- c // room checked above, under l.mu
	l.mu.Unlock()
	l.m.send(c.hsResp, key.addr)
}

// expire forgets answers older than their expiry; it runs on the ticker,
// once a second.
func (l *Listener) expire(now time.Time) {
	l.mu.Lock()
	if now.Sub(l.expired) < time.Second {
		l.mu.Unlock()
		return
	}
	l.expired = now
	for k, a := range l.done {
		if now.After(a.expires) {
			delete(l.done, k)
		}
	}
	l.mu.Unlock()
}
