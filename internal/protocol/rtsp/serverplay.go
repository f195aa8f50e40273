package rtsp

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/srs-lite/srs-lite/internal/dgram"
	"github.com/srs-lite/srs-lite/internal/format/rtp"
	"github.com/srs-lite/srs-lite/internal/media"
	sess "github.com/srs-lite/srs-lite/internal/session"
)

// describe answers DESCRIBE with the SDP of the stream's tracks, waiting
// briefly for a publisher and for the sequence headers of a stream that
// just started.
func (c *srvConn) describe(m *Message) {
	if c.pub != nil || c.play != nil {
		_ = c.respond(m, 455, "Method Not Valid in This State", nil, nil)
		return
	}
	t, code, reason := c.parseTarget(m.URL)
	if code != 0 {
		_ = c.respond(m, code, reason, nil, nil)
		return
	}
	if !c.admit(m, t, sess.Player) {
		return
	}
	reg := c.s.deps.Registry
	st := reg.Lookup(t.key)
	if (st == nil || !st.Publishing()) && c.cfg.WaitPublisher > 0 {
		// Wait as a reader, so that an on-demand source starts.
		rd := reg.Subscribe(t.key, nil)
		deadline := time.Now().Add(c.cfg.WaitPublisher)
		for !rd.Stream().Publishing() && time.Now().Before(deadline) && c.s.ctx.Err() == nil {
			time.Sleep(50 * time.Millisecond)
		}
		st = rd.Stream()
		rd.Close()
	}
	if st == nil || !st.Publishing() {
		c.log.Info("rtsp: no such stream", "stream", t.key.String())
		c.unask()
		_ = c.respond(m, 404, "Not Found", nil, nil)
		return
	}
	tracks := c.waitTracks(st)
	if len(tracks) == 0 {
		c.log.Warn("rtsp: no track RTSP can carry", "stream", t.key.String())
		c.unask()
		_ = c.respond(m, 415, "Unsupported Media Type", nil, nil)
		return
	}
	for _, old := range c.tracks {
		old.closeUDP()
		old.pk.Close()
	}
	c.tracks = tracks
	c.sess.SetStreamID(st.ID)
	body := buildSDP(tracks, t.base, t.query, c.localIP(), rand.Uint64()>>2)
	cb := t.base + "/"
	if t.query != "" {
		cb = t.base + "?" + t.query + "/"
	}
	_ = c.respond(m, 200, "OK", [][2]string{{"Content-Base", cb}, {"Content-Type", "application/sdp"}}, body)
}

// unask ends the play the hooks allowed at a DESCRIBE that found nothing to
// play (on_stop), so that the client may describe another stream.
func (c *srvConn) unask() {
	if c.asked {
		c.asked = false
		c.s.deps.Events.Stop(c.sess)
	}
}

// waitTracks returns the tracks of st, waiting up to WaitConfig for the
// sequence headers of the codecs that need them.
func (c *srvConn) waitTracks(st *media.Stream) []*outTrack {
	deadline := time.Now().Add(c.cfg.WaitConfig)
	start := time.Now()
	for {
		vcfg, acfg := st.Configs()
		stats := st.Stats()
		videoOK := vcfg.Payload != nil
		audioCodec := stats.Audio.Codec
		if acfg.Payload != nil {
			audioCodec = acfg.Codec
		}
		audioOK := acfg.Payload != nil || audioCodec != media.CodecUnknown && audioCodec != media.CodecAAC
		done := videoOK && audioOK ||
			time.Since(start) > 500*time.Millisecond && (videoOK && !stats.HasAudio || audioOK && !stats.HasVideo) ||
			!time.Now().Before(deadline) || c.s.ctx.Err() != nil
		if done {
			var tracks []*outTrack
			if videoOK {
				if t := describeTrack(len(tracks), vcfg.Codec, &vcfg, media.AudioInfo{}, c.cfg.MTU); t != nil {
					tracks = append(tracks, t)
				}
			}
			if audioOK {
				if t := describeTrack(len(tracks), audioCodec, &acfg, stats.Audio, c.cfg.MTU); t != nil {
					tracks = append(tracks, t)
				}
			}
			vcfg.Release()
			acfg.Release()
			return tracks
		}
		vcfg.Release()
		acfg.Release()
		time.Sleep(50 * time.Millisecond)
	}
}

