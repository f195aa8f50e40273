package test

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// srtConf turns the SRT listener on, on a free port.
const srtConf = "[srt]\nenabled = true\nlisten = \"127.0.0.1:0\"\n"

// srtAddr returns the SRT address from the server's "srs-lite started"
// line (srt=ADDR).
func srtAddr(t *testing.T, s *srv) string {
	t.Helper()
	for _, line := range strings.Split(s.logs(), "\n") {
		if strings.Contains(line, "srs-lite started") {
			if a := field(line, "srt"); a != "" {
				return a
			}
		}
	}
	t.Fatalf("no srt=ADDR in the started line:\n%s", s.logs())
	return ""
}

func srtURL(addr, stream, mode, extra string) string {
	return "srt://" + addr + "?streamid=#!::r=live/" + stream + ",m=" + mode + extra
}

// srtPublish runs ffmpeg publishing the fixture over SRT as MPEG-TS,
// looped, until the test ends or stop is called.
func srtPublish(t *testing.T, url string) (stop func()) {
	t.Helper()
	return startProcess(t, exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1",
		"-i", fixture, "-c", "copy", "-f", "mpegts", url))
}

// TestSRTPublishPlay: ffmpeg publishes over SRT (libsrt, encrypted); ffprobe
// plays the stream over SRT, RTMP and HTTP-FLV and sees H.264 640x360 and
// AAC 44.1 kHz, and frames of both; the API lists the stream's codecs and
// the SRT clients.
func TestSRTPublishPlay(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	t.Parallel()
	s := startServer(t, srtConf+"passphrase = \"srs-lite-srt-secret\"\npbkeylen = 32\n")
	addr := srtAddr(t, s)
	name := streamName()
	const pass = "&passphrase=srs-lite-srt-secret&pbkeylen=32"
	srtPublish(t, srtURL(addr, name, "publish", pass))
	s.waitPublishing(t, name)

	for _, url := range []string{srtURL(addr, name, "request", pass), s.rtmpURL(name), s.flvURL(name)} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		// Read by time: every player's timeline starts at its first frame
		// (time_jitter), whatever the TS timestamps start at.
		p := ffprobe(t, ctx, url, "-count_packets", "-read_intervals", "%+3")
		cancel()
		var video, audio bool
		for _, st := range p.Streams {
			n, _ := strconv.Atoi(st.NbReadPackets)
			switch st.CodecType {
			case "video":
				video = true
				if st.CodecName != "h264" || st.Width != 640 || st.Height != 360 || n < 30 {
					t.Errorf("%s: video %s %dx%d, %d frames; want h264 640x360 and frames", url, st.CodecName, st.Width, st.Height, n)
				}
			case "audio":
				audio = true
				if st.CodecName != "aac" || st.SampleRate != "44100" || n < 30 {
					t.Errorf("%s: audio %s %s, %d frames; want aac 44100 and frames", url, st.CodecName, st.SampleRate, n)
				}
			}
		}
		if !video || !audio {
			t.Errorf("%s: streams %+v, want video and audio", url, p.Streams)
		}
	}

	var st *apiStream
	for _, x := range s.streams(t) {
		if x.Name == name {
			st = &x
		}
	}
	if st == nil || st.Video == nil || st.Audio == nil {
		t.Fatalf("API stream: %+v", st)
	}
	if st.Video.Codec != "H264" || st.Video.Width != 640 || st.Audio.Codec != "AAC" || st.Audio.SampleRate != 44100 {
		t.Errorf("API stream codecs: video %+v audio %+v", *st.Video, *st.Audio)
	}
	publishers := 0
	for _, c := range s.clients(t) {
		if c.Publish && c.Stream == st.ID && strings.HasPrefix(c.Type, "srt") {
			publishers++
		}
	}
	if publishers != 1 {
		t.Errorf("API clients: %d publishers of %s, want the SRT one: %+v", publishers, name, s.clients(t))
	}
	s.waitLog(t, "srt: publish", 5*time.Second)
}

