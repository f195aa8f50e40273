package ffmpeg

import (
	"net/url"
	"strconv"
	"strings"
)

// Video codec choices besides an encoder name.
const (
	Copy = "copy" // pass the input's coded video or audio through
	None = "none" // drop the video or audio
	Auto = "auto" // copy for inputs that are already coded, else libx264
	AAC  = "aac"
	X264 = "libx264"
)

// IsFile reports whether an ingest input is a local file: a path, or a
// file:// URL. It returns the path.
func IsFile(input string) (string, bool) {
	if input == "" {
		return "", false
	}
	if strings.HasPrefix(input, "/") || strings.HasPrefix(input, "./") || strings.HasPrefix(input, "../") {
		return input, true
	}
	u, err := url.Parse(input)
	if err != nil {
		return "", false
	}
	switch strings.ToLower(u.Scheme) {
	case "":
		return input, true
	case "file":
		if u.Path != "" {
			return u.Path, true
		}
		return u.Opaque, u.Opaque != ""
	}
	return "", false
}

// Ingest describes an ffmpeg child that reads one input and writes FLV to
// its standard output.
type Ingest struct {
	// Input is a file path or any URL ffmpeg reads.
	Input string
	// InputArgs go before -i (e.g. -f v4l2 -input_format mjpeg).
	InputArgs []string
	// VCodec is Copy (also for Auto and empty), None, or an H.264 encoder
	// (libx264, h264_v4l2m2m, h264_omx, ...).
	VCodec string
	// ACodec is Copy (also for empty), AAC or None.
	ACodec string
	// FPS sets the keyframe interval of an encoder (two seconds; default 25).
	FPS int
	// VBitrate is the encoder's bitrate in kbps (0: libx264 picks; the
	// hardware encoders get 2000).
	VBitrate int
}

// Args returns the command line, after BaseArgs. A file is read at its
// native rate (-re) and looped forever (-stream_loop -1), as SRS's ingest
// of a file does; network inputs get a 10 s I/O timeout where ffmpeg has
// one, so that a dead source ends the child and the supervisor reconnects.
// Only the first video and first audio streams are kept: FLV carries one
// of each.
func (in Ingest) Args() []string {
	args := append([]string(nil), BaseArgs...)
	input := in.Input
	if p, ok := IsFile(input); ok && len(in.InputArgs) == 0 {
		input = p
		args = append(args, "-re", "-stream_loop", "-1")
	} else if u, err := url.Parse(input); err == nil {
		switch strings.ToLower(u.Scheme) {
		case "http", "https", "rtmp", "rtmps", "tcp":
			args = append(args, "-rw_timeout", "10000000") // µs
		case "rtsp", "rtsps":
			args = append(args, "-rtsp_transport", "tcp", "-timeout", "10000000")
		}
	}
	args = append(args, in.InputArgs...)
	args = append(args, "-i", input)
	args = append(args, "-map", "0:v:0?", "-map", "0:a:0?")
	args = append(args, VideoArgs(in.VCodec, in.FPS, in.VBitrate, false)...)
	switch in.ACodec {
	case None:
		args = append(args, "-an")
	case AAC:
		args = append(args, "-c:a", "aac", "-b:a", "128k")
	default:
		args = append(args, "-c:a", "copy")
	}
	return append(args, "-f", "flv", "pipe:1")
}

// VideoArgs returns the output options of a video codec choice: -vn for
// None, -c:v copy for Copy, Auto and empty unless encode is set (then
// libx264), and for an encoder: 4:2:0 pictures (what every player decodes;
// MJPEG cameras give 4:2:2), a keyframe every two seconds, and a bitrate.
// libx264 runs with -preset ultrafast -tune zerolatency: a router's CPU and
// live latency come first.
func VideoArgs(codec string, fps, kbps int, encode bool) []string {
	switch codec {
	case None:
		return []string{"-vn"}
	case "", Auto, Copy:
		if !encode || codec == Copy {
			return []string{"-c:v", "copy"}
		}
		codec = X264
	}
	if fps <= 0 {
		fps = 25
	}
	args := []string{"-c:v", codec}
	hw := codec != X264
	if !hw {
		args = append(args, "-preset", "ultrafast", "-tune", "zerolatency")
	}
	args = append(args, "-pix_fmt", "yuv420p", "-g", strconv.Itoa(2*fps))
	if kbps <= 0 && hw {
		kbps = 2000 // the hardware encoders' defaults are far too low
	}
	if kbps > 0 {
		k := strconv.Itoa(kbps) + "k"
		args = append(args, "-b:v", k, "-maxrate", k, "-bufsize", strconv.Itoa(2*kbps)+"k")
	}
	return args
}
