package rtpps

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/ps"
	"github.com/srs-lite/srs-lite/internal/media"
)

// loadCameras, loadRate and loadTime shape TestLoad: cameras streaming at
// 2 Mbit/s (25 fps, 10 KB frames), half over TCP passive, half over UDP.
const (
	loadCameras = 16
	loadTime    = 10 * time.Second
	loadFrame   = 10000 // bytes: 25 fps x 10 KB = 2 Mbit/s
)

type countSink struct{ frames, bytes atomic.Int64 }

func (s *countSink) Frame(f *media.Frame) { s.frames.Add(1); s.bytes.Add(int64(len(f.Payload))) }
func (s *countSink) Gone(error)           {}

// TestLoad measures the receiver's CPU and memory with 16 cameras of 2
// Mbit/s sending at once, from a child process so that only the receiver
// is measured. It runs when RTPPS_LOAD=1 (it takes loadTime).
func TestLoad(t *testing.T) {
	if os.Getenv("RTPPS_LOAD") != "1" {
		t.Skip("SKIP: set RTPPS_LOAD=1 to measure 16 cameras of 2 Mbit/s")
	}
	r, tcp, udp := newReceiver(t)
	sinks := make([]*countSink, loadCameras)
	for i := range sinks {
		sinks[i] = &countSink{}
		defer r.Expect(uint32(1000+i), sinks[i])()
	}
	var before syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoadSender$", "-test.v")
	cmd.Env = append(os.Environ(), "RTPPS_LOAD_CHILD="+tcp+","+udp)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sender: %v\n%s", err, out)
	}
	time.Sleep(200 * time.Millisecond)
	var after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
	var frames, bytes int64
	for _, s := range sinks {
		frames += s.frames.Load()
		bytes += s.bytes.Load()
	}
	var lost uint64
	for _, st := range r.Stats() {
		lost += st.Lost
	}
	t.Logf("%d cameras x 2 Mbit/s for %v: %d frames, %.1f Mbit/s of payload, %d packets lost; receiver CPU %v = %.1f%% of one core; max RSS %d MiB (test binary included)",
		loadCameras, loadTime, frames, float64(bytes)*8/loadTime.Seconds()/1e6, lost, cpu,
		100*cpu.Seconds()/loadTime.Seconds(), after.Maxrss/1024)
	if want := int64(loadCameras * 25 * loadTime / time.Second * 9 / 10); frames < want {
		t.Errorf("%d frames, want at least %d", frames, want)
	}
}

// TestLoadSender is TestLoad's child: it sends the cameras' streams.
func TestLoadSender(t *testing.T) {
	addrs := os.Getenv("RTPPS_LOAD_CHILD")
	if addrs == "" {
		t.Skip("run by TestLoad")
	}
	tcp, udp, _ := strings.Cut(addrs, ",")
	// One camera's frames: 25 fps, a keyframe every 25, audio dropped.
	m := ps.NewMuxer()
	var frames []piece
	for _, f := range demuxedPieces(t) {
		if f.Codec.IsAudio() {
			continue
		}
		if !f.IsConfig() {
			p := binary.BigEndian.AppendUint32(nil, loadFrame)
			p = append(p, f.Payload[4])
			f.Payload = append(p, bytes.Repeat([]byte{0x9a}, loadFrame-1)...)
		}
		b, err := m.AppendFrame(nil, &f)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 0 {
			frames = append(frames, piece{b, uint32(ps.Ticks(f.DTS))})
		}
	}
	var wg sync.WaitGroup
	for i := range loadCameras {
		network, addr := "tcp", tcp
		if i%2 == 1 {
			network, addr = "udp", udp
		}
		c, err := net.Dial(network, addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		s := NewSender(c, network == "tcp", uint32(1000+i), PayloadType)
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			for n := 0; time.Since(start) < loadTime; n++ {
				p := frames[n%len(frames)]
				loop := uint32(n / len(frames) * len(frames) * 3600)
				if err := s.WritePS(p.b, p.ts+loop); err != nil {
					t.Error(err)
					return
				}
				time.Sleep(time.Until(start.Add(time.Duration(n+1) * 40 * time.Millisecond)))
			}
		}()
	}
	wg.Wait()
	fmt.Println("sent", strconv.Itoa(loadCameras), "streams")
}

// demuxedPieces returns the frames of the GStreamer file.
func demuxedPieces(t testing.TB) []media.Frame {
	var d ps.Demuxer
	var out []media.Frame
	emit := func(f *media.Frame) {
		g := *f
		g.Payload = bytes.Clone(f.Payload)
		out = append(out, g)
	}
	for _, p := range pieces(t) {
		_ = d.Write(p.b, true, emit)
	}
	return out
}
