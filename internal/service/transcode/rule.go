// Package transcode runs SRS-style transcoding: a [[transcode]] rule
// matches streams by vhost, app and stream name, and while a matching
// stream is published an ffmpeg child makes a new stream from it (another
// size or bitrate, a watermark, audio only, ...).
//
// The child reads the source as FLV on its standard input, written from an
// internal media.Reader of the stream, and writes FLV on its standard
// output, whose frames are published into the output stream directly: no
// HTTP-FLV or RTMP loopback. Children are supervised: restarted with
// backoff while the source is published, stopped when it ends, killed on
// reload and shutdown.
package transcode

import (
	"strconv"
	"strings"

	"github.com/srs-lite/srs-lite/internal/ffmpeg"
)

// Rule is one [[transcode]] rule, mapped by the server. Empty fields take
// the defaults of the config keys.
type Rule struct {
	Name string
	// Vhost, App and Stream match a source: "" or "*" any, "cam*" a
	// prefix, else the exact name (vhosts compare case-insensitively).
	Vhost, App, Stream string
	// Output is the output stream template: STREAM or APP/STREAM with
	// [vhost], [app], [stream] and [name]; "" is "[stream]_[name]".
	Output string
	// VCodec is "" or libx264, another H.264 encoder, "copy" or "none".
	VCodec   string
	VBitrate int    // kbps
	VPreset  string // libx264 preset; "": ultrafast
	// Width and Height scale the video (0: keep; -2 on one side keeps the
	// aspect ratio).
	Width, Height int
	FPS           int
	// ACodec is "" or "aac", "copy" or "none".
	ACodec   string
	ABitrate int    // kbps; 0: 64
	Filter   string // ffmpeg video filter graph, after scaling
	Logo     string // image file overlaid at the top left
	Args     []string
}

// match matches a name against a pattern of Rule.
func match(pattern, name string, fold bool) bool {
	switch {
	case pattern == "" || pattern == "*":
		return true
	case strings.HasSuffix(pattern, "*"):
		p := pattern[:len(pattern)-1]
		if fold {
			return len(name) >= len(p) && strings.EqualFold(name[:len(p)], p)
		}
		return strings.HasPrefix(name, p)
	case fold:
		return strings.EqualFold(pattern, name)
	}
	return pattern == name
}

// Match reports whether the rule applies to the stream vhost/app/stream.
func (r *Rule) Match(vhost, app, stream string) bool {
	return match(r.Vhost, vhost, true) && match(r.App, app, false) && match(r.Stream, stream, false)
}

// OutputName returns the app and stream of the rule's output for a source
// stream.
func (r *Rule) OutputName(vhost, app, stream string) (string, string) {
	o := r.Output
	if o == "" {
		o = "[stream]_[name]"
	}
	o = strings.NewReplacer("[vhost]", vhost, "[app]", app, "[stream]", stream, "[name]", r.Name).Replace(o)
	if a, s, ok := strings.Cut(o, "/"); ok {
		return a, s
	}
	return app, o
}

// video reports whether the rule encodes video.
func (r *Rule) video() bool { return r.VCodec != ffmpeg.Copy && r.VCodec != ffmpeg.None }

// Command returns ffmpeg's arguments: FLV on the standard input, the
// rule's codecs, scaling, filters and logo, FLV on the standard output.
func (r *Rule) Command() []string {
	args := append([]string(nil), ffmpeg.BaseArgs...)
	// The FLV demuxer looks for streams for analyzeduration (5 s by
	// default); the sequence headers come first, so 1 s is plenty.
	args = append(args, "-analyzeduration", "1000000", "-f", "flv", "-i", "pipe:0")
	if r.Logo != "" && r.video() {
		args = append(args, "-i", r.Logo)
	}
	var chain []string
	if r.video() {
		if r.Width != 0 || r.Height != 0 {
			w, h := r.Width, r.Height
			if w == 0 {
				w = -2
			}
			if h == 0 {
				h = -2
			}
			chain = append(chain, "scale="+strconv.Itoa(w)+":"+strconv.Itoa(h))
		}
		if r.Filter != "" {
			chain = append(chain, r.Filter)
		}
	}
	switch {
	case r.VCodec == ffmpeg.None:
		args = append(args, "-map", "0:a?")
	case r.Logo != "" && r.video():
		in := "[0:v]"
		fc := ""
		if len(chain) > 0 {
			fc = in + strings.Join(chain, ",") + "[base];"
			in = "[base]"
		}
		fc += in + "[1:v]overlay=10:10[vout]"
		args = append(args, "-filter_complex", fc, "-map", "[vout]", "-map", "0:a?")
	default:
		if len(chain) > 0 {
			args = append(args, "-vf", strings.Join(chain, ","))
		}
		args = append(args, "-map", "0:v?", "-map", "0:a?")
	}
	vc := r.VCodec
	if vc == "" {
		vc = ffmpeg.X264
	}
	v := ffmpeg.VideoArgs(vc, r.FPS, r.VBitrate, true)
	if r.VPreset != "" && vc == ffmpeg.X264 {
		for i := range v {
			if v[i] == "-preset" && i+1 < len(v) {
				v[i+1] = r.VPreset
			}
		}
	}
	args = append(args, v...)
	if r.FPS > 0 && r.video() {
		args = append(args, "-r", strconv.Itoa(r.FPS))
	}
	switch r.ACodec {
	case ffmpeg.None:
		args = append(args, "-an")
	case ffmpeg.Copy:
		args = append(args, "-c:a", "copy")
	default:
		ab := r.ABitrate
		if ab <= 0 {
			ab = 64
		}
		args = append(args, "-c:a", "aac", "-b:a", strconv.Itoa(ab)+"k")
	}
	args = append(args, r.Args...)
	return append(args, "-f", "flv", "pipe:1")
}
