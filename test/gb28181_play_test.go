package test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/ps"
	"github.com/srs-lite/srs-lite/internal/protocol/gb28181/gbsim"
	"github.com/srs-lite/srs-lite/internal/protocol/gb28181/rtpps"
)

// gbPS makes (once per test binary) a program stream of
// 640x360 25 fps H.264 (a keyframe a second) and AAC with GStreamer's
// mpegpsmux, the independent muxer cameras are compared with.
var gbPSOnce sync.Once
var gbPSData []byte
var gbPSErr error

func gbPS(t *testing.T) []byte {
	t.Helper()
	needTools(t, "gst-launch-1.0")
	gbPSOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gbps")
		if err != nil {
			gbPSErr = err
			return
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "cam.ps")
		cmd := exec.Command("gst-launch-1.0", "-q",
			"videotestsrc", "num-buffers=1500", "!", "video/x-raw,format=I420,width=640,height=360,framerate=25/1", "!",
			"x264enc", "key-int-max=25", "tune=zerolatency", "speed-preset=ultrafast", "bitrate=800", "!", "video/x-h264,profile=baseline", "!", "h264parse", "!",
			"mpegpsmux", "name=m", "!", "filesink", "location="+out,
			"audiotestsrc", "num-buffers=2590", "!", "audio/x-raw,rate=44100,channels=1", "!", "avenc_aac", "!", "aacparse", "!", "m.")
		if b, err := cmd.CombinedOutput(); err != nil {
			gbPSErr = fmt.Errorf("gst-launch: %v: %s", err, b)
			return
		}
		gbPSData, gbPSErr = os.ReadFile(out)
	})
	if gbPSErr != nil {
		t.Skipf("no GStreamer PS (mpegpsmux, x264enc, avenc_aac needed): %v", gbPSErr)
	}
	return gbPSData
}

type psPiece struct {
	b   []byte
	pts int64
}

// gbStreamer is a simulated camera's media: the PS pieces sent as RTP to
// where the INVITE says, paced by their PTS, until ctx ends.
func gbStreamer(t *testing.T, data []byte) func(ctx context.Context, inv gbsim.Invite) {
	var pieces []psPiece
	ps.SplitFrames(data, func(b []byte, pts int64) { pieces = append(pieces, psPiece{b, pts}) })
	return func(ctx context.Context, inv gbsim.Invite) {
		var w io.Writer
		framed := inv.Transport != "udp"
		switch inv.Transport {
		case "udp":
			c, err := net.Dial("udp", inv.Addr)
			if err != nil {
				t.Errorf("media dial: %v", err)
				return
			}
			defer c.Close()
			w = c
		case "tcp-passive":
			c, err := net.Dial("tcp", inv.Addr)
			if err != nil {
				t.Errorf("media dial: %v", err)
				return
			}
			defer c.Close()
			w = c
		case "tcp-active":
			c, err := inv.Accept(ctx)
			if err != nil {
				t.Errorf("media accept: %v", err)
				return
			}
			defer c.Close()
			w = c
		}
		s := rtpps.NewSender(w, framed, inv.SSRC, rtpps.PayloadType)
		start := time.Now()
		base := pieces[0].pts
		for _, p := range pieces {
			at := start.Add(time.Duration(p.pts-base) * time.Second / 90000)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Until(at)):
			}
			if err := s.WritePS(p.b, uint32(p.pts)); err != nil {
				return
			}
		}
	}
}

// flvFirstVideo opens an HTTP-FLV URL and returns how long it took to get
// the first video frame that is not a sequence header.
func flvFirstVideo(t *testing.T, url string) time.Duration {
	t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	if _, err := io.ReadFull(br, make([]byte, 13)); err != nil {
		t.Fatalf("flv header: %v", err)
	}
	h := make([]byte, 11)
	for {
		if _, err := io.ReadFull(br, h); err != nil {
			t.Fatalf("flv tag: %v", err)
		}
		n := int(h[1])<<16 | int(h[2])<<8 | int(h[3])
		body := make([]byte, n+4)
		if _, err := io.ReadFull(br, body); err != nil {
			t.Fatalf("flv body: %v", err)
		}
		if h[0] == 9 && n > 2 && body[1] == 1 {
			return time.Since(start)
		}
	}
}