// setup answers SETUP: of a described track for a viewer, of an announced
// one for a publisher.
func (c *srvConn) setup(m *Message) {
	ts, ok := parseTransport(m.Header.Get("Transport"))
	if !ok {
		_ = c.respond(m, 461, "Unsupported Transport", nil, nil)
		return
	}
	if c.play != nil {
		_ = c.respond(m, 455, "Method Not Valid in This State", nil, nil)
		return
	}
	if c.pub != nil {
		c.setupRecord(m, ts)
		return
	}
	if len(c.tracks) == 0 {
		_ = c.respond(m, 455, "Method Not Valid in This State", nil, nil)
		return
	}
	t, code, reason := c.parseTarget(m.URL)
	if code != 0 {
		_ = c.respond(m, code, reason, nil, nil)
		return
	}
	if t.key != c.key {
		_ = c.respond(m, 455, "Method Not Valid in This State", nil, nil)
		return
	}
	idx := t.track
	if idx < 0 && len(c.tracks) == 1 {
		idx = 0
	}
	if idx < 0 || idx >= len(c.tracks) {
		_ = c.respond(m, 404, "Not Found", nil, nil)
		return
	}
	tr := c.tracks[idx]
	tr.closeUDP()
	tr.ssrc = rand.Uint32()
	tr.seq = uint16(rand.Uint32())
	tr.startSeq = tr.seq
	tr.startTS = rand.Uint32()
	var transport string
	if ts.tcp {
		ch := [2]int{2 * idx, 2*idx + 1}
		if ts.hasCh {
			ch = ts.ch
		}
		tr.tcp, tr.ch = true, [2]uint8{uint8(ch[0]), uint8(ch[1])}
		transport = "RTP/AVP/TCP;unicast;interleaved=" + strconv.Itoa(ch[0]) + "-" + strconv.Itoa(ch[1])
	} else {
		ports, err := c.listenUDP(ts.client)
		if err != nil {
			c.log.Warn("rtsp: no UDP ports", "err", err)
			_ = c.respond(m, 500, "Internal Server Error", nil, nil)
			return
		}
		tr.tcp, tr.udp = false, ports
		for _, p := range ports {
			go p.read(c, nil)
		}
		transport = "RTP/AVP;unicast;client_port=" + strconv.Itoa(ts.client[0]) + "-" + strconv.Itoa(ts.client[1]) +
			";server_port=" + strconv.Itoa(ports[0].port) + "-" + strconv.Itoa(ports[1].port)
	}
	transport += ";ssrc=" + strings.ToUpper(strconv.FormatUint(uint64(tr.ssrc)|1<<32, 16)[1:]) + ";mode=play"
	tr.setup = true
	c.newSessionID()
	_ = c.respond(m, 200, "OK", [][2]string{{"Transport", transport}}, nil)
}

// startPlay answers PLAY and starts sending.
func (c *srvConn) startPlay(m *Message) {
	if c.pub != nil || c.sessionID == "" {
		_ = c.respond(m, 455, "Method Not Valid in This State", nil, nil)
		return
	}
	var set []*outTrack
	for _, t := range c.tracks {
		if t.setup {
			set = append(set, t)
		}
	}
	if len(set) == 0 {
		_ = c.respond(m, 455, "Method Not Valid in This State", nil, nil)
		return
	}
	if c.play != nil {
		_ = c.respond(m, 200, "OK", [][2]string{{"Range", "npt=0.000-"}}, nil)
		return
	}
	var info []string
	for _, t := range set {
		v := "url=" + trackControl(c.base, c.query, t.idx) + ";seq=" + strconv.Itoa(int(t.seq))
		if !t.sent {
			v += ";rtptime=" + strconv.FormatUint(uint64(t.startTS), 10)
		}
		info = append(info, v)
	}
	rd := c.s.deps.Registry.Subscribe(c.key, c.log)
	p := newPlayer(c, set, rd)
	if err := c.respond(m, 200, "OK", [][2]string{{"Range", "npt=0.000-"}, {"RTP-Info", strings.Join(info, ",")}}, nil); err != nil {
		rd.Close()
		return
	}
	if c.play == nil {
		c.log.Info("rtsp: play", "stream", c.key.String(), "tcp", set[0].tcp, "tracks", len(set))
	}
	c.play = p
	p.start()
}

