package ps

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/srs-lite/srs-lite/internal/format/codec"
	"github.com/srs-lite/srs-lite/internal/media"
)

// checkGStreamer checks the frames of gstFile.
func checkGStreamer(t *testing.T, c *collector, video, audio, keys int, w, h int) {
	t.Helper()
	if n := c.count(media.CodecH264, 0); n != video {
		t.Errorf("video frames = %d, want %d", n, video)
	}
	if n := c.count(media.CodecH264, media.FlagKey); n < keys {
		t.Errorf("keyframes = %d, want at least %d", n, keys)
	}
	if n := c.count(media.CodecAAC, 0); n != audio {
		t.Errorf("audio frames = %d, want %d", n, audio)
	}
	cfg := c.config(media.CodecH264)
	if cfg == nil {
		t.Fatal("no H.264 config frame")
	}
	for _, f := range c.frames {
		if f.Codec == media.CodecH264 {
			if !f.IsConfig() {
				t.Error("first video frame is not the H.264 config")
			}
			break
		}
	}
	v, ok := codec.VideoInfo(cfg)
	if !ok || v.Width != w || v.Height != h {
		t.Errorf("video info %+v, want %dx%d", v, w, h)
	}
	acfg := c.config(media.CodecAAC)
	if acfg == nil {
		t.Fatal("no AAC config frame")
	}
	if a, ok := codec.AudioInfo(acfg); !ok || a.SampleRate != 44100 || a.Channels != 1 {
		t.Errorf("audio info %+v, want 44100 Hz mono", a)
	}
	vf := c.of(media.CodecH264)
	if len(vf) > 0 && !vf[0].IsKey() {
		t.Error("first video frame is not a keyframe")
	}
	for i := 1; i < len(vf); i++ {
		if d := vf[i].DTS - vf[i-1].DTS; d != ms(40) {
			t.Fatalf("video frame %d: DTS step %v, want 40ms", i, d)
		}
	}
	af := c.of(media.CodecAAC)
	for i := 1; i < len(af); i++ {
		if af[i].DTS <= af[i-1].DTS {
			t.Fatalf("audio frame %d: DTS %v after %v", i, af[i].DTS, af[i-1].DTS)
		}
	}
}

// TestGStreamer demuxes GStreamer's mpegpsmux output, fed whole, in RTP
// sized chunks, and byte by byte.
func TestGStreamer(t *testing.T) {
	data := readFile(t, gstFile)
	for _, n := range []int{0, 1400, 1, 7} {
		c, d := demuxChunks(t, data, n)
		checkGStreamer(t, c, 50, 41, 2, 320, 180)
		if s := d.Stats(); s.Errors != 0 || s.Resyncs != 0 || s.Dropped != 0 {
			t.Errorf("chunk %d: stats %+v", n, s)
		}
	}
}

// TestGStreamerGenerated demuxes a longer stream made by GStreamer now: 150
// frames of 640x360 H.264 and AAC.
func TestGStreamerGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	gst, err := exec.LookPath("gst-launch-1.0")
	if err != nil {
		t.Skip("SKIP: gst-launch-1.0 not installed (gstreamer1.0-tools, -plugins-bad, -plugins-ugly, -libav): see scripts/test-deps.sh")
	}
	out := filepath.Join(t.TempDir(), "x.ps")
	cmd := exec.Command(gst, "-q",
		"videotestsrc", "num-buffers=150", "!", "video/x-raw,format=I420,width=640,height=360,framerate=25/1", "!",
		"x264enc", "key-int-max=25", "tune=zerolatency", "!", "h264parse", "!",
		"mpegpsmux", "name=m", "!", "filesink", "location="+out,
		"audiotestsrc", "num-buffers=100", "!", "audio/x-raw,rate=44100,channels=1", "!", "avenc_aac", "!", "aacparse", "!", "m.")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("SKIP: GStreamer pipeline failed (mpegpsmux, x264enc or avenc_aac missing?): %v\n%s", err, b)
	}
	data := readFile(t, out)
	c, d := demuxChunks(t, data, 1400)
	checkGStreamer(t, c, 150, c.count(media.CodecAAC, 0), 6, 640, 360)
	if n := c.count(media.CodecAAC, 0); n < 100 {
		t.Errorf("audio frames = %d, want at least 100", n)
	}
	t.Logf("%d bytes, stats %+v", len(data), d.Stats())
}

