package config

import (
	"reflect"
	"strconv"
	"strings"
)

// Transcode is one [[transcode]] rule, as SRS's transcode engines: when a
// stream matching Vhost, App and Stream starts publishing, ffmpeg makes a
// new stream from it, named by Output. Keys left empty or zero take the
// defaults noted on each field.
type Transcode struct {
	Name string `toml:"name" json:"name"` // unique; [name] in Output
	// Vhost, App and Stream match the source stream: empty or "*" matches
	// any, "cam*" a prefix, anything else the exact name.
	Vhost  string `toml:"vhost" json:"vhost"`
	App    string `toml:"app" json:"app"`
	Stream string `toml:"stream" json:"stream"`
	// Output names the new stream, in the source's vhost: "STREAM" in the
	// source's app, or "APP/STREAM", with [vhost], [app], [stream] and
	// [name]; empty: "[stream]_[name]".
	Output string `toml:"output" json:"output"`
	// VCodec is libx264 (empty), another ffmpeg H.264 encoder such as
	// h264_v4l2m2m, copy, or none (audio only).
	VCodec   string `toml:"vcodec" json:"vcodec"`
	VBitrate int    `toml:"vbitrate" json:"vbitrate"` // kbps; 0: the encoder's choice
	VPreset  string `toml:"vpreset" json:"vpreset"`   // libx264 preset; empty: ultrafast
	Size     string `toml:"size" json:"size"`         // WxH, -2 for one side keeps the aspect; empty: the source's
	FPS      int    `toml:"fps" json:"fps"`           // 0: the source's
	// ACodec is aac (empty), copy or none.
	ACodec   string `toml:"acodec" json:"acodec"`
	ABitrate int    `toml:"abitrate" json:"abitrate"` // kbps; 0: 64
	// Filter is an ffmpeg video filter graph applied after scaling, e.g. a
	// text watermark: drawtext=text='cam 1':x=10:y=10:fontsize=24:fontcolor=white
	Filter string `toml:"filter" json:"filter"`
	// Logo is an image file (PNG) overlaid at the top left corner.
	Logo string `toml:"logo" json:"logo"`
	// Args are more ffmpeg output options, e.g. ["-profile:v", "baseline"].
	Args []string `toml:"args" json:"args"`
}

// Codec choices of [[transcode]] and [[ingest]].
const (
	CodecCopy = "copy"
	CodecNone = "none"
	CodecAuto = "auto"
)

// x264Presets are libx264's -preset values.
var x264Presets = []string{"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"}

// validateTranscode checks the [[transcode]] rules and the ffmpeg-related
// keys of [[ingest]] (encoder, acodec).
func (c *Config) validateTranscode(ps *problems) {
	for i := range c.Ingests {
		p := indexKey("ingest", i)
		in := &c.Ingests[i]
		if in.Encoder != "" && in.Encoder != CodecAuto && in.Encoder != CodecCopy && !encoderName(in.Encoder) {
			ps.check(p+".encoder", "%q: want auto, copy, or an ffmpeg H.264 encoder name such as libx264, h264_v4l2m2m, h264_omx", in.Encoder)
		}
		if in.ACodec != "" {
			oneOf(ps, p+".acodec", in.ACodec, CodecCopy, "aac", CodecNone)
		}
	}
	names := make(map[string]string, len(c.Transcodes))
	for i := range c.Transcodes {
		p := indexKey("transcode", i)
		t := &c.Transcodes[i]
		if err := checkName(t.Name); err != nil {
			ps.check(p+".name", "%v", err)
		} else if prev, ok := names[t.Name]; ok {
			ps.check(p+".name", "duplicate transcode %q (also at %s)", t.Name, prev)
		} else {
			names[t.Name] = c.where(p + ".name")
		}
		for _, m := range []struct{ key, v string }{{"vhost", t.Vhost}, {"app", t.App}, {"stream", t.Stream}} {
			if strings.ContainsAny(m.v, " \t\r\n/?#") || strings.Count(m.v, "*") > 1 ||
				(strings.Contains(m.v, "*") && !strings.HasSuffix(m.v, "*")) {
				ps.check(p+"."+m.key, "%q: want a name, a prefix ending in *, or * for any", m.v)
			}
		}
		t.validateOutput(ps, p)
		video := t.VCodec != CodecCopy && t.VCodec != CodecNone // an encoder
		if t.VCodec != "" && video && !encoderName(t.VCodec) {
			ps.check(p+".vcodec", "%q: want libx264, another ffmpeg H.264 encoder (h264_v4l2m2m, h264_omx), copy or none", t.VCodec)
		}
		if t.ACodec != "" {
			oneOf(ps, p+".acodec", t.ACodec, "aac", CodecCopy, CodecNone)
		}
		if t.VCodec == CodecNone && t.ACodec == CodecNone {
			ps.check(p+".acodec", "vcodec and acodec are both none: the rule would output nothing")
		}
		intRange(ps, p+".vbitrate", t.VBitrate, 0, 100000)
		intRange(ps, p+".abitrate", t.ABitrate, 0, 1024)
		intRange(ps, p+".fps", t.FPS, 0, 240)
		if t.VPreset != "" && !oneOfList(t.VPreset, x264Presets) {
			ps.check(p+".vpreset", "%q: must be one of %s", t.VPreset, strings.Join(x264Presets, " | "))
		}
		if t.Size != "" {
			if _, _, ok := ParseSize(t.Size); !ok {
				ps.check(p+".size", "%q: want WxH (e.g. 640x360; -2 for one side keeps the aspect)", t.Size)
			}
		}
		if strings.ContainsAny(t.Filter, "\r\n") {
			ps.check(p+".filter", "contains a line break")
		}
		if strings.ContainsAny(t.Logo, "\r\n") {
			ps.check(p+".logo", "contains a line break")
		}
		if !video {
			for _, k := range []struct {
				key string
				set bool
			}{{"size", t.Size != ""}, {"fps", t.FPS != 0}, {"vbitrate", t.VBitrate != 0}, {"filter", t.Filter != ""},
				{"logo", t.Logo != ""}, {"vpreset", t.VPreset != ""}} {
				if k.set {
					ps.check(p+"."+k.key, "needs an encoder, but vcodec = %q", t.VCodec)
				}
			}
		}
		if (t.ACodec == CodecCopy || t.ACodec == CodecNone) && t.ABitrate != 0 {
			ps.check(p+".abitrate", "needs an encoder, but acodec = %q", t.ACodec)
		}
	}
}

