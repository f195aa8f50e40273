package rtsp

import (
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"time"

	pionrtp "github.com/pion/rtp"

	"github.com/srs-lite/srs-lite/internal/format/codec"
	"github.com/srs-lite/srs-lite/internal/format/codec/aac"
	"github.com/srs-lite/srs-lite/internal/format/rtp"
	"github.com/srs-lite/srs-lite/internal/media"
	sess "github.com/srs-lite/srs-lite/internal/session"
)

// publisher takes an RTSP client's ANNOUNCEd tracks into a stream, with
// the depacketizers and the timeline of the ingest client.
type publisher struct {
	c      *srvConn
	tl     *rtp.Timeline
	tracks []*inTrack
	byCh   [256]*inTrack

	mu       sync.Mutex // the tracks' packets come from the TCP reader or the UDP sockets
	st       *media.Stream
	recorded bool // RECORD took the stream
	info     codec.Described
	now      time.Time
	frames   uint64
}

// inTrack is one announced track.
type inTrack struct {
	p       *publisher
	kind    string
	control string
	format  rtp.Format
	depack  rtp.Depacketizer
	clock   *rtp.TrackClock
	reorder *rtp.Reorder
	setup   bool
	tcp     bool
	udp     [2]*srvUDP
	pkt     pionrtp.Packet
	lastDTS time.Duration
	hasDTS  bool
	emit    rtp.Emit
	out     func(*pionrtp.Packet)
}

// announce takes a publisher's SDP (RFC 2326 §10.3).
func (c *srvConn) announce(m *Message) {
	if c.pub != nil || len(c.tracks) > 0 {
		_ = c.respond(m, 455, "Method Not Valid in This State", nil, nil)
		return
	}
	t, code, reason := c.parseTarget(m.URL)
	if code != 0 {
		_ = c.respond(m, code, reason, nil, nil)
		return
	}
	if ct := m.Header.Get("Content-Type"); ct != "" && !strings.EqualFold(strings.TrimSpace(ct), "application/sdp") {
		_ = c.respond(m, 415, "Unsupported Media Type", nil, nil)
		return
	}
	medias, _, _, err := parseSDP(m.Body)
	if err != nil {
		c.log.Warn("rtsp: bad ANNOUNCE", "err", err)
		_ = c.respond(m, 400, "Bad Request", nil, nil)
		return
	}
	if st := c.s.deps.Registry.Lookup(t.key); st != nil && st.Publishing() {
		c.log.Warn("rtsp: publish refused: the stream is published already", "stream", t.key.String())
		_ = c.respond(m, 403, "Forbidden", nil, nil)
		return
	}
	p := &publisher{c: c, tl: rtp.NewTimeline()}
	p.tl.Warn = func(key, msg string, args ...any) { c.log.Debug("rtsp: publisher: "+msg, args...) }
	for _, md := range medias {
		tr := p.newTrack(md)
		if tr != nil {
			p.tracks = append(p.tracks, tr)
		}
	}
	if len(p.tracks) == 0 {
		c.log.Warn("rtsp: publish refused: no track srs-lite can take", "stream", t.key.String())
		_ = c.respond(m, 415, "Unsupported Media Type", nil, nil)
		return
	}
	if !c.admit(m, t, sess.Publisher) {
		return
	}
	c.pub = p
	c.newSessionID()
	_ = c.respond(m, 200, "OK", nil, nil)
}

// newTrack makes the track of the first format of md srs-lite can take.
func (p *publisher) newTrack(md sdpMedia) *inTrack {
	for _, f := range md.formats {
		if f.Codec() == media.CodecUnknown {
			continue
		}
		if f.Encoding == "MPEG4-GENERIC" && f.Params["config"] == "" {
			f.Params["config"] = hex.EncodeToString(aac.BuildASC(aac.ObjectLC, f.ClockRate, max(f.Channels, 1)))
		}
		d, err := rtp.NewDepacketizer(f)
		if err != nil {
			continue
		}
		t := &inTrack{p: p, kind: md.kind, control: md.control, format: f, depack: d, clock: p.tl.Track(f.ClockRate)}
		t.emit = t.onFrame
		t.out = t.onPacket
		return t
	}
	return nil
}

