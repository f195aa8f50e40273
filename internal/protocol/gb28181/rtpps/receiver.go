// Package rtpps receives GB28181 media: RTP packets carrying an MPEG-2
// program stream (GB/T 28181 Annex C, payload type 96 "PS/90000"), over UDP
// or over TCP with the RFC 4571 two-byte length framing, passive (the
// device connects to our media port) or active (we connect to the
// device). Packets are told apart by SSRC, the one the INVITE's y= line
// gave the device; each expected SSRC has a sink that gets its frames.
//
// It also has the sending side (Sender), which tests and the device
// simulator use.
package rtpps

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/srs-lite/srs-lite/internal/dgram"
	"github.com/srs-lite/srs-lite/internal/format/ps"
	rtpfmt "github.com/srs-lite/srs-lite/internal/format/rtp"
	"github.com/srs-lite/srs-lite/internal/media"
)

// Errors given to Sink.Gone.
var (
	// ErrTimeout reports that no packet came for the receiver's timeout.
	ErrTimeout = errors.New("rtpps: no media")
	// ErrClosed reports that the receiver was closed.
	ErrClosed = errors.New("rtpps: receiver closed")
	// ErrReplaced reports that a new expectation of the same SSRC took over.
	ErrReplaced = errors.New("rtpps: replaced")
)

// DefaultTimeout is how long a stream may go without a packet (and a TCP
// connection without naming an expected SSRC) before it is given up.
const DefaultTimeout = 10 * time.Second

// udpReadBuffer is the socket receive buffer asked for the UDP port.
const udpReadBuffer = 1 << 20

// statsEvery is the interval of the stats line each stream logs.
const statsEvery = time.Minute

// reorderWindow is the UDP reorder window in packets: a lost packet delays
// the ones after it until this many more have come (about 0.2 s at 2
// Mbit/s).
const reorderWindow = 32

// Sink gets the media of one SSRC: frames in order, then Gone once when the
// media ends by itself (the connection closed, or no packet for the
// timeout); the SIP side then re-INVITEs. Frame's f and its payload are
// valid only during the call: call f.Own to keep it. Both are called from
// the receiver's goroutines, one at a time per SSRC, and no Frame comes
// after Gone. Frame must not call Close, nor Expect for its own SSRC.
//
// It is an alias of an interface literal so that the SIP side can declare
// the same interface without importing this package.
type Sink = interface {
	Frame(f *media.Frame)
	Gone(err error)
}

// Stats are the counters of one expected SSRC.
type Stats struct {
	SSRC      uint32    `json:"ssrc"`
	Transport string    `json:"transport"` // udp, tcp-passive, tcp-active; empty before the first packet
	Remote    string    `json:"remote"`    // the sender's address
	Packets   uint64    `json:"packets"`
	Bytes     uint64    `json:"bytes"` // RTP payload bytes
	Lost      uint64    `json:"lost"`  // packets never received (sequence gaps)
	Frames    uint64    `json:"frames"`
	Errors    uint64    `json:"errors"` // program stream errors (garbage, malformed headers)
	Since     time.Time `json:"since"`  // when it was expected
	Last      time.Time `json:"last"`   // last packet; zero before the first
}

// Receiver receives RTP/PS on a media port and by dialing devices.
type Receiver struct {
	tcp net.Listener
	udp net.PacketConn
	log *slog.Logger

	timeout atomic.Int64 // time.Duration
	unknown atomic.Uint64

	mu     sync.Mutex
	exp    map[uint32]*stream
	conns  map[net.Conn]struct{} // TCP connections not yet bound to an SSRC
	closed bool
	done   chan struct{}
	wg     sync.WaitGroup
}

