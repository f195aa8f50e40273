package rtmp

import (
	"errors"
	"os"
	"reflect"
	"testing"

	"github.com/srs-lite/srs-lite/internal/format/amf0"
)

func TestControlPayloads(t *testing.T) {
	tests := []struct {
		name  string
		got   []byte
		want  string
		parse func(p []byte) (any, error)
		value any
	}{
		{"set chunk size", AppendSetChunkSize(nil, 4096), "00001000",
			func(p []byte) (any, error) { return ParseSetChunkSize(p) }, uint32(4096)},
		{"abort", AppendAbort(nil, 6), "00000006",
			func(p []byte) (any, error) { return ParseAbort(p) }, uint32(6)},
		{"ack", AppendAck(nil, 1<<31), "80000000",
			func(p []byte) (any, error) { return ParseAck(p) }, uint32(1 << 31)},
		{"window ack size", AppendWindowAckSize(nil, 2500000), "002625a0",
			func(p []byte) (any, error) { return ParseWindowAckSize(p) }, uint32(2500000)},
		{"set peer bandwidth", AppendSetPeerBandwidth(nil, 2500000, LimitDynamic), "002625a0 02",
			func(p []byte) (any, error) {
				n, l, err := ParseSetPeerBandwidth(p)
				return [2]uint32{n, uint32(l)}, err
			}, [2]uint32{2500000, 2}},
		{"stream begin", AppendUserControl(nil, EventStreamBegin, 1), "0000 00000001",
			func(p []byte) (any, error) { return ParseUserControl(p) }, UserControl{Event: 0, Data: 1}},
		{"set buffer length", AppendUserControl(nil, EventSetBufferLength, 1, 3000), "0003 00000001 00000bb8",
			func(p []byte) (any, error) { return ParseUserControl(p) }, UserControl{Event: 3, Data: 1, BufferLength: 3000}},
		{"ping request", AppendUserControl(nil, EventPingRequest, 0xd0f), "0006 00000d0f",
			func(p []byte) (any, error) { return ParseUserControl(p) }, UserControl{Event: 6, Data: 0xd0f}},
		{"unknown event", AppendUserControl(nil, 0x1a), "001a",
			func(p []byte) (any, error) { return ParseUserControl(p) }, UserControl{Event: 0x1a}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := unhex(t, tt.want)
			if !reflect.DeepEqual(tt.got, want) {
				t.Fatalf("payload % x, want % x", tt.got, want)
			}
			v, err := tt.parse(want)
			if err != nil || !reflect.DeepEqual(v, tt.value) {
				t.Fatalf("parse = %v, %v; want %v", v, err, tt.value)
			}
			for n := range len(want) {
				if tt.name == "unknown event" && n >= 2 || tt.name == "set peer bandwidth" && n == 4 {
					continue // complete without the optional bytes
				}
				if _, err := tt.parse(want[:n]); !errors.Is(err, ErrShortPayload) {
					t.Fatalf("parse of %d bytes: %v", n, err)
				}
			}
		})
	}
}

func TestSplitAggregate(t *testing.T) {
	// Two FLV-tag-like sub-messages at 5000 and 5040 (RTMP 7.1.6), the
	// second with the upper timestamp byte set and no back pointer.
	p := unhex(t, "09 000002 001388 00 000000 1701 0000000d"+
		"08 000001 0013b0 01 000000 af")
	m := Message{Type: TypeAggregate, StreamID: 1, Timestamp: 100, CSID: 6, Payload: p, Offset: 3}
	var got []Message
	err := SplitAggregate(m, func(s Message) error {
		got = append(got, s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d sub-messages", len(got))
	}
	want := []struct {
		typ    uint8
		ts     uint32
		off    int
		length int
	}{{9, 100, 3 + 11, 2}, {8, 100 + 0x01000000 + 40, 3 + 17 + 11, 1}}
	for i, w := range want {
		s := got[i]
		if s.Type != w.typ || s.Timestamp != w.ts || s.Offset != w.off || len(s.Payload) != w.length ||
			s.StreamID != 1 || s.CSID != 6 {
			t.Errorf("sub %d: %+v", i, s)
		}
	}

	for _, bad := range []string{"09 000002 001388", "09 000005 001388 00 000000 1701"} {
		m.Payload = unhex(t, bad)
		if err := SplitAggregate(m, func(Message) error { return nil }); !errors.Is(err, ErrShortPayload) {
			t.Errorf("%s: %v", bad, err)
		}
	}
	stop := errors.New("stop")
	m.Payload = p
	if err := SplitAggregate(m, func(Message) error { return stop }); err != stop {
		t.Errorf("callback error: %v", err)
	}
}

func TestCommand(t *testing.T) {
	obj := amf0.Object{{Key: "app", Value: "live"}, {Key: "tcUrl", Value: "rtmp://h/live"}}
	b, err := AppendCommand(nil, "connect", 1, obj)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseCommand(b, false)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "connect" || c.TransactionID != 1 || !reflect.DeepEqual(c.Object, obj) || len(c.Args) != 0 {
		t.Fatalf("%+v", c)
	}
	b, _ = AppendCommand([]byte{0}, "publish", 5, nil, "livestream", "live")
	c, err = ParseCommand(b, true) // type 17: leading format byte
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "publish" || c.Object != nil || !reflect.DeepEqual(c.Args, []any{"livestream", "live"}) {
		t.Fatalf("%+v", c)
	}

	ffmpeg, err := os.ReadFile("testdata/ffmpeg_connect_play.amf0")
	if err != nil {
		t.Fatal(err)
	}
	c, err = ParseCommand(ffmpeg, false)
	if err != nil {
		t.Fatal(err)
	}
	if fv, _ := c.Object.(amf0.Object).String("flashVer"); c.Name != "connect" || fv == "" {
		t.Fatalf("%+v", c)
	}

	tests := []struct {
		name string
		hex  string
		amf3 bool
		want error
	}{
		{"empty", "", false, ErrCommand},
		{"empty amf3", "", true, ErrCommand},
		{"name only", "02 0001 61", false, ErrCommand},
		{"number name", "00 3ff0000000000000 00 3ff0000000000000", false, ErrCommand},
		{"string tid", "02 0001 61 02 0001 62", false, ErrCommand},
		{"amf3 value", "00 02 0001 61 00 3ff0000000000000 11 01", true, amf0.ErrAMF3},
		{"truncated", "02 0005 61", false, amf0.ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseCommand(unhex(t, tt.hex), tt.amf3); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if out, err := AppendCommand([]byte{9}, "x", 1, make(chan int)); !errors.Is(err, amf0.ErrType) || len(out) != 1 {
		t.Fatalf("bad object: %v % x", err, out)
	}
}

func FuzzCommand(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte, amf3 bool) {
		c, err := ParseCommand(b, amf3)
		if err != nil {
			return
		}
		out, err := AppendCommand(nil, c.Name, c.TransactionID, c.Object, c.Args...)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		c2, err := ParseCommand(out, false)
		if err != nil {
			t.Fatalf("parse re-encoded: %v", err)
		}
		if c2.Name != c.Name || len(c2.Args) != len(c.Args) {
			t.Fatalf("round trip: %+v != %+v", c2, c)
		}
	})
}