// player sends a stream to one viewer: its own reader, the shared packets
// of each frame, its own headers.
type player struct {
	c      *srvConn
	tcp    bool // interleaved on the control connection
	tracks []*outTrack
	byIdx  [8]*outTrack // by codec kind: 0 video, 1 audio
	rd     *media.Reader
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	frames []media.Frame
	// TCP: one writev per batch.
	vec  net.Buffers
	bufs net.Buffers
	hdrs []byte

	// The session clock: the PTS of the first frame (NPT 0) and when it
	// went out. The sender reports map wall time to media time by it, the
	// same for every track and for the whole session: a frame sent later
	// than the mapping says (the GOP cache's burst goes out at once) is
	// early for the player, never a jump in its timeline.
	based    bool
	basePTS  time.Duration
	baseWall time.Time
	nextSR   time.Time
	srBuf    []byte
	rtcpHdr  [4]byte
}

func newPlayer(c *srvConn, tracks []*outTrack, rd *media.Reader) *player {
	p := &player{c: c, tracks: tracks, rd: rd, frames: make([]media.Frame, 32), done: make(chan struct{})}
	p.ctx, p.cancel = context.WithCancel(c.s.ctx)
	for _, t := range tracks {
		p.tcp = p.tcp || t.tcp
		if t.kind == "video" {
			p.byIdx[0] = t
		} else {
			p.byIdx[1] = t
		}
	}
	if !p.tcp {
		// One frame per Read: a full dst returns at once, so a UDP viewer
		// gets no merged writes (bursts of mw_latency's worth of
		// datagrams), as SRT players.
		p.frames = p.frames[:1]
	}
	return p
}

func (p *player) start() { go p.run() }

// stop ends the sender and waits for it.
func (p *player) stop() {
	p.cancel()
	<-p.done
}

func (p *player) run() {
	defer close(p.done)
	defer p.rd.Close()
	var err error
	for err == nil {
		var n int
		n, err = p.rd.Read(p.ctx, p.frames)
		if n > 0 {
			if werr := p.send(p.frames[:n], time.Now()); werr != nil && err == nil {
				err = werr
			}
			for i := range p.frames[:n] {
				p.frames[i].Release()
			}
		}
	}
	if p.ctx.Err() != nil {
		return // paused, torn down or closing
	}
	c := p.c
	if errors.Is(err, io.EOF) {
		c.log.Info("rtsp: stream ended", "stream", c.key.String())
	} else {
		c.log.Info("rtsp: viewer closed", "stream", c.key.String(), "err", err.Error(), "dropped", p.rd.Dropped())
	}
	p.sendBye()
	_ = c.nc.Close() // ends serve
}

// track returns the viewer's track of f, or nil.
func (p *player) track(f *media.Frame) *outTrack {
	var t *outTrack
	if f.Codec.IsVideo() {
		t = p.byIdx[0]
	} else if f.Codec.IsAudio() {
		t = p.byIdx[1]
	}
	if t == nil || t.codec != f.Codec {
		return nil
	}
	return t
}

