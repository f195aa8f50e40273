package fmp4

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/codec/aac"
	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/format/codec/h265"
	"github.com/srs-lite/srs-lite/internal/format/flv"
	"github.com/srs-lite/srs-lite/internal/media"
)

func needTool(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("SKIPPED: %s is not installed (Debian/Ubuntu: apt-get install ffmpeg); the fMP4 interop test needs it", tool)
		}
	}
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// readFLV returns the frames of an FLV file, each owning a pooled payload.
func readFLV(t *testing.T, path string) []media.Frame {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	r := flv.NewReader(bufio.NewReader(fh))
	if _, _, err := r.ReadHeader(); err != nil {
		t.Fatal(err)
	}
	var frames []media.Frame
	for {
		tag, err := r.ReadTag()
		if err != nil {
			break
		}
		var f media.Frame
		if err := flv.FrameFromTag(tag.Type, tag.Timestamp, tag.Body, &f); err != nil {
			if errors.Is(err, flv.ErrSkip) {
				continue
			}
			t.Fatal(err)
		}
		f.Own()
		frames = append(frames, f)
	}
	return frames
}

// mux writes frames as init + fragments of about one second, as a recorder
// does, and returns the file and the video and audio frame counts.
func mux(t *testing.T, frames []media.Frame) (file []byte, nv, na int) {
	t.Helper()
	m := NewMuxer()
	var body []byte
	for i := range frames {
		f := &frames[i]
		switch {
		case f.Codec == media.CodecData:
		case f.IsConfig():
			if err := m.SetTrack(f); err != nil {
				t.Fatal(err)
			}
		default:
			if d, _ := m.Buffered(); d >= time.Second && f.IsKey() {
				body = m.AppendFragment(body, true)
			}
			if err := m.Add(f); err != nil {
				t.Fatal(err)
			}
			if f.Codec.IsVideo() {
				nv++
			} else {
				na++
			}
		}
		f.Release()
	}
	body = m.AppendFragment(body, true)
	return append(m.AppendInit(nil), body...), nv, na
}

