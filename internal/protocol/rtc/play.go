//go:build !nortc && !tiny

package rtc

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/pion/rtp"

	rtpfmt "github.com/srs-lite/srs-lite/internal/format/rtp"
	"github.com/srs-lite/srs-lite/internal/media"
)

// historySize is the number of recent packets a viewer's track keeps for
// NACKs (RFC 4585 §6.2.1): a little more than a second of 1 Mbps video.
const historySize = 512

// sendTrack is one track a viewer receives.
type sendTrack struct {
	pt    uint8
	ssrc  uint32
	clock uint32
	seq   uint16
	tsOff uint32
	codec media.Codec
	pk    *rtpfmt.Packetizer // shares each frame's packets with every viewer (media.WireRTP)

	// For sender reports.
	packets, octets uint32
	lastTS          uint32
	lastAt          time.Time

	hist []histPacket // indexed by seq % historySize
}

// histPacket is a sent packet kept for retransmission: the shared wire
// packet (a reference held on its frame's buffer, no copy) and the
// header fields this viewer gave it. A retransmission is encrypted again
// with the same sequence number, which gives the same SRTP packet.
type histPacket struct {
	seq uint16
	ok  bool
	buf *media.Buf // nil when pkt is a copy
	pkt []byte
}

// release drops the entry's reference.
func (e *histPacket) release() {
	if e.buf != nil {
		e.buf.Release()
		e.buf = nil
	}
	e.ok = false
}

// player is a WHEP viewer's sending side.
type player struct {
	p            *peer
	key          media.Key
	streamID     string // for logging B-frame drops once per stream
	video, audio *sendTrack
	mu           sync.Mutex // the tracks, between the sender and the RTCP reader
	plain, enc   []byte
	rtx, rtxEnc  []byte // for retransmissions, from the RTCP goroutine
	hdr, rtxHdr  rtp.Header
	warnedB      bool
	bDropped     uint64
	triedOpus    bool // asked the audio bridge for an Opus companion
}

func newSendTrack(pt uint8, c media.Codec, clock uint32) *sendTrack {
	t := &sendTrack{pt: pt, ssrc: randUint32(), clock: clock, seq: uint16(randUint32()), tsOff: randUint32(),
		codec: c, pk: rtpfmt.NewPacketizer(c, clock, rtpfmt.DefaultMTU)}
	if c.IsVideo() {
		t.hist = make([]histPacket, historySize)
	}
	return t
}

// readBatch is how many frames a viewer's Read returns at most. One: each
// frame goes out as it comes, as SRS sends RTC (no merged write). The
// reader merges writes for a larger batch (mw_latency, mw_msgs: up to
// 350 ms of media per Read), which an RTMP player's writev wants but which
// held WHEP viewers' frames back by 300 ms (glass-to-glass 302-366 ms with
// a batch of 16, 33-48 ms with 1) for a few % more CPU at 300 viewers.
const readBatch = 1

// run sends the stream until the session ends.
func (pl *player) run(ctx context.Context, rd *media.Reader) error {
	batch := make([]media.Frame, readBatch)
	go pl.reports(ctx)
	defer pl.release()
	var pc media.Pacer
	for {
		n, err := rd.Read(ctx, batch)
		for i := range n {
			if err == nil {
				if d := pc.Frame(&batch[i], time.Now()); d > 0 {
					pl.p.s.stats.Paced.Add(1)
					err = pc.Sleep(ctx, d)
				}
			}
			if err == nil {
				err = pl.frame(&batch[i])
			}
			batch[i].Release()
		}
		if err != nil {
			return err
		}
	}
}

// frame sends one frame to the viewer.
func (pl *player) frame(f *media.Frame) error {
	var t *sendTrack
	switch {
	case f.Codec.IsVideo() && pl.video != nil && f.Codec == pl.video.codec:
		t = pl.video
	case (f.Codec == media.CodecOpus || f.Codec == media.CodecPCMA || f.Codec == media.CodecPCMU) && pl.audio != nil &&
		pl.audio.codec == f.Codec:
		t = pl.audio
	case f.Codec == media.CodecAAC && pl.audio != nil && pl.audio.codec == media.CodecOpus && !pl.triedOpus:
		pl.triedOpus = true
		go pl.startOpus() // the bridge may probe ffmpeg and start a child: not in the video's way
		return nil
	default:
		return nil
	}
	if f.IsConfig() {
		t.pk.SetConfig(f)
		return nil
	}
	if f.Codec == media.CodecH264 && !f.IsKey() && f.PTS != f.DTS && isBFrame(f.Payload) {
		pl.bDropped++
		if !pl.warnedB {
			pl.warnedB = true
			if pl.p.s.firstBWarning(pl.streamID) {
				pl.p.log.Warn("rtc: B-frames dropped for WebRTC viewers (browsers do not reorder)", "stream", pl.key.String())
			}
		}
		return nil
	}
	wire := t.pk.Packets(f)
	// Shared packets stay valid while their frame's buffer lives: the
	// history holds references rather than copies.
	var shared *media.Buf
	if b := f.Buf(); b != nil && t.hist != nil && b.Wire(media.WireRTP, uint32(t.pk.MTU())) != nil {
		shared = b
	}
	var err error
	pl.mu.Lock()
	rtpfmt.ForEach(wire, func(pkt []byte) bool {
		err = pl.sendPacket(t, pkt, shared)
		return err == nil
	})
	pl.mu.Unlock()
	return err
}

