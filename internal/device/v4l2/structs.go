package v4l2

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The kernel's structs are encoded to and decoded from bytes in the
// machine's byte order, at the offsets the C compiler gives them
// (include/uapi/linux/videodev2.h). Only the fields srs-lite uses are
// named; the rest are zero on the way in and ignored on the way out. A
// struct with a long or pointer member has offsets and a size that depend
// on the word size: longSize below. On 32-bit machines the timestamp of
// struct v4l2_buffer is the 32-bit struct timeval, whose request numbers
// every kernel accepts (since 5.6 as VIDIOC_*_TIME32).

// ErrShort reports a struct buffer shorter than the struct.
var ErrShort = errors.New("v4l2: struct too short")

var ne = binary.NativeEndian

// longSize is the size (and alignment) of a C long and a pointer.
const longSize = 4 << (^uintptr(0) >> 63)

// Sizes of the structs.
const (
	sizeCapability    = 104                      // struct v4l2_capability
	sizeFmtDesc       = 64                       // struct v4l2_fmtdesc
	sizeFrmSizeEnum   = 44                       // struct v4l2_frmsizeenum
	sizeFrmIvalEnum   = 52                       // struct v4l2_frmivalenum
	sizeRequestBufs   = 20                       // struct v4l2_requestbuffers
	sizeStreamParm    = 204                      // struct v4l2_streamparm
	sizeFormat        = 8 + 200 - (8-longSize)&4 // struct v4l2_format: the union is long-aligned
	offFormatUnion    = sizeFormat - 200
	offBufTimestamp   = (20 + longSize - 1) &^ (longSize - 1)
	offBufTimecode    = offBufTimestamp + 2*longSize
	offBufSequence    = offBufTimecode + 16
	offBufMemory      = offBufSequence + 4
	offBufM           = (offBufMemory + 4 + longSize - 1) &^ (longSize - 1)
	offBufLength      = offBufM + longSize
	sizeBufferRaw     = offBufLength + 12 // length, reserved2, request_fd
	sizeBuffer        = (sizeBufferRaw + longSize - 1) &^ (longSize - 1)
	sizeStreamOnOffIn = 4 // int
)

// Buffer types, memory kinds, fields and flags (videodev2.h).
const (
	BufTypeVideoCapture = 1 // V4L2_BUF_TYPE_VIDEO_CAPTURE
	MemoryMmap          = 1 // V4L2_MEMORY_MMAP
	FieldAny            = 0 // V4L2_FIELD_ANY
	FieldNone           = 1 // V4L2_FIELD_NONE

	BufFlagKeyframe     = 0x00000008 // V4L2_BUF_FLAG_KEYFRAME
	BufFlagError        = 0x00000040 // V4L2_BUF_FLAG_ERROR
	BufFlagTimestampMsk = 0x0000e000 // V4L2_BUF_FLAG_TIMESTAMP_MASK
	BufFlagTsMonotonic  = 0x00002000 // V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC

	CapVideoCapture       = 0x00000001 // V4L2_CAP_VIDEO_CAPTURE
	CapVideoCaptureMPlane = 0x00001000 // V4L2_CAP_VIDEO_CAPTURE_MPLANE
	CapMetaCapture        = 0x00800000 // V4L2_CAP_META_CAPTURE
	CapStreaming          = 0x04000000 // V4L2_CAP_STREAMING
	CapDeviceCaps         = 0x80000000 // V4L2_CAP_DEVICE_CAPS

	FmtFlagCompressed = 0x0001 // V4L2_FMT_FLAG_COMPRESSED

	FrmSizeDiscrete   = 1 // V4L2_FRMSIZE_TYPE_DISCRETE
	FrmSizeContinuous = 2 // V4L2_FRMSIZE_TYPE_CONTINUOUS
	FrmSizeStepwise   = 3 // V4L2_FRMSIZE_TYPE_STEPWISE

	FrmIvalDiscrete = 1 // V4L2_FRMIVAL_TYPE_DISCRETE

	CapTimePerFrame = 0x1000 // V4L2_CAP_TIMEPERFRAME (struct v4l2_captureparm)
)

// Capability is struct v4l2_capability (VIDIOC_QUERYCAP).
type Capability struct {
	Driver, Card, BusInfo string
	Version               uint32
	Capabilities          uint32
	DeviceCaps            uint32
}

// Caps returns the capabilities of the opened node: DeviceCaps when the
// driver sets V4L2_CAP_DEVICE_CAPS, else Capabilities.
func (c Capability) Caps() uint32 {
	if c.Capabilities&CapDeviceCaps != 0 {
		return c.DeviceCaps
	}
	return c.Capabilities
}

