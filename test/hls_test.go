package test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// livePublish runs ffmpeg encoding a live test pattern (320x240, 25 fps,
// a keyframe every gop frames) with a 440 Hz tone, or only the tone when
// audioOnly, to rtmpURL until stopped.
func livePublish(t *testing.T, rtmpURL string, gop int, audioOnly bool) (stop func()) {
	t.Helper()
	args := []string{"-hide_banner", "-loglevel", "error", "-re"}
	if !audioOnly {
		args = append(args, "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25")
	}
	args = append(args, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100")
	if !audioOnly {
		args = append(args, "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
			"-g", strconv.Itoa(gop), "-keyint_min", strconv.Itoa(gop), "-sc_threshold", "0", "-b:v", "300k")
	}
	args = append(args, "-c:a", "aac", "-b:a", "64k", "-f", "flv", rtmpURL)
	return startProcess(t, exec.Command("ffmpeg", args...))
}

// playlist is a parsed HLS media playlist.
type playlist struct {
	raw            string
	version        int
	target         int
	mediaSeq       int
	discSeq        int
	segments       []hlsSegment
	discontinuity  int // EXT-X-DISCONTINUITY tags
	maps           []string
	endList        bool
	totalDuration  float64
	maxSegDuration float64
}

type hlsSegment struct {
	uri string
	dur float64
}

func parsePlaylist(t *testing.T, body string) playlist {
	t.Helper()
	p := playlist{raw: body}
	sc := bufio.NewScanner(strings.NewReader(body))
	var dur float64
	first := true
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if first {
			if line != "#EXTM3U" {
				t.Fatalf("playlist does not start with #EXTM3U:\n%s", body)
			}
			first = false
			continue
		}
		switch {
		case strings.HasPrefix(line, "#EXT-X-VERSION:"):
			p.version, _ = strconv.Atoi(line[len("#EXT-X-VERSION:"):])
		case strings.HasPrefix(line, "#EXT-X-TARGETDURATION:"):
			p.target, _ = strconv.Atoi(line[len("#EXT-X-TARGETDURATION:"):])
		case strings.HasPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"):
			p.mediaSeq, _ = strconv.Atoi(line[len("#EXT-X-MEDIA-SEQUENCE:"):])
		case strings.HasPrefix(line, "#EXT-X-DISCONTINUITY-SEQUENCE:"):
			p.discSeq, _ = strconv.Atoi(line[len("#EXT-X-DISCONTINUITY-SEQUENCE:"):])
		case line == "#EXT-X-DISCONTINUITY":
			p.discontinuity++
		case line == "#EXT-X-ENDLIST":
			p.endList = true
		case strings.HasPrefix(line, "#EXT-X-MAP:"):
			p.maps = append(p.maps, line)
		case strings.HasPrefix(line, "#EXTINF:"):
			v := strings.TrimSuffix(line[len("#EXTINF:"):], ",")
			v, _, _ = strings.Cut(v, ",")
			d, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("bad EXTINF %q", line)
			}
			dur = d
		case line != "" && !strings.HasPrefix(line, "#"):
			p.segments = append(p.segments, hlsSegment{uri: line, dur: dur})
			p.totalDuration += dur
			p.maxSegDuration = max(p.maxSegDuration, dur)
		}
	}
	return p
}