// stream is one expected SSRC.
type stream struct {
	r    *Receiver
	ssrc uint32
	sink Sink
	log  *slog.Logger

	// feed serializes packet handling: the reorder buffer and demuxer.
	feed    sync.Mutex
	reorder *rtpfmt.Reorder
	dem     ps.Demuxer
	seq     uint16
	haveSeq bool
	errLog  time.Time
	frame   func(*media.Frame)

	mu    sync.Mutex // guards the fields below; never held while calling the sink
	stats Stats
	conn  net.Conn // the TCP connection feeding it, if any
	ended bool     // Gone was called or the expectation was cancelled
	endCh chan struct{}
	// At the last stats line.
	logBytes, logFrames, logLost uint64

	last atomic.Int64 // unix nanoseconds of the last packet, or of Expect
}

// NewReceiver returns a Receiver serving the media port's TCP listener
// (passive: devices connect and send RFC 4571 framed RTP) and UDP socket;
// either may be nil. It starts its goroutines; Close stops them and closes
// both.
func NewReceiver(tcp net.Listener, udp net.PacketConn, log *slog.Logger) *Receiver {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Receiver{tcp: tcp, udp: udp, log: log, exp: map[uint32]*stream{},
		conns: map[net.Conn]struct{}{}, done: make(chan struct{})}
	r.timeout.Store(int64(DefaultTimeout))
	if tcp != nil {
		r.wg.Add(1)
		go r.accept()
	}
	if udp != nil {
		if u, ok := udp.(*net.UDPConn); ok {
			// Room for bursts of several cameras' keyframes.
			dgram.SizeBuffers(u, udpReadBuffer, 0)
		}
		r.wg.Add(1)
		go r.readUDP()
	}
	r.wg.Add(1)
	go r.watch()
	return r
}

// SetTimeout sets how long a stream may go without a packet before its
// sink is told Gone(ErrTimeout), and how long a TCP connection may take to
// send a packet of an expected SSRC; 0 restores DefaultTimeout.
func (r *Receiver) SetTimeout(d time.Duration) {
	if d <= 0 {
		d = DefaultTimeout
	}
	r.timeout.Store(int64(d))
}

func (r *Receiver) timeoutDur() time.Duration { return time.Duration(r.timeout.Load()) }

// Unknown returns the number of packets dropped because no one expected
// their SSRC.
func (r *Receiver) Unknown() uint64 { return r.unknown.Load() }

// Expect sends the frames of RTP packets carrying ssrc, arriving on the
// media port over UDP or TCP, to sink, until cancel is called (no Gone
// then) or the media ends (Gone). An earlier expectation of the same SSRC
// is replaced: its sink gets Gone(ErrReplaced).
func (r *Receiver) Expect(ssrc uint32, sink Sink) (cancel func()) {
	s := r.add(ssrc, sink, nil, "")
	return func() { r.remove(s, nil) }
}

// Dial connects to a device's media address (TCP active: the SDP answer's
// address and port) and sends the frames of the RTP packets it sends there
// with ssrc to sink. It returns once connected; the connection lasts until
// ctx is done (no Gone then) or it ends (Gone).
func (r *Receiver) Dial(ctx context.Context, addr string, ssrc uint32, sink Sink) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("rtpps: dial %s: %w", addr, err)
	}
	s := r.add(ssrc, sink, c, "tcp-active") // adds its two goroutines to r.wg
	if s == nil {
		c.Close()
		return ErrClosed
	}
	go func() {
		defer r.wg.Done()
		select {
		case <-ctx.Done():
			r.remove(s, nil)
		case <-s.endCh:
		case <-r.done:
		}
	}()
	go func() {
		defer r.wg.Done()
		err := r.readTCP(c, s)
		r.remove(s, err)
	}()
	return nil
}

