package rtp

import (
	"reflect"
	"testing"
	"time"

	"github.com/pion/rtp"
)

func TestReorder(t *testing.T) {
	tests := []struct {
		name   string
		window int
		in     []uint16
		out    []uint16
		lost   int
	}{
		{"in order", 4, []uint16{1, 2, 3}, []uint16{1, 2, 3}, 0},
		{"swapped", 4, []uint16{1, 3, 2, 4}, []uint16{1, 2, 3, 4}, 0},
		{"duplicate and late", 4, []uint16{1, 2, 2, 1, 3}, []uint16{1, 2, 3}, 0},
		{"lost beyond the window", 4, []uint16{1, 3, 4, 5, 6}, []uint16{1, 3, 4, 5, 6}, 1},
		{"held, then far ahead", 4, []uint16{1, 3, 9}, []uint16{1, 3, 9}, 6},
		{"wrap", 4, []uint16{65534, 0, 65535, 1}, []uint16{65534, 65535, 0, 1}, 0},
		{"sender restart", 4, []uint16{100, 101, 40000, 40001}, []uint16{100, 101, 40000, 40001}, 0},
		{"far ahead", 4, []uint16{1, 20, 21}, []uint16{1, 20, 21}, 18},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReorder(tt.window)
			var out []uint16
			lost := 0
			for _, s := range tt.in {
				p := &rtp.Packet{Header: rtp.Header{SequenceNumber: s}, Payload: []byte{byte(s)}}
				l, _ := r.Push(p, func(p *rtp.Packet) {
					if p.Payload[0] != byte(p.SequenceNumber) {
						t.Fatalf("packet %d carries the payload of %d", p.SequenceNumber, p.Payload[0])
					}
					out = append(out, p.SequenceNumber)
				})
				lost += l
			}
			if !reflect.DeepEqual(out, tt.out) || lost != tt.lost {
				t.Fatalf("out %v lost %d, want %v %d", out, lost, tt.out, tt.lost)
			}
		})
	}
}

func BenchmarkReorderInOrder(b *testing.B) {
	r := NewReorder(64)
	p := &rtp.Packet{Payload: make([]byte, 1200)}
	out := func(*rtp.Packet) {}
	b.ReportAllocs()
	for b.Loop() {
		p.SequenceNumber++
		r.Push(p, out)
	}
}

func TestTimeline(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tl := NewTimeline()
	var warned []string
	tl.Warn = func(key, msg string, args ...any) { warned = append(warned, key) }
	v := tl.Track(90000)
	a := tl.Track(8000)

	// First-packet alignment: audio's first packet came 100 ms later.
	if d := v.Time(4294967000, t0); d != 0 {
		t.Fatalf("first video %s", d)
	}
	if d := a.Time(500, t0.Add(100*time.Millisecond)); d != 100*time.Millisecond {
		t.Fatalf("first audio %s", d)
	}
	// Across the 32-bit wrap: +9000 ticks is 100 ms.
	if d := v.Time(uint32(4294967000+9000-1<<32), t0.Add(100*time.Millisecond)); d != 100*time.Millisecond {
		t.Fatalf("wrapped video %s", d)
	}
	// Sender reports say audio ts 500 was captured 50 ms after video ts
	// 4294967000: audio moves from 100 ms to 50 ms.
	ntp := func(d time.Duration) uint64 {
		base := uint64(3_900_000_000) << 32
		return base + uint64(d)*(1<<32)/uint64(time.Second)
	}
	v.SenderReport(ntp(0), 4294967000)
	a.SenderReport(ntp(50*time.Millisecond), 500)
	if d := a.Time(500+800, t0.Add(200*time.Millisecond)); d < 149*time.Millisecond || d > 151*time.Millisecond {
		t.Fatalf("audio after the SR alignment %s, want 150ms", d)
	}
	// A jump of an hour is re-based on the arrival time.
	if d := v.Time(uint32(4294967000+9000+90000*3600-1<<32), t0.Add(300*time.Millisecond)); d != 300*time.Millisecond {
		t.Fatalf("after a jump %s", d)
	}
	if len(warned) != 1 || warned[0] != "rtp-jump" {
		t.Fatalf("warnings %v", warned)
	}
}
