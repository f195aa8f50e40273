package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestTranscodeParse(t *testing.T) {
	c, err := Parse("t.toml", []byte(`
[[ingest]]
name = "usb"
input = "v4l2:///dev/video0?format=mjpeg"
encoder = "h264_v4l2m2m"
[[transcode]]
name = "sd"
app = "live"
stream = "cam*"
output = "[stream]_sd"
size = "640x-2"
vbitrate = 500
filter = "drawtext=text='cam':x=10:y=10"
args = ["-profile:v", "baseline"]
[[transcode]]
name = "audio"
vcodec = "none"
acodec = "aac"
abitrate = 48
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Transcode{
		{Name: "sd", App: "live", Stream: "cam*", Output: "[stream]_sd", Size: "640x-2", VBitrate: 500,
			Filter: "drawtext=text='cam':x=10:y=10", Args: []string{"-profile:v", "baseline"}},
		{Name: "audio", VCodec: "none", ACodec: "aac", ABitrate: 48},
	}
	if !reflect.DeepEqual(c.Transcodes, want) {
		t.Fatalf("got %+v", c.Transcodes)
	}
	if c.Ingests[0].Encoder != "h264_v4l2m2m" {
		t.Fatalf("ingest %+v", c.Ingests[0])
	}
	// Clone copies the args; Diff sees a change of a rule.
	n := c.Clone()
	n.Transcodes[0].Args[1] = "main"
	if c.Transcodes[0].Args[1] != "baseline" {
		t.Fatal("Clone shares the args")
	}
	if got := Diff(c, n); got != SectionTranscode {
		t.Fatalf("Diff = %v", got)
	}
	n = c.Clone()
	n.Transcodes[1].Args = []string{}
	if got := Diff(c, n); got != 0 {
		t.Fatalf("Diff of nil and empty args = %v", got)
	}
}

func TestTranscodeProblems(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"no name", "[[transcode]]\nstream = \"a\"\n", `c.toml:1: transcode.name: empty`},
		{"duplicate", "[[transcode]]\nname = \"a\"\n[[transcode]]\nname = \"a\"\n", `c.toml:4: transcode.name: duplicate transcode "a" (also at line 2)`},
		{"pattern", "[[transcode]]\nname = \"a\"\nstream = \"*x\"\n", `c.toml:3: transcode.stream: "*x": want a name, a prefix ending in *, or * for any`},
		{"self", "[[transcode]]\nname = \"a\"\noutput = \"[app]/[stream]\"\n", `c.toml:3: transcode.output: "[app]/[stream]" is the source stream itself: add a suffix, e.g. [stream]_sd`},
		{"self short", "[[transcode]]\nname = \"a\"\noutput = \"[stream]\"\n", `c.toml:3: transcode.output: "[stream]" is the source stream itself`},
		{"placeholder", "[[transcode]]\nname = \"a\"\noutput = \"[id]_sd\"\n", `c.toml:3: transcode.output: "[id]_sd": unknown placeholder [id] (vhost, app, stream, name)`},
		{"slashes", "[[transcode]]\nname = \"a\"\noutput = \"a/b/c\"\n", `c.toml:3: transcode.output: "a/b/c": want STREAM or APP/STREAM`},
		{"vcodec", "[[transcode]]\nname = \"a\"\nvcodec = \"-y\"\n", `c.toml:3: transcode.vcodec: "-y": want libx264`},
		{"acodec", "[[transcode]]\nname = \"a\"\nacodec = \"opus\"\n", `c.toml:3: transcode.acodec: "opus": must be one of aac | copy | none`},
		{"nothing", "[[transcode]]\nname = \"a\"\nvcodec = \"none\"\nacodec = \"none\"\n", `transcode.acodec: vcodec and acodec are both none`},
		{"size", "[[transcode]]\nname = \"a\"\nsize = \"-2x-2\"\n", `c.toml:3: transcode.size: "-2x-2": want WxH`},
		{"copy size", "[[transcode]]\nname = \"a\"\nvcodec = \"copy\"\nsize = \"320x180\"\n", `c.toml:4: transcode.size: needs an encoder, but vcodec = "copy"`},
		{"copy abitrate", "[[transcode]]\nname = \"a\"\nacodec = \"copy\"\nabitrate = 64\n", `c.toml:4: transcode.abitrate: needs an encoder, but acodec = "copy"`},
		{"preset", "[[transcode]]\nname = \"a\"\nvpreset = \"fastest\"\n", `c.toml:3: transcode.vpreset: "fastest": must be one of ultrafast`},
		{"fps", "[[transcode]]\nname = \"a\"\nfps = 1000\n", `c.toml:3: transcode.fps: 1000 out of range 0..240`},
		{"ingest encoder", "[[ingest]]\nname = \"a\"\ninput = \"/x.flv\"\nencoder = \"lib x264\"\n", `c.toml:4: ingest.encoder: "lib x264": want auto, copy`},
		{"ingest acodec", "[[ingest]]\nname = \"a\"\ninput = \"/x.flv\"\nacodec = \"mp3\"\n", `c.toml:4: ingest.acodec: "mp3": must be one of copy | aac | none`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.toml", []byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string][2]int{"640x360": {640, 360}, "320X-2": {320, -2}, "-2x180": {-2, 180}} {
		w, h, ok := ParseSize(in)
		if !ok || w != want[0] || h != want[1] {
			t.Errorf("ParseSize(%q) = %d %d %v", in, w, h, ok)
		}
	}
	for _, in := range []string{"", "640", "0x360", "-1x360", "-2x-2", "99999x1", "axb", "640x360x1"} {
		if _, _, ok := ParseSize(in); ok {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
}