// validateOutput checks the output template: [placeholders] known, one
// slash at most, and not the source stream itself.
func (t *Transcode) validateOutput(ps *problems, p string) {
	o := t.Output
	if o == "" {
		return
	}
	if strings.ContainsAny(o, " \t\r\n?#\\") {
		ps.check(p+".output", "%q contains a space or one of ? # \\", o)
		return
	}
	for rest := o; ; {
		i := strings.IndexByte(rest, '[')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], ']')
		if j < 0 {
			ps.check(p+".output", "%q: unclosed [", o)
			return
		}
		switch rest[i+1 : i+j] {
		case "vhost", "app", "stream", "name":
		default:
			ps.check(p+".output", "%q: unknown placeholder [%s] (vhost, app, stream, name)", o, rest[i+1:i+j])
			return
		}
		rest = rest[i+j+1:]
	}
	app, stream, two := strings.Cut(o, "/")
	if !two {
		app, stream = "[app]", o
	}
	if app == "" || stream == "" || strings.Contains(stream, "/") {
		ps.check(p+".output", "%q: want STREAM or APP/STREAM", o)
		return
	}
	if stream == "[stream]" && app == "[app]" {
		ps.check(p+".output", "%q is the source stream itself: add a suffix, e.g. [stream]_sd", o)
	}
}

// ParseSize parses a WxH size whose sides are 1..16384 or -2 (keep the
// aspect ratio), not both -2.
func ParseSize(s string) (w, h int, ok bool) {
	ws, hs, found := strings.Cut(strings.ToLower(s), "x")
	if !found {
		return 0, 0, false
	}
	w, err1 := strconv.Atoi(ws)
	h, err2 := strconv.Atoi(hs)
	side := func(n int) bool { return n == -2 || n >= 1 && n <= 16384 }
	if err1 != nil || err2 != nil || !side(w) || !side(h) || w == -2 && h == -2 {
		return 0, 0, false
	}
	return w, h, true
}

// encoderName accepts an ffmpeg encoder name: lower-case letters, digits
// and underscores (it is a command line argument: no leading dash).
func encoderName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

func oneOfList(v string, list []string) bool {
	for _, a := range list {
		if v == a {
			return true
		}
	}
	return false
}

// equalTranscodes compares two [[transcode]] lists, nil and empty alike.
func equalTranscodes(a, b []Transcode) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if len(x.Args) == 0 {
			x.Args = nil
		}
		if len(y.Args) == 0 {
			y.Args = nil
		}
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

// cloneTranscodes deep-copies a [[transcode]] list.
func cloneTranscodes(ts []Transcode) []Transcode {
	if ts == nil {
		return nil
	}
	out := append([]Transcode(nil), ts...)
	for i := range out {
		out[i].Args = cloneStrings(out[i].Args)
	}
	return out
}
