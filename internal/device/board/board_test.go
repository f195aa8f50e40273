package board

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestBuiltin(t *testing.T) {
	names := Builtin()
	want := []string{"router-128m", "router-64m-mips", "rpi", "x86"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("Builtin() = %v, want %v", names, want)
	}
	installDir = t.TempDir()
	defer func() { installDir = Dir }()
	for _, n := range names {
		p, err := Load(n, "")
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if p.Name != n || p.Source != "built-in" || p.Description == "" || p.MaxConnections == 0 {
			t.Errorf("%s: %+v", n, p)
		}
		// The repository's board/ folder is what gets installed: the same bytes.
		repo, err := os.ReadFile(filepath.Join("..", "..", "..", "board", n+".toml"))
		if err != nil {
			t.Fatalf("board/%s.toml: %v", n, err)
		}
		emb, _ := builtin.ReadFile("profiles/" + n + ".toml")
		if !bytes.Equal(repo, emb) {
			t.Errorf("board/%s.toml differs from internal/board/profiles/%s.toml: copy one over the other", n, n)
		}
	}
	// Smaller boards get smaller sizes.
	small, _ := Load("router-64m-mips", "")
	big, _ := Load("x86", "")
	if small.RingFrames >= big.RingFrames || small.MaxConnections >= big.MaxConnections || small.MemoryLimit.Bytes == 0 {
		t.Errorf("router-64m-mips %+v vs x86 %+v", small, big)
	}
}

const good = `name = "cam"
description = "a camera"
[runtime]
memory_limit = "32MiB"
gc_percent = 60
[limits]
max_connections = 10
ring_frames = 128
gop_cache_max_frames = 100
[hls]
in_memory = true
[log]
file = "/tmp/srs-lite.log"
[devices]
video = ["/dev/video0"]
[[devices.serial]]
name = "ptz"
device = "/dev/ttyS1"
baud = 4800
protocol = "pelco-p"
address = 0
`

