package v4l2

import (
	"errors"
	"fmt"
	"time"
)

// Format is what a capture asks for and what the driver grants.
type Format struct {
	PixelFormat   uint32
	Width, Height int
	// FPS is the frame rate; 0 keeps the driver's.
	FPS int
}

// DefaultBuffers is the number of mmap buffers a capture asks for: one
// being filled, one being read, and slack for a late reader.
const DefaultBuffers = 4

// Frame is one filled buffer. Data is the driver's memory: valid until
// Release.
type Frame struct {
	Index     int
	Data      []byte
	Timestamp time.Duration // the buffer's timestamp (V4L2 §3.5: monotonic clock for most drivers)
	Sequence  uint32
	Flags     uint32
}

// Capture is a streaming capture by mmap I/O (V4L2 API §3.2 "Streaming
// I/O (Memory Mapping)").
type Capture struct {
	dev    Device
	format Format
	bufs   [][]byte
	queued []bool
	on     bool
}

// StartCapture negotiates the format (VIDIOC_S_FMT, and VIDIOC_S_PARM for
// the frame rate), requests and maps nbuf buffers (VIDIOC_REQBUFS,
// VIDIOC_QUERYBUF, mmap), queues them (VIDIOC_QBUF) and starts streaming
// (VIDIOC_STREAMON). A zero width or height keeps the device's current
// size. The driver may grant another size: Format says what it did.
func StartCapture(d Device, want Format, nbuf int) (*Capture, error) {
	if nbuf <= 0 {
		nbuf = DefaultBuffers
	}
	c := &Capture{dev: d}
	if err := c.setFormat(want); err != nil {
		return nil, err
	}
	rb := RequestBuffers{Count: uint32(nbuf), Type: BufTypeVideoCapture, Memory: MemoryMmap}.Marshal()
	if err := d.Ioctl(VIDIOCReqBufs, rb); err != nil {
		return nil, fmt.Errorf("v4l2: VIDIOC_REQBUFS: %w (does the device support streaming I/O?)", err)
	}
	got, err := UnmarshalRequestBuffers(rb)
	if err != nil {
		return nil, err
	}
	if got.Count < 2 || got.Count > 32 {
		c.free()
		return nil, fmt.Errorf("v4l2: VIDIOC_REQBUFS granted %d buffers: %w", got.Count, ErrInvalid)
	}
	for i := uint32(0); i < got.Count; i++ {
		qb := Buffer{Index: i, Type: BufTypeVideoCapture, Memory: MemoryMmap}.Marshal()
		if err := d.Ioctl(VIDIOCQueryBuf, qb); err != nil {
			c.Close()
			return nil, fmt.Errorf("v4l2: VIDIOC_QUERYBUF %d: %w", i, err)
		}
		b, err := UnmarshalBuffer(qb)
		if err != nil || b.Length == 0 || b.Length > 64<<20 {
			c.Close()
			return nil, fmt.Errorf("v4l2: VIDIOC_QUERYBUF %d: length %d: %w", i, b.Length, ErrInvalid)
		}
		m, err := d.Mmap(int64(b.Offset), int(b.Length))
		if err != nil {
			c.Close()
			return nil, err
		}
		c.bufs = append(c.bufs, m)
		c.queued = append(c.queued, false)
	}
	for i := range c.bufs {
		if err := c.queue(i); err != nil {
			c.Close()
			return nil, err
		}
	}
	if err := d.Ioctl(VIDIOCStreamOn, streamType()); err != nil {
		c.Close()
		return nil, fmt.Errorf("v4l2: VIDIOC_STREAMON: %w", err)
	}
	c.on = true
	return c, nil
}

func streamType() []byte {
	b := make([]byte, 4)
	ne.PutUint32(b, BufTypeVideoCapture)
	return b
}