// add registers an expectation.
func (r *Receiver) add(ssrc uint32, sink Sink, c net.Conn, transport string) *stream {
	now := time.Now()
	s := &stream{r: r, ssrc: ssrc, sink: sink, conn: c, endCh: make(chan struct{}),
		log:     r.log.With("ssrc", fmt.Sprintf("%010d", ssrc)),
		reorder: rtpfmt.NewReorder(reorderWindow),
		stats:   Stats{SSRC: ssrc, Since: now, Transport: transport}}
	if c != nil {
		s.stats.Remote = c.RemoteAddr().String()
	}
	s.frame = s.onFrame
	s.last.Store(now.UnixNano())
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	old := r.exp[ssrc]
	r.exp[ssrc] = s
	if c != nil {
		r.wg.Add(2) // Dial's goroutines, counted before Close can wait
	}
	r.mu.Unlock()
	if old != nil {
		old.end(ErrReplaced, true)
	}
	return s
}

// remove ends an expectation if it is still the current one: err nil
// means cancelled (no Gone).
func (r *Receiver) remove(s *stream, err error) {
	if s == nil {
		return
	}
	r.mu.Lock()
	if r.exp[s.ssrc] == s {
		delete(r.exp, s.ssrc)
	}
	r.mu.Unlock()
	s.end(err, err != nil)
}

// end closes the stream's connection and tells its sink once, after any
// frame being delivered.
func (s *stream) end(err error, tell bool) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended = true
	close(s.endCh)
	c := s.conn
	s.conn = nil
	st := s.stats
	s.mu.Unlock()
	if c != nil {
		c.Close()
	}
	if tell {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			err = ErrTimeout
		}
		s.feed.Lock() // no Frame after Gone
		defer s.feed.Unlock()
		s.log.Info("gb28181 media gone", "reason", err, "packets", st.Packets, "frames", st.Frames, "lost", st.Lost)
		s.sink.Gone(err)
	}
}

// lookup returns the expectation of ssrc.
func (r *Receiver) lookup(ssrc uint32) *stream {
	r.mu.Lock()
	s := r.exp[ssrc]
	r.mu.Unlock()
	return s
}

// Stats returns the counters of every expected SSRC.
func (r *Receiver) Stats() []Stats {
	r.mu.Lock()
	ss := make([]*stream, 0, len(r.exp))
	for _, s := range r.exp {
		ss = append(ss, s)
	}
	r.mu.Unlock()
	out := make([]Stats, 0, len(ss))
	for _, s := range ss {
		s.mu.Lock()
		out = append(out, s.stats)
		s.mu.Unlock()
	}
	return out
}

// StatsOf returns the counters of one expected SSRC.
func (r *Receiver) StatsOf(ssrc uint32) (Stats, bool) {
	s := r.lookup(ssrc)
	if s == nil {
		return Stats{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats, true
}

// Close stops the receiver: its listeners and connections are closed and
// every sink is told Gone(ErrClosed). It waits for its goroutines.
func (r *Receiver) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	close(r.done)
	ss := make([]*stream, 0, len(r.exp))
	for _, s := range r.exp {
		ss = append(ss, s)
	}
	r.exp = map[uint32]*stream{}
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	if r.tcp != nil {
		r.tcp.Close()
	}
	if r.udp != nil {
		r.udp.Close()
	}
	for _, s := range ss {
		s.end(ErrClosed, true)
	}
	r.wg.Wait()
	return nil
}

// watch gives up streams that went silent.
func (r *Receiver) watch() {
	defer r.wg.Done()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	nextStats := time.Now().Add(statsEvery)
	for {
		select {
		case <-r.done:
			return
		case now := <-t.C:
			if now.After(nextStats) {
				nextStats = now.Add(statsEvery)
				r.logStats()
			}
			limit := now.Add(-r.timeoutDur()).UnixNano()
			var dead []*stream
			r.mu.Lock()
			for _, s := range r.exp {
				if s.last.Load() < limit {
					dead = append(dead, s)
				}
			}
			r.mu.Unlock()
			for _, s := range dead {
				r.remove(s, ErrTimeout)
			}
		}
	}
}

// logStats writes one line per stream: its rate, frames and losses since
// the last line (SRS's pithy print).
func (r *Receiver) logStats() {
	r.mu.Lock()
	ss := make([]*stream, 0, len(r.exp))
	for _, s := range r.exp {
		ss = append(ss, s)
	}
	r.mu.Unlock()
	for _, s := range ss {
		s.mu.Lock()
		st := s.stats
		db, df, dl := st.Bytes-s.logBytes, st.Frames-s.logFrames, st.Lost-s.logLost
		s.logBytes, s.logFrames, s.logLost = st.Bytes, st.Frames, st.Lost
		s.mu.Unlock()
		if st.Packets == 0 {
			continue
		}
		s.log.Info("gb28181 media", "transport", st.Transport, "remote", st.Remote,
			"kbps", db*8/uint64(statsEvery/time.Millisecond), "frames", df, "lost", dl, "errors", st.Errors)
	}
}

// readUDP reads RTP packets from the UDP socket.
func (r *Receiver) readUDP() {
	defer r.wg.Done()
	buf := make([]byte, 65536)
	var pkt rtp.Packet
	for {
		n, addr, err := r.udp.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-r.done:
				return
			default:
			}
			continue
		}
		if !parseRTP(&pkt, buf[:n]) {
			r.unknown.Add(1)
			continue
		}
		s := r.lookup(pkt.SSRC)
		if s == nil {
			r.unknown.Add(1)
			continue
		}
		s.packet(&pkt, "udp", addr, true)
	}
}

