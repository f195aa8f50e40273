package srt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/srs-lite/srs-lite/internal/dgram"
)

// Timers of a connection.
const (
	// synInterval is the period of full ACKs and of the timer tick (§4.8.1).
	synInterval = 10 * time.Millisecond
	// keepaliveInterval: a keep-alive goes out after this long without
	// sending anything (§3.2.3).
	keepaliveInterval = time.Second
	// minNAKInterval bounds the periodic NAK period from below (§4.8.2).
	minNAKInterval = 20 * time.Millisecond
	// sndDropMin is the least age at which the sender drops an unacknowledged
	// packet, whatever the latency (libsrt SRT_TLPKTDROP_MINTHRESHOLD_MS).
	sndDropMin = time.Second
	// initialRTT and initialRTTVar are the estimates before a measurement
	// (§4.10).
	initialRTT    = 100 * time.Millisecond
	initialRTTVar = 50 * time.Millisecond
	// Ring sizes in packets: rings start small and double up to the flow
	// window we advertise.
	ringMin    = 1024
	flowWindow = 8192
	// ackHistory is how many sent ACKs are remembered for ACKACK matching.
	ackHistory = 64
	// driftSamples and driftMax: the TSBPD base moves by the mean drift of
	// driftSamples ACKACKs when it exceeds driftMax (§4.7).
	driftSamples = 1000
	driftMax     = 5 * time.Millisecond
	// minRate is the least pacing rate, bytes per second, so that a
	// quiet stream still gets its retransmissions through.
	minRate = 64 << 10
	// lingerMax bounds how long Close waits for the peer to acknowledge
	// what was sent.
	lingerMax = time.Second
)

// Errors of a connection.
var (
	// ErrClosed is returned by a closed connection.
	ErrClosed = errors.New("srt: connection closed")
	// ErrPeerIdle closes a connection whose peer sent nothing for the
	// peer idle timeout.
	ErrPeerIdle = errors.New("srt: peer idle timeout")
	// ErrPeerClosed is the close reason of a connection the peer shut down
	// (§3.2.7); Read returns io.EOF for it once the received data is read.
	ErrPeerClosed = errors.New("srt: peer closed the connection")
	// ErrTooLarge rejects a Write larger than the payload size.
	ErrTooLarge = errors.New("srt: payload larger than the packet size")
)

// pbuf is a pooled datagram buffer.
type pbuf struct{ b [maxDatagram]byte }

var pbufPool = sync.Pool{New: func() any { return new(pbuf) }}

func getPbuf() *pbuf  { return pbufPool.Get().(*pbuf) }
func putPbuf(p *pbuf) { pbufPool.Put(p) }

// Slot states of the receive ring.
const (
	slotEmpty = iota
	slotData
	slotSkip // dropped by the sender's drop request: never coming
)

type rslot struct {
	pb    *pbuf
	off   uint16
	n     uint16
	state uint8
	ts    int64 // the peer's timestamp, unwrapped, µs
}

type sslot struct {
	pb       *pbuf
	n        uint16
	rexmits  uint16
	origin   time.Duration // when the packet was written (its timestamp)
	lastSend time.Duration
}

type ackRecord struct {
	no  uint32
	seq uint32
	at  time.Duration
}

// rcvState is the receiving half: the reorder ring between the delivery
// point and the highest sequence received, the loss list and TSBPD.
type rcvState struct {
	ring       []rslot // nil until the first data packet
	base       uint32  // next sequence to deliver
	ackSeq     uint32  // first sequence not received (everything before is)
	maxSeq     uint32  // one past the highest sequence received
	loss       lossList
	tsLast     int64 // unwrap reference, µs
	tsInit     bool
	tsbpd      time.Duration // TSBPD base: the peer's time zero on our clock
	peerEOF    bool
	ackNo      uint32
	acks       [ackHistory]ackRecord
	lastAck    uint32 // ackSeq of the last full ACK
	ackAcked   uint32 // ackSeq confirmed by an ACKACK
	lastAckT   time.Duration
	sinceAck   int // packets since the last ACK, for light ACKs
	rttSampled bool

	winStart    time.Duration
	winPkts     uint32
	winBytes    uint32
	pktRate     uint32
	byteRate    uint32
	probeAt     time.Duration
	probeSeq    uint32
	capacity    uint32
	driftSum    int64
	driftN      int
	undelivered int
}

// sndState is the sending half: packets from the oldest unacknowledged to
// the newest written, the retransmission list and the pacer.
type sndState struct {
	ring   []sslot
	base   uint32 // oldest unacknowledged
	next   uint32 // next sequence to assign
	unsent uint32 // first never sent
	msgNo  uint32
	rexmit lossList

	ackAt   time.Duration // when an ACK last moved base
	probes  int           // tail probes since the last ACK
	rate    float64       // bytes per second; 0: not limited yet
	tokens  float64
	fillAt  time.Duration
	inStart time.Duration
	inBytes int64
}

