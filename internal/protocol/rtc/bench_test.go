//go:build !nortc && !tiny

package rtc

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/pion/srtp/v3"

	rtpfmt "github.com/srs-lite/srs-lite/internal/format/rtp"
	"github.com/srs-lite/srs-lite/internal/media"
)

// benchPlayer returns a viewer whose SRTP context uses profile and whose
// packets go to a UDP socket nobody reads.
func benchPlayer(b *testing.B, prof srtp.ProtectionProfile) (*player, func()) {
	s, err := New(Config{}, Deps{Registry: media.NewRegistry(func(string) media.Options { return media.DefaultOptions() })})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Listen("127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	p := newPeer(s, "bench", false)
	p.log = s.log
	a := netip.MustParseAddrPort(sink.LocalAddr().String())
	p.addr.Store(&a)
	kl, _ := prof.KeyLen()
	sl, _ := prof.SaltLen()
	if p.enc, err = srtp.CreateContext(make([]byte, kl), make([]byte, sl), prof); err != nil {
		b.Fatal(err)
	}
	pl := &player{p: p, key: media.Key{}, plain: make([]byte, 1500), enc: make([]byte, 1500),
		rtx: make([]byte, 1500), rtxEnc: make([]byte, 1500)}
	pl.video = newSendTrack(102, media.CodecH264, 90000)
	return pl, func() { pl.release(); _ = sink.Close(); _ = s.Close() }
}

// benchFrame is a 24 KB H.264 P frame (about 20 packets) in a pooled buffer.
func benchFrame() media.Frame {
	const n = 24 << 10
	buf := media.GetBuf(n)
	b := buf.Bytes()[:n]
	binary.BigEndian.PutUint32(b, n-4)
	b[4] = 0x41 // P slice, nal_ref_idc 2
	var f media.Frame
	f.Codec = media.CodecH264
	f.SetBuf(buf, 0, n)
	return f
}

// BenchmarkSendFrame is a viewer's work per frame: the shared packets
// (built once, cached on the frame), then per packet the header rewrite,
// SRTP protection and the send.
func BenchmarkSendFrame(b *testing.B) {
	for _, prof := range []srtp.ProtectionProfile{srtp.ProtectionProfileAes128CmHmacSha1_80, srtp.ProtectionProfileAeadAes128Gcm} {
		b.Run(prof.String(), func(b *testing.B) {
			pl, done := benchPlayer(b, prof)
			defer done()
			f := benchFrame()
			defer f.Release()
			b.ReportAllocs()
			b.SetBytes(int64(len(f.Payload)))
			for b.Loop() {
				if err := pl.frame(&f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkProtect is the per-packet part alone, without the send.
func BenchmarkProtect(b *testing.B) {
	pl, done := benchPlayer(b, srtp.ProtectionProfileAes128CmHmacSha1_80)
	defer done()
	f := benchFrame()
	defer f.Release()
	pk := rtpfmt.NewPacketizer(media.CodecH264, 90000, rtpfmt.DefaultMTU)
	wire := pk.Packets(&f)
	var pkt []byte
	rtpfmt.ForEach(wire, func(p []byte) bool { pkt = p; return false })
	t := pl.video
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		bb := pl.plain[:len(pkt)]
		rtpfmt.Header(bb, pkt, t.pt, t.seq, t.tsOff, t.ssrc)
		copy(bb[rtpfmt.HeaderLen:], pkt[rtpfmt.HeaderLen:])
		t.seq++
		if _, err := pl.p.protect(pl.enc[:0], bb, &pl.hdr); err != nil {
			b.Fatal(err)
		}
	}
}