// accept serves devices connecting to the media port (TCP passive).
func (r *Receiver) accept() {
	defer r.wg.Done()
	for {
		c, err := r.tcp.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-r.done:
				return
			case <-time.After(50 * time.Millisecond): // EMFILE and the like
			}
			continue
		}
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			c.Close()
			return
		}
		r.conns[c] = struct{}{}
		r.mu.Unlock()
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			s, err := r.readTCPPassive(c)
			r.mu.Lock()
			delete(r.conns, c)
			r.mu.Unlock()
			c.Close()
			if s != nil {
				s.mu.Lock()
				mine := s.conn == c
				s.mu.Unlock()
				if mine {
					r.remove(s, err)
				}
			}
		}()
	}
}

// readTCPPassive reads a device's connection: packets of SSRCs no one
// expects are dropped; one that names no expected SSRC within the timeout
// is closed. It returns the stream the connection fed and why it ended.
func (r *Receiver) readTCPPassive(c net.Conn) (*stream, error) {
	br := bufio.NewReaderSize(c, 16<<10)
	buf := make([]byte, 65535)
	var pkt rtp.Packet
	var s *stream
	deadline := time.Now().Add(r.timeoutDur())
	for {
		if s == nil {
			c.SetReadDeadline(deadline)
		} else {
			c.SetReadDeadline(time.Now().Add(r.timeoutDur()))
		}
		p, err := rtpfmt.ReadFramed(br, buf)
		if err != nil {
			if s == nil {
				r.log.Info("gb28181 media connection closed before an expected SSRC", "remote", c.RemoteAddr().String(), "err", err)
			}
			return s, err
		}
		if !parseRTP(&pkt, p) {
			r.unknown.Add(1)
			continue
		}
		if s == nil || pkt.SSRC != s.ssrc {
			t := r.lookup(pkt.SSRC)
			if t == nil {
				r.unknown.Add(1)
				continue
			}
			if s != nil { // a second SSRC on one connection: not followed
				r.unknown.Add(1)
				continue
			}
			// Bind the connection; a previous one is closed.
			t.mu.Lock()
			if t.ended {
				t.mu.Unlock()
				continue
			}
			old := t.conn
			t.conn = c
			t.mu.Unlock()
			if old != nil {
				t.log.Info("gb28181 media connection replaced", "old", old.RemoteAddr().String())
				old.Close()
			}
			r.mu.Lock()
			delete(r.conns, c)
			r.mu.Unlock()
			s = t
		}
		s.packet(&pkt, "tcp-passive", c.RemoteAddr(), false)
	}
}