// Stats are a connection's counters.
type Stats struct {
	PktSent          uint64        // data packets sent, retransmissions included
	PktRetrans       uint64        // retransmissions sent
	PktSndDrop       uint64        // packets the sender dropped as too late (§4.6)
	PktRecv          uint64        // data packets received and kept
	PktRecvRetrans   uint64        // retransmitted packets that filled a hole
	PktLoss          uint64        // packets found missing (NAKed)
	PktRecvDrop      uint64        // packets given up as too late at the receiver (§4.6), not the holes left at the peer's shutdown
	PktRecvDup       uint64        // duplicates and packets behind the delivery point
	PktRecvUndecrypt uint64        // packets that could not be decrypted
	KMRefreshes      uint64        // key material updates received (§6.1.5)
	BytesSent        uint64        // payload bytes sent
	BytesRecv        uint64        // payload bytes received
	RTT              time.Duration // smoothed round-trip time (§4.10)
	RTTVar           time.Duration
	SendRate         int64         // pacing rate, bytes per second (0: not limited yet)
	Latency          time.Duration // our receiver's TSBPD delay
	PeerLatency      time.Duration // the peer receiver's TSBPD delay
}

// Conn is one SRT connection in live mode: a message socket. Write sends one
// packet's payload (at most PayloadSize bytes) and never blocks: the sender
// keeps each packet for retransmission until the peer acknowledges it or it
// is too late. Read returns one packet's payload when its TSBPD time has
// come. One goroutine may Read while another Writes.
type Conn struct {
	m        *mux
	ownMux   bool
	raddr    netip.AddrPort
	id       uint32
	peerID   uint32
	streamID string
	start    time.Time
	rcvLat   time.Duration
	sndLat   time.Duration
	idle     time.Duration
	maxBW    int64
	payload  int
	peerWin  int
	cr       *crypter
	hsResp   []byte // listener: our conclusion response, for repeats

	mu        sync.Mutex
	closed    bool
	closeErr  error
	lastRecv  time.Duration
	lastSend  time.Duration
	rtt       time.Duration
	rttVar    time.Duration
	rcv       rcvState
	snd       sndState
	st        Stats
	ctl       []byte      // scratch for control packets
	out       dgram.Batch // data packets a flush sends together
	tail      []byte      // WriteStream's short last packet, kept back
	tailDue   time.Duration
	deadline  time.Time
	linger    chan struct{}
	readable  chan struct{}
	done      chan struct{}
	rtimer    *time.Timer
	closeOnce sync.Once
}

// connParams are the negotiated parameters of a new connection.
type connParams struct {
	raddr      netip.AddrPort
	id, peerID uint32
	isn        uint32 // first sequence number, both ways (HSv5)
	start      time.Time
	peerTS     uint32    // the peer's timestamp on its handshake
	hsArrival  time.Time // when that handshake arrived
	rcvLat     time.Duration
	sndLat     time.Duration
	idle       time.Duration
	maxBW      int64
	mtu        int
	peerWin    int
	cr         *crypter
	streamID   string
}

func newConn(m *mux, p connParams) *Conn {
	c := &Conn{m: m, raddr: p.raddr, id: p.id, peerID: p.peerID, streamID: p.streamID,
		start: p.start, rcvLat: p.rcvLat, sndLat: p.sndLat, idle: p.idle, maxBW: p.maxBW,
		payload: min(p.mtu, maxDatagram) - udpIPv4 - headerSize, peerWin: p.peerWin, cr: p.cr,
		rtt: initialRTT, rttVar: initialRTTVar,
		ctl: make([]byte, 0, maxDatagram), readable: make(chan struct{}, 1), done: make(chan struct{})}
	c.rtimer = time.NewTimer(time.Hour)
	c.rtimer.Stop()
	now := c.clock(time.Now())
	c.lastRecv, c.lastSend = now, now
	r := &c.rcv
	r.base, r.ackSeq, r.maxSeq, r.lastAck, r.ackAcked = p.isn, p.isn, p.isn, p.isn, p.isn
	r.winStart = now
	// §4.5.1.1: the TSBPD base is the peer's time zero on our clock, from
	// its handshake's timestamp.
	r.tsbpd = c.clock(p.hsArrival) - time.Duration(p.peerTS)*time.Microsecond
	s := &c.snd
	s.base, s.next, s.unsent = p.isn, p.isn, p.isn
	s.msgNo = 1
	s.fillAt, s.inStart, s.ackAt = now, now, now
	if c.maxBW > 0 {
		s.rate = float64(c.maxBW)
		s.tokens = s.rate
	}
	c.st.Latency, c.st.PeerLatency = c.rcvLat, c.sndLat
	return c
}

// clock returns t on the connection's clock: the time since its start.
func (c *Conn) clock(t time.Time) time.Duration { return t.Sub(c.start) }

// stamp returns our packet timestamp for the clock value t (§3: µs, wrapping).
func stamp(t time.Duration) uint32 { return uint32(t / time.Microsecond) }

// StreamID returns the caller's stream id (§3.2.1.3).
func (c *Conn) StreamID() string { return c.streamID }

// RemoteAddr returns the peer's UDP address.
func (c *Conn) RemoteAddr() net.Addr { return net.UDPAddrFromAddrPort(c.raddr) }

// LocalAddr returns the local UDP address.
func (c *Conn) LocalAddr() net.Addr { return c.m.pc.LocalAddr() }

// SocketID returns our socket id for the connection.
func (c *Conn) SocketID() uint32 { return c.id }