// send writes frames: over TCP in one writev of [$ header + RTP header]
// [shared payload] pairs, over UDP [RTP header][shared payload] datagrams,
// one sendmmsg per track.
func (p *player) send(frames []media.Frame, now time.Time) error {
	p.vec = p.vec[:0]
	p.hdrs = p.hdrs[:0]
	var udpErr error
	for i := range frames {
		f := &frames[i]
		t := p.track(f)
		if t == nil {
			continue
		}
		if f.IsConfig() {
			t.pk.SetConfig(f)
			continue
		}
		wire := t.pk.Packets(f)
		if wire == nil {
			continue
		}
		if !p.based {
			p.based, p.basePTS, p.baseWall = true, f.PTS, now
			p.nextSR = now.Add(srEvery)
		}
		if !t.based {
			t.based = true
			t.tsOff = t.startTS - rtp.Timestamp(p.basePTS, t.clock)
			p.sendSR(t, now) // before its first packet: players sync from the start
		}
		for w := wire; len(w) >= 2; {
			n := int(binary.BigEndian.Uint16(w))
			if n > len(w)-2 || n < rtp.HeaderLen {
				break
			}
			pkt := w[2 : 2+n]
			w = w[2+n:]
			t.packets++
			t.octets += uint32(n - rtp.HeaderLen)
			t.sent = true
			if t.tcp {
				at := len(p.hdrs)
				p.hdrs = append(p.hdrs, '$', t.ch[0], byte(n>>8), byte(n), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
				h := p.hdrs[at : at+16 : at+16]
				rtp.Header(h[4:], pkt, t.pt, t.seq, t.tsOff, t.ssrc)
				p.vec = append(p.vec, h, pkt[rtp.HeaderLen:])
			} else {
				at := len(p.hdrs)
				p.hdrs = append(p.hdrs, make([]byte, rtp.HeaderLen)...)
				h := p.hdrs[at : at+rtp.HeaderLen : at+rtp.HeaderLen]
				rtp.Header(h, pkt, t.pt, t.seq, t.tsOff, t.ssrc)
				t.out.Add2(h, pkt[rtp.HeaderLen:])
				p.c.sess.BytesOut.Add(uint64(n))
			}
			t.seq++
		}
	}
	if p.based && now.After(p.nextSR) {
		p.nextSR = now.Add(srEvery)
		for _, t := range p.tracks {
			if t.based {
				p.sendSR(t, now)
			}
		}
	}
	// UDP: each track's datagrams of the batch in one sendmmsg (GSO
	// trains where the kernel has them), headers and shared payloads
	// gathered by the kernel.
	for _, t := range p.tracks {
		if t.out.Len() > 0 {
			if err := t.udp[0].sendBatch(&t.out); err != nil && udpErr == nil {
				udpErr = err
			}
		}
	}
	if len(p.vec) > 0 {
		return p.writeTCP()
	}
	if udpErr != nil && !errors.Is(udpErr, errUDPRefused) {
		return udpErr
	}
	return nil
}

// writeTCP writes the batch with one writev.
func (p *player) writeTCP() error {
	c := p.c
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	p.bufs = p.vec
	n, err := p.bufs.WriteTo(c.nc)
	c.sess.BytesOut.Add(uint64(n))
	// The headers may hold a reference to hdrs' old arrays: keep vec's
	// slices from pinning payloads until the next batch.
	clear(p.vec)
	return err
}

// sendSR sends an RTCP sender report with an SDES CNAME (RFC 3550 §6.4.1)
// for track t: the NTP time now and the RTP time of the same instant on the
// session clock, which every track shares, so players line them up.
func (p *player) sendSR(t *outTrack, now time.Time) {
	media := p.basePTS + now.Sub(p.baseWall)
	b := p.srBuf[:0]
	b = append(b, 0x80, rtcpSR, 0, 6)
	b = binary.BigEndian.AppendUint32(b, t.ssrc)
	b = binary.BigEndian.AppendUint64(b, ntpTime(now))
	b = binary.BigEndian.AppendUint32(b, rtp.Timestamp(media, t.clock)+t.tsOff)
	b = binary.BigEndian.AppendUint32(b, t.packets)
	b = binary.BigEndian.AppendUint32(b, t.octets)
	b = appendSDES(b, t.ssrc, "srs-lite")
	p.srBuf = b
	p.sendRTCP(t, b)
}

// sendBye tells the viewers' players that the stream ended (RFC 3550 §6.6).
func (p *player) sendBye() {
	for _, t := range p.tracks {
		if !t.sent {
			continue
		}
		b := append(p.srBuf[:0], 0x81, rtcpBYE, 0, 1)
		b = binary.BigEndian.AppendUint32(b, t.ssrc)
		p.srBuf = b
		p.sendRTCP(t, b)
	}
}

func (p *player) sendRTCP(t *outTrack, b []byte) {
	if t.tcp {
		c := p.c
		c.wmu.Lock()
		_ = c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
		h := p.rtcpHdr[:]
		h[0], h[1] = '$', t.ch[1]
		binary.BigEndian.PutUint16(h[2:], uint16(len(b)))
		p.bufs = append(p.bufs[:0], h, b)
		n, _ := p.bufs.WriteTo(c.nc)
		c.wmu.Unlock()
		c.sess.BytesOut.Add(uint64(n))
		return
	}
	if t.udp[1] != nil {
		_ = t.udp[1].send(b)
	}
}

// appendSDES appends an SDES packet with a CNAME (RFC 3550 §6.5).
func appendSDES(b []byte, ssrc uint32, cname string) []byte {
	chunk := 4 + 2 + len(cname) + 1
	pad := (4 - chunk%4) % 4
	b = append(b, 0x81, rtcpSDES, 0, byte((chunk+pad)/4))
	b = binary.BigEndian.AppendUint32(b, ssrc)
	b = append(b, 1, byte(len(cname)))
	b = append(b, cname...)
	b = append(b, 0)
	for range pad {
		b = append(b, 0)
	}
	return b
}

// ntpTime is t as a 64-bit NTP timestamp (RFC 3550 §4).
func ntpTime(t time.Time) uint64 {
	const epoch = 2208988800 // 1900 to 1970, in seconds
	sec := uint64(t.Unix()) + epoch
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return sec<<32 | frac
}

// srvUDP is one of a track's two UDP sockets: RTP or RTCP.
type srvUDP struct {
	conn *net.UDPConn
	w    *dgram.Writer // the RTP socket's batched sends
	port int
	peer netip.AddrPort // the client's port for this socket
	mu   sync.Mutex
	gone bool
}

// errUDPRefused reports a datagram the client's host refused (ICMP port
// unreachable): the viewer goes on, its session times out if it has left.
var errUDPRefused = errors.New("rtsp: UDP port unreachable")

func (u *srvUDP) send(b []byte) error {
	_, err := u.conn.WriteToUDPAddrPort(b, u.peer)
	return udpError(err)
}

// sendBatch sends the datagrams of b and empties it.
func (u *srvUDP) sendBatch(b *dgram.Batch) error {
	return udpError(u.w.Send(b, u.peer))
}

func udpError(err error) error {
	if err != nil {
		var ne *net.OpError
		if errors.As(err, &ne) && strings.Contains(ne.Err.Error(), "refused") {
			return errUDPRefused
		}
	}
	return err
}

// read reads the socket until it closes: every datagram keeps the session
// alive; fn, when not nil, gets it (a publisher's RTP and RTCP).
func (u *srvUDP) read(c *srvConn, fn func(b []byte)) {
	buf := make([]byte, 2048)
	for {
		n, from, err := u.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		if from.Addr().Unmap().String() != c.ip {
			continue // only the client's host
		}
		c.lastSeen.set(time.Now())
		c.sess.BytesIn.Add(uint64(n))
		if fn != nil {
			fn(buf[:n])
		}
	}
}

func (u *srvUDP) close() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.gone {
		u.gone = true
		_ = u.conn.Close()
	}
}