// TestNoPSM reads a stream without its program stream map: stream ids
// decide (0xE0 video, 0xC0 audio sniffed as ADTS).
func TestNoPSM(t *testing.T) {
	data := without(t, readFile(t, gstFile), idPSM)
	c, _ := demuxChunks(t, data, 1400)
	checkGStreamer(t, c, 50, 41, 2, 320, 180)
}

// TestGarbage puts garbage between packs and inside a PES: the demuxer
// skips it and resyncs at the next start code.
func TestGarbage(t *testing.T) {
	data := readFile(t, gstFile)
	us := units(t, data)
	junk := bytes.Repeat([]byte{0x47, 0, 0, 0x12, 0x00, 0x00, 0x01, 0x09}, 50)
	var in []byte
	damaged := 0
	for i, u := range us {
		b := data[u.off : u.off+u.n]
		switch {
		case i%10 == 5:
			in = append(in, junk...) // between units: nothing lost
			in = append(in, b...)
		case i%37 == 20 && u.id == idVideo:
			in = append(in, b[:u.n/2]...) // a PES cut short, then garbage
			in = append(in, junk...)
			damaged++
		default:
			in = append(in, b...)
		}
	}
	c, d := demuxChunks(t, in, 1400)
	s := d.Stats()
	if s.Resyncs == 0 || s.Skipped < uint64(len(junk)) {
		t.Errorf("stats %+v: no resync counted", s)
	}
	n := c.count(media.CodecH264, 0)
	if n < 50-3*damaged || n > 50 {
		t.Errorf("video frames = %d, want about %d", n, 50-damaged)
	}
	t.Logf("%d damaged PES, %d video frames, stats %+v", damaged, n, s)
	// Garbage before the first pack.
	c, d = demuxChunks(t, append(bytes.Repeat([]byte{1, 2, 3, 0, 0}, 100), data...), 1400)
	checkGStreamer(t, c, 50, 41, 2, 320, 180)
	if d.Stats().Resyncs != 1 {
		t.Errorf("resyncs = %d, want 1", d.Stats().Resyncs)
	}
}

// TestPrivateStream skips Hikvision's private_stream_1 data and a padding
// stream.
func TestPrivateStream(t *testing.T) {
	data := readFile(t, gstFile)
	var in []byte
	for _, u := range units(t, data) {
		in = append(in, data[u.off:u.off+u.n]...)
		if u.id == idPack {
			priv := []byte{0, 0, 1, idPrivate1, 0, 12, 0x80, 0x80, 5, 0x21, 0, 1, 0, 1, 'H', 'I', 'K', 0}
			pad := []byte{0, 0, 1, idPadding, 0, 4, 0xff, 0xff, 0xff, 0xff}
			in = append(append(in, priv...), pad...)
		}
	}
	c, d := demuxChunks(t, in, 1400)
	checkGStreamer(t, c, 50, 41, 2, 320, 180)
	if s := d.Stats(); s.Errors != 0 || s.Resyncs != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestMarker feeds each frame of a camera-style stream as RTP payloads:
// the frame comes out at the packet with the marker bit, not one frame
// later.
func TestMarker(t *testing.T) {
	frames := demuxedGStreamer(t)
	m := NewMuxer()
	d := &Demuxer{}
	var got []media.Frame
	emit := func(f *media.Frame) {
		if !f.IsConfig() {
			got = append(got, *f)
		}
	}
	want := 0
	for _, f := range frames {
		b, err := m.AppendFrame(nil, &f)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			continue
		}
		for len(b) > 0 {
			k := min(len(b), 1400)
			if err := d.Write(b[:k], k == len(b), emit); err != nil {
				t.Fatal(err)
			}
			b = b[k:]
		}
		want++
		if len(got) != want {
			t.Fatalf("after frame %d (%v): %d frames out", want, f.Codec, len(got))
		}
	}
}

// demuxedGStreamer returns the frames of gstFile, config frames included.
func demuxedGStreamer(t testing.TB) []media.Frame {
	c, _ := demuxChunks(t, readFile(t, gstFile), 0)
	return c.frames
}