// PeerSocketID returns the peer's socket id.
func (c *Conn) PeerSocketID() uint32 { return c.peerID }

// PayloadSize returns the largest payload Write accepts.
func (c *Conn) PayloadSize() int { return c.payload }

// Encrypted reports whether the payloads are encrypted.
func (c *Conn) Encrypted() bool { return c.cr != nil }

// Done is closed when the connection is closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the connection closed, or nil while it is open.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeErr
}

// Stats returns a snapshot of the counters.
func (c *Conn) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.st
	s.RTT, s.RTTVar = c.rtt, c.rttVar
	s.SendRate = int64(c.snd.rate)
	return s
}

// SetReadDeadline sets the deadline of Read; zero means none.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
	c.wake()
	return nil
}

func (c *Conn) wake() {
	select {
	case c.readable <- struct{}{}:
	default:
	}
}

// Read copies the payload of the next packet into b, waiting for its TSBPD
// time (§4.5). Packets still missing when a later packet is due are given
// up (§4.6, counted in Stats.PktRecvDrop). It returns io.EOF once the peer
// has shut down and everything received is read, os.ErrDeadlineExceeded at
// the read deadline, and the close reason after Close.
func (c *Conn) Read(b []byte) (int, error) {
	for {
		c.mu.Lock()
		now := c.clock(time.Now())
		n, wait, ok := c.popLocked(now, b)
		if ok {
			c.mu.Unlock()
			return n, nil
		}
		if c.closed {
			err := c.closeErr
			c.mu.Unlock()
			if err == ErrPeerClosed {
				err = io.EOF
			}
			return 0, err
		}
		dl := c.deadline
		c.mu.Unlock()
		if !dl.IsZero() {
			d := time.Until(dl)
			if d <= 0 {
				return 0, os.ErrDeadlineExceeded
			}
			if wait < 0 || d < wait {
				wait = d
			}
		}
		if wait >= 0 {
			c.rtimer.Reset(wait)
		}
		select {
		case <-c.readable:
		case <-c.rtimer.C:
		case <-c.done:
		}
		c.rtimer.Stop()
	}
}

// popLocked delivers the head packet if its time has come. Otherwise it
// returns how long to wait (-1: until a packet arrives).
func (c *Conn) popLocked(now time.Duration, b []byte) (n int, wait time.Duration, ok bool) {
	r := &c.rcv
	if r.ring == nil {
		return 0, -1, false
	}
	mask := uint32(len(r.ring) - 1)
	for r.base != r.maxSeq {
		s := &r.ring[r.base&mask]
		switch s.state {
		case slotSkip:
			s.state = slotEmpty
			r.base = seqAdd(r.base, 1)
			continue
		case slotData:
			at := r.tsbpd + time.Duration(s.ts)*time.Microsecond + c.rcvLat
			if now < at && !r.peerEOF {
				return 0, at - now, false
			}
			n = copy(b, s.pb.b[s.off:s.off+s.n])
			putPbuf(s.pb)
			*s = rslot{}
			r.base = seqAdd(r.base, 1)
			r.undelivered--
			return n, 0, true
		}
		// A hole at the head (§4.6): the first packet after it is due, so
		// the hole is given up.
		next := r.base
		if len(r.loss) > 0 && r.loss[0].from == r.base {
			next = seqAdd(r.loss[0].to, 1)
		} else {
			for next != r.maxSeq && r.ring[next&mask].state == slotEmpty {
				next = seqAdd(next, 1)
			}
		}
		if next == r.maxSeq {
			break
		}
		ns := &r.ring[next&mask]
		if ns.state == slotData && !r.peerEOF {
			at := r.tsbpd + time.Duration(ns.ts)*time.Microsecond + c.rcvLat
			if now < at {
				return 0, at - now, false
			}
		}
		// After the peer's shutdown a hole is a loss its sender left
		// unrepaired (counted in PktLoss), not a too-late drop.
		if !r.peerEOF {
			c.st.PktRecvDrop += uint64(seqDiff(next, r.base))
		}
		r.loss.removeBefore(next)
		r.base = next
		if seqLess(r.ackSeq, next) {
			r.ackSeq = next
			c.advanceAck()
		}
	}
	return 0, -1, false
}

// advanceAck moves ackSeq past every packet held.
func (c *Conn) advanceAck() {
	r := &c.rcv
	mask := uint32(len(r.ring) - 1)
	for r.ackSeq != r.maxSeq && r.ring[r.ackSeq&mask].state != slotEmpty {
		r.ackSeq = seqAdd(r.ackSeq, 1)
	}
}

// Write sends p as one packet. It never blocks: the pacer (§5.1) queues
// what it cannot send yet, and the sender drops packets that are too old to
// be played (§4.6).
func (c *Conn) Write(p []byte) (int, error) {
	if len(p) > c.payload {
		return 0, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(p), c.payload)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.writableLocked(); err != nil {
		return 0, err
	}
	now := c.clock(time.Now())
	c.queueLocked(p, now)
	c.flushLocked(now)
	return len(p), nil
}