// Marshal encodes c.
func (c Capability) Marshal() []byte {
	b := make([]byte, sizeCapability)
	copy(b[0:16], c.Driver)
	copy(b[16:48], c.Card)
	copy(b[48:80], c.BusInfo)
	ne.PutUint32(b[80:], c.Version)
	ne.PutUint32(b[84:], c.Capabilities)
	ne.PutUint32(b[88:], c.DeviceCaps)
	return b
}

// UnmarshalCapability decodes a struct v4l2_capability.
func UnmarshalCapability(b []byte) (Capability, error) {
	if len(b) < sizeCapability {
		return Capability{}, fmt.Errorf("v4l2_capability: %w", ErrShort)
	}
	return Capability{Driver: cstr(b[0:16]), Card: cstr(b[16:48]), BusInfo: cstr(b[48:80]),
		Version: ne.Uint32(b[80:]), Capabilities: ne.Uint32(b[84:]), DeviceCaps: ne.Uint32(b[88:])}, nil
}

// FmtDesc is struct v4l2_fmtdesc (VIDIOC_ENUM_FMT).
type FmtDesc struct {
	Index, Type uint32
	Flags       uint32
	Description string
	PixelFormat uint32
}

// Marshal encodes d.
func (d FmtDesc) Marshal() []byte {
	b := make([]byte, sizeFmtDesc)
	ne.PutUint32(b[0:], d.Index)
	ne.PutUint32(b[4:], d.Type)
	ne.PutUint32(b[8:], d.Flags)
	copy(b[12:44], d.Description)
	ne.PutUint32(b[44:], d.PixelFormat)
	return b
}

// UnmarshalFmtDesc decodes a struct v4l2_fmtdesc.
func UnmarshalFmtDesc(b []byte) (FmtDesc, error) {
	if len(b) < sizeFmtDesc {
		return FmtDesc{}, fmt.Errorf("v4l2_fmtdesc: %w", ErrShort)
	}
	return FmtDesc{Index: ne.Uint32(b[0:]), Type: ne.Uint32(b[4:]), Flags: ne.Uint32(b[8:]),
		Description: cstr(b[12:44]), PixelFormat: ne.Uint32(b[44:])}, nil
}

// FrmSizeEnum is struct v4l2_frmsizeenum (VIDIOC_ENUM_FRAMESIZES). For a
// discrete size only Width and Height are set; for stepwise and
// continuous ranges the Min, Max and Step fields.
type FrmSizeEnum struct {
	Index, PixelFormat, Type uint32
	Width, Height            uint32 // discrete
	MinWidth, MaxWidth       uint32 // stepwise
	StepWidth                uint32
	MinHeight, MaxHeight     uint32
	StepHeight               uint32
}

// Marshal encodes e.
func (e FrmSizeEnum) Marshal() []byte {
	b := make([]byte, sizeFrmSizeEnum)
	ne.PutUint32(b[0:], e.Index)
	ne.PutUint32(b[4:], e.PixelFormat)
	ne.PutUint32(b[8:], e.Type)
	if e.Type == FrmSizeDiscrete {
		ne.PutUint32(b[12:], e.Width)
		ne.PutUint32(b[16:], e.Height)
	} else {
		for i, v := range []uint32{e.MinWidth, e.MaxWidth, e.StepWidth, e.MinHeight, e.MaxHeight, e.StepHeight} {
			ne.PutUint32(b[12+4*i:], v)
		}
	}
	return b
}

// UnmarshalFrmSizeEnum decodes a struct v4l2_frmsizeenum.
func UnmarshalFrmSizeEnum(b []byte) (FrmSizeEnum, error) {
	if len(b) < sizeFrmSizeEnum {
		return FrmSizeEnum{}, fmt.Errorf("v4l2_frmsizeenum: %w", ErrShort)
	}
	e := FrmSizeEnum{Index: ne.Uint32(b[0:]), PixelFormat: ne.Uint32(b[4:]), Type: ne.Uint32(b[8:])}
	if e.Type == FrmSizeDiscrete {
		e.Width, e.Height = ne.Uint32(b[12:]), ne.Uint32(b[16:])
	} else {
		e.MinWidth, e.MaxWidth, e.StepWidth = ne.Uint32(b[12:]), ne.Uint32(b[16:]), ne.Uint32(b[20:])
		e.MinHeight, e.MaxHeight, e.StepHeight = ne.Uint32(b[24:]), ne.Uint32(b[28:]), ne.Uint32(b[32:])
	}
	return e, nil
}

// Fract is struct v4l2_fract: a frame interval of Num/Den seconds.
type Fract struct{ Num, Den uint32 }

