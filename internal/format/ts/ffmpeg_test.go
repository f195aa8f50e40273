package ts

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/srs-lite/srs-lite/internal/format/flv"
	"github.com/srs-lite/srs-lite/internal/media"
)

// tools returns the paths of ffmpeg and ffprobe, skipping the test loudly
// when either is missing (scripts/test-deps.sh installs them).
func tools(t *testing.T) (ffmpeg, ffprobe string) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping the ffmpeg interop test")
	}
	ffmpeg, err1 := exec.LookPath("ffmpeg")
	ffprobe, err2 := exec.LookPath("ffprobe")
	if err1 != nil || err2 != nil {
		t.Skip("SKIPPED LOUDLY: ffmpeg/ffprobe not installed (apt-get install ffmpeg, or scripts/test-deps.sh)")
	}
	return ffmpeg, ffprobe
}

// hasEncoder reports whether ffmpeg has the named encoder.
func hasEncoder(t *testing.T, ffmpeg, name string) bool {
	out, err := exec.Command(ffmpeg, "-hide_banner", "-encoders").Output()
	if err != nil {
		t.Fatalf("ffmpeg -encoders: %v", err)
	}
	return bytes.Contains(out, []byte(" "+name+" "))
}

// makeSource runs ffmpeg to make a 4-second test stream with the given
// encoders (lavfi testsrc and sine) in the given format.
func makeSource(t *testing.T, ffmpeg, vcodec, acodec, format string) string {
	t.Helper()
	for _, e := range []string{vcodec, acodec} {
		if e != "" && !hasEncoder(t, ffmpeg, e) {
			t.Skipf("SKIPPED LOUDLY: this ffmpeg has no %s encoder", e)
		}
	}
	path := filepath.Join(t.TempDir(), "src."+format)
	args := []string{"-hide_banner", "-loglevel", "error", "-y"}
	if vcodec != "" {
		args = append(args, "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=4")
	}
	if acodec != "" {
		args = append(args, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=4")
	}
	switch vcodec {
	case "libx264":
		args = append(args, "-c:v", vcodec, "-g", "25", "-bf", "2", "-sc_threshold", "0", "-pix_fmt", "yuv420p")
	case "libx265":
		args = append(args, "-c:v", vcodec, "-x265-params", "log-level=none:keyint=25:min-keyint=25:scenecut=0:bframes=2", "-pix_fmt", "yuv420p")
	}
	if acodec != "" {
		args = append(args, "-c:a", acodec, "-ac", "2")
	}
	args = append(args, "-f", map[string]string{"flv": "flv", "ts": "mpegts"}[format], path)
	if out, err := exec.Command(ffmpeg, args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg cannot make the source: %v\n%s", err, out)
	}
	return path
}

// readFLV reads the frames of an FLV file (copies).
func readFLV(t *testing.T, path string) []media.Frame {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := flv.NewReader(bytes.NewReader(data))
	if _, _, err := r.ReadHeader(); err != nil {
		t.Fatal(err)
	}
	var fs []media.Frame
	for {
		tag, err := r.ReadTag()
		if err == io.EOF {
			return fs
		}
		if err != nil {
			t.Fatal(err)
		}
		var f media.Frame
		if flv.FrameFromTag(tag.Type, tag.Timestamp, tag.Body, &f) != nil || f.Codec == media.CodecData {
			continue
		}
		f.Payload = append([]byte(nil), f.Payload...)
		fs = append(fs, f)
	}
}

// muxFile muxes frames into path as an HLS segmenter would: the tables
// first and again before every video keyframe. It returns the counts of
// video and audio frames written.
func muxFile(t *testing.T, path string, frames []media.Frame) (nv, na int) {
	t.Helper()
	var video, audio media.Codec
	for _, f := range frames {
		if f.Codec.IsVideo() {
			video = f.Codec
		} else if f.Codec.IsAudio() {
			audio = f.Codec
		}
	}
	m := NewMuxer()
	m.SetTracks(video, audio)
	out := m.AppendTables(nil)
	for i := range frames {
		f := &frames[i]
		if f.IsKey() && i > 2 {
			out = m.AppendTables(out)
		}
		var err error
		if out, err = m.AppendFrame(out, f); err != nil {
			t.Fatalf("frame %d (%s): %v", i, describe(f), err)
		}
		switch {
		case f.IsConfig():
		case f.Codec.IsVideo():
			nv++
		case f.Codec.IsAudio():
			na++
		}
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return nv, na
}

type probeStream struct {
	CodecName    string `json:"codec_name"`
	CodecType    string `json:"codec_type"`
	SampleRate   string `json:"sample_rate"`
	Channels     int    `json:"channels"`
	Width        int    `json:"width"`
	NbReadFrames string `json:"nb_read_frames"`
	NbReadPacket string `json:"nb_read_packets"`
	Duration     string `json:"duration"`
}

// probe runs ffprobe -count_frames on path.
func probe(t *testing.T, ffprobe, path string) (streams []probeStream, duration float64) {
	t.Helper()
	out, err := exec.Command(ffprobe, "-v", "error", "-count_frames", "-count_packets",
		"-show_entries", "stream=codec_name,codec_type,sample_rate,channels,width,nb_read_frames,nb_read_packets,duration",
		"-show_entries", "format=duration", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var res struct {
		Streams []probeStream `json:"streams"`
		Format  struct {
			Duration string `json:"duration"`
		} `json:"format"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("ffprobe output: %v\n%s", err, out)
	}
	d, _ := strconv.ParseFloat(res.Format.Duration, 64)
	return res.Streams, d
}

// decodeClean decodes path with ffmpeg, which must report no error.
func decodeClean(t *testing.T, ffmpeg, path string) {
	t.Helper()
	out, err := exec.Command(ffmpeg, "-hide_banner", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("ffmpeg decoding %s: %v\n%s", filepath.Base(path), err, out)
	}
}

// checkProbe checks that ffprobe finds the codecs and counts the frames.
func checkProbe(t *testing.T, ffprobe, path, vname, aname string, nv, na int) {
	t.Helper()
	streams, dur := probe(t, ffprobe, path)
	var want []probeStream
	if vname != "" {
		want = append(want, probeStream{CodecName: vname, CodecType: "video", NbReadFrames: strconv.Itoa(nv)})
	}
	if aname != "" {
		want = append(want, probeStream{CodecName: aname, CodecType: "audio", NbReadFrames: strconv.Itoa(na)})
	}
	if len(streams) != len(want) {
		t.Fatalf("ffprobe found %d streams %+v, want %d", len(streams), streams, len(want))
	}
	for i, s := range streams {
		w := want[i]
		if s.CodecName != w.CodecName || s.CodecType != w.CodecType || s.NbReadFrames != w.NbReadFrames {
			t.Errorf("stream %d: %s %s, %s frames decoded; want %s %s, %s frames", i,
				s.CodecType, s.CodecName, s.NbReadFrames, w.CodecType, w.CodecName, w.NbReadFrames)
		}
		if s.CodecType == "audio" && (s.SampleRate != "44100" || s.Channels != 2) {
			t.Errorf("audio %s Hz, %d channels; want 44100 Hz stereo", s.SampleRate, s.Channels)
		}
		if s.CodecType == "video" && s.Width != 320 {
			t.Errorf("video width %d, want 320", s.Width)
		}
	}
	if dur < 3.8 || dur > 4.3 {
		t.Errorf("duration %.3f s, want about 4 s", dur)
	}
	t.Logf("%s: %+v, %.3f s", filepath.Base(path), streams, dur)
}

// TestFFprobeReadsOurTS muxes ffmpeg-made FLV streams (read with
// internal/flv) to TS: ffprobe must find the codecs, decode every frame and
// see the right duration, and ffmpeg must decode it without errors.
func TestFFprobeReadsOurTS(t *testing.T) {
	ffmpeg, ffprobe := tools(t)
	for _, tc := range []struct {
		name, vcodec, acodec, vname, aname string
	}{
		{"h264+aac", "libx264", "aac", "h264", "aac"},
		{"h264+mp3", "libx264", "libmp3lame", "h264", "mp3"},
		{"aac", "", "aac", "", "aac"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := makeSource(t, ffmpeg, tc.vcodec, tc.acodec, "flv")
			frames := readFLV(t, src)
			out := filepath.Join(t.TempDir(), "out.ts")
			nv, na := muxFile(t, out, frames)
			checkProbe(t, ffprobe, out, tc.vname, tc.aname, nv, na)
			decodeClean(t, ffmpeg, out)
		})
	}
}

// probePackets returns ffprobe's view of one stream's packets: PTS, DTS
// (90 kHz) and key flags.
func probePackets(t *testing.T, ffprobe, path, sel string) (pts, dts []int64, keys int) {
	t.Helper()
	out, err := exec.Command(ffprobe, "-v", "error", "-select_streams", sel,
		"-show_entries", "packet=pts,dts,flags", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe packets: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(strings.TrimSpace(line), ",")
		if len(f) < 3 {
			continue
		}
		p, _ := strconv.ParseInt(f[0], 10, 64)
		d, _ := strconv.ParseInt(f[1], 10, 64)
		pts, dts = append(pts, p), append(dts, d)
		if strings.HasPrefix(f[2], "K") {
			keys++
		}
	}
	return pts, dts, keys
}

// TestDemuxFFmpegTS demuxes ffmpeg-made transport streams: the frame
// counts, keyframes, config frames and video timestamps must match what
// ffprobe reads, and the frames muxed again must probe and decode cleanly.
func TestDemuxFFmpegTS(t *testing.T) {
	ffmpeg, ffprobe := tools(t)
	for _, tc := range []struct {
		name, vcodec, acodec, vname, aname string
		video, audio                       media.Codec
	}{
		{"h264+aac", "libx264", "aac", "h264", "aac", media.CodecH264, media.CodecAAC},
		{"h265+mp3", "libx265", "libmp3lame", "hevc", "mp3", media.CodecH265, media.CodecMP3},
		{"h265+aac", "libx265", "aac", "hevc", "aac", media.CodecH265, media.CodecAAC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := makeSource(t, ffmpeg, tc.vcodec, tc.acodec, "ts")
			data, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			frames := demuxAll(t, data, 1316)
			var vcfg, acfg, keys int
			var video, audio []media.Frame
			for _, f := range frames {
				switch {
				case f.IsConfig() && f.Codec.IsVideo():
					vcfg++
				case f.IsConfig():
					acfg++
				case f.Codec.IsVideo():
					video = append(video, f)
					if f.IsKey() {
						keys++
					}
				default:
					audio = append(audio, f)
				}
				if f.Codec != tc.video && f.Codec != tc.audio {
					t.Fatalf("frame of codec %v", f.Codec)
				}
			}
			if !frames[0].IsConfig() || frames[0].Codec != tc.video {
				t.Errorf("first frame %s, want the video config", describe(&frames[0]))
			}
			wantACfg := 0
			if tc.audio == media.CodecAAC {
				wantACfg = 1
			}
			if vcfg != 1 || acfg != wantACfg {
				t.Errorf("%d video and %d audio config frames, want 1 and %d", vcfg, acfg, wantACfg)
			}
			vpts, vdts, vkeys := probePackets(t, ffprobe, src, "v")
			apts, _, _ := probePackets(t, ffprobe, src, "a")
			if len(video) != len(vpts) || keys != vkeys || keys != 4 {
				t.Errorf("%d video frames, %d keyframes; ffprobe: %d, %d (want 4 keyframes)", len(video), keys, len(vpts), vkeys)
			}
			for i := range min(len(video), len(vpts)) {
				if ticks(video[i].PTS) != vpts[i] || ticks(video[i].DTS) != vdts[i] {
					t.Fatalf("video frame %d: pts %d dts %d, ffprobe %d %d", i,
						ticks(video[i].PTS), ticks(video[i].DTS), vpts[i], vdts[i])
				}
			}
			if len(audio) != len(apts) {
				t.Errorf("%d audio frames, ffprobe %d", len(audio), len(apts))
			}
			for i := range min(len(audio), len(apts)) {
				if d := ticks(audio[i].PTS) - apts[i]; d < -1 || d > 1 {
					t.Fatalf("audio frame %d: pts %d, ffprobe %d", i, ticks(audio[i].PTS), apts[i])
				}
				if audio[i].SampleRate != 44100 || audio[i].Channels != 2 {
					t.Fatalf("audio frame %d: %s", i, describe(&audio[i]))
				}
			}
			t.Logf("%s: %d video frames (%d key), %d audio frames", tc.name, len(video), keys, len(audio))

			out := filepath.Join(t.TempDir(), "out.ts")
			nv, na := muxFile(t, out, frames)
			checkProbe(t, ffprobe, out, tc.vname, tc.aname, nv, na)
			decodeClean(t, ffmpeg, out)
		})
	}
}