// WriteStream sends p as packets of size bytes, as many Writes would, and
// returns len(p); the packets the pacer lets through at once go out
// together (one sendmmsg where the kernel has it). A short last packet is
// kept back for up to hold: the next WriteStream's bytes fill it first, or
// the timer tick sends it once hold has passed (0: now). A stream cut per
// frame (an MPEG-TS player's) ends each frame with a short packet, each
// costing the kernel and the peer as much as a full one, and every send
// brings an ACK and its ACKACK within 10 ms: a small frame (audio) that
// waits for the next large one (video) saves all of these. ffmpeg's SRT
// output (pkt_size=1316) keeps short packets back until full.
func (c *Conn) WriteStream(p []byte, size int, hold time.Duration) (int, error) {
	if size <= 0 || size > c.payload {
		return 0, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, size, c.payload)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.writableLocked(); err != nil {
		return 0, err
	}
	now := c.clock(time.Now())
	b := p
	if len(c.tail) > 0 {
		k := min(size-len(c.tail), len(b))
		c.tail = append(c.tail, b[:k]...)
		b = b[k:]
		if len(c.tail) == size {
			c.queueLocked(c.tail, now)
			c.tail = c.tail[:0]
		}
	}
	for len(b) >= size {
		c.queueLocked(b[:size], now)
		b = b[size:]
	}
	if len(b) > 0 {
		c.tail = append(c.tail[:0], b...)
		c.tailDue = now + hold
	}
	c.queueTailLocked(now, hold <= 0)
	c.flushLocked(now)
	return len(p), nil
}

// queueTailLocked queues the packet WriteStream kept back once its time has
// come, or at once (force), and reports whether it did.
func (c *Conn) queueTailLocked(now time.Duration, force bool) bool {
	if len(c.tail) == 0 || !force && now < c.tailDue {
		return false
	}
	c.queueLocked(c.tail, now)
	c.tail = c.tail[:0]
	return true
}

// sendTailLocked sends the packet WriteStream kept back, once its time has
// come (or at once: Close).
func (c *Conn) sendTailLocked(now time.Duration, force bool) {
	if c.queueTailLocked(now, force) {
		c.flushLocked(now)
	}
}

func (c *Conn) writableLocked() error {
	if c.closed {
		if c.closeErr != nil {
			return c.closeErr
		}
		return ErrClosed
	}
	return nil
}

// queueLocked puts p in the send ring as the next packet.
func (c *Conn) queueLocked(p []byte, now time.Duration) {
	s := &c.snd
	if s.ring == nil {
		s.ring = make([]sslot, ringMin)
	}
	if int(seqDiff(s.next, s.base)) >= len(s.ring) {
		// The peer's flow window bounds what is in flight (§3.2.1).
		if len(s.ring) < min(flowWindow, max(c.peerWin, ringMin)) {
			s.ring = growSnd(s.ring, s.base, s.next)
		} else {
			c.dropSndLocked(seqAdd(s.base, 1), now) // the peer is not keeping up
		}
	}
	pb := getPbuf()
	h := dataHeader{seq: s.next, pos: ppSolo, order: true, msgNo: s.msgNo, ts: stamp(now), dst: c.peerID}
	copy(pb.b[headerSize:], p)
	if c.cr != nil {
		h.key = c.cr.sendKK
		c.cr.xor(h.key, h.seq, pb.b[headerSize:headerSize+len(p)])
	}
	h.put(pb.b[:headerSize])
	s.ring[s.next&uint32(len(s.ring)-1)] = sslot{pb: pb, n: uint16(headerSize + len(p)), origin: now}
	s.next = seqAdd(s.next, 1)
	s.msgNo = s.msgNo%msgNoMask + 1
	s.inBytes += int64(len(p) + headerSize + udpIPv4)
}

func growSnd(old []sslot, base, next uint32) []sslot {
	ring := make([]sslot, 2*len(old))
	om, nm := uint32(len(old)-1), uint32(len(ring)-1)
	for s := base; s != next; s = seqAdd(s, 1) {
		ring[s&nm] = old[s&om]
	}
	return ring
}

func growRcv(old []rslot, base, maxSeq uint32) []rslot {
	ring := make([]rslot, 2*len(old))
	om, nm := uint32(len(old)-1), uint32(len(ring)-1)
	for s := base; s != maxSeq; s = seqAdd(s, 1) {
		ring[s&nm] = old[s&om]
	}
	return ring
}

// pace refills the token bucket of the pacer (§5.1). The rate is maxbw, or
// without one the input rate of the last second plus 25% overhead; the
// bucket holds one second of it.
func (c *Conn) pace(now time.Duration) {
	s := &c.snd
	if c.maxBW <= 0 && now-s.inStart >= time.Second {
		in := float64(s.inBytes) / (now - s.inStart).Seconds()
		if s.rate == 0 {
			s.tokens = max(in*1.25, minRate) // a full bucket to start with
		}
		s.rate = max(in*1.25, minRate)
		s.inStart, s.inBytes = now, 0
	}
	if s.rate > 0 {
		s.tokens = min(s.tokens+s.rate*(now-s.fillAt).Seconds(), s.rate)
	}
	s.fillAt = now
}

