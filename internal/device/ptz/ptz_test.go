package ptz

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

func hexBytes(s string) []byte {
	var out []byte
	for _, f := range strings.Fields(s) {
		var b byte
		fmt.Sscanf(f, "%X", &b)
		out = append(out, b)
	}
	return out
}

// Frames checked by hand against the Pelco D and Pelco P manuals: D sums
// bytes 2-6 modulo 256, P XORs bytes 1-7.
func TestEncode(t *testing.T) {
	tests := []struct {
		proto string
		addr  int
		c     Command
		want  string
	}{
		{PelcoD, 1, Command{Action: PanRight, Speed: 0x20}, "FF 01 00 02 20 00 23"},
		{PelcoD, 1, Command{Action: PanRight}, "FF 01 00 02 20 00 23"}, // default speed
		{PelcoD, 1, Command{Action: PanLeft, Speed: 0x3F}, "FF 01 00 04 3F 00 44"},
		{PelcoD, 1, Command{Action: TiltUp, Speed: 0x3F}, "FF 01 00 08 00 3F 48"},
		{PelcoD, 1, Command{Action: TiltDown, Speed: 0x20}, "FF 01 00 10 00 20 31"},
		{PelcoD, 1, Command{Action: TiltDown, Speed: TurboSpeed}, "FF 01 00 10 00 3F 50"},
		{PelcoD, 1, Command{Action: ZoomIn}, "FF 01 00 20 00 00 21"},
		{PelcoD, 1, Command{Action: ZoomOut}, "FF 01 00 40 00 00 41"},
		{PelcoD, 1, Command{Action: Stop}, "FF 01 00 00 00 00 01"},
		{PelcoD, 1, Command{Action: PresetSet, Preset: 1}, "FF 01 00 03 00 01 05"},
		{PelcoD, 1, Command{Action: PresetGo, Preset: 1}, "FF 01 00 07 00 01 09"},
		{PelcoD, 1, Command{Action: PanRight, Speed: TurboSpeed}, "FF 01 00 02 FF 00 02"},
		{PelcoD, 255, Command{Action: Stop}, "FF FF 00 00 00 00 FF"},
		{PelcoD, 2, Command{Action: PresetGo, Preset: 255}, "FF 02 00 07 00 FF 08"},
		{"", 1, Command{Action: Stop}, "FF 01 00 00 00 00 01"},
		{PelcoP, 0, Command{Action: Stop}, "A0 00 00 00 00 00 AF 0F"},
		{PelcoP, 0, Command{Action: PanRight, Speed: 0x20}, "A0 00 00 02 20 00 AF 2D"},
		{PelcoP, 0, Command{Action: PanLeft, Speed: 0x20}, "A0 00 00 04 20 00 AF 2B"},
		{PelcoP, 0, Command{Action: TiltUp, Speed: 0x20}, "A0 00 00 08 00 20 AF 27"},
		{PelcoP, 0, Command{Action: TiltDown, Speed: 0x10}, "A0 00 00 10 00 10 AF 0F"},
		{PelcoP, 0, Command{Action: ZoomIn}, "A0 00 00 20 00 00 AF 2F"},
		{PelcoP, 0, Command{Action: ZoomOut}, "A0 00 00 40 00 00 AF 4F"},
		{PelcoP, 0, Command{Action: PresetSet, Preset: 1}, "A0 00 00 03 00 01 AF 0D"},
		{PelcoP, 0, Command{Action: PresetGo, Preset: 1}, "A0 00 00 07 00 01 AF 09"},
		{PelcoP, 0, Command{Action: PanRight, Speed: TurboSpeed}, "A0 00 00 02 40 00 AF 4D"},
		{PelcoP, 1, Command{Action: Stop}, "A0 01 00 00 00 00 AF 0E"},
		{PelcoP, 31, Command{Action: PresetGo, Preset: 16}, "A0 1F 00 07 00 10 AF 07"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d/%s", tt.proto, tt.addr, tt.c.Action), func(t *testing.T) {
			got, err := Encode(tt.proto, tt.addr, tt.c)
			if err != nil {
				t.Fatal(err)
			}
			if want := hexBytes(tt.want); !bytes.Equal(got, want) {
				t.Fatalf("% X, want % X", got, want)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		proto string
		addr  int
		c     Command
		err   error
	}{
		{PelcoD, 0, Command{Action: Stop}, ErrAddress},
		{PelcoD, 256, Command{Action: Stop}, ErrAddress},
		{PelcoP, -1, Command{Action: Stop}, ErrAddress},
		{PelcoP, 256, Command{Action: Stop}, ErrAddress},
		{PelcoD, 1, Command{Action: "spin"}, ErrAction},
		{PelcoD, 1, Command{Action: PanLeft, Speed: 65}, ErrSpeed},
		{PelcoD, 1, Command{Action: PanLeft, Speed: -1}, ErrSpeed},
		{PelcoD, 1, Command{Action: PresetGo}, ErrPreset},
		{PelcoP, 1, Command{Action: PresetSet, Preset: 256}, ErrPreset},
		{"visca", 1, Command{Action: Stop}, ErrProtocol},
	}
	for _, tt := range tests {
		if _, err := Encode(tt.proto, tt.addr, tt.c); !errors.Is(err, tt.err) {
			t.Errorf("%s %d %+v: %v, want %v", tt.proto, tt.addr, tt.c, err, tt.err)
		}
	}
}

func TestParseCommand(t *testing.T) {
	tests := []struct {
		in   string
		want Command
		err  string
	}{
		{`{"action":"pan_left","speed":20}`, Command{Action: PanLeft, Speed: 20}, ""},
		{`{"action":"stop"}`, Command{Action: Stop}, ""},
		{` {"action":"preset_go","preset":3} `, Command{Action: PresetGo, Preset: 3}, ""},
		{`{"action":"zoom_in","speed":64}`, Command{Action: ZoomIn, Speed: 64}, ""},
		{`{"action":"pan_left","speed":20,"extra":1}`, Command{}, "unknown field"},
		{`{"action":"dance"}`, Command{}, `action "dance": want one of`},
		{`{}`, Command{}, "no action"},
		{`{"action":"preset_set"}`, Command{}, "preset out of range"},
		{`{"action":"pan_left","speed":99}`, Command{}, "speed out of range"},
		{`{"action":"pan_left","speed":"fast"}`, Command{}, "cannot unmarshal"},
		{`{"action":"stop"}{"action":"stop"}`, Command{}, "more than one JSON value"},
		{`[]`, Command{}, "cannot unmarshal"},
		{``, Command{}, "EOF"},
		{strings.Repeat(" ", MaxCommandSize+1), Command{}, "larger than"},
	}
	for _, tt := range tests {
		c, err := ParseCommand([]byte(tt.in))
		if tt.err == "" {
			if err != nil || c != tt.want {
				t.Errorf("%s: %+v, %v", tt.in, c, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrBadCommand) {
			t.Errorf("%s: err %v, want %q", tt.in, err, tt.err)
		}
	}
}

// FuzzParseCommand: ParseCommand never panics, and every command it accepts
// encodes in both protocols.
func FuzzParseCommand(f *testing.F) {
	f.Add([]byte(`{"action":"pan_left","speed":20}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCommand(data)
		if err != nil {
			return
		}
		if _, err := EncodePelcoD(1, c); err != nil {
			t.Fatalf("accepted %+v but Pelco-D: %v", c, err)
		}
		if _, err := EncodePelcoP(0, c); err != nil {
			t.Fatalf("accepted %+v but Pelco-P: %v", c, err)
		}
	})
}

func BenchmarkEncodePelcoD(b *testing.B) {
	b.ReportAllocs()
	c := Command{Action: PanLeft, Speed: 20}
	for b.Loop() {
		if _, err := EncodePelcoD(1, c); err != nil {
			b.Fatal(err)
		}
	}
}

// fakePort records writes.
type fakePort struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	closed bool
	fail   bool
}

func (p *fakePort) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail {
		return 0, errors.New("unplugged")
	}
	return p.buf.Write(b)
}

func (p *fakePort) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	return nil
}

func TestManager(t *testing.T) {
	var opened []string
	ports := map[string]*fakePort{}
	var mu sync.Mutex
	open := func(name string, baud int) (io.WriteCloser, error) {
		mu.Lock()
		defer mu.Unlock()
		if name == "/dev/missing" {
			return nil, os.ErrNotExist
		}
		opened = append(opened, fmt.Sprintf("%s@%d", name, baud))
		p := &fakePort{}
		ports[name] = p
		return p, nil
	}
	m := NewManager(open, nil)
	m.Configure([]Device{
		{Name: "a", Port: "/dev/a", Protocol: PelcoD, Address: 1},
		{Name: "b", Port: "/dev/b", Protocol: PelcoP, Address: 0},
		{Name: "c", Port: "/dev/missing", Address: 1},
	})
	ctx := context.Background()
	if err := m.Do(ctx, "a", Command{Action: Stop}); err != nil {
		t.Fatal(err)
	}
	if err := m.Do(ctx, "a", Command{Action: PanRight, Speed: 0x20}); err != nil {
		t.Fatal(err)
	}
	if err := m.Do(ctx, "b", Command{Action: Stop}); err != nil {
		t.Fatal(err)
	}
	if got := ports["/dev/a"].buf.Bytes(); !bytes.Equal(got, hexBytes("FF 01 00 00 00 00 01 FF 01 00 02 20 00 23")) {
		t.Errorf("a: % X", got)
	}
	if got := ports["/dev/b"].buf.Bytes(); !bytes.Equal(got, hexBytes("A0 00 00 00 00 00 AF 0F")) {
		t.Errorf("b: % X", got)
	}
	if strings.Join(opened, " ") != "/dev/a@2400 /dev/b@4800" {
		t.Errorf("opened %v", opened)
	}
	if err := m.Do(ctx, "zz", Command{Action: Stop}); !errors.Is(err, ErrNoDevice) {
		t.Errorf("unknown device: %v", err)
	}
	if err := m.Do(ctx, "c", Command{Action: Stop}); err == nil || !strings.Contains(err.Error(), "/dev/missing") {
		t.Errorf("missing port: %v", err)
	}
	if err := m.Do(ctx, "a", Command{Action: "spin"}); !errors.Is(err, ErrAction) {
		t.Errorf("bad action: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := m.Do(cctx, "a", Command{Action: Stop}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}

	// A write error closes the port; the next command opens it again.
	ports["/dev/a"].fail = true
	if err := m.Do(ctx, "a", Command{Action: Stop}); err == nil || !ports["/dev/a"].closed {
		t.Fatalf("write error: %v", err)
	}
	if err := m.Do(ctx, "a", Command{Action: Stop}); err != nil || len(opened) != 3 {
		t.Fatalf("reopen: %v %v", err, opened)
	}

	// Reconfigure: b changes (closed), a stays open, c goes.
	a, b := ports["/dev/a"], ports["/dev/b"]
	m.Configure([]Device{
		{Name: "a", Port: "/dev/a", Protocol: PelcoD, Address: 1},
		{Name: "b", Port: "/dev/b", Protocol: PelcoP, Address: 5, Baud: 9600},
	})
	if a.closed || !b.closed {
		t.Errorf("after Configure: a closed %v, b closed %v", a.closed, b.closed)
	}
	if err := m.Do(ctx, "b", Command{Action: Stop}); err != nil || opened[len(opened)-1] != "/dev/b@9600" {
		t.Errorf("b reopened: %v %v", err, opened)
	}
	m.Close()
	if !ports["/dev/a"].closed || !ports["/dev/b"].closed {
		t.Error("Close left ports open")
	}
}

// TestManagerConcurrent: frames from concurrent commands never interleave.
func TestManagerConcurrent(t *testing.T) {
	p := &fakePort{}
	m := NewManager(func(string, int) (io.WriteCloser, error) { return p, nil }, nil)
	m.Configure([]Device{{Name: "a", Port: "/dev/a", Address: 1}})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				_ = m.Do(context.Background(), "a", Command{Action: PanLeft, Speed: 1 + j%63})
				if j%10 == 0 {
					m.Configure([]Device{{Name: "a", Port: "/dev/a", Address: 1}})
				}
			}
		}()
	}
	wg.Wait()
	b := p.buf.Bytes()
	if len(b)%7 != 0 {
		t.Fatalf("%d bytes", len(b))
	}
	for i := 0; i < len(b); i += 7 {
		if b[i] != 0xFF || b[i+1] != 1 || b[i+3] != bitLeft {
			t.Fatalf("frame %d: % X", i/7, b[i:i+7])
		}
	}
}

// openPTY returns the master side of a new pseudo-terminal and the path of
// its slave (pts(4): unlock with TIOCSPTLCK, number from TIOCGPTN).
func openPTY(t *testing.T) (*os.File, string) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("SKIPPED: no pseudo-terminals here (/dev/ptmx: %v)", err)
	}
	t.Cleanup(func() { m.Close() })
	var unlock int32
	if err := ioctl(m, syscall.TIOCSPTLCK, unsafe.Pointer(&unlock)); err != nil {
		t.Fatalf("TIOCSPTLCK: %v", err)
	}
	var n uint32
	if err := ioctl(m, syscall.TIOCGPTN, unsafe.Pointer(&n)); err != nil {
		t.Fatalf("TIOCGPTN: %v", err)
	}
	return m, fmt.Sprintf("/dev/pts/%d", n)
}

func ioctl(f *os.File, req uintptr, arg unsafe.Pointer) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(arg))
	}); err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	return nil
}

// readN reads n bytes from the pty master within a deadline.
func readN(t *testing.T, m *os.File, n int) []byte {
	t.Helper()
	m.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, n)
	if _, err := io.ReadFull(m, buf); err != nil {
		t.Fatalf("read %d bytes from the pty: %v (got % X)", n, err, buf)
	}
	return buf
}

// TestSerialPTY drives a real serial port (tarm/serial on the slave side of
// a pseudo-terminal) and checks the exact bytes on the wire.
func TestSerialPTY(t *testing.T) {
	master, slave := openPTY(t)
	m := NewManager(nil, nil)
	defer m.Close()
	m.Configure([]Device{
		{Name: "d", Port: slave, Protocol: PelcoD, Address: 1, Baud: 9600},
	})
	ctx := context.Background()
	for _, tt := range []struct {
		c    Command
		want string
	}{
		{Command{Action: PanRight, Speed: 0x20}, "FF 01 00 02 20 00 23"},
		{Command{Action: TiltUp, Speed: 0x3F}, "FF 01 00 08 00 3F 48"},
		{Command{Action: Stop}, "FF 01 00 00 00 00 01"},
		{Command{Action: PresetGo, Preset: 10}, "FF 01 00 07 00 0A 12"},
	} {
		if err := m.Do(ctx, "d", tt.c); err != nil {
			t.Fatal(err)
		}
		if got := readN(t, master, 7); !bytes.Equal(got, hexBytes(tt.want)) {
			t.Errorf("%s: % X, want %s", tt.c.Action, got, tt.want)
		}
	}
	// The same port as Pelco-P: Configure reopens it with the new settings.
	m.Configure([]Device{{Name: "d", Port: slave, Protocol: PelcoP, Address: 2}})
	if err := m.Do(ctx, "d", Command{Action: ZoomOut}); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, master, 8); !bytes.Equal(got, hexBytes("A0 02 00 40 00 00 AF 4D")) {
		t.Errorf("pelco-p: % X", got)
	}
}