type probeOut struct {
	Streams []struct {
		CodecType    string `json:"codec_type"`
		CodecName    string `json:"codec_name"`
		Width        int    `json:"width"`
		NbReadFrames string `json:"nb_read_frames"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

func probe(t *testing.T, path string) probeOut {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-show_streams", "-show_format",
		"-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var p probeOut
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func checkProbe(t *testing.T, path, vcodec string, nv, na int, dur float64) {
	t.Helper()
	p := probe(t, path)
	if len(p.Streams) != 2 {
		t.Fatalf("%d streams: %+v", len(p.Streams), p)
	}
	want := map[string]struct {
		codec string
		n     int
	}{"video": {vcodec, nv}, "audio": {"aac", na}}
	for _, s := range p.Streams {
		w := want[s.CodecType]
		if s.CodecName != w.codec || s.NbReadFrames != strconv.Itoa(w.n) {
			t.Errorf("%s stream: codec %s, %s frames; want %s, %d", s.CodecType, s.CodecName, s.NbReadFrames, w.codec, w.n)
		}
	}
	d, _ := strconv.ParseFloat(p.Format.Duration, 64)
	if math.Abs(d-dur) > 0.1 {
		t.Errorf("duration %s, want %.2f", p.Format.Duration, dur)
	}
}

// TestFFprobeH264 muxes an ffmpeg-made FLV (H.264 with B-frames, AAC) and
// has ffprobe decode the result.
func TestFFprobeH264(t *testing.T) {
	needTool(t, "ffmpeg", "ffprobe")
	dir := t.TempDir()
	src := filepath.Join(dir, "src.flv")
	run(t, "ffmpeg", "-hide_banner", "-loglevel", "error",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-c:v", "libx264", "-preset", "veryfast", "-bf", "2", "-g", "30",
		"-c:a", "aac", "-t", "4", "-f", "flv", src)
	frames := readFLV(t, src)
	file, nv, na := mux(t, frames)
	out := filepath.Join(dir, "out.mp4")
	if err := os.WriteFile(out, file, 0o644); err != nil {
		t.Fatal(err)
	}
	if n, err := Scan(bytes.NewReader(file), int64(len(file))); n != int64(len(file)) || err != nil {
		t.Errorf("Scan = %d, %v", n, err)
	}
	checkProbe(t, out, "h264", nv, na, 4)
	if os.Getenv("FMP4_KEEP") != "" {
		_ = os.WriteFile(os.Getenv("FMP4_KEEP"), file, 0o644)
	}
}

// TestFFprobeH265 muxes H.265 and AAC that ffmpeg encoded (raw Annex B and
// ADTS, as ffmpeg 5 cannot write HEVC in FLV), passed through an Enhanced
// RTMP FLV written and read by internal/flv.
func TestFFprobeH265(t *testing.T) {
	needTool(t, "ffmpeg", "ffprobe")
	dir := t.TempDir()
	hevc, adts := filepath.Join(dir, "v.hevc"), filepath.Join(dir, "a.aac")
	run(t, "ffmpeg", "-hide_banner", "-loglevel", "error",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "4",
		"-c:v", "libx265", "-x265-params", "bframes=0:keyint=25:aud=1:log-level=error", "-f", "hevc", hevc)
	run(t, "ffmpeg", "-hide_banner", "-loglevel", "error",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "4",
		"-c:a", "aac", "-f", "adts", adts)
	frames := hevcFrames(t, hevc, 25)
	frames = mergeByDTS(frames, adtsFrames(t, adts))

	// Through an FLV file, as the recorder and RTMP see them.
	src := filepath.Join(dir, "src.flv")
	fh, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	w := flv.NewWriter(fh)
	if err := w.WriteHeader(true, true); err != nil {
		t.Fatal(err)
	}
	for i := range frames {
		if err := w.WriteFrame(&frames[i]); err != nil {
			t.Fatal(err)
		}
		frames[i].Release()
	}
	fh.Close()

	file, nv, na := mux(t, readFLV(t, src))
	out := filepath.Join(dir, "out.mp4")
	if err := os.WriteFile(out, file, 0o644); err != nil {
		t.Fatal(err)
	}
	checkProbe(t, out, "hevc", nv, na, 4)
}

// hevcFrames splits an Annex B stream with access unit delimiters into
// frames at the given rate, led by a config frame.
func hevcFrames(t *testing.T, path string, fps int) []media.Frame {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var vps, sps, pps [][]byte
	var aus [][][]byte
	h264.SplitAnnexB(b, func(n []byte) bool {
		switch h265.Type(n) {
		case h265.NALUAUD:
			aus = append(aus, nil)
		case h265.NALUVPS:
			vps = append(vps, n)
		case h265.NALUSPS:
			sps = append(sps, n)
		case h265.NALUPPS:
			pps = append(pps, n)
		default:
			if len(aus) > 0 {
				aus[len(aus)-1] = append(aus[len(aus)-1], n)
			}
		}
		return true
	})
	out := []media.Frame{frameOf(media.CodecH265, media.FlagConfig, 0, h265.BuildConfig(vps[:1], sps[:1], pps[:1]))}
	for i, au := range aus {
		var p []byte
		key := false
		for _, n := range au {
			p = append(p, byte(len(n)>>24), byte(len(n)>>16), byte(len(n)>>8), byte(len(n)))
			p = append(p, n...)
			key = key || h265.Type(n).IsIRAP()
		}
		fl := media.Flags(0)
		if key {
			fl = media.FlagKey
		}
		out = append(out, frameOf(media.CodecH265, fl, time.Duration(i)*time.Second/time.Duration(fps), p))
	}
	return out
}

func adtsFrames(t *testing.T, path string) []media.Frame {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []media.Frame
	for i := 0; len(b) > 0; i++ {
		h, n, err := aac.ParseADTS(b)
		if err != nil || n > len(b) {
			t.Fatalf("adts frame %d: %v", i, err)
		}
		if i == 0 {
			out = append(out, frameOf(media.CodecAAC, media.FlagConfig, 0, aac.BuildASC(h.ObjectType, h.SampleRate, h.Channels)))
		}
		d := time.Duration(i) * time.Second * 1024 / time.Duration(h.SampleRate)
		out = append(out, frameOf(media.CodecAAC, 0, d, b[h.HeaderLen:n]))
		b = b[n:]
	}
	return out
}

func frameOf(c media.Codec, fl media.Flags, d time.Duration, p []byte) media.Frame {
	return frame(c, fl, d, d, p)
}

// mergeByDTS interleaves two frame lists in DTS order, config frames first.
func mergeByDTS(a, b []media.Frame) []media.Frame {
	out := make([]media.Frame, 0, len(a)+len(b))
	for len(a) > 0 || len(b) > 0 {
		switch {
		case len(b) == 0 || len(a) > 0 && (a[0].IsConfig() || !b[0].IsConfig() && a[0].DTS <= b[0].DTS):
			out, a = append(out, a[0]), a[1:]
		default:
			out, b = append(out, b[0]), b[1:]
		}
	}
	return out
}