// flushLocked sends what the pacer allows, retransmissions first (§4.8.2).
// With maxbw set, the token bucket bounds everything. Without, the input
// rate is the authority: retransmissions go at once (the 25% overhead is
// theirs), and new packets are spread at the pacing rate but held back at
// most a quarter of the peer's latency, so that a keyframe burst is smoothed
// without making the player drop it as too late.
func (c *Conn) flushLocked(now time.Duration) {
	c.fillLocked(now)
	if c.m.q != nil {
		c.m.q.Put(&c.out, c.raddr)
		return
	}
	_ = c.m.bw.Send(&c.out, c.raddr)
}

// fillLocked queues in c.out what flushLocked sends.
func (c *Conn) fillLocked(now time.Duration) {
	s := &c.snd
	if s.ring == nil {
		return
	}
	c.pace(now)
	strict := c.maxBW > 0
	hold := max(c.sndLat/4, synInterval)
	mask := uint32(len(s.ring) - 1)
	for {
		open := s.rate == 0 || s.tokens > 0
		if len(s.rexmit) > 0 && (open || !strict) {
			seq, _ := s.rexmit.popFront()
			if seqLess(seq, s.base) || !seqLess(seq, s.unsent) {
				continue
			}
			sl := &s.ring[seq&mask]
			// A packet NAKed again before its retransmission can have
			// arrived is not sent twice.
			if sl.rexmits > 0 && now-sl.lastSend < c.rtt/2 {
				continue
			}
			b := sl.pb.b[:sl.n]
			setRexmit(b)
			c.sendData(b, now)
			sl.lastSend = now
			sl.rexmits++
			c.st.PktRetrans++
			c.spend(len(b))
			continue
		}
		if s.unsent == s.next {
			return
		}
		sl := &s.ring[s.unsent&mask]
		if !open && (strict || now-sl.origin < hold) {
			return
		}
		b := sl.pb.b[:sl.n]
		c.sendData(b, now)
		sl.lastSend = now
		s.unsent = seqAdd(s.unsent, 1)
		c.spend(len(b))
	}
}

// spend takes a datagram's bytes, headers included, from the pacer.
func (c *Conn) spend(n int) {
	if s := &c.snd; s.rate > 0 {
		s.tokens = max(s.tokens-float64(n+udpIPv4), -s.rate)
	}
}

// sendData queues a data packet for the flush's batch: b stays in the send
// ring, under c.mu, until the batch is sent.
func (c *Conn) sendData(b []byte, now time.Duration) {
	c.st.PktSent++
	c.st.BytesSent += uint64(len(b) - headerSize)
	c.lastSend = now
	c.out.Add(b)
}

// dropSndLocked gives up the packets before seq (§4.6, sender side) and
// tells the receiver with a drop request (§3.2.9).
func (c *Conn) dropSndLocked(seq uint32, now time.Duration) {
	s := &c.snd
	if !seqLess(s.base, seq) {
		return
	}
	mask := uint32(len(s.ring) - 1)
	first := s.base
	var msgNo uint32
	for s.base != seq {
		sl := &s.ring[s.base&mask]
		if msgNo == 0 && sl.pb != nil {
			msgNo = binary.BigEndian.Uint32(sl.pb.b[4:8]) & msgNoMask
		}
		if sl.pb != nil {
			putPbuf(sl.pb)
		}
		*sl = sslot{}
		s.base = seqAdd(s.base, 1)
		c.st.PktSndDrop++
	}
	if seqLess(s.unsent, s.base) {
		s.unsent = s.base
	}
	s.rexmit.removeBefore(s.base)
	cif := binary.BigEndian.AppendUint32(nil, first)
	cif = binary.BigEndian.AppendUint32(cif, seqAdd(seq, -1))
	c.sendCtrl(ctrlHeader{typ: ctrlDropReq, info: msgNo}, cif, now)
}

// sendCtrl sends a control packet with the given CIF.
func (c *Conn) sendCtrl(h ctrlHeader, cif []byte, now time.Duration) {
	h.ts, h.dst = stamp(now), c.peerID
	b := appendCtrl(c.ctl[:0], h)
	b = append(b, cif...)
	c.ctl = b[:0]
	c.lastSend = now
	if c.m.q != nil {
		c.m.q.Put1(b, c.raddr)
		return
	}
	c.m.send(b, c.raddr)
}

// handle processes a datagram from the peer. It reports whether it kept pb
// (a data packet now in the receive ring).
func (c *Conn) handle(pb *pbuf, n int, at time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	now := c.clock(at)
	c.lastRecv = now
	b := pb.b[:n]
	if !isControl(b) {
		return c.handleData(pb, b, now)
	}
	h, cif, err := parseCtrl(b)
	if err != nil {
		return false
	}
	switch h.typ {
	case ctrlACK:
		c.onACK(h, cif, now)
	case ctrlNAK:
		c.onNAK(cif, now)
	case ctrlACKACK:
		c.onACKACK(h, now)
	case ctrlDropReq:
		c.onDropReq(cif)
	case ctrlShutdown:
		c.rcv.peerEOF = true
		c.closeLocked(ErrPeerClosed, false)
	case ctrlHandshake:
		// A caller that missed our conclusion response repeats its
		// conclusion (§4.3.1.2).
		if c.hsResp != nil {
			c.m.send(c.hsResp, c.raddr)
		}
	case ctrlUser:
		c.onUser(h, cif, now)
	}
	return false
}

