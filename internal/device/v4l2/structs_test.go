package v4l2

import (
	"reflect"
	"runtime"
	"testing"
	"time"
)

// TestRequestNumbers pins the request numbers against the values of
// videodev2.h compiled for x86-64 and 32-bit ARM (where the structs with a
// long differ in size).
func TestRequestNumbers(t *testing.T) {
	want := map[string]map[string]uint32{
		"amd64": {"QUERYCAP": 0x80685600, "ENUM_FMT": 0xc0405602, "G_FMT": 0xc0d05604, "S_FMT": 0xc0d05605,
			"REQBUFS": 0xc0145608, "QUERYBUF": 0xc0585609, "QBUF": 0xc058560f, "DQBUF": 0xc0585611,
			"STREAMON": 0x40045612, "STREAMOFF": 0x40045613, "G_PARM": 0xc0cc5615, "S_PARM": 0xc0cc5616,
			"ENUM_FRAMESIZES": 0xc02c564a, "ENUM_FRAMEINTERVALS": 0xc034564b},
		"arm": {"QUERYCAP": 0x80685600, "S_FMT": 0xc0cc5605, "QUERYBUF": 0xc0445609, "QBUF": 0xc044560f,
			"DQBUF": 0xc0445611, "REQBUFS": 0xc0145608},
		// MIPS: _IOC_READ is 2 and _IOC_WRITE 4, from bit 29.
		"mipsle": {"QUERYCAP": 0x40685600, "S_FMT": 0xc0cc5605, "QBUF": 0xc044560f, "STREAMON": 0x80045612},
		"mips":   {"QUERYCAP": 0x40685600, "S_FMT": 0xc0cc5605, "QBUF": 0xc044560f, "STREAMON": 0x80045612},
	}
	got := map[string]uint32{"QUERYCAP": VIDIOCQueryCap, "ENUM_FMT": VIDIOCEnumFmt, "G_FMT": VIDIOCGFmt,
		"S_FMT": VIDIOCSFmt, "REQBUFS": VIDIOCReqBufs, "QUERYBUF": VIDIOCQueryBuf, "QBUF": VIDIOCQBuf,
		"DQBUF": VIDIOCDQBuf, "STREAMON": VIDIOCStreamOn, "STREAMOFF": VIDIOCStreamOff, "G_PARM": VIDIOCGParm,
		"S_PARM": VIDIOCSParm, "ENUM_FRAMESIZES": VIDIOCEnumFrameSize, "ENUM_FRAMEINTERVALS": VIDIOCEnumFrameIval}
	w, ok := want[runtime.GOARCH]
	if !ok {
		t.Skipf("no pinned request numbers for %s", runtime.GOARCH)
	}
	for name, v := range w {
		if got[name] != v {
			t.Errorf("VIDIOC_%s = %#x, want %#x", name, got[name], v)
		}
	}
}

func TestStructSizes(t *testing.T) {
	if longSize == 8 {
		if sizeBuffer != 88 || sizeFormat != 208 || offBufTimestamp != 24 || offBufM != 64 {
			t.Fatalf("64-bit layout: buffer %d format %d timestamp@%d m@%d", sizeBuffer, sizeFormat, offBufTimestamp, offBufM)
		}
	} else if sizeBuffer != 68 || sizeFormat != 204 || offBufTimestamp != 20 || offBufM != 52 {
		t.Fatalf("32-bit layout: buffer %d format %d timestamp@%d m@%d", sizeBuffer, sizeFormat, offBufTimestamp, offBufM)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		dec  func([]byte) (any, error)
	}{
		{"capability", Capability{Driver: "uvcvideo", Card: "HD Pro Webcam C920", BusInfo: "usb-1", Version: 0x60100,
			Capabilities: 0x84a00001, DeviceCaps: 0x04200001},
			func(b []byte) (any, error) { return UnmarshalCapability(b) }},
		{"fmtdesc", FmtDesc{Index: 2, Type: 1, Flags: 1, Description: "H.264", PixelFormat: PixH264},
			func(b []byte) (any, error) { return UnmarshalFmtDesc(b) }},
		{"frmsize discrete", FrmSizeEnum{Index: 1, PixelFormat: PixMJPEG, Type: FrmSizeDiscrete, Width: 1920, Height: 1080},
			func(b []byte) (any, error) { return UnmarshalFrmSizeEnum(b) }},
		{"frmsize stepwise", FrmSizeEnum{PixelFormat: PixYUYV, Type: FrmSizeStepwise, MinWidth: 16, MaxWidth: 1920,
			StepWidth: 2, MinHeight: 16, MaxHeight: 1080, StepHeight: 2},
			func(b []byte) (any, error) { return UnmarshalFrmSizeEnum(b) }},
		{"frmival", FrmIvalEnum{Index: 1, PixelFormat: PixH264, Width: 640, Height: 480, Type: FrmIvalDiscrete,
			Discrete: Fract{1, 30}}, func(b []byte) (any, error) { return UnmarshalFrmIvalEnum(b) }},
		{"frmival stepwise", FrmIvalEnum{Type: 3, Min: Fract{1, 60}, Max: Fract{1, 1}, Step: Fract{1, 60}},
			func(b []byte) (any, error) { return UnmarshalFrmIvalEnum(b) }},
		{"format", PixFormat{Type: 1, Width: 1280, Height: 720, PixelFormat: PixYUYV, Field: 1, BytesPerLine: 2560,
			SizeImage: 1843200}, func(b []byte) (any, error) { return UnmarshalPixFormat(b) }},
		{"streamparm", StreamParm{Type: 1, Capability: CapTimePerFrame, TimePerFrame: Fract{1, 30}},
			func(b []byte) (any, error) { return UnmarshalStreamParm(b) }},
		{"reqbufs", RequestBuffers{Count: 4, Type: 1, Memory: 1},
			func(b []byte) (any, error) { return UnmarshalRequestBuffers(b) }},
		{"buffer", Buffer{Index: 3, Type: 1, BytesUsed: 12345, Flags: BufFlagTsMonotonic | BufFlagKeyframe, Field: 1,
			Timestamp: 12345*time.Second + 678901*time.Microsecond, Sequence: 99, Memory: 1, Offset: 3 * 4096, Length: 1 << 20},
			func(b []byte) (any, error) { return UnmarshalBuffer(b) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.v.(interface{ Marshal() []byte }).Marshal()
			got, err := tc.dec(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.v) {
				t.Fatalf("got %+v, want %+v", got, tc.v)
			}
			if _, err := tc.dec(b[:len(b)-1]); err == nil {
				t.Fatal("a short struct decoded")
			}
		})
	}
}

func TestFourCC(t *testing.T) {
	if PixH264 != 0x34363248 || PixMJPEG != 0x47504a4d {
		t.Fatalf("H264 %#x MJPG %#x", PixH264, PixMJPEG)
	}
	if s := FourCCString(PixYUYV); s != "YUYV" {
		t.Fatal(s)
	}
	if s := FourCCString(0x00000a41); s != "A???" {
		t.Fatalf("%q", s)
	}
}
