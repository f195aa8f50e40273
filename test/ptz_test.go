package test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// openPTY returns the master side of a new pseudo-terminal and the path of
// its slave, which the server opens as its serial port (pts(4)).
func openPTY(t *testing.T) (*os.File, string) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("SKIPPED: no pseudo-terminals here (/dev/ptmx: %v)", err)
	}
	t.Cleanup(func() { m.Close() })
	rc, err := m.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var unlock int32
	var n uint32
	var errno syscall.Errno
	rc.Control(func(fd uintptr) {
		if _, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); errno != 0 {
			return
		}
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n)))
	})
	if errno != 0 {
		t.Fatalf("pty ioctl: %v", errno)
	}
	return m, fmt.Sprintf("/dev/pts/%d", n)
}

// wire reads n bytes from a pty master within 5 s.
func wire(t *testing.T, m *os.File, n int) []byte {
	t.Helper()
	m.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, n)
	if _, err := io.ReadFull(m, b); err != nil {
		t.Fatalf("reading %d bytes from the serial line: %v (got % X)", n, err, b)
	}
	return b
}

// TestPTZ: POST /api/v1/ptz/{name} puts the exact Pelco-D and Pelco-P
// frames on the serial line ([[serial]] entries on pseudo-terminals).
func TestPTZ(t *testing.T) {
	t.Parallel()
	mD, pD := openPTY(t)
	mP, pP := openPTY(t)
	s := startServer(t, fmt.Sprintf(`[[serial]]
name = "dome"
device = %q
baud = 9600
protocol = "pelco-d"
address = 1

[[serial]]
name = "bullet"
device = %q
protocol = "pelco-p"
address = 2
`, pD, pP))
	tests := []struct {
		name, body string
		master     *os.File
		want       []byte
	}{
		{"dome", `{"action":"pan_left","speed":32}`, mD, []byte{0xFF, 0x01, 0x00, 0x04, 0x20, 0x00, 0x25}},
		{"dome", `{"action":"tilt_up","speed":63}`, mD, []byte{0xFF, 0x01, 0x00, 0x08, 0x00, 0x3F, 0x48}},
		{"dome", `{"action":"zoom_in"}`, mD, []byte{0xFF, 0x01, 0x00, 0x20, 0x00, 0x00, 0x21}},
		{"dome", `{"action":"stop"}`, mD, []byte{0xFF, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01}},
		{"dome", `{"action":"preset_set","preset":5}`, mD, []byte{0xFF, 0x01, 0x00, 0x03, 0x00, 0x05, 0x09}},
		{"dome", `{"action":"preset_go","preset":5}`, mD, []byte{0xFF, 0x01, 0x00, 0x07, 0x00, 0x05, 0x0D}},
		{"bullet", `{"action":"pan_right","speed":32}`, mP, []byte{0xA0, 0x02, 0x00, 0x02, 0x20, 0x00, 0xAF, 0x2F}},
		{"bullet", `{"action":"tilt_down","speed":16}`, mP, []byte{0xA0, 0x02, 0x00, 0x10, 0x00, 0x10, 0xAF, 0x0D}},
		{"bullet", `{"action":"zoom_out"}`, mP, []byte{0xA0, 0x02, 0x00, 0x40, 0x00, 0x00, 0xAF, 0x4D}},
		{"bullet", `{"action":"stop"}`, mP, []byte{0xA0, 0x02, 0x00, 0x00, 0x00, 0x00, 0xAF, 0x0D}},
	}
	for _, tt := range tests {
		status, m, _ := s.apiDo(t, http.MethodPost, "/api/v1/ptz/"+tt.name, "", tt.body)
		if status != 200 || m["code"] != 0.0 {
			t.Fatalf("%s %s: %d %v", tt.name, tt.body, status, m)
		}
		if got := wire(t, tt.master, len(tt.want)); !bytes.Equal(got, tt.want) {
			t.Errorf("%s %s: % X on the wire, want % X", tt.name, tt.body, got, tt.want)
		}
	}
	for _, tt := range []struct {
		name, body string
		status     int
	}{
		{"nope", `{"action":"stop"}`, 404},
		{"dome", `{"action":"somersault"}`, 400},
		{"dome", `{"action":"pan_left","speed":99}`, 400},
		{"dome", `{"action":"preset_go"}`, 400},
	} {
		if status, m, _ := s.apiDo(t, http.MethodPost, "/api/v1/ptz/"+tt.name, "", tt.body); status != tt.status || m["code"] == 0.0 {
			t.Errorf("%s %s: %d %v", tt.name, tt.body, status, m)
		}
	}
	// Nothing else went on the wire.
	mD.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, _ := mD.Read(make([]byte, 16)); n != 0 {
		t.Errorf("%d stray bytes", n)
	}
}

