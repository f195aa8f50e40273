// Package v4l2test is a fake V4L2 driver: a v4l2.Device that answers the
// requests srs-lite issues the way a capture driver does (the V4L2 API's
// rules on enumeration ends, format negotiation, buffer ownership and
// streaming state), for tests without a camera.
package v4l2test

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/srs-lite/srs-lite/internal/device/v4l2"
)

// Format is one pixel format the fake offers.
type Format struct {
	PixelFormat uint32
	Description string
	Compressed  bool
	Sizes       [][2]uint32 // discrete sizes; the first is the default
	FPS         []uint32    // discrete rates of every size; the first is the default
}

// Fake is a fake capture device. Set the exported fields before use.
type Fake struct {
	Cap     v4l2.Capability
	Formats []Format
	// Frames are the payloads of successive buffers, in a loop.
	Frames [][]byte
	// Interval is the step of the buffer timestamps (default 33 ms);
	// Start is the first timestamp (default 1000 s, as a monotonic clock).
	Interval, Start time.Duration
	// ZeroTimestamps leaves every buffer's timestamp at zero, as some
	// drivers do.
	ZeroTimestamps bool
	// Unplug, when > 0, makes DQBUF fail with ENODEV after that many frames.
	Unplug int
	// RealTime paces buffers at Interval; otherwise they are ready at once.
	RealTime bool

	mu        sync.Mutex
	cur       v4l2.PixFormat
	fps       uint32
	bufs      [][]byte
	queue     []int
	streaming bool
	seq       uint32
	next      time.Time
	closed    bool
	calls     []uint32
	mapped    int
}