func (c *Conn) handleData(pb *pbuf, b []byte, now time.Duration) bool {
	h, payload, err := parseData(b)
	if err != nil {
		return false
	}
	if h.key != kkNone {
		if c.cr == nil || !c.cr.xor(h.key, h.seq, payload) {
			c.st.PktRecvUndecrypt++
			return false
		}
	}
	r := &c.rcv
	if r.ring == nil {
		r.ring = make([]rslot, ringMin)
	}
	d := seqDiff(h.seq, r.base)
	if d < 0 {
		c.st.PktRecvDup++
		return false
	}
	if int(d) >= len(r.ring) {
		if int(d) >= flowWindow {
			c.st.PktRecvDup++
			return false
		}
		for int(d) >= len(r.ring) {
			r.ring = growRcv(r.ring, r.base, r.maxSeq)
		}
	}
	mask := uint32(len(r.ring) - 1)
	s := &r.ring[h.seq&mask]
	if s.state != slotEmpty {
		c.st.PktRecvDup++
		return false
	}
	// Unwrap the 32-bit µs timestamp (§4.5.2) around the last one seen.
	t := int64(h.ts)
	if r.tsInit {
		t = r.tsLast + int64(int32(h.ts-uint32(r.tsLast)))
	}
	if !r.tsInit || t > r.tsLast {
		r.tsLast, r.tsInit = t, true
	}
	*s = rslot{pb: pb, off: headerSize, n: uint16(len(payload)), state: slotData, ts: t}
	r.undelivered++
	c.st.PktRecv++
	c.st.BytesRecv += uint64(len(payload))
	switch gap := seqDiff(h.seq, r.maxSeq); {
	case gap > 0:
		// §4.8.2: a gap is reported at once.
		to := seqAdd(h.seq, -1)
		r.loss.add(r.maxSeq, to, now)
		c.st.PktLoss += uint64(gap)
		c.sendNAK(r.maxSeq, to, now)
		r.maxSeq = seqAdd(h.seq, 1)
	case gap == 0:
		r.maxSeq = seqAdd(h.seq, 1)
	default:
		if r.loss.remove(h.seq) && h.rexmit {
			c.st.PktRecvRetrans++
		}
	}
	c.advanceAck()
	c.measure(h.seq, len(b), now)
	r.sinceAck++
	if r.sinceAck >= 64 {
		c.sendLightACK(now)
	}
	c.wake()
	return true
}

// measure keeps the receiving rates and the packet-pair link capacity of
// the full ACK (§3.2.4).
func (c *Conn) measure(seq uint32, n int, now time.Duration) {
	r := &c.rcv
	r.winPkts++
	r.winBytes += uint32(n)
	if d := now - r.winStart; d >= time.Second {
		r.pktRate = uint32(float64(r.winPkts) / d.Seconds())
		r.byteRate = uint32(float64(r.winBytes) / d.Seconds())
		r.winStart, r.winPkts, r.winBytes = now, 0, 0
	}
	// Packet pairs: packets 16n and 16n+1 leave back to back.
	if seq&0xF == 0 {
		r.probeAt, r.probeSeq = now, seq
	} else if seq&0xF == 1 && seqAdd(r.probeSeq, 1) == seq {
		if gap := now - r.probeAt; gap > 0 {
			sample := uint32(time.Second / gap)
			if r.capacity == 0 {
				r.capacity = sample
			} else {
				r.capacity = (r.capacity*7 + sample) / 8
			}
		}
	}
}

func (c *Conn) sendNAK(from, to uint32, now time.Duration) {
	var cif [8]byte
	c.sendCtrl(ctrlHeader{typ: ctrlNAK}, appendLoss(cif[:0], from, to), now)
}

func (c *Conn) sendLightACK(now time.Duration) {
	r := &c.rcv
	r.sinceAck = 0
	var cif [4]byte
	binary.BigEndian.PutUint32(cif[:], r.ackSeq)
	c.sendCtrl(ctrlHeader{typ: ctrlACK}, cif[:], now)
}

// sendACK sends a full ACK (§3.2.4, §4.8.1) and remembers it for the RTT
// measurement of its ACKACK.
func (c *Conn) sendACK(now time.Duration) {
	r := &c.rcv
	r.ackNo++
	if r.ackNo == 0 {
		r.ackNo = 1
	}
	r.acks[r.ackNo%ackHistory] = ackRecord{no: r.ackNo, seq: r.ackSeq, at: now}
	r.lastAck, r.lastAckT, r.sinceAck = r.ackSeq, now, 0
	avail := len(r.ring) - int(seqDiff(r.maxSeq, r.base))
	if len(r.ring) < flowWindow {
		avail = flowWindow - int(seqDiff(r.maxSeq, r.base))
	}
	a := ackInfo{last: r.ackSeq, rtt: uint32(c.rtt / time.Microsecond), rttVar: uint32(c.rttVar / time.Microsecond),
		avail: uint32(max(avail, 2)), pktRate: r.pktRate, capacity: max(r.capacity, r.pktRate), rate: r.byteRate}
	var cif [28]byte
	c.sendCtrl(ctrlHeader{typ: ctrlACK, info: r.ackNo}, appendACK(cif[:0], &a), now)
}

