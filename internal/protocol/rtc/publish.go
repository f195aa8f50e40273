//go:build !nortc && !tiny

package rtc

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/srs-lite/srs-lite/internal/format/codec"
	"github.com/srs-lite/srs-lite/internal/format/ogg"
	rtpfmt "github.com/srs-lite/srs-lite/internal/format/rtp"
	"github.com/srs-lite/srs-lite/internal/media"
)

// pliInterval rate-limits keyframe requests to a publisher.
const pliInterval = 500 * time.Millisecond

// publisher is a WHIP session's receiving side: SRTP packets, reordered
// and depacketized, written into the stream. Everything but requestPLI
// runs in the goroutine that reads the session's socket.
type publisher struct {
	p      *peer
	st     *media.Stream
	tl     *rtpfmt.Timeline
	tracks []*recvTrack
	now    time.Time

	mu      sync.Mutex
	lastPLI time.Time
	ended   bool

	// Opus to AAC through the audio bridge, when there is one: Stream.Write
	// has one writer at a time, the socket's goroutine or the bridge's.
	wmu      sync.Mutex
	toAAC    func(*media.Frame)
	stopAAC  func()
	warnedNo bool
}

// recvTrack is one received track.
type recvTrack struct {
	pt      uint8
	ssrc    atomic.Uint32 // learned from the first packet; read by requestPLI
	video   bool
	depack  rtpfmt.Depacketizer
	reorder *rtpfmt.Reorder
	clock   *rtpfmt.TrackClock
	lastDTS time.Duration
	hasDTS  bool
	// Receiver report state (RFC 3550 §6.4.2).
	maxSeq     uint16
	received   uint32
	lost       uint32
	lastSR     uint32
	lastSRAt   time.Time
	startedSeq bool
}

func newPublisher(p *peer, st *media.Stream, ms []answerMedia) *publisher {
	pub := &publisher{p: p, st: st, tl: rtpfmt.NewTimeline()}
	for _, m := range ms {
		if !m.accept {
			continue
		}
		f := rtpfmt.Format{PayloadType: m.f.pt, Encoding: m.f.name, ClockRate: m.f.clock, Channels: m.f.channels,
			Params: rtpfmt.ParseFmtp(m.f.fmtp)}
		d, err := rtpfmt.NewDepacketizer(f)
		if err != nil {
			continue
		}
		t := &recvTrack{pt: m.f.pt, video: m.video, depack: d, reorder: rtpfmt.NewReorder(128), clock: pub.tl.Track(m.f.clock)}
		pub.tracks = append(pub.tracks, t)
	}
	p.onRTP = pub.onRTP
	p.onRTCP = pub.onRTCP
	// Before the first frame: the HLS segmenter waits for the video the
	// offer announces rather than start its first segment on the audio
	// that usually comes first.
	st.ExpectTracks(pub.hasVideo(), pub.hasOpus())
	if !pub.hasOpus() {
		return pub
	}
	// Before the first packet can arrive: the Opus track's config goes
	// first, so that the readers of that track (WHEP, fMP4 HLS) never see
	// the bridge's AAC, and the Opus goes to the bridge from the start.
	// WebRTC's Opus is 48 kHz; a live stream joined mid-way has no encoder
	// priming to skip (pre-skip 0), as the bridge's own Ogg feed says.
	head := ogg.AppendOpusHead(nil, ogg.OpusHead{Channels: 2, InputRate: 48000})
	cfg := media.Frame{Codec: media.CodecOpus, Flags: media.FlagConfig, Track: media.TrackOpus, SampleRate: 48000, Channels: 2,
		Payload: head}
	cfg.Own()
	pub.write(&cfg)
	if to := p.s.deps.ToAAC; to != nil {
		push, stop, err := to(st.Key(), pub.write)
		if err != nil {
			p.log.Info("rtc: WHIP Opus not converted to AAC: RTMP, HTTP-FLV, TS-HLS and SRT players get video only (WHEP and fMP4 HLS get the Opus)",
				"why", err.Error())
		} else {
			pub.toAAC, pub.stopAAC = push, stop
		}
	} else {
		p.log.Info("rtc: no audio bridge in this build: RTMP, HTTP-FLV, TS-HLS and SRT players get video only (WHEP and fMP4 HLS get the Opus)")
	}
	return pub
}

// hasVideo reports whether the publisher sends video.
func (pub *publisher) hasVideo() bool {
	for _, t := range pub.tracks {
		if t.video {
			return true
		}
	}
	return false
}

// hasOpus reports whether the publisher sends Opus.
func (pub *publisher) hasOpus() bool {
	for _, t := range pub.tracks {
		if !t.video {
			return true
		}
	}
	return false
}

// run publishes until the session ends, sending receiver reports and
// asking for a first keyframe.
func (pub *publisher) run(ctx context.Context) error {
	pub.p.s.setPublisher(pub.st.Key(), pub)
	defer pub.p.s.setPublisher(pub.st.Key(), nil)

	pub.requestPLI()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-t.C:
		}
		if !pub.p.alive() {
			pub.p.close(errConsent)
			continue
		}
		pub.p.decMu.Lock()
		rr := pub.receiverReport()
		pub.p.decMu.Unlock()
		_ = pub.p.sendRTCP(rr)
	}
}

// end unpublishes the stream, once the socket no longer feeds it.
func (pub *publisher) end() {
	pub.p.decMu.Lock() // no packet is being written
	stop := pub.stopAAC
	pub.ended, pub.toAAC, pub.stopAAC = true, nil, nil
	pub.p.decMu.Unlock()
	if stop != nil {
		stop() // the bridge's goroutine writes no more
	}
	pub.wmu.Lock()
	defer pub.wmu.Unlock()
	pub.st.Unpublish()
}