func httpGet(t *testing.T, url string) (int, []byte, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// waitPlaylist polls the playlist until cond holds, or fails after d.
func waitPlaylist(t *testing.T, url string, d time.Duration, what string, cond func(playlist) bool) playlist {
	t.Helper()
	deadline := time.Now().Add(d)
	var last string
	for time.Now().Before(deadline) {
		code, body, _ := httpGet(t, url)
		if code == 200 {
			p := parsePlaylist(t, string(body))
			if cond(p) {
				return p
			}
			last = string(body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("playlist %s: %s did not happen within %s; last:\n%s", url, what, d, last)
	return playlist{}
}

func hlsVhost(extra string) string {
	return "[[vhost]]\nname = \"__defaultVhost__\"\n[vhost.hls]\nenabled = true\n" + extra
}

// TestHLSLive: a live H.264+AAC stream with a 1 s GOP as HLS, in both
// containers: ffprobe plays the playlist and sees the codecs, segments are
// cut near the fragment, the playlist holds at most the window, segments
// that left it answer 404, and a republish adds a discontinuity.
func TestHLSLive(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	for _, container := range []string{"ts", "fmp4"} {
		t.Run(container, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, hlsVhost(`fragment = "2s"
window = "6s"
dispose = "30s"
container = "`+container+`"
`))
			name := streamName()
			start := time.Now()
			stop := livePublish(t, s.rtmpURL(name), 25, false)
			url := "http://" + s.http + "/live/" + name + ".m3u8"
			s.waitPublishing(t, name)
			// The playlist request waits for the first segment.
			code, body, hdr := httpGet(t, url)
			if code != 200 {
				t.Fatalf("first playlist: %d %s", code, body)
			}
			t.Logf("%s: first segment playable %s after the publisher started", container, time.Since(start).Round(10*time.Millisecond))
			if ct := hdr.Get("Content-Type"); ct != "application/vnd.apple.mpegurl" {
				t.Errorf("playlist content type %q", ct)
			}
			if hdr.Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("no CORS header on the playlist")
			}

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			pr := ffprobe(t, ctx, url, "-count_packets", "-read_intervals", "%+3")
			var video, audio bool
			for _, st := range pr.Streams {
				switch st.CodecType {
				case "video":
					video = st.CodecName == "h264" && st.Width == 320 && st.Height == 240
				case "audio":
					audio = st.CodecName == "aac"
				}
			}
			if !video || !audio {
				t.Fatalf("ffprobe of the playlist: %+v", pr.Streams)
			}

			// Let the window fill and slide.
			p := waitPlaylist(t, url, 30*time.Second, "the window sliding", func(p playlist) bool {
				return p.mediaSeq >= 2
			})
			if container == "fmp4" {
				if len(p.maps) != 1 || p.version < 6 {
					t.Errorf("fmp4 playlist: version %d, maps %v", p.version, p.maps)
				}
			} else if len(p.maps) != 0 {
				t.Errorf("ts playlist with EXT-X-MAP")
			}
			if p.totalDuration > 6.0+0.001 {
				t.Errorf("playlist holds %.3f s, more than the 6 s window:\n%s", p.totalDuration, p.raw)
			}
			for _, sg := range p.segments {
				if sg.dur < 1 || sg.dur > 3 {
					t.Errorf("segment %s lasts %.3f s, not within 1 s of the 2 s fragment", sg.uri, sg.dur)
				}
			}
			if float64(p.target) < p.maxSegDuration-0.5 || p.target > 3 {
				t.Errorf("target duration %d for segments up to %.3f s", p.target, p.maxSegDuration)
			}
			base := "http://" + s.http + "/live/"
			newest := p.segments[len(p.segments)-1].uri
			code, seg, hdr := httpGet(t, base+newest)
			if code != 200 || len(seg) == 0 {
				t.Fatalf("segment %s: %d", newest, code)
			}
			wantType := map[string]string{"ts": "video/mp2t", "fmp4": "video/iso.segment"}[container]
			if hdr.Get("Content-Type") != wantType {
				t.Errorf("segment content type %q, want %q", hdr.Get("Content-Type"), wantType)
			}
			if container == "ts" && (seg[0] != 0x47 || len(seg)%188 != 0) {
				t.Errorf("segment is not MPEG-TS: %d bytes, first byte %#x", len(seg), seg[0])
			}
			// A range request gets part of it.
			req, _ := http.NewRequest("GET", base+newest, nil)
			req.Header.Set("Range", "bytes=0-187")
			if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusPartialContent {
				t.Errorf("range request: %v %v", err, resp)
			} else {
				resp.Body.Close()
			}
			// The segment before the window is gone.
			gone := strings.Replace(p.segments[0].uri, "-"+strconv.Itoa(p.mediaSeq)+".", "-"+strconv.Itoa(p.mediaSeq-1)+".", 1)
			if code, _, _ := httpGet(t, base+gone); code != 404 {
				t.Errorf("disposed segment %s answers %d, want 404", gone, code)
			}

			// Republish: the playlist goes on after a discontinuity.
			stop()
			time.Sleep(500 * time.Millisecond)
			livePublish(t, s.rtmpURL(name), 25, false)
			p2 := waitPlaylist(t, url, 20*time.Second, "a discontinuity after the republish", func(p playlist) bool {
				return p.discontinuity >= 1 && p.segments[len(p.segments)-1].uri != newest
			})
			if container == "fmp4" && len(p2.maps) < 2 && p2.discSeq == 0 {
				t.Errorf("fmp4 republish without a new EXT-X-MAP:\n%s", p2.raw)
			}
			pr = ffprobe(t, ctx, url, "-count_packets", "-read_intervals", "%+2")
			if len(pr.Streams) < 2 {
				t.Errorf("ffprobe after republish: %+v", pr.Streams)
			}
		})
	}
}

// TestHLSAudioOnly: a stream without video is cut by time and plays as
// audio HLS.
func TestHLSAudioOnly(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	t.Parallel()
	s := startServer(t, hlsVhost(`fragment = "1s"
window = "4s"
`))
	name := streamName()
	livePublish(t, s.rtmpURL(name), 0, true)
	url := "http://" + s.http + "/live/" + name + ".m3u8"
	p := waitPlaylist(t, url, 20*time.Second, "three segments", func(p playlist) bool { return len(p.segments) >= 3 })
	for _, sg := range p.segments {
		if sg.dur < 0.5 || sg.dur > 1.6 {
			t.Errorf("audio segment %s lasts %.3f s for a 1 s fragment", sg.uri, sg.dur)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pr := ffprobe(t, ctx, url, "-count_packets", "-read_intervals", "%+2")
	if len(pr.Streams) != 1 || pr.Streams[0].CodecName != "aac" || pr.Streams[0].SampleRate != "44100" {
		t.Fatalf("audio-only HLS: %+v", pr.Streams)
	}
	if n, _ := strconv.Atoi(pr.Streams[0].NbReadPackets); n < 20 {
		t.Fatalf("audio-only HLS: %d packets read", n)
	}
}

// TestHLSToFolder: with hls.path, segments and the playlist are files,
// written whole (no temp file is ever served), removed as they leave the
// window, and all removed when the stream is disposed of.
func TestHLSToFolder(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, hlsVhost(fmt.Sprintf(`fragment = "1s"
window = "3s"
dispose = "2s"
path = %q
`, dir)))
	name := streamName()
	stop := livePublish(t, s.rtmpURL(name), 25, false)
	url := "http://" + s.http + "/live/" + name + ".m3u8"
	p := waitPlaylist(t, url, 20*time.Second, "the window sliding", func(p playlist) bool { return p.mediaSeq >= 2 })
	onDisk, err := os.ReadFile(filepath.Join(dir, "live", name+".m3u8"))
	if err != nil {
		t.Fatalf("playlist file: %v", err)
	}
	if !strings.HasPrefix(string(onDisk), "#EXTM3U") {
		t.Fatalf("playlist file: %q", onDisk)
	}
	for _, sg := range p.segments {
		file, _, _ := strings.Cut(sg.uri, "?") // the served playlist's URIs carry the viewer's hls_ctx
		fi, err := os.Stat(filepath.Join(dir, "live", file))
		if err != nil || fi.Size() == 0 || fi.Size()%188 != 0 {
			t.Errorf("segment file %s: %v", sg.uri, err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "live", name+"-*.ts"))
	if len(files) > len(p.segments)+1 {
		t.Errorf("%d segment files on disk for %d segments in the playlist: old ones are not removed", len(files), len(p.segments))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if pr := ffprobe(t, ctx, url); len(pr.Streams) != 2 {
		t.Errorf("ffprobe: %+v", pr.Streams)
	}
	stop()
	deadline := time.Now().Add(10 * time.Second)
	for {
		left, _ := filepath.Glob(filepath.Join(dir, "live", name+"*"))
		code, _, _ := httpGet(t, url)
		if len(left) == 0 && code == 404 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("2 s after the publisher left, still %v on disk and the playlist answers %d", left, code)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