// onACK handles an ACK: the sender frees what is acknowledged, answers a
// full ACK with an ACKACK and takes the receiver's RTT (§4.8.1, §4.10).
func (c *Conn) onACK(h ctrlHeader, cif []byte, now time.Duration) {
	a, err := parseACK(cif)
	if err != nil {
		return
	}
	if a.words >= 4 && h.info != 0 {
		c.sendCtrl(ctrlHeader{typ: ctrlACKACK, info: h.info}, make4(), now)
		if a.rtt > 0 && a.rtt < 10_000_000 {
			c.rtt = time.Duration(a.rtt) * time.Microsecond
			c.rttVar = time.Duration(a.rttVar) * time.Microsecond
		}
	}
	s := &c.snd
	if s.ring == nil || seqDiff(a.last, s.base) <= 0 || seqDiff(a.last, s.next) > 0 {
		return
	}
	mask := uint32(len(s.ring) - 1)
	for s.base != a.last {
		sl := &s.ring[s.base&mask]
		if sl.pb != nil {
			putPbuf(sl.pb)
		}
		*sl = sslot{}
		s.base = seqAdd(s.base, 1)
	}
	s.ackAt, s.probes = now, 0
	if seqLess(s.unsent, s.base) {
		s.unsent = s.base
	}
	s.rexmit.removeBefore(s.base)
	if s.base == s.next && c.linger != nil {
		close(c.linger)
		c.linger = nil
	}
}

var zero4 [4]byte

func make4() []byte { return zero4[:] }

// onNAK queues the reported packets for retransmission (§4.8.2).
func (c *Conn) onNAK(cif []byte, now time.Duration) {
	s := &c.snd
	if s.ring == nil {
		return
	}
	// Ranges are clipped to what was sent and is not acknowledged, by
	// offsets from base: far-off numbers are meaningless on the 31-bit
	// circle, and a peer's range must not make us loop over it.
	win := seqDiff(s.unsent, s.base)
	_ = parseLoss(cif, func(from, to uint32) {
		f, l := seqDiff(from, s.base), seqDiff(to, s.base)
		if l < 0 || f >= win {
			return
		}
		f, l = max(f, 0), min(l, win-1)
		if f <= l {
			s.rexmit.add(seqAdd(s.base, f), seqAdd(s.base, l), now)
		}
	})
	c.flushLocked(now)
}