// sendPacket rewrites a shared packet's header for this viewer (payload
// type, sequence, timestamp offset, SSRC), protects and sends it.
func (pl *player) sendPacket(t *sendTrack, pkt []byte, shared *media.Buf) error {
	if len(pkt) < rtpfmt.HeaderLen || len(pkt) > len(pl.plain) {
		return nil
	}
	b := pl.plain[:len(pkt)]
	rtpfmt.Header(b, pkt, t.pt, t.seq, t.tsOff, t.ssrc)
	copy(b[rtpfmt.HeaderLen:], pkt[rtpfmt.HeaderLen:])
	ts := binary.BigEndian.Uint32(b[4:])
	out, err := pl.p.protect(pl.enc[:0], b, &pl.hdr)
	if err != nil {
		return err
	}
	if t.hist != nil {
		e := &t.hist[t.seq%historySize]
		e.release()
		if shared != nil {
			shared.Retain()
			e.buf, e.pkt = shared, pkt
		} else {
			e.pkt = append(e.pkt[:0:0], pkt...)
		}
		e.seq, e.ok = t.seq, true
	}
	t.seq++
	t.packets++
	t.octets += uint32(len(pkt) - 12)
	t.lastTS, t.lastAt = ts, time.Now()
	if err := pl.p.send(out); err != nil && !errors.Is(err, io.EOF) {
		return nil // UDP send errors are transient (ICMP unreachable, buffers)
	}
	return nil
}

// startOpus asks the audio bridge for the Opus version of the stream's AAC
// and sends it until the session ends; it runs in a goroutine of its own
// (the audio track is its alone).
func (pl *player) startOpus() {
	opus := pl.p.s.deps.Opus
	if opus == nil {
		pl.p.log.Info("rtc: AAC audio not sent: no audio bridge in this build (video only)")
		return
	}
	rd, release, err := opus(pl.key)
	if err != nil {
		pl.p.log.Info("rtc: AAC audio not sent (video only)", "why", err.Error())
		return
	}
	defer release()
	batch := make([]media.Frame, readBatch)
	for {
		n, err := rd.Read(pl.p.ctx, batch)
		for i := range n {
			if err == nil {
				err = pl.frame(&batch[i])
			}
			batch[i].Release()
		}
		if err != nil {
			return
		}
	}
}

// reports sends RTCP sender reports every second (RFC 3550 §6.4.1) for lip
// sync, and watches consent.
func (pl *player) reports(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !pl.p.alive() {
			pl.p.close(errConsent)
			return
		}
		now := time.Now()
		var pkts []byte
		pl.mu.Lock()
		for _, tr := range []*sendTrack{pl.video, pl.audio} {
			if tr == nil || tr.packets == 0 {
				continue
			}
			ts := tr.lastTS + uint32(now.Sub(tr.lastAt).Seconds()*float64(tr.clock))
			pkts = appendSR(pkts, tr.ssrc, ntpTime(now), ts, tr.packets, tr.octets)
		}
		pl.mu.Unlock()
		_ = pl.p.sendRTCP(pkts)
	}
}

// onRTCP answers a viewer's feedback: NACKs from the history, PLI and FIR
// forwarded to a WHIP publisher (other sources give new viewers a keyframe
// from the GOP cache, and a viewer that lost one gets the next).
func (pl *player) onRTCP(pk *rtcpPacket) {
	switch {
	case pk.typ == rtcpRTPFB && pk.fmt == 1:
		pl.p.s.stats.NACKs.Add(1)
		pl.mu.Lock()
		if t := pl.video; t != nil && pk.media == t.ssrc {
			pk.nacks(func(seq uint16) {
				if e := &t.hist[seq%historySize]; e.ok && e.seq == seq {
					pl.p.s.stats.Retransmits.Add(1)
					pl.resend(t, e)
				}
			})
		}
		pl.mu.Unlock()
	case pk.typ == rtcpPSFB && (pk.fmt == 1 || pk.fmt == 4):
		pl.p.s.stats.PLIs.Add(1)
		pl.p.s.requestKeyframe(pl.key)
	}
}

// resend protects a packet of the history again and sends it (under pl.mu).
func (pl *player) resend(t *sendTrack, e *histPacket) {
	if len(e.pkt) > len(pl.rtx) {
		return
	}
	b := pl.rtx[:len(e.pkt)]
	rtpfmt.Header(b, e.pkt, t.pt, e.seq, t.tsOff, t.ssrc)
	copy(b[rtpfmt.HeaderLen:], e.pkt[rtpfmt.HeaderLen:])
	if out, err := pl.p.protect(pl.rtxEnc[:0], b, &pl.rtxHdr); err == nil {
		_ = pl.p.send(out)
	}
}

// release drops the history's references.
func (pl *player) release() {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	for _, t := range []*sendTrack{pl.video, pl.audio} {
		if t == nil {
			continue
		}
		t.pk.Close()
		for i := range t.hist {
			t.hist[i].release()
		}
	}
}

// ntpTime is t in the 64-bit NTP format (RFC 3550 §4).
func ntpTime(t time.Time) uint64 {
	const ntpEpochOffset = 2208988800
	secs := uint64(t.Unix() + ntpEpochOffset)
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return secs<<32 | frac
}
