package test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/codec/av1"
	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/format/codec/h265"
	"github.com/srs-lite/srs-lite/internal/format/flv"
	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/protocol/rtmp"
)

// TestEnhancedRTMP relays HEVC and AV1 the way OBS publishes them (Enhanced
// RTMP, FourCC hvc1 and av01). Debian's ffmpeg 5.1 can neither publish nor
// read Enhanced RTMP, so ffmpeg encodes the elementary stream, our RTMP
// client publishes it, RTMP and HTTP-FLV players take it back out, and
// ffprobe decodes what came out: every frame, the right codec and size.
func TestEnhancedRTMP(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	t.Parallel()
	s := startServer(t, "")
	for _, tc := range []struct {
		name   string
		codec  media.Codec
		fourCC string
		format string
		enc    []string
	}{
		{"hevc", media.CodecH265, "hvc1", "hevc", []string{"-c:v", "libx265",
			"-x265-params", "bframes=0:aud=1:keyint=30:min-keyint=30:log-level=error"}},
		{"av1", media.CodecAV1, "av01", "obu", []string{"-c:v", "libsvtav1", "-preset", "12", "-g", "30"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "in."+tc.format)
			args := append([]string{"-hide_banner", "-loglevel", "error", "-f", "lavfi",
				"-i", "testsrc2=size=320x240:rate=30", "-t", "2", "-pix_fmt", "yuv420p"}, tc.enc...)
			if out, err := exec.Command("ffmpeg", append(args, "-f", tc.format, in)...).CombinedOutput(); err != nil {
				t.Skipf("SKIPPED: this ffmpeg cannot encode %s: %v: %s", tc.name, err, out)
			}
			es, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var config []byte
			var units [][]byte
			if tc.codec == media.CodecH265 {
				config, units = hevcUnits(t, es)
			} else {
				config, units = av1Units(t, es)
			}
			stream := streamName()

			// Players first: they wait for the publisher and get the whole session.
			type result struct {
				via    string
				file   string
				fourCC string
				err    error
			}
			results := make(chan result, 2)
			go func() {
				f := filepath.Join(dir, "flv."+tc.format)
				fourCC, err := playHTTPFLV(s.flvURL(stream), f, tc.codec)
				results <- result{"http-flv", f, fourCC, err}
			}()
			go func() {
				f := filepath.Join(dir, "rtmp."+tc.format)
				fourCC, err := playRTMP(s.rtmpURL(stream), f, tc.codec)
				results <- result{"rtmp", f, fourCC, err}
			}()
			waitPlayers(t, s, 2)

			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			pub, err := rtmp.Dial(ctx, s.rtmpURL(stream), rtmp.ClientOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := pub.Publish(ctx); err != nil {
				t.Fatal(err)
			}
			cfg := media.Frame{Codec: tc.codec, Flags: media.FlagConfig, Payload: config}
			if err := pub.WriteFrame(&cfg); err != nil {
				t.Fatal(err)
			}
			for i, u := range units {
				f := media.Frame{Codec: tc.codec, Payload: u, DTS: time.Duration(i) * time.Second / 30}
				f.PTS = f.DTS
				if (tc.codec == media.CodecH265 && h265.IsKeyAVCC(u)) || (tc.codec == media.CodecAV1 && av1.IsKey(u)) {
					f.Flags = media.FlagKey
				}
				if err := pub.WriteFrame(&f); err != nil {
					t.Fatal(err)
				}
			}
			apiOK := false
			for deadline := time.Now().Add(3 * time.Second); !apiOK && time.Now().Before(deadline); {
				for _, st := range s.streams(t) {
					apiOK = apiOK || st.Name == stream && st.Video != nil && st.Video.Width == 320 && st.Video.Height == 240
				}
				time.Sleep(20 * time.Millisecond)
			}
			if !apiOK {
				t.Errorf("the API does not show the %s stream as 320x240: %+v", tc.name, s.streams(t))
			}
			pub.Close()

			for range 2 {
				r := <-results
				if r.err != nil {
					t.Errorf("%s player: %v", r.via, r.err)
					continue
				}
				if r.fourCC != tc.fourCC {
					t.Errorf("%s: video tags carry FourCC %q, want %q", r.via, r.fourCC, tc.fourCC)
				}
				codec, w, h, n := probeFrames(t, r.file, tc.format)
				t.Logf("%s: FourCC %s, ffprobe decodes %s %dx%d, %d of %d frames", r.via, r.fourCC, codec, w, h, n, len(units))
				if codec != tc.name || w != 320 || h != 240 || n != len(units) {
					t.Errorf("%s: ffprobe decodes %s %dx%d, %d frames; want %s 320x240, %d frames",
						r.via, codec, w, h, n, tc.name, len(units))
				}
			}
		})
	}
}

// hevcUnits splits an Annex B HEVC stream (with AUDs) into access units in
// AVCC form and builds the decoder configuration record.
func hevcUnits(t *testing.T, es []byte) (config []byte, units [][]byte) {
	var vps, sps, pps [][]byte
	var cur []byte
	h264.SplitAnnexB(es, func(n []byte) bool {
		switch h265.Type(n) {
		case 32:
			vps = append(vps, n)
		case 33:
			sps = append(sps, n)
		case 34:
			pps = append(pps, n)
		case 35: // access unit delimiter: a new unit
			if len(cur) > 0 {
				units = append(units, cur)
			}
			cur = nil
		default:
			cur = h264.AnnexBToAVCC(cur, append([]byte{0, 0, 0, 1}, n...))
		}
		return true
	})
	if len(cur) > 0 {
		units = append(units, cur)
	}
	if len(vps) == 0 || len(sps) == 0 || len(pps) == 0 {
		t.Fatal("no parameter sets in the HEVC stream")
	}
	return h265.BuildConfig(vps[:1], sps[:1], pps[:1]), units
}

