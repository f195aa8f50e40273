package buildinfo

import (
	"bytes"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestRegister(t *testing.T) {
	saved := features
	t.Cleanup(func() { features = saved })
	features = nil
	Register("rtmp", "http-flv")
	Register("webrtc", "", "rtmp")
	if got, want := Features(), []string{"http-flv", "rtmp", "webrtc"}; !slices.Equal(got, want) {
		t.Errorf("Features() = %v, want %v", got, want)
	}
	if !Has("webrtc") || Has("web-ui") {
		t.Errorf("Has: webrtc %v, web-ui %v", Has("webrtc"), Has("web-ui"))
	}
}

// TestProfileTags: the files behind build constraints agree with the
// profile: a full build keeps HTTP/2 (the tiny profile builds with
// nethttpomithttp2, checked on the cross-built binaries under qemu).
func TestProfileTags(t *testing.T) {
	switch Profile() {
	case "full":
		if !Has("http2") {
			t.Error("a full build without http2 registered")
		}
	case "tiny":
	default:
		t.Errorf("Profile() = %q", Profile())
	}
}

func TestWrite(t *testing.T) {
	tests := []struct {
		name string
		in   Info
		want string
	}{
		{"full", Info{Version: "1.2.3", Profile: "full", Go: "go1.26.8", OS: "linux", Arch: "mipsle",
			Settings: []string{"GOMIPS=softfloat", "CGO_ENABLED=0"}, Features: []string{"http-flv", "rtmp"}},
			"srs-lite 1.2.3 (full)\ngo: go1.26.8 linux/mipsle GOMIPS=softfloat CGO_ENABLED=0\nfeatures: http-flv rtmp\n"},
		{"bare", Info{Version: "dev", Profile: "tiny", Go: "go1.26.8", OS: "linux", Arch: "arm"},
			"srs-lite dev (tiny)\ngo: go1.26.8 linux/arm\nfeatures: \n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.in.Write(&b); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tt.want)
			}
		})
	}
}

func TestRead(t *testing.T) {
	in := Read()
	if in.Version != Version || in.Go != runtime.Version() || in.Arch != runtime.GOARCH || in.Profile != Profile() {
		t.Errorf("Read() = %+v", in)
	}
	var b bytes.Buffer
	in.Write(&b)
	if !strings.HasPrefix(b.String(), "srs-lite "+Version+" (") {
		t.Errorf("Write: %q", b.String())
	}
}