// FPS returns the frame rate of the interval, 0 when undefined.
func (f Fract) FPS() float64 {
	if f.Num == 0 {
		return 0
	}
	return float64(f.Den) / float64(f.Num)
}

// FrmIvalEnum is struct v4l2_frmivalenum (VIDIOC_ENUM_FRAMEINTERVALS). A
// discrete interval is in Discrete; a stepwise one in Min, Max and Step.
type FrmIvalEnum struct {
	Index, PixelFormat, Width, Height, Type uint32
	Discrete                                Fract
	Min, Max, Step                          Fract
}

// Marshal encodes e.
func (e FrmIvalEnum) Marshal() []byte {
	b := make([]byte, sizeFrmIvalEnum)
	for i, v := range []uint32{e.Index, e.PixelFormat, e.Width, e.Height, e.Type} {
		ne.PutUint32(b[4*i:], v)
	}
	vals := []uint32{e.Discrete.Num, e.Discrete.Den}
	if e.Type != FrmIvalDiscrete {
		vals = []uint32{e.Min.Num, e.Min.Den, e.Max.Num, e.Max.Den, e.Step.Num, e.Step.Den}
	}
	for i, v := range vals {
		ne.PutUint32(b[20+4*i:], v)
	}
	return b
}

// UnmarshalFrmIvalEnum decodes a struct v4l2_frmivalenum.
func UnmarshalFrmIvalEnum(b []byte) (FrmIvalEnum, error) {
	if len(b) < sizeFrmIvalEnum {
		return FrmIvalEnum{}, fmt.Errorf("v4l2_frmivalenum: %w", ErrShort)
	}
	e := FrmIvalEnum{Index: ne.Uint32(b[0:]), PixelFormat: ne.Uint32(b[4:]), Width: ne.Uint32(b[8:]),
		Height: ne.Uint32(b[12:]), Type: ne.Uint32(b[16:])}
	u := func(i int) uint32 { return ne.Uint32(b[20+4*i:]) }
	if e.Type == FrmIvalDiscrete {
		e.Discrete = Fract{u(0), u(1)}
	} else {
		e.Min, e.Max, e.Step = Fract{u(0), u(1)}, Fract{u(2), u(3)}, Fract{u(4), u(5)}
	}
	return e, nil
}

// PixFormat is struct v4l2_format with type VIDEO_CAPTURE and its struct
// v4l2_pix_format (VIDIOC_G_FMT, VIDIOC_S_FMT).
type PixFormat struct {
	Type         uint32
	Width        uint32
	Height       uint32
	PixelFormat  uint32
	Field        uint32
	BytesPerLine uint32
	SizeImage    uint32
}

// Marshal encodes p.
func (p PixFormat) Marshal() []byte {
	b := make([]byte, sizeFormat)
	ne.PutUint32(b[0:], p.Type)
	u := b[offFormatUnion:]
	for i, v := range []uint32{p.Width, p.Height, p.PixelFormat, p.Field, p.BytesPerLine, p.SizeImage} {
		ne.PutUint32(u[4*i:], v)
	}
	return b
}

// UnmarshalPixFormat decodes a struct v4l2_format holding a pixel format.
func UnmarshalPixFormat(b []byte) (PixFormat, error) {
	if len(b) < sizeFormat {
		return PixFormat{}, fmt.Errorf("v4l2_format: %w", ErrShort)
	}
	u := b[offFormatUnion:]
	return PixFormat{Type: ne.Uint32(b[0:]), Width: ne.Uint32(u[0:]), Height: ne.Uint32(u[4:]),
		PixelFormat: ne.Uint32(u[8:]), Field: ne.Uint32(u[12:]), BytesPerLine: ne.Uint32(u[16:]),
		SizeImage: ne.Uint32(u[20:])}, nil
}

// StreamParm is struct v4l2_streamparm with its struct v4l2_captureparm
// (VIDIOC_G_PARM, VIDIOC_S_PARM).
type StreamParm struct {
	Type         uint32
	Capability   uint32
	TimePerFrame Fract
}

// Marshal encodes p.
func (p StreamParm) Marshal() []byte {
	b := make([]byte, sizeStreamParm)
	ne.PutUint32(b[0:], p.Type)
	ne.PutUint32(b[4:], p.Capability)
	ne.PutUint32(b[12:], p.TimePerFrame.Num)
	ne.PutUint32(b[16:], p.TimePerFrame.Den)
	return b
}

// UnmarshalStreamParm decodes a struct v4l2_streamparm.
func UnmarshalStreamParm(b []byte) (StreamParm, error) {
	if len(b) < sizeStreamParm {
		return StreamParm{}, fmt.Errorf("v4l2_streamparm: %w", ErrShort)
	}
	return StreamParm{Type: ne.Uint32(b[0:]), Capability: ne.Uint32(b[4:]),
		TimePerFrame: Fract{ne.Uint32(b[12:]), ne.Uint32(b[16:])}}, nil
}

