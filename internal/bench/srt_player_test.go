package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/protocol/srt"
)

func TestParseSRTURL(t *testing.T) {
	for _, tc := range []struct {
		in   string
		addr string
		cfg  srt.Config
		err  bool
	}{
		{in: "srt://127.0.0.1:10080?streamid=#!::r=live/livestream,m=request", addr: "127.0.0.1:10080",
			cfg: srt.Config{StreamID: "#!::r=live/livestream,m=request"}},
		{in: "srt://h:1/?streamid=live/x&passphrase=0123456789&pbkeylen=32&latency=200", addr: "h:1",
			cfg: srt.Config{StreamID: "live/x", Passphrase: "0123456789", PBKeyLen: 32, Latency: 200 * time.Millisecond}},
		{in: "srt://h:1?streamid=%23%21%3A%3Ar%3Dlive%2Fx", addr: "h:1", cfg: srt.Config{StreamID: "#!::r=live/x"}},
		{in: "rtmp://h/live/x", err: true},
		{in: "srt://?streamid=x", err: true},
		{in: "srt://h:1?latency=x", err: true},
	} {
		addr, cfg, err := ParseSRTURL(tc.in)
		if tc.err != (err != nil) || addr != tc.addr || cfg != tc.cfg {
			t.Errorf("%s: %q %+v %v", tc.in, addr, cfg, err)
		}
	}
}

// TestSRTPlayer plays a synthetic stream served by the SRT server with
// three players.
func TestSRTPlayer(t *testing.T) {
	reg := media.NewRegistry(nil)
	srv, err := srt.NewServer(srt.ServerConfig{}, srt.ServerDeps{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	addr, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	st, err := reg.Publish(media.Key{Vhost: "__defaultVhost__", App: "live", Stream: "x"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer st.Unpublish()
		write := func(c media.Codec, flags media.Flags, dts time.Duration, p []byte) {
			f := media.Frame{Codec: c, Flags: flags, DTS: dts, PTS: dts, Payload: p, SampleRate: 44100, Channels: 2}
			f.Own()
			st.Write(&f)
		}
		write(media.CodecH264, media.FlagConfig, 0, avcSeqHeader[5:])
		write(media.CodecAAC, media.FlagConfig, 0, aacSeqHeader[2:])
		start := time.Now()
		for i := 0; ctx.Err() == nil; i++ {
			dts := time.Duration(i) * frameInterval
			nal := []byte{0, 0, 0, 5, 0x41, 1, 2, 3, 4}
			flags := media.Flags(0)
			if i%30 == 0 {
				nal[4], flags = 0x65, media.FlagKey
			}
			write(media.CodecH264, flags, dts, nal)
			write(media.CodecAAC, 0, dts, make([]byte, 200))
			time.Sleep(time.Until(start.Add(dts + frameInterval)))
		}
	}()
	res, err := Run(context.Background(), Config{URL: fmt.Sprintf("srt://%s?streamid=#!::r=live/x,m=request", addr),
		Players: 3, Duration: 2 * time.Second}, SRTPlayer)
	cancel()
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if res.Connected != 3 || res.TTFF.Count != 3 || res.Frames < 3*40 || res.Failed != 0 {
		t.Errorf("result %+v", res)
	}
}