// onACKACK measures the RTT of the ACK it answers (§4.10) and feeds the
// drift tracer (§4.7).
func (c *Conn) onACKACK(h ctrlHeader, now time.Duration) {
	r := &c.rcv
	rec := r.acks[h.info%ackHistory]
	if rec.no != h.info || h.info == 0 {
		return
	}
	sample := now - rec.at
	if sample < 0 {
		return
	}
	if !seqLess(rec.seq, r.ackAcked) {
		r.ackAcked = rec.seq
	}
	if !r.rttSampled {
		// §4.10: the first sample replaces the initial estimate.
		r.rttSampled = true
		c.rtt, c.rttVar = sample, sample/2
	} else {
		c.rttVar = (3*c.rttVar + absDur(c.rtt-sample)) / 4
		c.rtt = (7*c.rtt + sample) / 8
	}
	// Drift: where the peer's clock puts this ACKACK against ours.
	r.driftSum += int64(now - (r.tsbpd + time.Duration(h.ts)*time.Microsecond))
	r.driftN++
	if r.driftN >= driftSamples {
		avg := time.Duration(r.driftSum / int64(r.driftN))
		if absDur(avg) > driftMax {
			r.tsbpd += avg
		}
		r.driftSum, r.driftN = 0, 0
	}
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// onDropReq gives up the packets the sender will not send (§3.2.9).
func (c *Conn) onDropReq(cif []byte) {
	first, last, err := parseDropReq(cif)
	r := &c.rcv
	if err != nil || r.ring == nil {
		return
	}
	if seqLess(first, r.base) {
		first = r.base
	}
	if !seqLess(last, r.maxSeq) {
		last = seqAdd(r.maxSeq, -1)
	}
	if seqDiff(last, first) < 0 || int(seqDiff(last, first)) >= len(r.ring) {
		return
	}
	mask := uint32(len(r.ring) - 1)
	for s := first; ; s = seqAdd(s, 1) {
		if sl := &r.ring[s&mask]; sl.state == slotEmpty {
			sl.state = slotSkip
			r.loss.remove(s)
			c.st.PktRecvDrop++
		}
		if s == last {
			break
		}
	}
	c.advanceAck()
	c.wake()
}

// onUser handles the extended control messages: a KMREQ refreshes the keys
// (§6.1.5) and is answered with a KMRSP.
func (c *Conn) onUser(h ctrlHeader, cif []byte, now time.Duration) {
	if h.subtype != extKMREQ {
		return
	}
	resp := cif
	if c.cr == nil {
		resp = kmResponseState(kmStateUnsecured)
	} else if err := c.cr.update(cif); err != nil {
		resp = kmResponseState(kmStateBadSecret)
	} else {
		c.st.KMRefreshes++
	}
	c.sendCtrl(ctrlHeader{typ: ctrlUser, subtype: extKMRSP}, resp, now)
}

// tick runs the timers: ACK, periodic NAK, keep-alive, sender drop, pacing
// and the idle timeout.
func (c *Conn) tick(at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	now := c.clock(at)
	if now-c.lastRecv >= c.idle {
		c.closeLocked(ErrPeerIdle, true)
		return
	}
	r := &c.rcv
	if r.ring != nil {
		if r.ackSeq != r.lastAck ||
			r.ackSeq != r.ackAcked && now-r.lastAckT >= c.rtt+4*c.rttVar {
			c.sendACK(now)
		}
		c.periodicNAK(now)
		if r.undelivered > 0 {
			c.wake() // a Read waiting for TSBPD time re-checks
		}
	}
	c.sendTailLocked(now, false)
	s := &c.snd
	if s.ring != nil {
		// §4.6 sender side: packets older than the peer's latency (at
		// least one second) cannot be played any more.
		limit := max(c.sndLat, sndDropMin) + 2*synInterval
		mask := uint32(len(s.ring) - 1)
		drop := s.base
		for drop != s.next && now-s.ring[drop&mask].origin > limit {
			drop = seqAdd(drop, 1)
		}
		if drop != s.base {
			c.dropSndLocked(drop, now)
		}
		c.probeTail(now)
		c.flushLocked(now)
	}
	if now-c.lastSend >= keepaliveInterval {
		c.sendCtrl(ctrlHeader{typ: ctrlKeepalive}, make4(), now)
	}
}

// probeTail retransmits the newest packet when it is unacknowledged, nothing
// newer was sent and no ACK came for a while. Live mode repairs losses by
// NAK only (§4.8.2), and a receiver cannot see the loss of the last packets
// before a pause or a Close: no later packet reveals the gap. The probe is
// such a later packet (as TCP's tail loss probe).
func (c *Conn) probeTail(now time.Duration) {
	s := &c.snd
	if s.base == s.unsent || s.unsent != s.next || len(s.rexmit) > 0 {
		return
	}
	last := seqAdd(s.unsent, -1)
	sl := &s.ring[last&uint32(len(s.ring)-1)]
	// Backs off exponentially while no ACK comes (a peer gone quiet).
	wait := max(2*(c.rtt+4*c.rttVar), 50*time.Millisecond) << min(s.probes, 5)
	if now-s.ackAt < wait || now-sl.lastSend < wait {
		return
	}
	s.probes++
	s.rexmit.add(last, last, now)
}

// periodicNAK reports again the losses not reported for RTT+4*RTTVar
// (§4.8.2), as many as one packet holds.
func (c *Conn) periodicNAK(now time.Duration) {
	r := &c.rcv
	if len(r.loss) == 0 {
		return
	}
	every := max(c.rtt+4*c.rttVar, minNAKInterval)
	var cif [maxDatagram - udpIPv4 - headerSize]byte
	b := cif[:0]
	for i := range r.loss {
		l := &r.loss[i]
		if now-l.at < every {
			continue
		}
		if len(b)+8 > len(cif) {
			break
		}
		b = appendLoss(b, l.from, l.to)
		l.at = now
	}
	if len(b) > 0 {
		c.sendCtrl(ctrlHeader{typ: ctrlNAK}, b, now)
	}
}

// Close sends a shutdown (§3.2.7) and frees the connection. It first waits,
// up to a second, for the peer to acknowledge what was sent. It is
// idempotent.
func (c *Conn) Close() error {
	c.mu.Lock()
	if !c.closed {
		c.sendTailLocked(c.clock(time.Now()), true)
	}
	if !c.closed && c.snd.ring != nil && c.snd.base != c.snd.next {
		ch := make(chan struct{})
		c.linger = ch
		c.mu.Unlock()
		t := time.NewTimer(min(lingerMax, max(c.sndLat, 100*time.Millisecond)))
		select {
		case <-ch:
		case <-t.C:
		case <-c.done:
		}
		t.Stop()
		c.mu.Lock()
	}
	c.closeLocked(nil, true)
	c.mu.Unlock()
	return nil
}

// CloseWithError closes the connection at once with err as its reason.
func (c *Conn) CloseWithError(err error) {
	c.mu.Lock()
	c.closeLocked(err, true)
	c.mu.Unlock()
}

// closeLocked frees everything; shutdown sends a shutdown to the peer.
func (c *Conn) closeLocked(err error, shutdown bool) {
	if c.closed {
		return
	}
	now := c.clock(time.Now())
	if shutdown {
		// §3.2.7: one shutdown, and two copies, as nothing answers it: a
		// lost one would leave the peer waiting for its idle timeout.
		for range 3 {
			c.sendCtrl(ctrlHeader{typ: ctrlShutdown}, make4(), now)
		}
	}
	c.closed = true
	if err == nil {
		err = ErrClosed
	}
	c.closeErr = err
	// Keep what the peer delivered before its shutdown readable.
	if err != ErrPeerClosed {
		r := &c.rcv
		for i := range r.ring {
			if r.ring[i].pb != nil {
				putPbuf(r.ring[i].pb)
			}
		}
		r.ring = nil
	}
	for i := range c.snd.ring {
		if c.snd.ring[i].pb != nil {
			putPbuf(c.snd.ring[i].pb)
		}
	}
	c.snd.ring = nil
	if c.linger != nil {
		close(c.linger)
		c.linger = nil
	}
	close(c.done)
	c.wake()
	go c.m.remove(c)
}
