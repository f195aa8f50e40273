package v4l2

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// vivid returns the capture node of the vivid virtual camera driver, or "".
func vivid() string {
	names, _ := filepath.Glob("/sys/class/video4linux/video*/name")
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err == nil && strings.Contains(string(b), "vivid") && strings.Contains(string(b), "vid-cap") {
			return "/dev/" + filepath.Base(filepath.Dir(n))
		}
	}
	return ""
}

// TestVivid runs the ioctl code against the kernel's vivid driver: the
// listing, then a YUYV capture whose buffers must hold whole pictures with
// advancing sequence numbers and timestamps. test/v4l2_test.go runs it in a
// virtual machine with Debian's kernel when the host has no vivid.
func TestVivid(t *testing.T) {
	dev := vivid()
	if dev == "" {
		t.Skip("SKIPPED: no vivid camera (modprobe vivid needs root and the kernel module; test/v4l2_test.go runs this test under qemu)")
	}
	var info *DeviceInfo
	for _, d := range List("", nil) {
		t.Logf("%s: %s %q capture=%v formats=%d %s", d.Path, d.Driver, d.Card, d.Capture, len(d.Formats), d.Error)
		if d.Path == dev {
			info = &d
		}
	}
	if info == nil || info.Driver != "vivid" || !info.Capture {
		t.Fatalf("%s not listed as a vivid capture node", dev)
	}
	yuyv := false
	for _, f := range info.Formats {
		yuyv = yuyv || f.FourCC == "YUYV" && len(f.Sizes)+btoi(f.Range != nil) > 0
	}
	if !yuyv {
		t.Fatalf("vivid without YUYV: %+v", info.Formats)
	}
	d, err := Open(dev)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	c, err := StartCapture(d, Format{PixelFormat: PixYUYV, Width: 640, Height: 360, FPS: 30}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f := c.Format()
	t.Logf("granted %s %dx%d at %d fps", FourCCString(f.PixelFormat), f.Width, f.Height, f.FPS)
	var last Frame
	for i := range 30 {
		fr, err := c.Read(2 * time.Second)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if len(fr.Data) != f.Width*f.Height*2 {
			t.Fatalf("frame %d: %d bytes for %dx%d YUYV", i, len(fr.Data), f.Width, f.Height)
		}
		if i > 0 && (fr.Sequence <= last.Sequence || fr.Timestamp <= last.Timestamp) {
			t.Fatalf("frame %d: sequence %d ts %v after %d %v", i, fr.Sequence, fr.Timestamp, last.Sequence, last.Timestamp)
		}
		last = Frame{Sequence: fr.Sequence, Timestamp: fr.Timestamp}
		if err := c.Release(fr); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("30 frames, last sequence %d at %v", last.Sequence, last.Timestamp)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
