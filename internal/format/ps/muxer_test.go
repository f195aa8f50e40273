package ps

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/srs-lite/srs-lite/internal/format/codec"
	"github.com/srs-lite/srs-lite/internal/format/ts"
	"github.com/srs-lite/srs-lite/internal/media"
)

// h265Frames returns the frames of testdata/gst-h265.ts (30 frames of
// 320x180 H.265 by x265enc and mpegtsmux: mpegpsmux takes no H.265).
func h265Frames(t testing.TB) []media.Frame {
	c := &collector{}
	d := ts.NewDemuxer(func(f *media.Frame) error { c.emit(f); return nil })
	if _, err := d.Write(readFile(t, "testdata/gst-h265.ts")); err != nil {
		t.Fatal(err)
	}
	if err := d.Flush(); err != nil {
		t.Fatal(err)
	}
	return c.frames
}

func muxAll(t testing.TB, m *Muxer, frames []media.Frame) []byte {
	t.Helper()
	var out []byte
	for i := range frames {
		var err error
		if out, err = m.AppendFrame(out, &frames[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestRoundTrip muxes the frames of GStreamer's streams and demuxes them
// back: same payloads, flags and timestamps.
func TestRoundTrip(t *testing.T) {
	for name, frames := range map[string][]media.Frame{
		"h264+aac": demuxedGStreamer(t),
		"h265":     h265Frames(t),
	} {
		t.Run(name, func(t *testing.T) {
			m := NewMuxer()
			data := muxAll(t, m, frames)
			c, d := demuxChunks(t, data, 1400)
			if s := d.Stats(); s.Errors != 0 || s.Resyncs != 0 || s.Dropped != 0 {
				t.Errorf("stats %+v", s)
			}
			want := map[media.Codec][]media.Frame{}
			got := map[media.Codec][]media.Frame{}
			for _, f := range frames {
				want[f.Codec] = append(want[f.Codec], f)
			}
			for _, f := range c.frames {
				got[f.Codec] = append(got[f.Codec], f)
			}
			for cd, w := range want {
				g := got[cd]
				if len(g) != len(w) {
					t.Fatalf("%v: %d frames, want %d", cd, len(g), len(w))
				}
				for i := range w {
					if g[i].DTS != w[i].DTS || g[i].PTS != w[i].PTS || g[i].Flags != w[i].Flags ||
						!bytes.Equal(g[i].Payload, w[i].Payload) {
						t.Fatalf("%v frame %d: got %v/%v flags %d %d bytes, want %v/%v flags %d %d bytes", cd, i,
							g[i].DTS, g[i].PTS, g[i].Flags, len(g[i].Payload), w[i].DTS, w[i].PTS, w[i].Flags, len(w[i].Payload))
					}
				}
			}
			vc := media.CodecH264
			if name == "h265" {
				vc = media.CodecH265
			}
			cfg := c.config(vc)
			if cfg == nil {
				t.Fatal("no video config")
			}
			if v, ok := codec.VideoInfo(cfg); !ok || v.Width != 320 || v.Height != 180 {
				t.Errorf("video info %+v", v)
			}
		})
	}
}

// TestLargeFrame muxes a frame larger than a PES holds: it is split over
// several PES packets and joined again.
func TestLargeFrame(t *testing.T) {
	frames := demuxedGStreamer(t)
	for i := range frames {
		if frames[i].IsKey() {
			big := binary.BigEndian.AppendUint32(nil, 200000)
			big = append(append(big, 0x65), bytes.Repeat([]byte{0x88}, 200000-1)...)
			frames[i].Payload = big
		}
	}
	data := muxAll(t, NewMuxer(), frames)
	c, _ := demuxChunks(t, data, 1400)
	n := 0
	for _, f := range c.of(media.CodecH264) {
		if f.IsKey() {
			n++
			if len(f.Payload) != 200004 {
				t.Errorf("keyframe of %d bytes, want 200004", len(f.Payload))
			}
		}
	}
	if n != 2 {
		t.Errorf("%d keyframes, want 2", n)
	}
}

// TestFFprobe checks that ffprobe reads the muxer's output: codecs,
// resolution and frame count.
func TestFFprobe(t *testing.T) {
	ffprobe, err := exec.LookPath("ffprobe")
	if err != nil {
		t.Skip("SKIP: ffprobe not installed (Debian package ffmpeg)")
	}
	for name, tc := range map[string]struct {
		frames []media.Frame
		want   []string
	}{
		"h264+aac": {demuxedGStreamer(t), []string{"codec_name=h264|width=320|height=180|nb_read_frames=50", "codec_name=aac|"}},
		"h265":     {h265Frames(t), []string{"codec_name=hevc|width=320|height=180|nb_read_frames=30"}},
	} {
		file := filepath.Join(t.TempDir(), name+".ps")
		if err := os.WriteFile(file, muxAll(t, NewMuxer(), tc.frames), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(ffprobe, "-v", "error", "-f", "mpeg", "-count_frames",
			"-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "compact=p=0", file).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: ffprobe: %v\n%s", name, err, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("%s: ffprobe says\n%s\nwant %q", name, out, w)
			}
		}
	}
}

// TestMuxerHeaders checks the system header and map of a keyframe.
func TestMuxerHeaders(t *testing.T) {
	m := NewMuxer()
	m.SetTracks(media.CodecH265, media.CodecPCMA)
	frames := h265Frames(t)
	out := muxAll(t, m, frames[:2]) // config, keyframe
	us := units(t, out)
	var ids []byte
	for _, u := range us {
		ids = append(ids, u.id)
	}
	if !bytes.HasPrefix(ids, []byte{idPack, idSystem, idPSM, idVideo}) {
		t.Fatalf("units % x", ids)
	}
	psm := out[us[2].off : us[2].off+us[2].n]
	if crc32(psm) != 0 { // the CRC over the section, CRC included, is 0
		t.Errorf("PSM CRC wrong: % x", psm)
	}
	if !bytes.Contains(psm, []byte{TypeH265, idVideo, 0, 0, TypeG711A, idAudio, 0, 0}) {
		t.Errorf("PSM % x", psm)
	}
	if _, err := m.AppendFrame(nil, &media.Frame{Codec: media.CodecOpus}); err == nil {
		t.Error("Opus muxed")
	}
}

// hikvision rewrites muxer output the way Hikvision cameras write it: pack
// headers with stuffing, a map with descriptors, a private_stream_1 packet
// after each pack, and video split into PES packets of at most 8 KB that
// all carry the frame's PTS.
func hikvision(t *testing.T, in []byte) []byte {
	var out []byte
	for _, u := range units(t, in) {
		b := in[u.off : u.off+u.n]
		switch u.id {
		case idPack:
			p := append([]byte(nil), b...)
			p[13] = 0xf8 | 6
			out = append(append(out, p...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
			out = append(out, 0, 0, 1, idPrivate1, 0, 10, 0x80, 0, 0, 'H', 'K', 'V', 'S', 0, 1, 2)
		case idPSM:
			// Program info with a descriptor, and a descriptor on each stream.
			body := []byte{b[6], b[7], 0, 6, 0x40, 4, 'H', 'K', 'V', 'S'}
			es := b[12 : len(b)-4]
			var m []byte
			for len(es) >= 4 {
				m = append(m, es[0], es[1], 0, 4, 0x0a, 2, 'z', 'h')
				es = es[4:]
			}
			body = append(body, byte(len(m)>>8), byte(len(m)))
			body = append(body, m...)
			psm := append([]byte{0, 0, 1, idPSM, 0, byte(len(body) + 4)}, body...)
			out = binary.BigEndian.AppendUint32(append(out, psm...), crc32(psm))
		case idVideo:
			hl := int(b[8])
			opt, es := b[9:9+hl], b[9+hl:]
			for len(es) > 0 {
				n := min(len(es), 8000)
				l := 3 + hl + n
				out = append(out, 0, 0, 1, idVideo, byte(l>>8), byte(l), 0x80, b[7], byte(hl))
				out = append(append(out, opt...), es[:n]...)
				es = es[n:]
			}
		default:
			out = append(out, b...)
		}
	}
	return out
}

// TestHikvision reads a Hikvision-style stream, with and without its map,
// over RTP packets with markers and as a file.
func TestHikvision(t *testing.T) {
	for name, frames := range map[string][]media.Frame{
		"h264+aac": demuxedGStreamer(t),
		"h265":     h265Frames(t),
	} {
		for _, psm := range []bool{true, false} {
			m := NewMuxer()
			var data []byte
			var pieces [][]byte
			for i := range frames {
				b, err := m.AppendFrame(nil, &frames[i])
				if err != nil {
					t.Fatal(err)
				}
				if len(b) == 0 {
					continue
				}
				b = hikvision(t, b)
				if !psm {
					b = without(t, b, idPSM)
				}
				pieces = append(pieces, b)
				data = append(data, b...)
			}
			var want int
			for _, f := range frames {
				if !f.IsConfig() {
					want++
				}
			}
			c, d := demuxChunks(t, data, 1400)
			if n := len(c.frames) - countConfig(c); n != want || d.Stats().Errors != 0 {
				t.Errorf("%s map %v file: %d frames, want %d; stats %+v", name, psm, n, want, d.Stats())
			}
			if c.config(frames[len(frames)-1].Codec) == nil && c.config(frames[0].Codec) == nil {
				t.Errorf("%s map %v: no config frame", name, psm)
			}
			if name == "h265" && c.count(media.CodecH265, 0) != want {
				t.Errorf("map %v: %d H.265 frames, want %d (codec sniffed wrong?)", psm, c.count(media.CodecH265, 0), want)
			}
			// As RTP payloads with markers: each frame out at its marker.
			d2 := &Demuxer{}
			got := 0
			for i, p := range pieces {
				for len(p) > 0 {
					k := min(len(p), 1400)
					_ = d2.Write(p[:k], k == len(p), func(f *media.Frame) {
						if !f.IsConfig() {
							got++
						}
					})
					p = p[k:]
				}
				if got != i+1 {
					t.Fatalf("%s map %v: %d frames after piece %d", name, psm, got, i)
				}
			}
		}
	}
}

func countConfig(c *collector) (n int) {
	for _, f := range c.frames {
		if f.IsConfig() {
			n++
		}
	}
	return n
}

// TestUnboundedPES reads video PES packets whose PES_packet_length is 0:
// each runs to the next start code.
func TestUnboundedPES(t *testing.T) {
	frames := demuxedGStreamer(t)
	for i := range frames {
		if frames[i].IsKey() {
			big := binary.BigEndian.AppendUint32(nil, 100000)
			big = append(append(big, 0x65), bytes.Repeat([]byte{0x88}, 100000-1)...)
			frames[i].Payload = big
		}
	}
	m := NewMuxer()
	var pieces [][]byte
	var data []byte
	for i := range frames {
		b, err := m.AppendFrame(nil, &frames[i])
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			continue
		}
		for _, u := range units(t, b) {
			if u.id == idVideo {
				b[u.off+4], b[u.off+5] = 0, 0
			}
		}
		pieces = append(pieces, b)
		data = append(data, b...)
	}
	for _, n := range []int{1400, 1, 0} {
		c, d := demuxChunks(t, data, n)
		if v, a := c.count(media.CodecH264, 0), c.count(media.CodecAAC, 0); v != 50 || a != 41 || d.Stats().Errors != 0 {
			t.Errorf("chunk %d: video %d audio %d, stats %+v", n, v, a, d.Stats())
		}
		for _, f := range c.of(media.CodecH264) {
			if f.IsKey() && len(f.Payload) != 100004 {
				t.Errorf("keyframe of %d bytes", len(f.Payload))
			}
		}
	}
	d := &Demuxer{}
	got := 0
	for i, p := range pieces {
		for len(p) > 0 {
			k := min(len(p), 1400)
			_ = d.Write(p[:k], k == len(p), func(f *media.Frame) {
				if !f.IsConfig() {
					got++
				}
			})
			p = p[k:]
		}
		if got != i+1 {
			t.Fatalf("%d frames after piece %d", got, i)
		}
	}
}