// Ioctl implements v4l2.Device.
func (f *Fake) Ioctl(req uint32, arg []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return errors.New("fake: closed")
	}
	f.calls = append(f.calls, req)
	// The kernel copies exactly the size the request number states.
	if size := int(req >> 16 & 0x1fff); len(arg) != size {
		return fmt.Errorf("fake: request %#x with %d bytes, want %d", req, len(arg), size)
	}
	switch req {
	case v4l2.VIDIOCQueryCap:
		copy(arg, f.Cap.Marshal())
	case v4l2.VIDIOCEnumFmt:
		d, _ := v4l2.UnmarshalFmtDesc(arg)
		if d.Type != v4l2.BufTypeVideoCapture || int(d.Index) >= len(f.Formats) {
			return v4l2.ErrInvalid
		}
		fm := f.Formats[d.Index]
		d.PixelFormat, d.Description = fm.PixelFormat, fm.Description
		if fm.Compressed {
			d.Flags = v4l2.FmtFlagCompressed
		}
		copy(arg, d.Marshal())
	case v4l2.VIDIOCEnumFrameSize:
		e, _ := v4l2.UnmarshalFrmSizeEnum(arg)
		fm := f.format(e.PixelFormat)
		if fm == nil || int(e.Index) >= len(fm.Sizes) {
			return v4l2.ErrInvalid
		}
		e.Type, e.Width, e.Height = v4l2.FrmSizeDiscrete, fm.Sizes[e.Index][0], fm.Sizes[e.Index][1]
		copy(arg, e.Marshal())
	case v4l2.VIDIOCEnumFrameIval:
		e, _ := v4l2.UnmarshalFrmIvalEnum(arg)
		fm := f.format(e.PixelFormat)
		if fm == nil || !hasSize(fm, e.Width, e.Height) || int(e.Index) >= len(fm.FPS) {
			return v4l2.ErrInvalid
		}
		e.Type, e.Discrete = v4l2.FrmIvalDiscrete, v4l2.Fract{Num: 1, Den: fm.FPS[e.Index]}
		copy(arg, e.Marshal())
	case v4l2.VIDIOCGFmt:
		f.init()
		copy(arg, f.cur.Marshal())
	case v4l2.VIDIOCSFmt:
		if f.bufs != nil {
			return errors.New("fake: EBUSY: buffers allocated")
		}
		f.init()
		p, _ := v4l2.UnmarshalPixFormat(arg)
		fm := f.format(p.PixelFormat)
		if fm == nil { // a driver picks a format it has
			fm = &f.Formats[0]
		}
		w, h := fm.Sizes[0][0], fm.Sizes[0][1]
		if hasSize(fm, p.Width, p.Height) {
			w, h = p.Width, p.Height
		}
		f.cur = v4l2.PixFormat{Type: v4l2.BufTypeVideoCapture, Width: w, Height: h, PixelFormat: fm.PixelFormat,
			Field: v4l2.FieldNone, BytesPerLine: 2 * w, SizeImage: 2 * w * h}
		copy(arg, f.cur.Marshal())
	case v4l2.VIDIOCGParm, v4l2.VIDIOCSParm:
		f.init()
		p, _ := v4l2.UnmarshalStreamParm(arg)
		if p.Type != v4l2.BufTypeVideoCapture {
			return v4l2.ErrInvalid
		}
		if req == v4l2.VIDIOCSParm && p.TimePerFrame.Num == 1 {
			if fm := f.format(f.cur.PixelFormat); fm != nil {
				for _, r := range fm.FPS {
					if r == p.TimePerFrame.Den {
						f.fps = r
					}
				}
			}
		}
		p.Capability = v4l2.CapTimePerFrame
		p.TimePerFrame = v4l2.Fract{Num: 1, Den: f.fps}
		copy(arg, p.Marshal())
	case v4l2.VIDIOCReqBufs:
		r, _ := v4l2.UnmarshalRequestBuffers(arg)
		if r.Type != v4l2.BufTypeVideoCapture || r.Memory != v4l2.MemoryMmap {
			return v4l2.ErrInvalid
		}
		if f.streaming {
			return errors.New("fake: EBUSY: streaming")
		}
		if r.Count == 0 {
			f.bufs, f.queue = nil, nil
		} else {
			f.init()
			r.Count = min(max(r.Count, 2), 8)
			f.bufs = make([][]byte, r.Count)
			for i := range f.bufs {
				f.bufs[i] = make([]byte, max(f.cur.SizeImage, 64<<10))
			}
			f.queue = nil
		}
		copy(arg, r.Marshal())
	case v4l2.VIDIOCQueryBuf:
		b, _ := v4l2.UnmarshalBuffer(arg)
		if int(b.Index) >= len(f.bufs) {
			return v4l2.ErrInvalid
		}
		b.Offset, b.Length = b.Index*pageSize, uint32(len(f.bufs[b.Index]))
		copy(arg, b.Marshal())
	case v4l2.VIDIOCQBuf:
		b, _ := v4l2.UnmarshalBuffer(arg)
		if int(b.Index) >= len(f.bufs) || b.Memory != v4l2.MemoryMmap {
			return v4l2.ErrInvalid
		}
		for _, q := range f.queue {
			if q == int(b.Index) {
				return v4l2.ErrInvalid // already queued
			}
		}
		f.queue = append(f.queue, int(b.Index))
	case v4l2.VIDIOCDQBuf:
		if !f.streaming {
			return v4l2.ErrInvalid
		}
		if len(f.queue) == 0 || (f.RealTime && time.Now().Before(f.next)) {
			return v4l2.ErrAgain
		}
		if f.Unplug > 0 && int(f.seq) >= f.Unplug {
			return v4l2.ErrNoDevice
		}
		i := f.queue[0]
		f.queue = f.queue[1:]
		var data []byte
		if len(f.Frames) > 0 {
			data = f.Frames[int(f.seq)%len(f.Frames)]
		}
		n := copy(f.bufs[i], data)
		b := v4l2.Buffer{Index: uint32(i), Type: v4l2.BufTypeVideoCapture, BytesUsed: uint32(n),
			Flags: v4l2.BufFlagTsMonotonic, Field: v4l2.FieldNone, Sequence: f.seq, Memory: v4l2.MemoryMmap,
			Offset: uint32(i) * pageSize, Length: uint32(len(f.bufs[i]))}
		if !f.ZeroTimestamps {
			b.Timestamp = f.Start + time.Duration(f.seq)*f.Interval
		}
		f.seq++
		f.next = time.Now().Add(f.Interval)
		copy(arg, b.Marshal())
	case v4l2.VIDIOCStreamOn:
		if len(f.bufs) == 0 {
			return v4l2.ErrInvalid
		}
		f.streaming = true
		f.next = time.Now()
	case v4l2.VIDIOCStreamOff:
		f.streaming = false
		f.queue = nil
	default:
		return v4l2.ErrNotTTY
	}
	return nil
}