// TestSRTRefused: a wrong passphrase and a stream nobody publishes are
// refused during the handshake, and the log says why.
func TestSRTRefused(t *testing.T) {
	needTools(t, "ffmpeg")
	t.Parallel()
	s := startServer(t, srtConf+"passphrase = \"srs-lite-srt-secret\"\n")
	addr := srtAddr(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-i", fixture, "-c", "copy",
		"-f", "mpegts", srtURL(addr, "x", "publish", "&passphrase=not-the-passphrase")).CombinedOutput()
	if err == nil {
		t.Errorf("ffmpeg published with a wrong passphrase: %s", out)
	}
	out, err = exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error",
		"-i", srtURL(addr, "nosuch", "request", "&passphrase=srs-lite-srt-secret"), "-f", "null", "-").CombinedOutput()
	if err == nil {
		t.Errorf("ffmpeg played a stream nobody publishes: %s", out)
	}
	logs := s.logs()
	if !strings.Contains(logs, "SRT_REJ_BADSECRET") || !strings.Contains(logs, "SRT_REJX_NOTFOUND") {
		t.Errorf("the log does not say why:\n%s", logs)
	}
}

// TestSRTHooks: on_publish, on_play, on_stop and on_unpublish arrive for
// SRT clients with SRS's fields and one client id per connection; a hook
// that refuses makes the handshake fail.
func TestSRTHooks(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	t.Parallel()
	rec, hook := startHookServer(t, denyBad)
	s := startServer(t, srtConf+fmt.Sprintf(`[[vhost]]
name = "__defaultVhost__"
[vhost.hooks]
on_publish = %s
on_unpublish = %s
on_play = %s
on_stop = %s
`, hook, hook, hook, hook))
	addr := srtAddr(t, s)
	name := streamName()
	stopPub := srtPublish(t, srtURL(addr, name, "publish", ""))
	s.waitPublishing(t, name)
	pub := rec.wait(t, "on_publish", name)
	if pub.Vhost != "__defaultVhost__" || pub.App != "live" || pub.IP != "127.0.0.1" || pub.ClientID == "" {
		t.Errorf("on_publish %+v", pub)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ffprobe(t, ctx, "srt://"+addr+"?streamid=#!::r=live/"+name+"?token=good,m=request", "-read_intervals", "%+#20")
	play := rec.wait(t, "on_play", name)
	stop := rec.wait(t, "on_stop", name)
	if play.Param != "?token=good" || play.ClientID == "" || stop.ClientID != play.ClientID {
		t.Errorf("on_play %+v, on_stop %+v", play, stop)
	}
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error",
		"srt://"+addr+"?streamid=#!::r=live/"+name+"?token=bad,m=request").CombinedOutput()
	if err == nil {
		t.Errorf("on_play refused, yet ffprobe played: %s", out)
	}
	out, err = exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-i", fixture, "-c", "copy",
		"-f", "mpegts", srtURL(addr, "denied"+name, "publish", "")).CombinedOutput()
	if err == nil {
		t.Errorf("on_publish refused, yet ffmpeg published: %s", out)
	}
	if _, ok := rec.find("on_unpublish", name); ok {
		t.Errorf("on_unpublish while publishing")
	}
	stopPub()
	if unpub := rec.wait(t, "on_unpublish", name); unpub.ClientID != pub.ClientID {
		t.Errorf("on_unpublish %+v, on_publish %+v: not the same client", unpub, pub)
	}
}

// TestSRTHookPassphrase: an on_publish hook gives one stream its own
// passphrase in its answer; a publisher with it publishes, one with the
// listener's (or none) is refused.
func TestSRTHookPassphrase(t *testing.T) {
	needTools(t, "ffmpeg")
	t.Parallel()
	_, hook := startHookServer(t, func(e hookEvent) string {
		if strings.HasPrefix(e.Stream, "own") {
			return `{"code":0,"data":{"srt_passphrase":"stream-own-secret"}}`
		}
		return `0`
	})
	s := startServer(t, srtConf+"passphrase = \"srs-lite-srt-secret\"\n"+
		fmt.Sprintf("[[vhost]]\nname = \"__defaultVhost__\"\n[vhost.hooks]\non_publish = %s\n", hook))
	addr := srtAddr(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	own := "own" + streamName()
	out, err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-i", fixture, "-t", "2",
		"-c", "copy", "-f", "mpegts", srtURL(addr, own, "publish", "&passphrase=srs-lite-srt-secret")).CombinedOutput()
	if err == nil {
		t.Errorf("published with the listener's passphrase to a stream the hook gave its own: %s", out)
	}
	name := streamName()
	srtPublish(t, srtURL(addr, own, "publish", "&passphrase=stream-own-secret"))
	s.waitPublishing(t, own)
	// Other streams keep the listener's passphrase.
	srtPublish(t, srtURL(addr, name, "publish", "&passphrase=srs-lite-srt-secret"))
	s.waitPublishing(t, name)
	s.waitLog(t, "SRT_REJ_BADSECRET", 5*time.Second)
}