// TestGB28181Play: a player of live/DEVICE_CHANNEL makes the server INVITE
// the simulated camera (TCP passive), whose RTP/PS (GStreamer mpegpsmux)
// plays over HTTP-FLV, RTMP and HLS (ffprobe: codecs, resolution, frames);
// BYE goes out after the last player left; on_publish and on_unpublish
// are told.
func TestGB28181Play(t *testing.T) {
	needTools(t, "ffprobe")
	data := gbPS(t)
	t.Parallel()
	hooks, urls := startHookServer(t, func(hookEvent) string { return `{"code":0}` })
	s, addr := gbServer(t, "[[vhost]]\nname = \"__defaultVhost__\"\n[vhost.hooks]\non_publish = "+urls+"\non_unpublish = "+urls+"\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := gbDeviceSim(t, addr, "udp", gbStreamer(t, data))
	if st, err := d.Register(ctx, "secret", 3600); err != nil || fmt.Sprint(st) != "[401 200]" {
		t.Fatalf("register: %v %v", st, err)
	}
	go d.Run(ctx)
	s.waitLog(t, "gb28181: device registered", 5*time.Second)
	name := gbDevice + "_" + gbChannel

	first := flvFirstVideo(t, s.flvURL(name))
	t.Logf("player request to first video frame (INVITE round trip included): %s", first)
	if inv := d.Invites(); len(inv) != 1 || inv[0].Transport != "tcp-passive" {
		t.Fatalf("invites %+v", inv)
	}
	var dv struct {
		Device struct {
			Calls []struct {
				Channel   string `json:"channel"`
				SSRC      string `json:"ssrc"`
				Transport string `json:"transport"`
				Media     struct {
					Packets uint64 `json:"packets"`
					Frames  uint64 `json:"frames"`
				} `json:"media"`
			} `json:"calls"`
		} `json:"device"`
	}
	s.getJSON(t, "/api/v1/gb28181/devices/"+gbDevice, &dv)
	if c := dv.Device.Calls; len(c) != 1 || c[0].Channel != gbChannel || c[0].Transport != "tcp-passive" || len(c[0].SSRC) != 10 || c[0].Media.Packets == 0 {
		t.Errorf("calls in the API: %+v", c)
	}

	// HLS first: its viewer session outlives its last request by 10 s.
	for _, url := range []string{"http://" + s.http + "/live/" + name + ".m3u8", s.rtmpURL(name), s.flvURL(name)} {
		pctx, pcancel := context.WithTimeout(ctx, 20*time.Second)
		p := ffprobe(t, pctx, url, "-count_packets", "-read_intervals", "%+3")
		pcancel()
		var video, audio bool
		for _, st := range p.Streams {
			switch st.CodecType {
			case "video":
				n, _ := strconv.Atoi(st.NbReadPackets)
				video = st.CodecName == "h264" && st.Width == 640 && st.Height == 360 && n >= 25
			case "audio":
				audio = st.CodecName == "aac"
			}
		}
		if !video || !audio {
			t.Errorf("%s: streams %+v", url, p.Streams)
		}
	}
	if inv := d.Invites(); len(inv) != 1 {
		t.Errorf("%d INVITEs for players one after another, want 1", len(inv))
	}
	var clients []apiClient
	clients = s.clients(t)
	found := false
	for _, c := range clients {
		if c.Type == "gb28181-publish" && c.Publish {
			found = true
		}
	}
	if !found {
		t.Errorf("no gb28181 publisher in /api/v1/clients: %+v", clients)
	}
	// The last player is gone: BYE after the idle time.
	s.waitLog(t, "gb28181: no players: BYE", 20*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for d.Byes() == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if d.Byes() != 1 {
		t.Fatalf("device got %d BYEs", d.Byes())
	}
	if e := hooks.wait(t, "on_publish", name); e.App != "live" || e.IP != "127.0.0.1" {
		t.Errorf("on_publish %+v", e)
	}
	hooks.wait(t, "on_unpublish", name)
}

// TestGB28181Transports: UDP and TCP active media, through
// [[gb28181.channel]] stream names.
func TestGB28181Transports(t *testing.T) {
	needTools(t, "ffprobe")
	data := gbPS(t)
	t.Parallel()
	s, addr := gbServer(t, "[[gb28181.channel]]\nid = \""+gbDevice+"_"+gbChannel+"\"\nstream = \"cam_udp\"\ntransport = \"udp\"\n"+
		"[[gb28181.channel]]\nid = \""+gbDevice+"_34020000001310000002\"\nstream = \"cam_active\"\ntransport = \"tcp-active\"\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := gbDeviceSim(t, addr, "tcp", gbStreamer(t, data))
	if _, err := d.Register(ctx, "secret", 3600); err != nil {
		t.Fatal(err)
	}
	go d.Run(ctx)
	s.waitLog(t, "gb28181: device registered", 5*time.Second)
	for _, name := range []string{"cam_udp", "cam_active"} {
		pctx, pcancel := context.WithTimeout(ctx, 20*time.Second)
		p := ffprobe(t, pctx, s.flvURL(name), "-count_packets", "-read_intervals", "%+2")
		pcancel()
		ok := false
		for _, st := range p.Streams {
			n, _ := strconv.Atoi(st.NbReadPackets)
			ok = ok || st.CodecName == "h264" && st.Width == 640 && n >= 15
		}
		if !ok {
			t.Errorf("%s: %+v", name, p.Streams)
		}
	}
	var got []string
	for _, inv := range d.Invites() {
		got = append(got, inv.Transport)
	}
	if strings.Join(got, ",") != "udp,tcp-active" {
		t.Errorf("transports %v", got)
	}
}

// TestGB28181Reinvite: an always_on channel is invited as soon as its
// device registers, with no player; a channel whose media stops while a
// player watches is invited again and the player goes on.
func TestGB28181Reinvite(t *testing.T) {
	data := gbPS(t)
	t.Parallel()
	const ch2 = "34020000001310000002"
	s, addr := gbServer(t, "[[gb28181.channel]]\nid = \""+ch2+"\"\nstream = \"dvr\"\nalways_on = true\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream := gbStreamer(t, data)
	var mu sync.Mutex
	dropped := false
	d := gbDeviceSim(t, addr, "udp", func(ctx context.Context, inv gbsim.Invite) {
		mu.Lock()
		first := inv.Channel == gbChannel && !dropped
		dropped = dropped || first
		mu.Unlock()
		if first {
			// The camera's first media of channel 1 stops after 2 s.
			var c context.CancelFunc
			ctx, c = context.WithTimeout(ctx, 2*time.Second)
			defer c()
		}
		stream(ctx, inv)
	})
	if _, err := d.Register(ctx, "secret", 3600); err != nil {
		t.Fatal(err)
	}
	go d.Run(ctx)
	// always_on: the channel id alone resolves once the catalog lists it.
	deadline := time.Now().Add(5 * time.Second)
	for len(d.Invites()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("always_on channel not invited")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if inv := d.Invites()[0]; inv.Channel != ch2 {
		t.Fatalf("first INVITE for %s", inv.Channel)
	}
	s.waitPublishing(t, "dvr")

	// A player of channel 1, reading HTTP-FLV video tags.
	var mu2 sync.Mutex
	tags := 0
	pctx, pcancel := context.WithCancel(ctx)
	defer pcancel()
	go func() {
		req, _ := http.NewRequestWithContext(pctx, http.MethodGet, s.flvURL(gbDevice+"_"+gbChannel), nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return
		}
		defer res.Body.Close()
		br := bufio.NewReader(res.Body)
		io.ReadFull(br, make([]byte, 13))
		h := make([]byte, 11)
		for {
			if _, err := io.ReadFull(br, h); err != nil {
				return
			}
			n := int(h[1])<<16 | int(h[2])<<8 | int(h[3])
			if _, err := io.CopyN(io.Discard, br, int64(n+4)); err != nil {
				return
			}
			if h[0] == 9 {
				mu2.Lock()
				tags++
				mu2.Unlock()
			}
		}
	}()
	count := func() int { mu2.Lock(); defer mu2.Unlock(); return tags }
	s.waitLog(t, "gb28181: media ended", 10*time.Second)
	deadline = time.Now().Add(10 * time.Second)
	for n := 0; n < 2; {
		n = 0
		for _, inv := range d.Invites() {
			if inv.Channel == gbChannel {
				n++
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("channel 1 invited %d times, want 2", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	before := count()
	time.Sleep(2 * time.Second)
	if after := count(); after < before+25 {
		t.Fatalf("player got %d video tags in the 2 s after the re-INVITE (had %d)", after-before, before)
	}
	if d.Byes() != 1 {
		t.Errorf("BYEs %d, want 1 (the call whose media ended)", d.Byes())
	}
}

// TestGB28181HLSNoCtx: with hls_ctx = false HLS viewers have no sessions;
// their requests alone keep the channel invited (it got BYE 10 s after the
// first request before), and BYE follows once they stop.
func TestGB28181HLSNoCtx(t *testing.T) {
	data := gbPS(t)
	t.Parallel()
	s, addr := gbServer(t, "[[vhost]]\nname = \"__defaultVhost__\"\n[vhost.hls]\nhls_ctx = false\nfragment = \"1s\"\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := gbDeviceSim(t, addr, "udp", gbStreamer(t, data))
	if _, err := d.Register(ctx, "secret", 3600); err != nil {
		t.Fatal(err)
	}
	go d.Run(ctx)
	s.waitLog(t, "gb28181: device registered", 5*time.Second)
	url := "http://" + s.http + "/live/" + gbDevice + "_" + gbChannel + ".m3u8"
	// A player polling the playlist for longer than the idle time.
	ok := 0
	for end := time.Now().Add(14 * time.Second); time.Now().Before(end); time.Sleep(time.Second) {
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == 200 && strings.Contains(string(body), "#EXTINF") {
			ok++
		}
		if d.Byes() != 0 {
			t.Fatalf("BYE while a player polls the playlist (%d playlists served)", ok)
		}
	}
	if ok < 8 || len(d.Invites()) != 1 {
		t.Fatalf("%d playlists with segments, %d INVITEs", ok, len(d.Invites()))
	}
	// The player left: BYE after the viewer timeout and the idle time.
	s.waitLog(t, "gb28181: no players: BYE", 30*time.Second)
}
