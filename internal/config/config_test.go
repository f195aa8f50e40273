package config

import (
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the testdata/*.golden files")

// strip returns a copy of c without its source, so that configs compare by content.
func strip(c *Config) *Config {
	n := *c
	n.src = nil
	return &n
}

func TestDefaultValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	if len(c.Vhosts) != 1 || c.Vhosts[0].Name != DefaultVhost {
		t.Fatalf("default vhosts = %+v", c.Vhosts)
	}
	if c.File() != "" {
		t.Fatalf("File() = %q", c.File())
	}
}

// TestExampleIsDefault keeps conf/srs-lite.toml and Default from drifting.
func TestExampleIsDefault(t *testing.T) {
	name, want := "../../conf/srs-lite.toml", Default()
	if !RTCBuilt || !RTSPBuilt {
		want.RTC.Enabled, want.RTSP.Enabled = false, false // the script turns off both
		// Such a build refuses the shipped [rtc]/[rtsp] enabled = true and
		// is given scripts/tiny-conf.sh's version of it.
		_, err := Load(name)
		if err == nil || !strings.Contains(err.Error(), "enabled: not supported in this build") {
			t.Fatalf("the shipped config in a build without WebRTC/RTSP: %v", err)
		}
		out, err := exec.Command("sh", "../../scripts/tiny-conf.sh", name).Output()
		if err != nil {
			t.Fatalf("scripts/tiny-conf.sh: %v", err)
		}
		name = filepath.Join(t.TempDir(), "srs-lite.toml")
		if err := os.WriteFile(name, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c, err := Load(name)
	if err != nil {
		t.Fatal(err)
	}
	if c.File() != name {
		t.Errorf("File() = %q", c.File())
	}
	if got := strip(c); !reflect.DeepEqual(got, want) {
		gb, _ := got.Marshal()
		wb, _ := want.Marshal()
		t.Fatalf("example config differs from Default():\n%s\nwant:\n%s", gb, wb)
	}
	// Every key of the schema appears in the example (ingest only as a comment).
	data, _ := os.ReadFile(name)
	for _, k := range schemaKeys(reflect.TypeFor[Config](), "") {
		leaf := k[strings.LastIndexByte(k, '.')+1:]
		if !strings.Contains(string(data), leaf+" = ") && !strings.Contains(string(data), "["+k+"]") {
			t.Errorf("key %s missing from %s", k, name)
		}
	}
}

// schemaKeys lists the dotted keys of the struct type t.
func schemaKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		k := joinKey(prefix, f.Tag.Get("toml"))
		ft := f.Type
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct {
			keys = append(keys, schemaKeys(ft, k)...)
		} else {
			keys = append(keys, k)
		}
	}
	return keys
}

// TestGolden parses testdata/*.toml and compares the marshalled config, or
// the problems, with the .golden file. Run with -update to rewrite them.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			if !TLSBuilt || !RTCBuilt || !RTSPBuilt || !GB28181Built {
				t.Skip("SKIPPED: the goldens are of the full build; this build refuses more keys and defaults more to off (tiny, nortc, nortsp, nogb28181)")
			}
			c, err := Load(file)
			var got string
			if err != nil {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("error %v is not ErrInvalid", err)
				}
				got = "error:\n" + err.Error() + "\n"
			} else {
				b, err := c.Marshal()
				if err != nil {
					t.Fatal(err)
				}
				got = string(b)
				// The output parses back to the same config.
				c2, err := Parse("marshalled", b)
				if err != nil {
					t.Fatalf("re-parse: %v", err)
				}
				if !reflect.DeepEqual(strip(c), strip(c2)) {
					t.Fatalf("re-parse differs")
				}
			}
			golden := strings.TrimSuffix(file, ".toml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestVhostLookup(t *testing.T) {
	c, err := Parse("v.toml", []byte(`
[[vhost]]
name = "a.example.com"
[[vhost]]
name = "off"
enabled = false
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, want string }{
		{"a.example.com", "a.example.com"},
		{"A.Example.COM", "a.example.com"},
		{"", DefaultVhost},
		{"other", DefaultVhost},
		{DefaultVhost, DefaultVhost},
		{"off", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := c.Vhost(tc.name)
			got := ""
			if v != nil {
				got = v.Name
			}
			if got != tc.want {
				t.Fatalf("Vhost(%q) = %q, want %q", tc.name, got, tc.want)
			}
		})
	}
	c.Vhosts[len(c.Vhosts)-1].Enabled = false // __defaultVhost__ is last
	if v := c.Vhost("other"); v != nil {
		t.Fatalf("disabled default vhost returned %q", v.Name)
	}
	if v := (&Config{}).Vhost("x"); v != nil {
		t.Fatal("empty config returned a vhost")
	}
}

func TestParseDefaults(t *testing.T) {
	c, err := Parse("d.toml", []byte(`
[rtmp]
chunk_size = 4096
[[vhost]]
name = "x"
mw_msgs = 0
ring_frames = 65
[[ingest]]
name = "cam"
input = "rtsp://h/s"
`))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.RTMP.ChunkSize = 4096
	x := DefaultVhostConfig("x")
	x.MWMsgs = 0
	x.RingFrames = 128
	want.Vhosts = []Vhost{x, DefaultVhostConfig(DefaultVhost)}
	want.Ingests = []Ingest{{Name: "cam", Enabled: true, Input: "rtsp://h/s", Output: "live/cam",
		IdleTimeout: Duration(30 * time.Second), Transport: "auto"}}
	if got := strip(c); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestRingFramesRounding(t *testing.T) {
	for _, tc := range []struct {
		in   int
		want int // 0: rejected
	}{{1, 64}, {64, 64}, {65, 128}, {1000, 1024}, {65536, 65536}, {65537, 0}, {0, 0}, {-4, 0}} {
		c, err := Parse("r.toml", []byte("[[vhost]]\nname = \"v\"\nring_frames = "+strconv.Itoa(tc.in)+"\n"))
		switch {
		case tc.want == 0 && err == nil:
			t.Errorf("ring_frames = %d accepted", tc.in)
		case tc.want != 0 && err != nil:
			t.Errorf("ring_frames = %d: %v", tc.in, err)
		case tc.want != 0 && c.Vhosts[0].RingFrames != tc.want:
			t.Errorf("ring_frames = %d became %d, want %d", tc.in, c.Vhosts[0].RingFrames, tc.want)
		}
	}
}

func TestDiff(t *testing.T) {
	base := Default()
	for _, tc := range []struct {
		name string
		edit func(c *Config)
		want Sections
	}{
		{"same", func(c *Config) {}, 0},
		{"log", func(c *Config) { c.Log.Level = "debug" }, SectionLog},
		{"rtmp", func(c *Config) { c.RTMP.Listen = Listen{":1936"} }, SectionRTMP},
		{"chunk", func(c *Config) { c.RTMP.ChunkSize = 128 }, SectionRTMP},
		{"http_api", func(c *Config) { c.HTTPAPI.Enabled = false }, SectionHTTPAPI},
		{"http_server", func(c *Config) { c.HTTPServer.Dir = "/www" }, SectionHTTPServer},
		{"srt", func(c *Config) { c.SRT.Enabled = false }, SectionSRT},
		{"server", func(c *Config) { c.Server.Grace = Duration(time.Second) }, SectionServer},
		{"vhost", func(c *Config) { c.Vhosts[0].HLS.Window = Duration(time.Minute) }, SectionVhosts},
		{"vhost hooks", func(c *Config) { c.Vhosts[0].Hooks.OnPlay = []string{"http://a/"} }, SectionVhosts},
		{"vhost nil list", func(c *Config) { c.Vhosts[0].Hooks.OnPlay = nil }, 0},
		{"vhost added", func(c *Config) { c.Vhosts = append(c.Vhosts, DefaultVhostConfig("b")) }, SectionVhosts},
		{"ingest", func(c *Config) { c.Ingests = []Ingest{{Name: "a"}} }, SectionIngest},
		{"two", func(c *Config) { c.Log.File = "x"; c.SRT.Listen = ":1" }, SectionLog | SectionSRT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := base.Clone()
			tc.edit(n)
			if got := Diff(base, n); got != tc.want {
				t.Fatalf("Diff = %v, want %v", got, tc.want)
			}
			if !reflect.DeepEqual(base, Default()) {
				t.Fatal("Clone shares memory with the original")
			}
		})
	}
	if got := Diff(nil, base); got != SectionAll {
		t.Fatalf("Diff(nil, c) = %v", got)
	}
	if got := Diff(nil, nil); got != 0 {
		t.Fatalf("Diff(nil, nil) = %v", got)
	}
}

func TestSections(t *testing.T) {
	s := SectionLog | SectionVhosts
	if !s.Has(SectionLog) || s.Has(SectionRTMP) || !s.Has(SectionLog|SectionVhosts) || s.Has(SectionLog|SectionRTMP) {
		t.Fatal("Has is wrong")
	}
	for _, tc := range []struct {
		s    Sections
		want string
	}{
		{0, "none"},
		{s, "log|vhost"},
		{SectionAll, "server|log|rtmp|http_api|http_server|rtc|srt|vhost|ingest|ota|serial|transcode|heartbeat|tls|rtsp|gb28181"},
	} {
		if got := tc.s.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load("testdata/does-not-exist.toml"); err == nil || errors.Is(err, ErrInvalid) ||
		!errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Load(missing) = %v", err)
	}
	big := make([]byte, MaxFileSize+1)
	for i := range big {
		big[i] = '\n'
	}
	if _, err := Parse("big.toml", big); err == nil || !strings.Contains(err.Error(), "big.toml: file larger") {
		t.Fatalf("Parse(big) = %v", err)
	}
}