// readTCP reads a connection bound to s (TCP active).
func (r *Receiver) readTCP(c net.Conn, s *stream) error {
	br := bufio.NewReaderSize(c, 16<<10)
	buf := make([]byte, 65535)
	var pkt rtp.Packet
	for {
		c.SetReadDeadline(time.Now().Add(r.timeoutDur()))
		p, err := rtpfmt.ReadFramed(br, buf)
		if err != nil {
			return err
		}
		if !parseRTP(&pkt, p) || pkt.SSRC != s.ssrc {
			r.unknown.Add(1)
			continue
		}
		s.packet(&pkt, "tcp-active", c.RemoteAddr(), false)
	}
}

// parseRTP parses an RTP packet (RFC 3550 §5.1) into p without allocating:
// CSRCs and header extensions are skipped, padding removed. p's payload
// aliases b.
func parseRTP(p *rtp.Packet, b []byte) bool {
	if len(b) < 12 || b[0]>>6 != 2 {
		return false
	}
	cc := int(b[0] & 0x0f)
	off := 12 + 4*cc
	if len(b) < off {
		return false
	}
	if b[0]&0x10 != 0 { // extension (RFC 3550 §5.3.1)
		if len(b) < off+4 {
			return false
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(b[off+2:]))
		if len(b) < off {
			return false
		}
	}
	end := len(b)
	if b[0]&0x20 != 0 { // padding
		pad := int(b[len(b)-1])
		if pad == 0 || off+pad > end {
			return false
		}
		end -= pad
	}
	p.Header = rtp.Header{Version: 2, Marker: b[1]&0x80 != 0, PayloadType: b[1] & 0x7f,
		SequenceNumber: binary.BigEndian.Uint16(b[2:]), Timestamp: binary.BigEndian.Uint32(b[4:]),
		SSRC: binary.BigEndian.Uint32(b[8:])}
	p.Payload = b[off:end]
	return true
}

// packet takes one packet of the stream.
func (s *stream) packet(p *rtp.Packet, transport string, from net.Addr, reorder bool) {
	now := time.Now()
	s.last.Store(now.UnixNano())
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	st := &s.stats
	if st.Packets == 0 || st.Transport != transport {
		st.Transport = transport
		if from != nil {
			st.Remote = from.String()
		}
		s.log.Info("gb28181 media started", "transport", transport, "remote", st.Remote, "pt", p.PayloadType)
	}
	st.Packets++
	st.Bytes += uint64(len(p.Payload))
	st.Last = now
	s.mu.Unlock()

	s.feed.Lock()
	defer s.feed.Unlock()
	if !reorder {
		s.ordered(p)
		return
	}
	s.reorder.Push(p, s.ordered)
}

// ordered takes the packets in sequence order; s.feed is held.
func (s *stream) ordered(p *rtp.Packet) {
	var lost uint64
	if s.haveSeq && p.SequenceNumber != s.seq+1 {
		lost = uint64(uint16(p.SequenceNumber - s.seq - 1))
		s.dem.Loss()
	}
	s.seq, s.haveSeq = p.SequenceNumber, true
	err := s.dem.Write(p.Payload, p.Marker, s.frame)
	if lost == 0 && err == nil {
		return
	}
	s.mu.Lock()
	s.stats.Lost += lost
	if err != nil {
		s.stats.Errors++
	}
	errs := s.stats.Errors
	s.mu.Unlock()
	if now := time.Now(); err != nil && now.Sub(s.errLog) > 10*time.Second {
		s.errLog = now
		ds := s.dem.Stats()
		s.log.Warn("gb28181 media: bad program stream", "err", err, "errors", errs,
			"resyncs", ds.Resyncs, "skipped", ds.Skipped)
	}
}

// onFrame passes a frame on, unless the stream ended meanwhile.
func (s *stream) onFrame(f *media.Frame) {
	s.mu.Lock()
	ended := s.ended
	if !ended && !f.IsConfig() {
		s.stats.Frames++
	}
	s.mu.Unlock()
	if !ended {
		s.sink.Frame(f)
	}
}