// write is the stream's one writer, for the socket's goroutine and the
// bridge's.
func (pub *publisher) write(f *media.Frame) {
	pub.wmu.Lock()
	defer pub.wmu.Unlock()
	if f.IsConfig() {
		if v, ok := codec.VideoInfo(f); ok {
			pub.st.SetVideoInfo(v)
		} else if a, ok := codec.AudioInfo(f); ok && f.Track != media.TrackMain {
			pub.st.SetOpusAudioInfo(a)
		} else if ok {
			pub.st.SetAudioInfo(a)
		}
	}
	pub.st.Write(f)
}

// onRTP takes one decrypted packet (under p.decMu).
func (pub *publisher) onRTP(h *rtp.Header, pkt []byte) {
	if pub.ended {
		return
	}
	var t *recvTrack
	for _, tr := range pub.tracks {
		if tr.pt == h.PayloadType {
			t = tr
			break
		}
	}
	if t == nil {
		return // RTX, FEC, padding probes: not ours
	}
	if t.ssrc.Load() != h.SSRC {
		t.ssrc.Store(h.SSRC)
		if t.video {
			// The first packet names the SSRC a PLI must carry: ask for
			// a keyframe now, as the frames sent before the session was
			// up are lost (RFC 4585 §6.3.1).
			_ = pub.p.sendRTCP(appendPLI(nil, 1, h.SSRC))
		}
	}
	var rp rtp.Packet
	if err := rp.Unmarshal(pkt); err != nil {
		return
	}
	t.count(rp.SequenceNumber)
	pub.now = time.Now()
	lost, _ := t.reorder.Push(&rp, func(q *rtp.Packet) {
		_ = t.depack.Push(q, func(ts uint32, f *media.Frame) { pub.frame(t, ts, f) })
	})
	if lost > 0 && t.video {
		pub.requestPLI()
	}
}

// frame writes one access unit into the stream.
func (pub *publisher) frame(t *recvTrack, ts uint32, f *media.Frame) {
	d := t.clock.Time(ts, pub.now)
	if t.hasDTS && d < t.lastDTS {
		d = t.lastDTS // decode order never goes back
	}
	t.lastDTS, t.hasDTS = d, true
	f.DTS, f.PTS = d, d
	f.Own()
	if f.Codec == media.CodecOpus {
		// The Opus as it came is the stream's second audio track (WHEP
		// viewers, fMP4 HLS); the bridge, when there is one, makes the
		// main track's AAC of it and keeps a reference of its own.
		f.Track = media.TrackOpus
		if pub.toAAC != nil {
			pub.toAAC(f)
		}
	}
	pub.write(f)
}

// count updates a track's receiver statistics.
func (t *recvTrack) count(seq uint16) {
	t.received++
	if !t.startedSeq {
		t.startedSeq, t.maxSeq = true, seq
		return
	}
	if d := int16(seq - t.maxSeq); d > 0 {
		if d > 1 {
			t.lost += uint32(d - 1)
		}
		t.maxSeq = seq
	}
}

// receiverReport is the periodic RTCP RR of the publisher's tracks.
func (pub *publisher) receiverReport() []byte {
	var rs []reception
	for _, t := range pub.tracks {
		if t.ssrc.Load() == 0 {
			continue
		}
		var dlsr uint32
		if !t.lastSRAt.IsZero() {
			dlsr = uint32(time.Since(t.lastSRAt).Seconds() * 65536)
		}
		rs = append(rs, reception{ssrc: t.ssrc.Load(), lost: t.lost, highest: uint32(t.maxSeq), lsr: t.lastSR, dlsr: dlsr})
	}
	if len(rs) == 0 {
		return nil
	}
	return appendRR(nil, 1, rs)
}

// onRTCP takes the publisher's sender reports (lip sync).
func (pub *publisher) onRTCP(pk *rtcpPacket) {
	ntp, ts, ok := pk.senderReport()
	if !ok {
		return
	}
	for _, t := range pub.tracks {
		if t.ssrc.Load() == pk.ssrc {
			t.clock.SenderReport(ntp, ts)
			t.lastSR = uint32(ntp >> 16)
			t.lastSRAt = time.Now()
		}
	}
}

// requestPLI asks the publisher for a keyframe (RFC 4585 §6.3.1), at most
// once per pliInterval.
func (pub *publisher) requestPLI() {
	pub.mu.Lock()
	if time.Since(pub.lastPLI) < pliInterval {
		pub.mu.Unlock()
		return
	}
	pub.lastPLI = time.Now()
	pub.mu.Unlock()
	for _, t := range pub.tracks {
		if t.video {
			// Before the first packet the SSRC is not known yet: 0 asks
			// for any video of the session.
			_ = pub.p.sendRTCP(appendPLI(nil, 1, t.ssrc.Load()))
		}
	}
}

// setPublisher records (or, with nil, forgets) the WHIP publisher of a
// stream, for viewers' keyframe requests.
func (s *Server) setPublisher(k media.Key, pub *publisher) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pubs == nil {
		s.pubs = map[media.Key]*publisher{}
	}
	if pub == nil {
		delete(s.pubs, k)
		return
	}
	s.pubs[k] = pub
}

// requestKeyframe forwards a viewer's PLI or FIR, or a new viewer's need,
// to the stream's WHIP publisher; other sources are left alone (the GOP
// cache starts every viewer at a keyframe).
func (s *Server) requestKeyframe(k media.Key) {
	s.mu.Lock()
	pub := s.pubs[k]
	s.mu.Unlock()
	if pub != nil {
		pub.requestPLI()
	}
}