// TestLoss drops a piece of the stream and says so: the frame it belonged
// to is dropped, the next ones come out.
func TestLoss(t *testing.T) {
	frames := demuxedGStreamer(t)
	m := NewMuxer()
	d := &Demuxer{}
	c := &collector{}
	lostAt := 20
	nv := 0
	for _, f := range frames {
		b, _ := m.AppendFrame(nil, &f)
		if len(b) == 0 {
			continue
		}
		if f.Codec.IsVideo() {
			nv++
		}
		var pkts [][]byte
		for len(b) > 0 {
			k := min(len(b), 300)
			pkts = append(pkts, b[:k])
			b = b[k:]
		}
		for i, p := range pkts {
			if f.Codec.IsVideo() && nv == lostAt && i == 1 && len(pkts) > 2 {
				d.Loss()
				continue
			}
			_ = d.Write(p, i == len(pkts)-1, c.emit)
		}
	}
	if n := c.count(media.CodecH264, 0); n != 49 {
		t.Errorf("video frames = %d, want 49", n)
	}
	if n := c.count(media.CodecAAC, 0); n != 41 {
		t.Errorf("audio frames = %d, want 41", n)
	}
	if d.Stats().Dropped != 1 {
		t.Errorf("stats %+v, want 1 dropped", d.Stats())
	}
}

// TestWrap checks timestamps across the 33-bit wraparound.
func TestWrap(t *testing.T) {
	frames := demuxedGStreamer(t)
	m := NewMuxer()
	base := duration(1<<33 - 90000) // one second before the wrap
	var in []byte
	for _, f := range frames {
		f.DTS += base
		f.PTS += base
		var err error
		if in, err = m.AppendFrame(in, &f); err != nil {
			t.Fatal(err)
		}
	}
	c, _ := demuxChunks(t, in, 1400)
	vf := c.of(media.CodecH264)
	if len(vf) != 50 {
		t.Fatalf("video frames = %d", len(vf))
	}
	for i := 1; i < len(vf); i++ {
		if d := vf[i].DTS - vf[i-1].DTS; d != ms(40) {
			t.Fatalf("frame %d: DTS step %v at %v", i, d, vf[i].DTS)
		}
	}
}

// TestG711 reads G.711 audio, typed by the map (0x90, 0x91), and by default
// (no map: A-law).
func TestG711(t *testing.T) {
	for _, tc := range []struct {
		codec media.Codec
		psm   bool
		want  media.Codec
	}{
		{media.CodecPCMA, true, media.CodecPCMA},
		{media.CodecPCMU, true, media.CodecPCMU},
		{media.CodecPCMU, false, media.CodecPCMA},
	} {
		m := NewMuxer()
		m.SetTracks(media.CodecH264, tc.codec)
		var in []byte
		for _, f := range demuxedGStreamer(t) {
			if f.Codec == media.CodecAAC {
				if f.IsConfig() {
					continue
				}
				f = media.Frame{DTS: f.DTS, PTS: f.PTS, Codec: tc.codec, Payload: bytes.Repeat([]byte{0xd5}, 320)}
			}
			in, _ = m.AppendFrame(in, &f)
		}
		if !tc.psm {
			in = without(t, in, idPSM)
		}
		c, _ := demuxChunks(t, in, 1400)
		// The first two audio frames come before the first keyframe and its
		// map: A-law by default.
		n := c.count(tc.want, 0)
		if all := n + c.count(media.CodecPCMA+media.CodecPCMU-tc.want, 0); all != 41 || n < 39 {
			t.Errorf("%v (map %v): %d frames of %v, %d in all, want 41", tc.codec, tc.psm, n, tc.want, all)
		}
		for _, f := range c.of(tc.want) {
			if f.SampleRate != 8000 || f.Channels != 1 || len(f.Payload) != 320 {
				t.Fatalf("frame %+v", f)
			}
		}
	}
}

// TestAllocs pins zero allocations per frame in steady state.
func TestAllocs(t *testing.T) {
	pkts, markers := cameraPackets(t)
	d := &Demuxer{}
	emit := func(*media.Frame) {}
	run := func() {
		for i, p := range pkts {
			_ = d.Write(p, markers[i], emit)
		}
	}
	run() // warm up: config frames, buffers
	if n := testing.AllocsPerRun(20, run); n != 0 {
		t.Errorf("%v allocations per run, want 0", n)
	}
}