// RequestBuffers is struct v4l2_requestbuffers (VIDIOC_REQBUFS).
type RequestBuffers struct {
	Count, Type, Memory uint32
}

// Marshal encodes r.
func (r RequestBuffers) Marshal() []byte {
	b := make([]byte, sizeRequestBufs)
	ne.PutUint32(b[0:], r.Count)
	ne.PutUint32(b[4:], r.Type)
	ne.PutUint32(b[8:], r.Memory)
	return b
}

// UnmarshalRequestBuffers decodes a struct v4l2_requestbuffers.
func UnmarshalRequestBuffers(b []byte) (RequestBuffers, error) {
	if len(b) < sizeRequestBufs {
		return RequestBuffers{}, fmt.Errorf("v4l2_requestbuffers: %w", ErrShort)
	}
	return RequestBuffers{Count: ne.Uint32(b[0:]), Type: ne.Uint32(b[4:]), Memory: ne.Uint32(b[8:])}, nil
}

// Buffer is struct v4l2_buffer for single-planar mmap buffers
// (VIDIOC_QUERYBUF, VIDIOC_QBUF, VIDIOC_DQBUF). Offset is m.offset.
type Buffer struct {
	Index, Type, BytesUsed, Flags, Field uint32
	Timestamp                            time.Duration // struct timeval
	Sequence                             uint32
	Memory                               uint32
	Offset                               uint32
	Length                               uint32
}

// Marshal encodes b.
func (v Buffer) Marshal() []byte {
	b := make([]byte, sizeBuffer)
	for i, x := range []uint32{v.Index, v.Type, v.BytesUsed, v.Flags, v.Field} {
		ne.PutUint32(b[4*i:], x)
	}
	sec, usec := int64(v.Timestamp/time.Second), int64(v.Timestamp%time.Second/time.Microsecond)
	putLong(b[offBufTimestamp:], sec)
	putLong(b[offBufTimestamp+longSize:], usec)
	ne.PutUint32(b[offBufSequence:], v.Sequence)
	ne.PutUint32(b[offBufMemory:], v.Memory)
	ne.PutUint32(b[offBufM:], v.Offset) // m.offset: a u32 at the start of the union
	ne.PutUint32(b[offBufLength:], v.Length)
	return b
}

// UnmarshalBuffer decodes a struct v4l2_buffer.
func UnmarshalBuffer(b []byte) (Buffer, error) {
	if len(b) < sizeBuffer {
		return Buffer{}, fmt.Errorf("v4l2_buffer: %w", ErrShort)
	}
	v := Buffer{Index: ne.Uint32(b[0:]), Type: ne.Uint32(b[4:]), BytesUsed: ne.Uint32(b[8:]),
		Flags: ne.Uint32(b[12:]), Field: ne.Uint32(b[16:]), Sequence: ne.Uint32(b[offBufSequence:]),
		Memory: ne.Uint32(b[offBufMemory:]), Offset: ne.Uint32(b[offBufM:]), Length: ne.Uint32(b[offBufLength:])}
	sec, usec := long(b[offBufTimestamp:]), long(b[offBufTimestamp+longSize:])
	// A driver's timestamp is a monotonic clock reading: clamp nonsense
	// rather than overflow.
	if sec >= 0 && sec < 1<<33 && usec >= 0 && usec < 1e6 {
		v.Timestamp = time.Duration(sec)*time.Second + time.Duration(usec)*time.Microsecond
	}
	return v, nil
}

func putLong(b []byte, v int64) {
	if longSize == 8 {
		ne.PutUint64(b, uint64(v))
	} else {
		ne.PutUint32(b, uint32(v))
	}
}

func long(b []byte) int64 {
	if longSize == 8 {
		return int64(ne.Uint64(b))
	}
	return int64(int32(ne.Uint32(b)))
}

// cstr returns the NUL-terminated string at the start of b.
func cstr(b []byte) string {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return strings.ToValidUTF8(string(b), "?")
}

// FourCC packs a four-character code as V4L2 does (v4l2_fourcc: the first
// character in the low byte).
func FourCC(s string) uint32 {
	var b [4]byte
	copy(b[:], s)
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// FourCCString returns the four characters of a code, e.g. "MJPG".
func FourCCString(c uint32) string {
	b := []byte{byte(c), byte(c >> 8), byte(c >> 16), byte(c >> 24)}
	for i, x := range b {
		if x < ' ' || x > '~' {
			b[i] = '?'
		}
	}
	return strings.TrimRight(string(b), " ")
}
