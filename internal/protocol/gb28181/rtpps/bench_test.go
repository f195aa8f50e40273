package rtpps

import (
	"testing"

	"github.com/pion/rtp"

	"github.com/srs-lite/srs-lite/internal/media"
)

type nullSink struct{ n int }

func (s *nullSink) Frame(*media.Frame) { s.n++ }
func (s *nullSink) Gone(error)         {}

// packetsOf returns the GStreamer stream as UDP RTP packets.
func packetsOf(t testing.TB) [][]byte {
	w := &packetList{}
	s := NewSender(w, false, 1, PayloadType)
	for _, p := range pieces(t) {
		if err := s.WritePS(p.b, p.ts); err != nil {
			t.Fatal(err)
		}
	}
	return w.pkts
}

type packetList struct{ pkts [][]byte }

func (l *packetList) Write(p []byte) (int, error) {
	l.pkts = append(l.pkts, append([]byte(nil), p...))
	return len(p), nil
}

// BenchmarkPacket runs RTP packets through the parser, the reorder buffer
// and the demuxer of one stream, as the UDP reader does; per op: one
// packet.
func BenchmarkPacket(b *testing.B) {
	pkts := packetsOf(b)
	r := NewReceiver(nil, nil, nil)
	defer r.Close()
	sk := &nullSink{}
	defer r.Expect(1, sk)()
	s := r.lookup(1)
	var pkt rtp.Packet
	seq := uint16(0)
	size := 0
	for _, p := range pkts {
		size += len(p)
	}
	b.SetBytes(int64(size / len(pkts)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p := pkts[i%len(pkts)]
		parseRTP(&pkt, p)
		pkt.SequenceNumber = seq
		seq++
		s.packet(&pkt, "udp", nil, true)
	}
	b.ReportMetric(float64(sk.n)/float64(b.N), "frames/op")
}

// TestPacketAllocs pins zero allocations per packet in steady state.
func TestPacketAllocs(t *testing.T) {
	pkts := packetsOf(t)
	r := NewReceiver(nil, nil, nil)
	defer r.Close()
	sk := &nullSink{}
	defer r.Expect(1, sk)()
	s := r.lookup(1)
	var pkt rtp.Packet
	seq := uint16(0)
	run := func() {
		for _, p := range pkts {
			parseRTP(&pkt, p)
			pkt.SequenceNumber = seq
			seq++
			s.packet(&pkt, "udp", nil, true)
		}
	}
	run()
	if n := testing.AllocsPerRun(5, run); n != 0 {
		t.Errorf("%v allocations per run of %d packets, want 0", n, len(pkts))
	}
}