// setupRecord answers SETUP of an announced track.
func (c *srvConn) setupRecord(m *Message, ts transportSpec) {
	p := c.pub
	if p.recorded {
		_ = c.respond(m, 455, "Method Not Valid in This State", nil, nil)
		return
	}
	t, code, reason := c.parseTarget(m.URL)
	if code != 0 {
		_ = c.respond(m, code, reason, nil, nil)
		return
	}
	var tr *inTrack
	for _, x := range p.tracks {
		ctl := x.control
		if i := strings.LastIndexByte(ctl, '/'); i >= 0 {
			ctl = ctl[i+1:]
		}
		if ctl != "" && (ctl == t.ctl || strings.HasSuffix(strings.TrimSuffix(m.URL, "/"), "/"+ctl)) {
			tr = x
			break
		}
	}
	if tr == nil && len(p.tracks) == 1 {
		tr = p.tracks[0]
	}
	if tr == nil {
		_ = c.respond(m, 404, "Not Found", nil, nil)
		return
	}
	idx := 0
	for i, x := range p.tracks {
		if x == tr {
			idx = i
		}
	}
	var transport string
	if ts.tcp {
		ch := [2]int{2 * idx, 2*idx + 1}
		if ts.hasCh {
			ch = ts.ch
		}
		tr.tcp = true
		p.byCh[ch[0]], p.byCh[ch[1]] = tr, nil
		transport = "RTP/AVP/TCP;unicast;interleaved=" + strconv.Itoa(ch[0]) + "-" + strconv.Itoa(ch[1]) + ";mode=record"
	} else {
		ports, err := c.listenUDP(ts.client)
		if err != nil {
			_ = c.respond(m, 500, "Internal Server Error", nil, nil)
			return
		}
		tr.udp = ports
		go ports[0].read(c, func(b []byte) { p.onRTP(tr, b) })
		go ports[1].read(c, func(b []byte) { p.onRTCP(tr, b) })
		transport = "RTP/AVP;unicast;client_port=" + strconv.Itoa(ts.client[0]) + "-" + strconv.Itoa(ts.client[1]) +
			";server_port=" + strconv.Itoa(ports[0].port) + "-" + strconv.Itoa(ports[1].port) + ";mode=record"
	}
	tr.setup = true
	_ = c.respond(m, 200, "OK", [][2]string{{"Transport", transport}}, nil)
}

// record answers RECORD: the stream is taken and the media flows.
func (c *srvConn) record(m *Message) {
	p := c.pub
	if p == nil || c.sessionID == "" {
		_ = c.respond(m, 455, "Method Not Valid in This State", nil, nil)
		return
	}
	if p.recorded {
		_ = c.respond(m, 200, "OK", nil, nil)
		return
	}
	n := 0
	for _, t := range p.tracks {
		if t.setup {
			n++
		}
	}
	if n == 0 {
		_ = c.respond(m, 455, "Method Not Valid in This State", nil, nil)
		return
	}
	st, err := c.s.deps.Registry.Publish(c.key)
	if err != nil {
		c.log.Warn("rtsp: publish refused", "stream", c.key.String(), "err", err)
		_ = c.respond(m, 403, "Forbidden", nil, nil)
		return
	}
	c.sess.SetStreamID(st.ID)
	p.mu.Lock()
	p.st, p.recorded = st, true
	p.mu.Unlock()
	var codecs []string
	var video, audio bool
	for _, t := range p.tracks {
		if t.setup {
			codecs = append(codecs, t.format.Encoding)
			video = video || t.kind == "video"
			audio = audio || t.kind == "audio"
		}
	}
	// The SDP says which tracks come: HLS and DVR wait for the video of a
	// camera whose audio comes first (parameter sets in-band).
	st.ExpectTracks(video, audio)
	c.log.Info("rtsp: publish", "stream", c.key.String(), "tracks", strings.Join(codecs, ","), "tcp", p.tracks[0].tcp)
	_ = c.respond(m, 200, "OK", nil, nil)
}

// interleaved takes an interleaved frame of the control connection.
func (p *publisher) interleaved(ch uint8, b []byte) {
	if t := p.byCh[ch]; t != nil {
		p.onRTP(t, b)
		return
	}
	if ch > 0 {
		if t := p.byCh[ch-1]; t != nil {
			p.onRTCP(t, b)
		}
	}
}

// onRTCP takes sender reports for the timeline.
func (p *publisher) onRTCP(t *inTrack, b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, _ = parseRTCP(b, func(sr senderReport) { t.clock.SenderReport(sr.ntp, sr.rtp) })
}

// onRTP depacketizes one packet, in order (reordered first over UDP).
func (p *publisher) onRTP(t *inTrack, b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.st == nil {
		return
	}
	if err := t.pkt.Unmarshal(b); err != nil || t.pkt.Version != 2 {
		return
	}
	p.now = time.Now()
	if t.tcp {
		_ = t.depack.Push(&t.pkt, t.emit)
		return
	}
	if t.reorder == nil {
		t.reorder = rtp.NewReorder(64)
	}
	_, _ = t.reorder.Push(&t.pkt, t.out)
}

func (t *inTrack) onPacket(pk *pionrtp.Packet) { _ = t.depack.Push(pk, t.emit) }

// onFrame puts an access unit on the session clock and publishes it.
func (t *inTrack) onFrame(ts uint32, f *media.Frame) {
	p := t.p
	d := t.clock.Time(ts, p.now)
	if t.hasDTS && d < t.lastDTS {
		d = t.lastDTS // decode order must not go back
	}
	t.lastDTS, t.hasDTS = d, true
	fr := *f
	fr.DTS, fr.PTS = d, d
	fr.Own()
	p.info.Note(p.st, &fr)
	p.frames++
	p.st.Write(&fr)
}

// close ends the publish: the sockets close and the stream is unpublished.
func (p *publisher) close() {
	for _, t := range p.tracks {
		for _, u := range t.udp {
			if u != nil {
				u.close()
			}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.st != nil {
		p.st.Unpublish()
		p.st = nil
	}
}
