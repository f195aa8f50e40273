package hls

import (
	"bytes"

	"github.com/srs-lite/srs-lite/internal/format/fmp4"
	"github.com/srs-lite/srs-lite/internal/format/ts"
	"github.com/srs-lite/srs-lite/internal/media"
)

// container writes the segments of one publish session.
type container interface {
	// supports reports whether the container carries codec c.
	supports(c media.Codec) bool
	// track notes the codec of f and reports whether the set of tracks
	// or their configuration changed.
	track(f *media.Frame) bool
	// config takes a sequence header.
	config(f *media.Frame)
	// begin appends what starts a segment (TS: PAT and PMT).
	begin(dst []byte) []byte
	// frame appends (TS) or buffers (fMP4) a frame.
	frame(dst []byte, f *media.Frame) ([]byte, error)
	// end appends what the segment still holds (fMP4: its fragment).
	end(dst []byte) []byte
	// init returns the init segment (fMP4), nil for TS.
	init() []byte
	// release drops whatever the container still holds.
	release()
}

// newContainer returns the container of a session; tests replace it.
var newContainer = func(kind string) container {
	if kind == ContainerFMP4 {
		return newFMP4()
	}
	return newTS()
}

// tsContainer makes MPEG-TS segments.
type tsContainer struct {
	m            *ts.Muxer
	video, audio media.Codec
}

func newTS() *tsContainer { return &tsContainer{m: ts.NewMuxer()} }

func (c *tsContainer) supports(codec media.Codec) bool {
	switch codec {
	case media.CodecH264, media.CodecH265, media.CodecAAC, media.CodecMP3:
		return true
	}
	return false
}

func (c *tsContainer) track(f *media.Frame) bool {
	v, a := c.video, c.audio
	if f.Codec.IsVideo() {
		v = f.Codec
	} else {
		a = f.Codec
	}
	if v == c.video && a == c.audio {
		return false
	}
	c.video, c.audio = v, a
	c.m.SetTracks(v, a)
	return true
}

func (c *tsContainer) config(f *media.Frame) { _, _ = c.m.AppendFrame(nil, f) }

func (c *tsContainer) begin(dst []byte) []byte { return c.m.AppendTables(dst) }

func (c *tsContainer) frame(dst []byte, f *media.Frame) ([]byte, error) {
	return c.m.AppendFrame(dst, f)
}

func (c *tsContainer) end(dst []byte) []byte { return dst }
func (c *tsContainer) init() []byte          { return nil }
func (c *tsContainer) release()              {}

// fmp4Container makes CMAF segments: one moof+mdat each, after an init
// segment.
type fmp4Container struct {
	m          *fmp4.Muxer
	vcfg, acfg []byte // the configs the init segment was made of
	video      media.Codec
	audio      media.Codec
}

func newFMP4() *fmp4Container { return &fmp4Container{m: fmp4.NewMuxer()} }

func (c *fmp4Container) supports(codec media.Codec) bool {
	switch codec {
	case media.CodecH264, media.CodecH265, media.CodecAAC, media.CodecOpus:
		return true
	}
	return false
}

func (c *fmp4Container) track(f *media.Frame) bool {
	if f.Codec.IsVideo() {
		if f.Flags&media.FlagConfig != 0 {
			changed := c.video != f.Codec || !bytes.Equal(c.vcfg, f.Payload)
			c.video, c.vcfg = f.Codec, append(c.vcfg[:0], f.Payload...)
			return changed
		}
		return false
	}
	if f.Flags&media.FlagConfig != 0 {
		changed := c.audio != f.Codec || !bytes.Equal(c.acfg, f.Payload)
		c.audio, c.acfg = f.Codec, append(c.acfg[:0], f.Payload...)
		return changed
	}
	if f.Codec == media.CodecOpus && c.audio != f.Codec {
		// Opus without an OpusHead (a source that sends none): the
		// track comes from its first frame (48 kHz, its channels).
		c.audio, c.acfg = f.Codec, c.acfg[:0]
		_ = c.m.SetTrack(f)
		return true
	}
	return false
}

func (c *fmp4Container) config(f *media.Frame) { _ = c.m.SetTrack(f) }

func (c *fmp4Container) begin(dst []byte) []byte { return dst }

func (c *fmp4Container) frame(dst []byte, f *media.Frame) ([]byte, error) {
	return dst, c.m.Add(f)
}

func (c *fmp4Container) end(dst []byte) []byte {
	if _, n := c.m.Buffered(); n == 0 {
		return dst
	}
	return c.m.AppendFragment(dst, false)
}

func (c *fmp4Container) init() []byte { return c.m.AppendInit(nil) }

func (c *fmp4Container) release() {
	if _, n := c.m.Buffered(); n > 0 {
		_ = c.m.AppendFragment(nil, false) // releases the buffered frames
	}
}