// setFormat is VIDIOC_G_FMT, then VIDIOC_S_FMT with the wanted changes,
// then VIDIOC_S_PARM for the frame rate when the driver can set it.
func (c *Capture) setFormat(want Format) error {
	d := c.dev
	b := PixFormat{Type: BufTypeVideoCapture}.Marshal()
	if err := d.Ioctl(VIDIOCGFmt, b); err != nil {
		return fmt.Errorf("v4l2: VIDIOC_G_FMT: %w", err)
	}
	cur, err := UnmarshalPixFormat(b)
	if err != nil {
		return err
	}
	if want.PixelFormat != 0 {
		cur.PixelFormat = want.PixelFormat
	}
	if want.Width > 0 && want.Height > 0 {
		cur.Width, cur.Height = uint32(want.Width), uint32(want.Height)
	}
	cur.Type, cur.Field = BufTypeVideoCapture, FieldAny
	cur.BytesPerLine, cur.SizeImage = 0, 0
	b = cur.Marshal()
	if err := d.Ioctl(VIDIOCSFmt, b); err != nil {
		return fmt.Errorf("v4l2: VIDIOC_S_FMT %s %dx%d: %w", FourCCString(cur.PixelFormat), cur.Width, cur.Height, err)
	}
	got, err := UnmarshalPixFormat(b)
	if err != nil {
		return err
	}
	if want.PixelFormat != 0 && got.PixelFormat != want.PixelFormat {
		return fmt.Errorf("v4l2: the device does not capture %s (it offered %s): %w",
			FourCCString(want.PixelFormat), FourCCString(got.PixelFormat), ErrInvalid)
	}
	c.format = Format{PixelFormat: got.PixelFormat, Width: int(got.Width), Height: int(got.Height)}
	if want.FPS > 0 {
		p := StreamParm{Type: BufTypeVideoCapture}.Marshal()
		if err := d.Ioctl(VIDIOCGParm, p); err == nil {
			if sp, err := UnmarshalStreamParm(p); err == nil && sp.Capability&CapTimePerFrame != 0 {
				sp.TimePerFrame = Fract{1, uint32(want.FPS)}
				p = sp.Marshal()
				if err := d.Ioctl(VIDIOCSParm, p); err == nil {
					if sp, err := UnmarshalStreamParm(p); err == nil {
						c.format.FPS = int(sp.TimePerFrame.FPS() + 0.5)
					}
				}
			}
		}
	}
	return nil
}

// Format returns the format the driver granted.
func (c *Capture) Format() Format { return c.format }

func (c *Capture) queue(i int) error {
	b := Buffer{Index: uint32(i), Type: BufTypeVideoCapture, Memory: MemoryMmap}.Marshal()
	if err := c.dev.Ioctl(VIDIOCQBuf, b); err != nil {
		return fmt.Errorf("v4l2: VIDIOC_QBUF %d: %w", i, err)
	}
	c.queued[i] = true
	return nil
}

// ErrTimeout reports that no frame came within the wait.
var ErrTimeout = errors.New("v4l2: no frame from the device")

// Read waits up to timeout for a filled buffer and dequeues it
// (VIDIOC_DQBUF). The caller hands it back with Release. Buffers the
// driver flags as corrupt (V4L2_BUF_FLAG_ERROR) are requeued and skipped.
func (c *Capture) Read(timeout time.Duration) (Frame, error) {
	deadline := time.Now().Add(timeout)
	for {
		b := Buffer{Type: BufTypeVideoCapture, Memory: MemoryMmap}.Marshal()
		err := c.dev.Ioctl(VIDIOCDQBuf, b)
		if errors.Is(err, ErrAgain) {
			left := time.Until(deadline)
			if left <= 0 {
				return Frame{}, ErrTimeout
			}
			ok, err := c.dev.Wait(left)
			if err != nil {
				return Frame{}, err
			}
			if !ok {
				return Frame{}, ErrTimeout
			}
			continue
		}
		if err != nil {
			return Frame{}, fmt.Errorf("v4l2: VIDIOC_DQBUF: %w", err)
		}
		v, err := UnmarshalBuffer(b)
		if err != nil {
			return Frame{}, err
		}
		i := int(v.Index)
		if i >= len(c.bufs) {
			return Frame{}, fmt.Errorf("v4l2: VIDIOC_DQBUF: buffer %d of %d: %w", i, len(c.bufs), ErrInvalid)
		}
		c.queued[i] = false
		if v.Flags&BufFlagError != 0 || v.BytesUsed == 0 {
			if err := c.queue(i); err != nil {
				return Frame{}, err
			}
			continue
		}
		n := min(int(v.BytesUsed), len(c.bufs[i]))
		return Frame{Index: i, Data: c.bufs[i][:n], Timestamp: v.Timestamp, Sequence: v.Sequence, Flags: v.Flags}, nil
	}
}

// Release requeues a frame's buffer.
func (c *Capture) Release(f Frame) error {
	if f.Index < 0 || f.Index >= len(c.bufs) || c.queued[f.Index] {
		return nil
	}
	return c.queue(f.Index)
}

// Close stops streaming (VIDIOC_STREAMOFF), unmaps and frees the buffers.
// It does not close the device.
func (c *Capture) Close() error {
	var err error
	if c.on {
		err = c.dev.Ioctl(VIDIOCStreamOff, streamType())
		c.on = false
	}
	for _, b := range c.bufs {
		_ = c.dev.Munmap(b)
	}
	c.bufs, c.queued = nil, nil
	c.free()
	return err
}

// free releases the driver's buffers (VIDIOC_REQBUFS with count 0).
func (c *Capture) free() {
	rb := RequestBuffers{Count: 0, Type: BufTypeVideoCapture, Memory: MemoryMmap}.Marshal()
	_ = c.dev.Ioctl(VIDIOCReqBufs, rb)
}
