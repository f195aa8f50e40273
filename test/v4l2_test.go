package test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// vividDevice returns the capture node of the vivid virtual camera driver,
// or "" when it is not loaded.
func vividDevice() string {
	names, _ := filepath.Glob("/sys/class/video4linux/video*/name")
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err == nil && strings.Contains(string(b), "vivid") && strings.Contains(string(b), "vid-cap") {
			return "/dev/" + filepath.Base(filepath.Dir(n))
		}
	}
	return ""
}

// TestDevicesAPI: GET /api/v1/devices answers on any host, with or
// without cameras.
func TestDevicesAPI(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	var out struct {
		Code    int `json:"code"`
		Devices []struct {
			Path    string `json:"path"`
			Driver  string `json:"driver"`
			Capture bool   `json:"capture"`
		} `json:"devices"`
	}
	s.getJSON(t, "/api/v1/devices", &out)
	if out.Code != 0 || out.Devices == nil {
		t.Fatalf("devices %+v", out)
	}
	paths, _ := filepath.Glob("/dev/video*")
	if len(out.Devices) != len(paths) {
		t.Fatalf("%d devices listed, %d nodes", len(out.Devices), len(paths))
	}
}

// TestV4L2Vivid captures from the vivid virtual camera (modprobe vivid) with
// a v4l2:// ingest. vivid offers raw formats only, so this runs the ffmpeg
// encoder path; the pure-Go H.264 path is tested against a fake driver in
// internal/v4l2 and internal/ingest.
func TestV4L2Vivid(t *testing.T) {
	dev := vividDevice()
	if dev == "" {
		t.Skip("SKIPPED: no vivid camera: load it with `modprobe vivid` (root, and a kernel with the vivid module; " +
			"containers usually have neither). The V4L2 ioctl code is tested against a fake driver in internal/v4l2.")
	}
	needTools(t, "ffmpeg", "ffprobe")
	name := streamName()
	s := startServer(t, fmt.Sprintf(`
[[ingest]]
name = "%s"
input = "v4l2://%s?format=yuyv&size=640x360&fps=30"
`, name, dev))
	s.waitPublishing(t, name)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p := ffprobe(t, ctx, s.flvURL(name))
	if len(p.Streams) == 0 || p.Streams[0].CodecName != "h264" || p.Streams[0].Width != 640 {
		t.Fatalf("ffprobe %+v", p.Streams)
	}
	var out struct {
		Devices []struct {
			Path, Driver string
		} `json:"devices"`
	}
	s.getJSON(t, "/api/v1/devices", &out)
	found := false
	for _, d := range out.Devices {
		found = found || d.Path == dev && d.Driver == "vivid"
	}
	if !found {
		t.Fatalf("devices %+v", out.Devices)
	}
}
