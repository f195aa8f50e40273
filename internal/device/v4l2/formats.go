package v4l2

// Pixel formats srs-lite knows by name: the ingest URL's format= values.
var (
	PixH264   = FourCC("H264")
	PixMJPEG  = FourCC("MJPG")
	PixJPEG   = FourCC("JPEG")
	PixYUYV   = FourCC("YUYV")
	PixUYVY   = FourCC("UYVY")
	PixNV12   = FourCC("NV12")
	PixYUV420 = FourCC("YU12")
	PixRGB24  = FourCC("RGB3")
)

// formatNames maps pixel formats to the names of the format= parameter.
var formatNames = map[uint32]string{
	PixH264:   "h264",
	PixMJPEG:  "mjpeg",
	PixJPEG:   "jpeg",
	PixYUYV:   "yuyv",
	PixUYVY:   "uyvy",
	PixNV12:   "nv12",
	PixYUV420: "yuv420",
	PixRGB24:  "rgb24",
}

// ffmpegFormats maps pixel formats to ffmpeg's -input_format names.
var ffmpegFormats = map[uint32]string{
	PixH264:   "h264",
	PixMJPEG:  "mjpeg",
	PixJPEG:   "mjpeg",
	PixYUYV:   "yuyv422",
	PixUYVY:   "uyvy422",
	PixNV12:   "nv12",
	PixYUV420: "yuv420p",
	PixRGB24:  "rgb24",
}

// PixelFormat returns the pixel format of a format= name ("h264",
// "mjpeg", "yuyv", ...) or of a four-character code ("MJPG").
func PixelFormat(name string) (uint32, bool) {
	for k, v := range formatNames {
		if v == name {
			return k, true
		}
	}
	if len(name) == 4 {
		return FourCC(name), true
	}
	return 0, false
}

// FormatName returns the format= name of a pixel format, or its FourCC.
func FormatName(pix uint32) string {
	if n, ok := formatNames[pix]; ok {
		return n
	}
	return FourCCString(pix)
}

// FFmpegFormat returns ffmpeg's -input_format name of a pixel format.
func FFmpegFormat(pix uint32) (string, bool) {
	n, ok := ffmpegFormats[pix]
	return n, ok
}

// isName reports whether s is a format= name.
func isName(s string) bool {
	for _, v := range formatNames {
		if v == s {
			return true
		}
	}
	return false
}
