package v4l2

import (
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
)

// FuzzUnmarshal decodes arbitrary bytes as every struct the drivers write:
// no panic, and what decodes re-encodes to a struct that decodes the same.
func FuzzUnmarshal(f *testing.F) {
	f.Add(Buffer{Index: 1, BytesUsed: 10, Timestamp: time.Second, Offset: 4096, Length: 8192}.Marshal())
	f.Add(Capability{Driver: "vivid", Card: "vivid", Capabilities: CapVideoCapture}.Marshal())
	f.Add(PixFormat{Type: 1, Width: 640, Height: 480, PixelFormat: PixYUYV}.Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := UnmarshalCapability(b); err == nil {
			_ = c.Caps()
		}
		if d, err := UnmarshalFmtDesc(b); err == nil {
			_ = FourCCString(d.PixelFormat)
		}
		if e, err := UnmarshalFrmSizeEnum(b); err == nil {
			if g, _ := UnmarshalFrmSizeEnum(e.Marshal()); g != e {
				t.Fatalf("frmsize round trip %+v %+v", e, g)
			}
		}
		if e, err := UnmarshalFrmIvalEnum(b); err == nil {
			_ = e.Discrete.FPS()
		}
		if p, err := UnmarshalPixFormat(b); err == nil {
			if g, _ := UnmarshalPixFormat(p.Marshal()); g != p {
				t.Fatalf("format round trip %+v %+v", p, g)
			}
		}
		_, _ = UnmarshalStreamParm(b)
		_, _ = UnmarshalRequestBuffers(b)
		if v, err := UnmarshalBuffer(b); err == nil {
			if g, _ := UnmarshalBuffer(v.Marshal()); g != v {
				t.Fatalf("buffer round trip %+v %+v", v, g)
			}
		}
	})
}

// FuzzParseInput: no panic, and an accepted input has a device path.
func FuzzParseInput(f *testing.F) {
	for _, s := range []string{"v4l2:///dev/video0?format=h264&size=1280x720&fps=30", "v4l2://video1",
		"v4l2:/dev/video0?format=MJPG", "v4l2:///dev/video0?size=x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		in, err := ParseInput(s)
		if err != nil {
			return
		}
		if in.Device == "" || in.Device[0] != '/' || in.Width < 0 || in.FPS < 0 {
			t.Fatalf("%q: %+v", s, in)
		}
		if in.Format != "" {
			if _, ok := PixelFormat(in.Format); !ok {
				t.Fatalf("%q: format %q", s, in.Format)
			}
		}
	})
}

// FuzzH264Packer feeds arbitrary access units: no panic, config frames
// parse, and every picture frame is well-formed AVCC.
func FuzzH264Packer(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x0b, 0, 0, 1, 0x68, 0xce, 0, 0, 1, 0x65, 0x88})
	f.Add([]byte{0, 0, 1, 0x41, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var p H264Packer
		for range 2 {
			_ = p.Pack(b, 0, func(fr *media.Frame) error {
				if fr.IsConfig() {
					return nil
				}
				rest := fr.Payload
				for len(rest) > 0 {
					if len(rest) < 4 {
						t.Fatal("truncated length")
					}
					n := int(rest[0])<<24 | int(rest[1])<<16 | int(rest[2])<<8 | int(rest[3])
					if n == 0 || n > len(rest)-4 {
						t.Fatalf("bad length %d of %d", n, len(rest)-4)
					}
					rest = rest[4+n:]
				}
				return nil
			})
		}
	})
}