// TestBoardProfile: a board profile named in the config (found in board/
// beside it) sizes the server and brings its serial port; keys the config
// sets win; the summaries show the profile in force.
func TestBoardProfile(t *testing.T) {
	t.Parallel()
	master, slave := openPTY(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "board"), 0o755)
	profile := fmt.Sprintf(`name = "cam-box"
description = "test camera box"
[runtime]
memory_limit = "200MiB"
gc_percent = 80
[limits]
max_connections = 40
ring_frames = 128
gop_cache_max_frames = 100
[hls]
in_memory = true
[log]
file = ""
[devices]
video = ["/dev/video9"]
[[devices.serial]]
name = "ptz"
device = %q
protocol = "pelco-d"
address = 3
`, slave)
	// startServer writes its config in its own temp dir: put the profile
	// there by naming it with a path instead.
	pf := filepath.Join(dir, "board", "cam-box.toml")
	if err := os.WriteFile(pf, []byte(profile), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "[server]\nboard = \""+pf+"\"\nmax_connections = 55\n")
	var out struct {
		Data struct {
			Board map[string]any `json:"board"`
		} `json:"data"`
	}
	s.getJSON(t, "/api/v1/summaries", &out)
	b := out.Data.Board
	if b["name"] != "cam-box" || b["source"] != pf || b["max_connections"] != 55.0 || b["ring_frames"] != 128.0 ||
		b["gop_cache_max_frames"] != 100.0 || b["memory_limit"] != float64(200<<20) || b["gc_percent"] != 80.0 {
		t.Fatalf("board in the summaries: %v", b)
	}
	if kept := fmt.Sprint(b["kept_from_config"]); kept != "[server.max_connections]" {
		t.Errorf("kept_from_config = %s", kept)
	}
	// The board's serial port answers the PTZ API.
	if status, m, _ := s.apiDo(t, http.MethodPost, "/api/v1/ptz/ptz", "", `{"action":"stop"}`); status != 200 {
		t.Fatalf("board PTZ: %d %v", status, m)
	}
	if got := wire(t, master, 7); !bytes.Equal(got, []byte{0xFF, 0x03, 0x00, 0x00, 0x00, 0x00, 0x03}) {
		t.Errorf("% X on the wire", got)
	}

	// Without a board, the RAM size picks one.
	d := startServer(t, "")
	out.Data.Board = nil
	d.getJSON(t, "/api/v1/summaries", &out)
	if out.Data.Board["detected"] != true || out.Data.Board["name"] == "" || out.Data.Board["ram_kbyte"] == 0.0 {
		t.Errorf("detected board: %v", out.Data.Board)
	}
}

// TestBoardUnknown: a board that does not exist is a clear start error.
func TestBoardUnknown(t *testing.T) {
	t.Parallel()
	conf := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(conf, []byte("[server]\nboard = \"no-such-board\"\n[rtmp]\nlisten = \"127.0.0.1:0\"\n[http_api]\nlisten = \"127.0.0.1:0\"\n[http_server]\nlisten = \"127.0.0.1:0\"\n[srt]\nlisten = \"127.0.0.1:0\"\n[rtc]\nlisten = \"127.0.0.1:0\"\n[rtsp]\nlisten = \"127.0.0.1:0\"\n"), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binPath, "-c", conf).CombinedOutput()
	if err == nil || !bytes.Contains(out, []byte("no-such-board")) || !bytes.Contains(out, []byte("router-64m-mips")) {
		t.Fatalf("err %v, output %s", err, out)
	}
}
