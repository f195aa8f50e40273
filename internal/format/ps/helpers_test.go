package ps

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
)

// gstFile is GStreamer mpegpsmux output: 50 frames of 320x180 H.264
// (constrained baseline, keyframes every 25) and 41 AAC-LC frames at 44.1
// kHz mono, made by (see TestGStreamerGenerated)
//
//	gst-launch-1.0 videotestsrc num-buffers=50 ! video/x-raw,format=I420,width=320,height=180,framerate=25/1 !
//	  x264enc key-int-max=25 tune=zerolatency bitrate=200 ! video/x-h264,profile=baseline ! h264parse !
//	  mpegpsmux name=m ! filesink location=gst-h264-aac.ps
//	  audiotestsrc num-buffers=40 ! audio/x-raw,rate=44100,channels=1 ! avenc_aac ! aacparse ! m.
const gstFile = "testdata/gst-h264-aac.ps"

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// collector keeps owned copies of emitted frames.
type collector struct {
	frames []media.Frame
}

func (c *collector) emit(f *media.Frame) {
	g := *f
	g.Payload = bytes.Clone(f.Payload)
	c.frames = append(c.frames, g)
}

func (c *collector) count(codec media.Codec, flags media.Flags) (n int) {
	for _, f := range c.frames {
		if f.Codec == codec && f.Flags&flags == flags && (flags != 0 || !f.IsConfig()) {
			n++
		}
	}
	return n
}

func (c *collector) of(codec media.Codec) (out []media.Frame) {
	for _, f := range c.frames {
		if f.Codec == codec && !f.IsConfig() {
			out = append(out, f)
		}
	}
	return out
}

func (c *collector) config(codec media.Codec) *media.Frame {
	for i := range c.frames {
		if c.frames[i].Codec == codec && c.frames[i].IsConfig() {
			return &c.frames[i]
		}
	}
	return nil
}

// demuxChunks demuxes data in chunks of n bytes (0: all at once).
func demuxChunks(t testing.TB, data []byte, n int) (*collector, *Demuxer) {
	t.Helper()
	c := &collector{}
	d := &Demuxer{}
	if n <= 0 {
		n = len(data)
	}
	for len(data) > 0 {
		k := min(n, len(data))
		_ = d.Write(data[:k], false, c.emit)
		data = data[k:]
	}
	d.Flush(c.emit)
	return c, d
}

// unit is one start-code unit of a program stream.
type unit struct {
	off, n int
	id     byte
}

// units lists the units of a well-formed program stream.
func units(t testing.TB, b []byte) []unit {
	t.Helper()
	var us []unit
	for i := 0; i+4 <= len(b); {
		if b[i] != 0 || b[i+1] != 0 || b[i+2] != 1 {
			t.Fatalf("no start code at %d", i)
		}
		id := b[i+3]
		n := 4
		switch {
		case id == idPack:
			n = 14 + int(b[i+13]&7)
		case id > idEnd:
			n = 6 + int(binary.BigEndian.Uint16(b[i+4:]))
		}
		us = append(us, unit{i, n, id})
		i += n
	}
	return us
}

// without returns b without the units of the given id.
func without(t testing.TB, b []byte, id byte) []byte {
	var out []byte
	for _, u := range units(t, b) {
		if u.id != id {
			out = append(out, b[u.off:u.off+u.n]...)
		}
	}
	return out
}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }
