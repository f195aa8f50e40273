package v4l2

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
)

// Limits of the enumerations: drivers end them with EINVAL, and a buggy
// one (or a fake) that never does must not hang us.
const (
	maxFormats   = 256
	maxSizes     = 256
	maxIntervals = 64
)

// DeviceInfo describes a video node, as GET /api/v1/devices shows it.
type DeviceInfo struct {
	Path    string `json:"path"`
	Driver  string `json:"driver,omitempty"`
	Card    string `json:"card,omitempty"`
	Bus     string `json:"bus,omitempty"`
	Version string `json:"version,omitempty"`
	// Capture is true for nodes that capture video with streaming I/O;
	// the others (metadata nodes of UVC cameras, encoders, outputs) cannot
	// be ingested.
	Capture bool         `json:"capture"`
	Formats []FormatInfo `json:"formats,omitempty"`
	Error   string       `json:"error,omitempty"`
}

// FormatInfo is one pixel format of a device and its frame sizes.
type FormatInfo struct {
	FourCC      string `json:"fourcc"`          // "H264", "MJPG", "YUYV"
	Name        string `json:"name,omitempty"`  // the ingest's format= value, when srs-lite knows it
	Description string `json:"description"`     // the driver's
	Compressed  bool   `json:"compressed"`      // H.264, MJPEG
	Sizes       []Size `json:"sizes,omitempty"` // discrete sizes
	Range       *Range `json:"range,omitempty"` // or a stepwise range
	pixfmt      uint32
}

// Size is a frame size and the frame rates the device offers for it.
type Size struct {
	Width  int       `json:"width"`
	Height int       `json:"height"`
	FPS    []float64 `json:"fps,omitempty"`
}

// Range is a stepwise or continuous range of frame sizes.
type Range struct {
	MinWidth   int `json:"min_width"`
	MaxWidth   int `json:"max_width"`
	StepWidth  int `json:"step_width"`
	MinHeight  int `json:"min_height"`
	MaxHeight  int `json:"max_height"`
	StepHeight int `json:"step_height"`
}

// QueryCap issues VIDIOC_QUERYCAP.
func QueryCap(d Device) (Capability, error) {
	b := make([]byte, sizeCapability)
	if err := d.Ioctl(VIDIOCQueryCap, b); err != nil {
		return Capability{}, fmt.Errorf("v4l2: VIDIOC_QUERYCAP: %w", err)
	}
	return UnmarshalCapability(b)
}

// EnumFormats lists the capture pixel formats (VIDIOC_ENUM_FMT).
func EnumFormats(d Device) ([]FmtDesc, error) {
	var out []FmtDesc
	for i := uint32(0); i < maxFormats; i++ {
		b := FmtDesc{Index: i, Type: BufTypeVideoCapture}.Marshal()
		if err := d.Ioctl(VIDIOCEnumFmt, b); err != nil {
			if errors.Is(err, ErrInvalid) {
				break
			}
			return out, fmt.Errorf("v4l2: VIDIOC_ENUM_FMT: %w", err)
		}
		f, err := UnmarshalFmtDesc(b)
		if err != nil {
			return out, err
		}
		out = append(out, f)
	}
	return out, nil
}

// EnumSizes lists the frame sizes of a pixel format
// (VIDIOC_ENUM_FRAMESIZES): discrete sizes, or one stepwise range.
func EnumSizes(d Device, pixfmt uint32) ([]FrmSizeEnum, error) {
	var out []FrmSizeEnum
	for i := uint32(0); i < maxSizes; i++ {
		b := FrmSizeEnum{Index: i, PixelFormat: pixfmt}.Marshal()
		if err := d.Ioctl(VIDIOCEnumFrameSize, b); err != nil {
			if errors.Is(err, ErrInvalid) || errors.Is(err, ErrNotTTY) {
				break
			}
			return out, fmt.Errorf("v4l2: VIDIOC_ENUM_FRAMESIZES: %w", err)
		}
		e, err := UnmarshalFrmSizeEnum(b)
		if err != nil {
			return out, err
		}
		out = append(out, e)
		if e.Type != FrmSizeDiscrete {
			break // a range is the only entry
		}
	}
	return out, nil
}

// EnumIntervals lists the discrete frame intervals of a format and size
// (VIDIOC_ENUM_FRAMEINTERVALS); a stepwise range gives its fastest and
// slowest.
func EnumIntervals(d Device, pixfmt uint32, w, h int) ([]Fract, error) {
	var out []Fract
	for i := uint32(0); i < maxIntervals; i++ {
		b := FrmIvalEnum{Index: i, PixelFormat: pixfmt, Width: uint32(w), Height: uint32(h)}.Marshal()
		if err := d.Ioctl(VIDIOCEnumFrameIval, b); err != nil {
			if errors.Is(err, ErrInvalid) || errors.Is(err, ErrNotTTY) {
				break
			}
			return out, fmt.Errorf("v4l2: VIDIOC_ENUM_FRAMEINTERVALS: %w", err)
		}
		e, err := UnmarshalFrmIvalEnum(b)
		if err != nil {
			return out, err
		}
		if e.Type != FrmIvalDiscrete {
			return append(out, e.Min, e.Max), nil
		}
		out = append(out, e.Discrete)
	}
	return out, nil
}

// Describe queries an opened device: its capabilities, and for a capture
// node every format with its sizes and frame rates.
func Describe(d Device, path string) (DeviceInfo, error) {
	info := DeviceInfo{Path: path}
	c, err := QueryCap(d)
	if err != nil {
		return info, err
	}
	info.Driver, info.Card, info.Bus = c.Driver, c.Card, c.BusInfo
	info.Version = fmt.Sprintf("%d.%d.%d", c.Version>>16, c.Version>>8&0xff, c.Version&0xff)
	caps := c.Caps()
	info.Capture = caps&CapVideoCapture != 0 && caps&CapStreaming != 0
	if !info.Capture {
		return info, nil
	}
	fmts, err := EnumFormats(d)
	if err != nil {
		return info, err
	}
	for _, f := range fmts {
		fi := FormatInfo{FourCC: FourCCString(f.PixelFormat), Description: f.Description,
			Compressed: f.Flags&FmtFlagCompressed != 0, pixfmt: f.PixelFormat}
		if n, ok := formatNames[f.PixelFormat]; ok {
			fi.Name = n
		}
		sizes, err := EnumSizes(d, f.PixelFormat)
		if err != nil {
			return info, err
		}
		for _, s := range sizes {
			if s.Type != FrmSizeDiscrete {
				fi.Range = &Range{int(s.MinWidth), int(s.MaxWidth), int(s.StepWidth),
					int(s.MinHeight), int(s.MaxHeight), int(s.StepHeight)}
				continue
			}
			sz := Size{Width: int(s.Width), Height: int(s.Height)}
			ivals, err := EnumIntervals(d, f.PixelFormat, sz.Width, sz.Height)
			if err != nil {
				return info, err
			}
			for _, iv := range ivals {
				if fps := iv.FPS(); fps > 0 {
					sz.FPS = append(sz.FPS, float64(int(fps*100+0.5))/100)
				}
			}
			fi.Sizes = append(fi.Sizes, sz)
		}
		info.Formats = append(info.Formats, fi)
	}
	return info, nil
}

// List describes every video node matching pattern (default /dev/video*),
// opened with open (default Open). A node that fails to open or answer is
// listed with its error.
func List(pattern string, open func(string) (Device, error)) []DeviceInfo {
	if pattern == "" {
		pattern = "/dev/video*"
	}
	if open == nil {
		open = Open
	}
	paths, _ := filepath.Glob(pattern)
	sort.Slice(paths, func(i, j int) bool { return videoLess(paths[i], paths[j]) })
	out := make([]DeviceInfo, 0, len(paths))
	for _, p := range paths {
		d, err := open(p)
		if err != nil {
			out = append(out, DeviceInfo{Path: p, Error: err.Error()})
			continue
		}
		info, err := Describe(d, p)
		_ = d.Close()
		if err != nil {
			info.Error = err.Error()
		}
		out = append(out, info)
	}
	return out
}

// videoLess orders /dev/video2 before /dev/video10.
func videoLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}
