package transcode

import (
	"strings"
	"testing"

	"github.com/srs-lite/srs-lite/internal/ffmpeg"
)

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		rule               Rule
		vhost, app, stream string
		want               bool
	}{
		{Rule{}, "__defaultVhost__", "live", "cam1", true},
		{Rule{Vhost: "*", App: "*", Stream: "*"}, "v", "a", "s", true},
		{Rule{App: "live", Stream: "cam*"}, "v", "live", "cam12", true},
		{Rule{App: "live", Stream: "cam*"}, "v", "live", "cam", true},
		{Rule{App: "live", Stream: "cam*"}, "v", "live", "ca", false},
		{Rule{App: "live", Stream: "cam*"}, "v", "Live", "cam1", false},
		{Rule{Stream: "livestream"}, "v", "live", "livestream_sd", false},
		{Rule{Vhost: "Example.COM"}, "example.com", "live", "x", true},
		{Rule{Vhost: "exa*"}, "EXAMPLE.com", "live", "x", true},
		{Rule{Vhost: "exa*"}, "ex", "live", "x", false},
	} {
		if got := tc.rule.Match(tc.vhost, tc.app, tc.stream); got != tc.want {
			t.Errorf("%+v Match(%s, %s, %s) = %v", tc.rule, tc.vhost, tc.app, tc.stream, got)
		}
	}
}

func TestOutputName(t *testing.T) {
	for _, tc := range []struct {
		output, app, stream string
	}{
		{"", "live", "cam1_sd"},
		{"[stream]_low", "live", "cam1_low"},
		{"small/[stream]", "small", "cam1"},
		{"[app]_[name]/[vhost]-[stream]", "live_sd", "v-cam1"},
	} {
		r := Rule{Name: "sd", Output: tc.output}
		app, stream := r.OutputName("v", "live", "cam1")
		if app != tc.app || stream != tc.stream {
			t.Errorf("%q: %s/%s, want %s/%s", tc.output, app, stream, tc.app, tc.stream)
		}
	}
}

func TestCommand(t *testing.T) {
	in := "-analyzeduration 1000000 -f flv -i pipe:0 "
	for _, tc := range []struct {
		name string
		rule Rule
		want string
	}{
		{"defaults", Rule{}, in + "-map 0:v? -map 0:a? -c:v libx264 -preset ultrafast -tune zerolatency -pix_fmt yuv420p -g 50 -c:a aac -b:a 64k -f flv pipe:1"},
		{"sd", Rule{Width: 320, Height: 180, FPS: 15, VBitrate: 300, VPreset: "veryfast", ABitrate: 32},
			in + "-vf scale=320:180 -map 0:v? -map 0:a? -c:v libx264 -preset veryfast -tune zerolatency -pix_fmt yuv420p -g 30 -b:v 300k -maxrate 300k -bufsize 600k -r 15 -c:a aac -b:a 32k -f flv pipe:1"},
		{"width only", Rule{Width: 640, VCodec: "h264_v4l2m2m", ACodec: ffmpeg.Copy},
			in + "-vf scale=640:-2 -map 0:v? -map 0:a? -c:v h264_v4l2m2m -pix_fmt yuv420p -g 50 -b:v 2000k -maxrate 2000k -bufsize 4000k -c:a copy -f flv pipe:1"},
		{"text", Rule{Filter: "drawtext=text='x':x=10:y=10", ACodec: ffmpeg.None, Args: []string{"-profile:v", "baseline"}},
			in + "-vf drawtext=text='x':x=10:y=10 -map 0:v? -map 0:a? -c:v libx264 -preset ultrafast -tune zerolatency -pix_fmt yuv420p -g 50 -an -profile:v baseline -f flv pipe:1"},
		{"logo", Rule{Logo: "/l.png", Width: 320, Height: 180},
			"-analyzeduration 1000000 -f flv -i pipe:0 -i /l.png -filter_complex [0:v]scale=320:180[base];[base][1:v]overlay=10:10[vout] -map [vout] -map 0:a? -c:v libx264 -preset ultrafast -tune zerolatency -pix_fmt yuv420p -g 50 -c:a aac -b:a 64k -f flv pipe:1"},
		{"logo only", Rule{Logo: "/l.png"},
			"-analyzeduration 1000000 -f flv -i pipe:0 -i /l.png -filter_complex [0:v][1:v]overlay=10:10[vout] -map [vout] -map 0:a? -c:v libx264 -preset ultrafast -tune zerolatency -pix_fmt yuv420p -g 50 -c:a aac -b:a 64k -f flv pipe:1"},
		{"audio only", Rule{VCodec: ffmpeg.None, Logo: "/l.png"}, in + "-map 0:a? -vn -c:a aac -b:a 64k -f flv pipe:1"},
		{"copy", Rule{VCodec: ffmpeg.Copy, ACodec: ffmpeg.None}, in + "-map 0:v? -map 0:a? -c:v copy -an -f flv pipe:1"},
	} {
		r := tc.rule
		got := strings.Join(r.Command()[len(ffmpeg.BaseArgs):], " ")
		if got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

// FuzzMatch checks the patterns against their definition.
func FuzzMatch(f *testing.F) {
	f.Add("cam*", "cam1", "live", "__defaultVhost__")
	f.Add("*", "", "x", "y")
	f.Add("ab", "abc", "a*", "A")
	f.Fuzz(func(t *testing.T, pattern, name, app, vhost string) {
		r := Rule{Stream: pattern}
		got := r.Match(vhost, app, name)
		want := pattern == "" || pattern == "*" || pattern == name ||
			strings.HasSuffix(pattern, "*") && strings.HasPrefix(name, pattern[:len(pattern)-1])
		if got != want {
			t.Fatalf("Match(%q, %q) = %v", pattern, name, got)
		}
		if !(&Rule{Vhost: vhost, App: app, Stream: name}).Match(vhost, app, name) {
			t.Fatalf("a rule of exact names does not match them: %q %q %q", vhost, app, name)
		}
		a, s := (&Rule{Name: "n", Output: pattern}).OutputName(vhost, app, name)
		_, _ = a, s
	})
}
