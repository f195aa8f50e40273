package v4l2

import (
	"errors"
	"testing"
)

func TestParseInput(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Input
		err  bool
	}{
		{"v4l2:///dev/video0", Input{Device: "/dev/video0"}, false},
		{"v4l2:///dev/video0?format=h264&size=1280x720&fps=30", Input{Device: "/dev/video0", Format: "h264", Width: 1280, Height: 720, FPS: 30}, false},
		{"v4l2://video2?format=MJPEG", Input{Device: "/dev/video2", Format: "mjpeg"}, false},
		{"v4l2:/dev/video1?format=auto", Input{Device: "/dev/video1"}, false},
		{"V4L2:///dev/video0?format=MJPG", Input{Device: "/dev/video0", Format: "MJPG"}, false},
		{"v4l2:///dev/video0?format=YUYV", Input{Device: "/dev/video0", Format: "yuyv"}, false},
		{"v4l2:///dev/v4l/by-id/usb-cam-video-index0", Input{Device: "/dev/v4l/by-id/usb-cam-video-index0"}, false},
		{"rtsp://cam/x", Input{}, true},
		{"v4l2://", Input{}, true},
		{"v4l2:///dev/video0?size=1280", Input{}, true},
		{"v4l2:///dev/video0?size=0x720", Input{}, true},
		{"v4l2:///dev/video0?fps=0", Input{}, true},
		{"v4l2:///dev/video0?fps=abc", Input{}, true},
		{"v4l2:///dev/video0?format=h26", Input{}, true},
		{"v4l2:///dev/video0?rate=30", Input{}, true},
		{"v4l2:///dev/../etc/passwd", Input{}, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseInput(tc.in)
			if tc.err {
				if !errors.Is(err, ErrInput) {
					t.Fatalf("err = %v, want ErrInput", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