const pageSize = 4096

func (f *Fake) init() {
	if f.Interval <= 0 {
		f.Interval = 33 * time.Millisecond
	}
	if f.Start == 0 {
		f.Start = 1000 * time.Second
	}
	if f.cur.PixelFormat == 0 && len(f.Formats) > 0 {
		fm := f.Formats[0]
		w, h := fm.Sizes[0][0], fm.Sizes[0][1]
		f.cur = v4l2.PixFormat{Type: v4l2.BufTypeVideoCapture, Width: w, Height: h, PixelFormat: fm.PixelFormat,
			Field: v4l2.FieldNone, BytesPerLine: 2 * w, SizeImage: 2 * w * h}
		if len(fm.FPS) > 0 {
			f.fps = fm.FPS[0]
		}
	}
}

func (f *Fake) format(p uint32) *Format {
	for i := range f.Formats {
		if f.Formats[i].PixelFormat == p {
			return &f.Formats[i]
		}
	}
	return nil
}

func hasSize(fm *Format, w, h uint32) bool {
	for _, s := range fm.Sizes {
		if s[0] == w && s[1] == h {
			return true
		}
	}
	return false
}

// Mmap implements v4l2.Device.
func (f *Fake) Mmap(offset int64, length int) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := int(offset / pageSize)
	if offset%pageSize != 0 || i >= len(f.bufs) || length != len(f.bufs[i]) {
		return nil, v4l2.ErrInvalid
	}
	f.mapped++
	return f.bufs[i], nil
}

// Munmap implements v4l2.Device.
func (f *Fake) Munmap(b []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mapped--
	return nil
}

// Wait implements v4l2.Device.
func (f *Fake) Wait(timeout time.Duration) (bool, error) {
	deadline := time.Now().Add(timeout)
	for {
		f.mu.Lock()
		ready := f.streaming && len(f.queue) > 0 && (!f.RealTime || !time.Now().Before(f.next))
		f.mu.Unlock()
		if ready {
			return true, nil
		}
		if !time.Now().Before(deadline) {
			return false, nil
		}
		time.Sleep(min(time.Until(deadline), 2*time.Millisecond))
	}
}

// Close implements v4l2.Device.
func (f *Fake) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

// Reopen makes a closed fake usable again, as opening the node again does.
func (f *Fake) Reopen() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = false
	f.streaming, f.bufs, f.queue = false, nil, nil
}

// Calls returns the request numbers issued so far.
func (f *Fake) Calls() []uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]uint32(nil), f.calls...)
}

// Mapped returns the number of buffers mapped and not unmapped.
func (f *Fake) Mapped() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mapped
}

// Streaming reports whether the fake is streaming.
func (f *Fake) Streaming() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.streaming
}

// Camera returns a fake UVC camera offering H.264, MJPEG and YUYV at
// 1280x720 and 640x480, 30 and 15 fps, delivering frames.
func Camera(frames [][]byte) *Fake {
	sizes := [][2]uint32{{1280, 720}, {640, 480}}
	return &Fake{
		Cap: v4l2.Capability{Driver: "uvcvideo", Card: "Fake Camera", BusInfo: "usb-0000:00:14.0-1",
			Version:      6<<16 | 1<<8,
			Capabilities: v4l2.CapVideoCapture | v4l2.CapStreaming | v4l2.CapDeviceCaps | v4l2.CapMetaCapture,
			DeviceCaps:   v4l2.CapVideoCapture | v4l2.CapStreaming},
		Formats: []Format{
			{PixelFormat: v4l2.PixMJPEG, Description: "Motion-JPEG", Compressed: true, Sizes: sizes, FPS: []uint32{30, 15}},
			{PixelFormat: v4l2.PixH264, Description: "H.264", Compressed: true, Sizes: sizes, FPS: []uint32{30, 15}},
			{PixelFormat: v4l2.PixYUYV, Description: "YUYV 4:2:2", Sizes: sizes, FPS: []uint32{30, 15}},
		},
		Frames: frames,
	}
}