// cameraPackets returns the non-key frames of gstFile as a camera sends
// them: each frame in a pack, in RTP payloads of at most 1400 bytes with
// the marker on the last one of a frame.
func cameraPackets(t testing.TB) ([][]byte, []bool) {
	m := NewMuxer()
	var pkts [][]byte
	var markers []bool
	for _, f := range demuxedGStreamer(t) {
		if f.IsKey() {
			continue
		}
		b, err := m.AppendFrame(nil, &f)
		if err != nil {
			t.Fatal(err)
		}
		for len(b) > 0 {
			k := min(len(b), 1400)
			pkts = append(pkts, b[:k])
			markers = append(markers, k == len(b))
			b = b[k:]
		}
	}
	return pkts, markers
}

// TestSplitFrames cuts GStreamer's stream into per-frame pieces, as the
// device simulator sends them, and demuxes each with the marker bit.
func TestSplitFrames(t *testing.T) {
	data := readFile(t, gstFile)
	var pieces [][]byte
	var pts []int64
	SplitFrames(data, func(p []byte, t int64) {
		pieces = append(pieces, p)
		pts = append(pts, t)
	})
	if len(pieces) != 50 {
		t.Fatalf("%d pieces, want 50", len(pieces))
	}
	if !bytes.Equal(bytes.Join(pieces, nil), data) {
		t.Fatal("pieces do not make up the stream")
	}
	d := &Demuxer{}
	c := &collector{}
	for i, p := range pieces {
		if i > 0 && pts[i]-pts[i-1] != 3600 {
			t.Errorf("piece %d: PTS %d after %d", i, pts[i], pts[i-1])
		}
		_ = d.Write(p, true, c.emit)
		if n := c.count(media.CodecH264, 0); n != i+1 {
			t.Fatalf("after piece %d: %d video frames", i, n)
		}
	}
	checkGStreamer(t, c, 50, 41, 2, 320, 180)
}

// TestZeroPadding reads a stream with zero bytes between its units (4-byte
// start codes, zero padding): no garbage counted.
func TestZeroPadding(t *testing.T) {
	data := readFile(t, gstFile)
	var in []byte
	for i, u := range units(t, data) {
		in = append(in, make([]byte, i%3)...)
		in = append(in, data[u.off:u.off+u.n]...)
	}
	for _, n := range []int{1400, 1} {
		c, d := demuxChunks(t, in, n)
		checkGStreamer(t, c, 50, 41, 2, 320, 180)
		if s := d.Stats(); s.Resyncs != 0 || s.Errors != 0 {
			t.Errorf("chunk %d: stats %+v", n, s)
		}
	}
}

// TestShift moves the timestamps of GStreamer's stream by an hour.
func TestShift(t *testing.T) {
	data := bytes.Clone(readFile(t, gstFile))
	const hour = 3600 * clock
	Shift(data, hour)
	c, _ := demuxChunks(t, data, 1400)
	ref, _ := demuxChunks(t, readFile(t, gstFile), 1400)
	if len(c.frames) != len(ref.frames) {
		t.Fatalf("%d frames, want %d", len(c.frames), len(ref.frames))
	}
	for i := range c.frames {
		if d := c.frames[i].DTS - ref.frames[i].DTS; d != duration(hour) || c.frames[i].PTS-ref.frames[i].PTS != d {
			t.Fatalf("frame %d: moved by %v", i, d)
		}
	}
	orig := readFile(t, gstFile)
	scr := func(b []byte) int64 {
		return int64(b[4]>>3&7)<<30 | int64(b[4]&3)<<28 | int64(b[5])<<20 |
			int64(b[6]>>3)<<15 | int64(b[6]&3)<<13 | int64(b[7])<<5 | int64(b[8]>>3)
	}
	for _, u := range units(t, data) {
		if u.id == idPack {
			b := data[u.off:]
			if b[4]&0xc4 != 0x44 || b[6]&4 == 0 || b[8]&4 == 0 || !bytes.Equal(b[9:14], orig[u.off+9:u.off+14]) {
				t.Fatalf("pack at %d: marker bits or mux rate lost: % x", u.off, b[:14])
			}
			if d := scr(b) - scr(orig[u.off:]); d != hour {
				t.Fatalf("pack at %d: SCR moved by %d", u.off, d)
			}
		}
	}
}