func TestParse(t *testing.T) {
	p, err := Parse("cam.toml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "cam" || p.MemoryLimit != (Limit{Bytes: 32 << 20}) || p.GCPercent != 60 || p.MaxConnections != 10 ||
		p.RingFrames != 128 || p.GOPCacheMaxFrames != 100 || !p.HLSInMemory || p.LogFile != "/tmp/srs-lite.log" ||
		len(p.Video) != 1 || len(p.Serial) != 1 || p.Serial[0] != (Serial{"ptz", "/dev/ttyS1", 4800, "pelco-p", 0}) {
		t.Fatalf("%+v", p)
	}
	tests := []struct {
		name, from, to, want string
	}{
		{"unknown key", "[hls]", "[hls]\nbogus = 1", "hls.bogus: unknown key"},
		{"missing", "gc_percent = 60\n", "", "runtime.gc_percent: missing"},
		{"gc", "gc_percent = 60", "gc_percent = 5", "runtime.gc_percent: 5"},
		{"ring", "ring_frames = 128", "ring_frames = 100", "limits.ring_frames: 100"},
		{"conns", "max_connections = 10", "max_connections = 0", "limits.max_connections: 0"},
		{"gop", "gop_cache_max_frames = 100", "gop_cache_max_frames = -1", "limits.gop_cache_max_frames"},
		{"limit", `"32MiB"`, `"lots"`, "runtime.memory_limit"},
		{"limit type", `"32MiB"`, `true`, "runtime.memory_limit"},
		{"percent", `"32MiB"`, `"120%"`, "runtime.memory_limit"},
		{"log", `"/tmp/srs-lite.log"`, `"srs.log"`, "log.file"},
		{"video", `"/dev/video0"`, `"video0"`, "devices.video"},
		{"serial device", `"/dev/ttyS1"`, `"ttyS1"`, "devices.serial[0].device"},
		{"serial name", `name = "ptz"`, `name = "p t z"`, "devices.serial[0].name"},
		{"name", `name = "cam"`, `name = "a/b"`, "name:"},
		{"syntax", "[hls]", "[hls", "cam.toml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := strings.Replace(good, tt.from, tt.to, 1)
			_, err := Parse("cam.toml", []byte(in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := Parse("big", make([]byte, MaxFileSize+1)); err == nil {
		t.Error("oversized profile accepted")
	}
}

func TestLoadOrder(t *testing.T) {
	conf := t.TempDir()
	etc := t.TempDir()
	installDir = etc
	defer func() { installDir = Dir }()
	write := func(dir, name, desc string) {
		t.Helper()
		os.MkdirAll(dir, 0o755)
		data := strings.Replace(strings.Replace(good, `"a camera"`, `"`+desc+`"`, 1), `name = "cam"`, `name = "`+name+`"`, 1)
		if err := os.WriteFile(filepath.Join(dir, name+".toml"), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(conf, "board"), "rpi", "next to the config")
	write(etc, "rpi", "installed")
	write(etc, "x86", "installed x86")
	write(conf, "mine", "by path")
	tests := []struct{ name, desc, source string }{
		{"rpi", "next to the config", filepath.Join(conf, "board", "rpi.toml")},
		{"x86", "installed x86", filepath.Join(etc, "x86.toml")},
		{"router-128m", "128-256 MB MIPS/ARM router or camera box", "built-in"},
		{"mine.toml", "by path", filepath.Join(conf, "mine.toml")},
		{filepath.Join(conf, "mine.toml"), "by path", filepath.Join(conf, "mine.toml")},
	}
	for _, tt := range tests {
		p, err := Load(tt.name, conf)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if p.Description != tt.desc || p.Source != tt.source {
			t.Errorf("%s: %q from %s, want %q from %s", tt.name, p.Description, p.Source, tt.desc, tt.source)
		}
	}
	for _, name := range []string{"nope", "../x", "a b"} {
		_, err := Load(name, conf)
		if err == nil {
			t.Errorf("%q: no error", name)
			continue
		}
		if name == "nope" && (!errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "rpi, x86")) {
			t.Errorf("%q: %v", name, err)
		}
	}
	// A broken file is an error, not a fallback to the built-in copy.
	os.WriteFile(filepath.Join(conf, "board", "x86.toml"), []byte("name = 1"), 0o644)
	if _, err := Load("x86", conf); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("broken profile: %v", err)
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		mem    uint64
		arch   string
		expect string
	}{
		{57 << 20, "mipsle", "router-64m-mips"},
		{96 << 20, "mips", "router-64m-mips"},
		{120 << 20, "mipsle", "router-128m"},
		{245 << 20, "arm", "router-128m"},
		{900 << 20, "arm", "rpi"},
		{8 << 30, "arm64", "rpi"},
		{2 << 30, "amd64", "x86"},
		{0, "amd64", "x86"},
		{0, "riscv64", "rpi"},
	}
	for _, tt := range tests {
		p := Detect(tt.mem, tt.arch)
		if p.Name != tt.expect || !p.Detected {
			t.Errorf("Detect(%d, %s) = %s", tt.mem, tt.arch, p.Name)
		}
	}
}

func TestLimit(t *testing.T) {
	tests := []struct {
		in      any
		want    Limit
		str     string
		resolve int64 // of 1 GiB
		err     bool
	}{
		{int64(0), Limit{}, "0", 0, false},
		{int64(1000), Limit{Bytes: 1000}, "1000", 1000, false},
		{"20MiB", Limit{Bytes: 20 << 20}, "20MiB", 20 << 20, false},
		{"512 KiB", Limit{Bytes: 512 << 10}, "512KiB", 512 << 10, false},
		{"1GiB", Limit{Bytes: 1 << 30}, "1GiB", 1 << 30, false},
		{"40%", Limit{Percent: 40}, "40%", 429496729, false},
		{"12.5%", Limit{Percent: 12.5}, "12.5%", 134217728, false},
		{"0%", Limit{}, "", 0, true},
		{"101%", Limit{}, "", 0, true},
		{"-1", Limit{}, "", 0, true},
		{int64(-1), Limit{}, "", 0, true},
		{"9999999999GiB", Limit{}, "", 0, true},
		{"20MB", Limit{}, "", 0, true},
		{1.5, Limit{}, "", 0, true},
	}
	for _, tt := range tests {
		l, err := parseLimit(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("%v: err %v", tt.in, err)
			continue
		}
		if err != nil {
			continue
		}
		if l != tt.want || l.String() != tt.str || l.Resolve(1<<30) != tt.resolve {
			t.Errorf("%v: %+v %q %d", tt.in, l, l.String(), l.Resolve(1<<30))
		}
	}
	if (Limit{Percent: 50}).Resolve(0) != 0 {
		t.Error("a percentage of unknown RAM is not 0")
	}
}

func TestParseMemInfo(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		err  bool
	}{
		{"MemTotal:       24684084 kB\nMemFree: 1 kB\n", 24684084 * 1024, false},
		{"MemFree:  1 kB\nMemTotal:   61440 kB\n", 61440 * 1024, false},
		{"MemTotal: 1024\n", 1024, false},
		{"MemFree: 1 kB\n", 0, true},
		{"MemTotal: lots kB\n", 0, true},
		{"MemTotal:\n", 0, true},
		{"MemTotal: 1 MB\n", 0, true},
		{"MemTotal: 18446744073709551615 kB\n", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseMemInfo(strings.NewReader(tt.in))
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("%q: %d, %v", tt.in, got, err)
		}
	}
}

func TestReadMemory(t *testing.T) {
	root := t.TempDir() + "/"
	os.MkdirAll(root+"proc", 0o755)
	os.MkdirAll(root+"sys/fs/cgroup", 0o755)
	os.WriteFile(root+"proc/meminfo", []byte("MemTotal: 1048576 kB\n"), 0o644)
	m, err := readMemory(root)
	if err != nil || m.Total != 1<<30 || m.Source != "/proc/meminfo" {
		t.Fatalf("%+v %v", m, err)
	}
	os.WriteFile(root+"sys/fs/cgroup/memory.max", []byte("max\n"), 0o644)
	if m, _ := readMemory(root); m.Total != 1<<30 {
		t.Errorf("memory.max = max: %+v", m)
	}
	os.WriteFile(root+"sys/fs/cgroup/memory.max", []byte("134217728\n"), 0o644)
	if m, _ := readMemory(root); m.Total != 128<<20 || m.Source != "/sys/fs/cgroup/memory.max" {
		t.Errorf("cgroup limit: %+v", m)
	}
	if _, err := readMemory(t.TempDir() + "/"); err == nil {
		t.Error("no /proc/meminfo: no error")
	}
	if m, err := ReadMemory(); err != nil || m.Total == 0 {
		t.Logf("this host: %+v %v", m, err) // not every test host has procfs
	}
}

func TestSetRuntime(t *testing.T) {
	oldLimit := debug.SetMemoryLimit(-1)
	oldGC := debug.SetGCPercent(100)
	defer func() {
		debug.SetMemoryLimit(oldLimit)
		debug.SetGCPercent(oldGC)
	}()
	t.Setenv("GOMEMLIMIT", "")
	t.Setenv("GOGC", "")
	r := SetRuntime(64<<20, 50)
	if r != (Runtime{MemoryLimit: 64 << 20, GCPercent: 50}) || debug.SetMemoryLimit(-1) != 64<<20 {
		t.Fatalf("%+v", r)
	}
	if r := SetRuntime(0, 0); r != (Runtime{MemoryLimit: 0, GCPercent: 50}) || debug.SetMemoryLimit(-1) != noLimit {
		t.Fatalf("none: %+v", r)
	}
	t.Setenv("GOMEMLIMIT", "1GiB")
	t.Setenv("GOGC", "off")
	debug.SetMemoryLimit(1 << 30)
	r = SetRuntime(64<<20, 50)
	if !r.MemoryLimitEnv || !r.GCPercentEnv || r.MemoryLimit != 1<<30 || r.GCPercent != -1 {
		t.Fatalf("env: %+v", r)
	}
}

// FuzzMemInfo: ParseMemInfo never panics, and a value it returns is a
// whole number of kB or bytes as written.
func FuzzMemInfo(f *testing.F) {
	f.Add([]byte("MemTotal:       24684084 kB\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParseMemInfo(bytes.NewReader(data))
	})
}

// FuzzProfile: Parse never panics; a profile it accepts has sane sizes.
func FuzzProfile(f *testing.F) {
	f.Add([]byte(good))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.toml", data)
		if err != nil {
			return
		}
		if p.RingFrames < 64 || p.MaxConnections < 1 || p.Name == "" {
			t.Fatalf("accepted %+v", p)
		}
		_ = p.MemoryLimit.Resolve(1 << 30)
	})
}