func (t *outTrack) closeUDP() {
	for i, u := range t.udp {
		if u != nil {
			u.close()
			t.udp[i] = nil
		}
	}
}

// listenUDP binds a pair of UDP ports on the address the client reached,
// RTP on an even one and RTCP on the next (RFC 3550 §11), to talk to the
// client's ports.
func (c *srvConn) listenUDP(client [2]int) ([2]*srvUDP, error) {
	ip := net.ParseIP(c.localIP())
	peerIP, err := netip.ParseAddr(c.ip)
	if err != nil {
		return [2]*srvUDP{}, err
	}
	var lastErr error
	for range 16 {
		a, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
		if err != nil {
			return [2]*srvUDP{}, err
		}
		port := a.LocalAddr().(*net.UDPAddr).Port
		if port%2 != 0 || port == 65535 {
			_ = a.Close()
			continue
		}
		b, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: port + 1})
		if err != nil {
			_ = a.Close()
			lastErr = err
			continue
		}
		_ = a.SetWriteBuffer(1 << 20)
		return [2]*srvUDP{
			{conn: a, w: dgram.NewWriter(a), port: port, peer: netip.AddrPortFrom(peerIP, uint16(client[0]))},
			{conn: b, port: port + 1, peer: netip.AddrPortFrom(peerIP, uint16(client[1]))},
		}, nil
	}
	if lastErr == nil {
		lastErr = errors.New("no even port free")
	}
	return [2]*srvUDP{}, lastErr
}