// av1Units splits a low overhead AV1 stream into temporal units (without
// their temporal delimiters) and builds the configuration record.
func av1Units(t *testing.T, es []byte) (config []byte, units [][]byte) {
	var cur, seq []byte
	err := av1.SplitOBUs(es, func(o av1.OBU) bool {
		switch o.Type {
		case av1.OBUTemporalDelimiter:
			if len(cur) > 0 {
				units = append(units, cur)
			}
			cur = nil
		default:
			if o.Type == av1.OBUSequenceHeader && seq == nil {
				seq = o.Raw
			}
			cur = append(cur, o.Raw...)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(cur) > 0 {
		units = append(units, cur)
	}
	config, err = av1.BuildConfig(seq)
	if err != nil {
		t.Fatal(err)
	}
	return config, units
}

// elementary writes frames of a relayed stream back as an elementary stream
// that ffmpeg reads: Annex B for HEVC, low overhead OBUs for AV1.
type elementary struct {
	w     *bufio.Writer
	codec media.Codec
	buf   []byte
}

func (e *elementary) frame(f *media.Frame) error {
	switch {
	case f.Codec != e.codec:
		return nil
	case f.IsConfig() && e.codec == media.CodecH265:
		cfg, err := h265.ParseConfig(f.Payload)
		if err != nil {
			return err
		}
		for _, set := range [][][]byte{cfg.VPS, cfg.SPS, cfg.PPS} {
			for _, n := range set {
				e.w.Write([]byte{0, 0, 0, 1})
				e.w.Write(n)
			}
		}
	case f.IsConfig():
	case e.codec == media.CodecH265:
		e.buf = h264.AVCCToAnnexB(e.buf[:0], f.Payload)
		e.w.Write(e.buf)
	default:
		e.w.Write([]byte{0x12, 0x00}) // temporal delimiter OBU
		e.w.Write(f.Payload)
	}
	return nil
}

// playHTTPFLV plays url and writes the video as an elementary stream to
// file; it returns the FourCC of the video tags (Enhanced RTMP).
func playHTTPFLV(url, file string, codec media.Codec) (fourCC string, err error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	r := flv.NewReader(bufio.NewReader(resp.Body))
	if _, _, err := r.ReadHeader(); err != nil {
		return "", err
	}
	return writeElementary(file, codec, func(onTag func(typ uint8, ts uint32, body []byte)) error {
		for {
			tag, err := r.ReadTag()
			if err != nil {
				return nil // the end of the session
			}
			onTag(tag.Type, tag.Timestamp, tag.Body)
		}
	})
}

// playRTMP is playHTTPFLV over RTMP.
func playRTMP(url, file string, codec media.Codec) (fourCC string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return writeElementary(file, codec, func(onTag func(typ uint8, ts uint32, body []byte)) error {
		if err := rtmp.PlayTags(ctx, url, onTag); err != io.EOF {
			return err
		}
		return nil // the end of the session
	})
}

// writeElementary runs play, which hands over FLV tag bodies, and writes
// their video to file.
func writeElementary(file string, codec media.Codec, play func(onTag func(typ uint8, ts uint32, body []byte)) error) (fourCC string, err error) {
	out, err := os.Create(file)
	if err != nil {
		return "", err
	}
	defer out.Close()
	e := &elementary{w: bufio.NewWriter(out), codec: codec}
	var ferr error
	err = play(func(typ uint8, ts uint32, body []byte) {
		if typ == flv.TagVideo && len(body) >= 5 && body[0]&0x80 != 0 {
			fourCC = string(body[1:5])
		}
		var f media.Frame
		if flv.FrameFromTag(typ, ts, body, &f) == nil && ferr == nil {
			ferr = e.frame(&f)
		}
	})
	if err == nil {
		err = ferr
	}
	if ferr := e.w.Flush(); err == nil {
		err = ferr
	}
	return fourCC, err
}

// waitPlayers waits until the server has n players.
func waitPlayers(t *testing.T, s *srv, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		players := 0
		for _, c := range s.clients(t) {
			if !c.Publish {
				players++
			}
		}
		if players >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d players did not attach: %+v", n, s.clients(t))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// probeFrames decodes file with ffprobe and returns codec, size and frames.
func probeFrames(t *testing.T, file, format string) (codec string, w, h, n int) {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-f", format, "-count_frames", "-select_streams", "v",
		"-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "json", file).Output()
	if err != nil {
		t.Errorf("ffprobe %s: %v", file, err)
		return
	}
	var p struct {
		Streams []struct {
			CodecName    string `json:"codec_name"`
			Width        int    `json:"width"`
			Height       int    `json:"height"`
			NbReadFrames string `json:"nb_read_frames"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &p); err != nil || len(p.Streams) == 0 {
		t.Errorf("ffprobe output: %v: %s", err, out)
		return
	}
	st := p.Streams[0]
	n, _ = strconv.Atoi(st.NbReadFrames)
	return st.CodecName, st.Width, st.Height, n
}
