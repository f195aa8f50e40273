package srt

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/ts"
	"github.com/srs-lite/srs-lite/internal/media"
)

// TestMeasureLatency measures the end-to-end latency of a 30 fps stream at
// the default settings (120 ms each way), through srs-lite and through
// srt-live-transmit relaying the same publish, on this machine. Each video
// frame carries its send time; the player reads it back. It runs with
// SRT_MEASURE=1 only.
func TestMeasureLatency(t *testing.T) {
	if os.Getenv("SRT_MEASURE") == "" {
		t.Skip("a measurement: set SRT_MEASURE=1")
	}
	const secs = 10
	s := startSRT(t, ServerConfig{WaitPublisher: 5 * time.Second})
	name := streamName()
	ours := measure(t, s.addr, s.addr, "#!::r=live/"+name+",m=publish", "#!::r=live/"+name, secs)
	t.Logf("srs-lite:          %s", ours)

	needTool(t, "srt-live-transmit", "srt-tools")
	in, out := freeUDPPort(t), freeUDPPort(t)
	relay := exec.Command("srt-live-transmit", "-q", fmt.Sprintf("srt://127.0.0.1:%d?mode=listener", in),
		fmt.Sprintf("srt://127.0.0.1:%d?mode=listener", out))
	if err := relay.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = relay.Process.Kill(); _ = relay.Wait() }()
	time.Sleep(300 * time.Millisecond)
	theirs := measure(t, fmt.Sprintf("127.0.0.1:%d", in), fmt.Sprintf("127.0.0.1:%d", out), "", "", secs)
	t.Logf("srt-live-transmit: %s", theirs)
}

// measure publishes a synthetic stream to pubAddr and plays it from
// playAddr, and returns the latency percentiles.
func measure(t *testing.T, pubAddr, playAddr, pubSID, playSID string, secs int) string {
	pub, err := Dial(context.Background(), pubAddr, Config{StreamID: pubSID})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	epoch := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		m := ts.NewMuxer()
		m.SetTracks(media.CodecH264, 0)
		cfg := []byte{1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 4, 0x67, 0x64, 0, 0x1f, 1, 0, 4, 0x68, 0xee, 0x3c, 0x80}
		var out []byte
		start := time.Now()
		for i := 0; time.Since(start) < time.Duration(secs)*time.Second; i++ {
			dts := time.Duration(i) * time.Second / 30
			time.Sleep(time.Until(start.Add(dts)))
			out = out[:0]
			if i%30 == 0 {
				out = m.AppendTables(out)
				f := media.Frame{Codec: media.CodecH264, Flags: media.FlagConfig, Payload: cfg}
				out, _ = m.AppendFrame(out, &f)
			}
			nal := make([]byte, 4+1+8+4000)
			binary.BigEndian.PutUint32(nal, uint32(len(nal)-4))
			nal[4] = 0x41
			flags := media.Flags(0)
			if i%30 == 0 {
				nal[4], flags = 0x65, media.FlagKey
			}
			binary.BigEndian.PutUint64(nal[5:], uint64(time.Since(epoch)))
			f := media.Frame{Codec: media.CodecH264, Flags: flags, DTS: dts, PTS: dts, Payload: nal}
			out, _ = m.AppendFrame(out, &f)
			for len(out) > 0 {
				n := min(LivePayload, len(out))
				if _, err := pub.Write(out[:n]); err != nil {
					return
				}
				out = out[n:]
			}
		}
	}()
	time.Sleep(500 * time.Millisecond)
	play, err := Dial(context.Background(), playAddr, Config{StreamID: playSID})
	if err != nil {
		t.Fatal(err)
	}
	defer play.Close()
	var lat []time.Duration
	d := ts.NewDemuxer(func(f *media.Frame) error {
		if f.Codec == media.CodecH264 && !f.IsConfig() && len(f.Payload) >= 13 {
			sent := time.Duration(binary.BigEndian.Uint64(f.Payload[5:]))
			lat = append(lat, time.Since(epoch)-sent)
		}
		return nil
	})
	buf := make([]byte, 1500)
	_ = play.SetReadDeadline(time.Now().Add(time.Duration(secs) * time.Second))
	for {
		n, err := play.Read(buf)
		if err != nil {
			break
		}
		_, _ = d.Write(buf[:n])
	}
	<-done
	if len(lat) < 10 {
		t.Fatalf("%d frames measured", len(lat))
	}
	lat = lat[len(lat)/10:] // past the start
	slices.Sort(lat)
	p := func(q float64) time.Duration { return lat[int(q*float64(len(lat)-1))].Round(time.Millisecond) }
	return fmt.Sprintf("%d frames, latency p50 %v p95 %v max %v", len(lat), p(0.5), p(0.95), p(1))
}
