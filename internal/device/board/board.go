// Package board describes the classes of device srs-lite runs on — a 64 MB
// MIPS router, a 128-256 MB router or camera box, a Raspberry Pi class
// board, a generic x86 box — as TOML profiles: the Go memory limit and GC
// percent, connection and ring sizes, where HLS segments and logs go, and
// the board's devices (video devices, serial ports). A config selects one
// with [server] board = "NAME"; without one, the RAM size picks the sizing.
//
// It is a leaf: it imports nothing internal. The server maps a Profile onto
// the config, where keys the config file sets win over the profile.
package board

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

//go:embed profiles/*.toml
var builtin embed.FS

// Dir is where installed profiles live, searched after the config file's
// own board/ folder and before the built-in copies.
const Dir = "/etc/srs-lite/board"

// installDir is Dir, changed by tests.
var installDir = Dir

// MaxFileSize bounds a profile file.
const MaxFileSize = 64 << 10

// ErrNotFound is matched (errors.Is) when no profile has the name asked for.
var ErrNotFound = errors.New("board: no such profile")

// Profile is one class of device. Every sizing key is required, so that a
// profile says all of what it means for its class.
type Profile struct {
	Name        string
	Description string
	// Source is where the profile was read from: a file, or "built-in".
	Source string
	// Detected is set on a profile picked by RAM size rather than by name:
	// the server then applies only its sizing, not its log or devices.
	Detected bool

	MemoryLimit       Limit // Go soft memory limit (debug.SetMemoryLimit)
	GCPercent         int   // Go GC target (debug.SetGCPercent); -1: off
	MaxConnections    int
	RingFrames        int
	GOPCacheMaxFrames int
	HLSInMemory       bool   // HLS segments in RAM, never on flash
	LogFile           string // "": standard error
	Video             []string
	Serial            []Serial
}

// Serial is a serial port of the board with a PTZ camera on it; the fields
// mean what they mean in a config's [[serial]] entry.
type Serial struct {
	Name     string `toml:"name"`
	Device   string `toml:"device"`
	Baud     int    `toml:"baud"`
	Protocol string `toml:"protocol"`
	Address  int    `toml:"address"`
}

// file is a profile as written in TOML.
type file struct {
	Name        string `toml:"name"`
	Description string `toml:"description"`
	Runtime     struct {
		MemoryLimit any `toml:"memory_limit"`
		GCPercent   int `toml:"gc_percent"`
	} `toml:"runtime"`
	Limits struct {
		MaxConnections    int `toml:"max_connections"`
		RingFrames        int `toml:"ring_frames"`
		GOPCacheMaxFrames int `toml:"gop_cache_max_frames"`
	} `toml:"limits"`
	HLS struct {
		InMemory bool `toml:"in_memory"`
	} `toml:"hls"`
	Log struct {
		File string `toml:"file"`
	} `toml:"log"`
	Devices struct {
		Video  []string `toml:"video"`
		Serial []Serial `toml:"serial"`
	} `toml:"devices"`
}

// required are the keys every profile sets.
var required = [][]string{
	{"name"}, {"runtime", "memory_limit"}, {"runtime", "gc_percent"},
	{"limits", "max_connections"}, {"limits", "ring_frames"}, {"limits", "gop_cache_max_frames"},
	{"hls", "in_memory"}, {"log", "file"},
}

// Parse decodes a profile; src names it in errors. Unknown keys, missing
// keys and values out of range are errors.
func Parse(src string, data []byte) (*Profile, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("board: %s: larger than %d bytes", src, MaxFileSize)
	}
	var f file
	md, err := toml.Decode(string(data), &f)
	if err != nil {
		return nil, fmt.Errorf("board: %s: %w", src, err)
	}
	var problems []string
	if u := md.Undecoded(); len(u) > 0 {
		for _, k := range u {
			problems = append(problems, k.String()+": unknown key")
		}
	}
	for _, k := range required {
		if !md.IsDefined(k...) {
			problems = append(problems, strings.Join(k, ".")+": missing")
		}
	}
	p := &Profile{
		Name: f.Name, Description: f.Description, Source: src,
		GCPercent: f.Runtime.GCPercent, MaxConnections: f.Limits.MaxConnections,
		RingFrames: f.Limits.RingFrames, GOPCacheMaxFrames: f.Limits.GOPCacheMaxFrames,
		HLSInMemory: f.HLS.InMemory, LogFile: f.Log.File,
		Video: f.Devices.Video, Serial: f.Devices.Serial,
	}
	if md.IsDefined("runtime", "memory_limit") {
		if p.MemoryLimit, err = parseLimit(f.Runtime.MemoryLimit); err != nil {
			problems = append(problems, "runtime.memory_limit: "+err.Error())
		}
	}
	problems = append(problems, p.check(md)...)
	if len(problems) > 0 {
		return nil, fmt.Errorf("board: %s: %s", src, strings.Join(problems, "; "))
	}
	return p, nil
}

// check returns what is wrong with the decoded values.
func (p *Profile) check(md toml.MetaData) []string {
	var out []string
	bad := func(key, format string, args ...any) {
		if md.IsDefined(strings.Split(key, ".")...) {
			out = append(out, key+": "+fmt.Sprintf(format, args...))
		}
	}
	if !validName(p.Name) {
		bad("name", "%q: want letters, digits, '.', '_' or '-'", p.Name)
	}
	if g := p.GCPercent; g != -1 && (g < 10 || g > 10000) {
		bad("runtime.gc_percent", "%d: must be -1 (off) or 10..10000", g)
	}
	if n := p.MaxConnections; n < 1 || n > 1000000 {
		bad("limits.max_connections", "%d out of range 1..1000000", n)
	}
	if n := p.RingFrames; n < 64 || n > 65536 || n&(n-1) != 0 {
		bad("limits.ring_frames", "%d: must be a power of two from 64 to 65536", n)
	}
	if n := p.GOPCacheMaxFrames; n < 0 || n > 1<<20 {
		bad("limits.gop_cache_max_frames", "%d out of range 0..%d", n, 1<<20)
	}
	if p.LogFile != "" && p.LogFile != "syslog" && !filepath.IsAbs(p.LogFile) {
		bad("log.file", "%q: want an absolute path (a tmpfs such as /tmp), \"syslog\", or \"\" for standard error", p.LogFile)
	}
	for _, v := range p.Video {
		if !filepath.IsAbs(v) {
			out = append(out, fmt.Sprintf("devices.video: %q: want an absolute path such as /dev/video0", v))
		}
	}
	names := map[string]bool{}
	for i, s := range p.Serial {
		key := fmt.Sprintf("devices.serial[%d]", i)
		switch {
		case !validName(s.Name):
			out = append(out, fmt.Sprintf("%s.name: %q: want letters, digits, '.', '_' or '-'", key, s.Name))
		case names[s.Name]:
			out = append(out, fmt.Sprintf("%s.name: duplicate %q", key, s.Name))
		}
		names[s.Name] = true
		if !filepath.IsAbs(s.Device) {
			out = append(out, fmt.Sprintf("%s.device: %q: want a path such as /dev/ttyUSB0", key, s.Device))
		}
	}
	return out
}

// validName accepts profile and port names: [A-Za-z0-9][A-Za-z0-9._-]*.
func validName(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || i > 0 && (c == '.' || c == '_' || c == '-')
		if !ok {
			return false
		}
	}
	return true
}

// Builtin returns the names of the built-in profiles, sorted.
func Builtin() []string {
	ents, _ := fs.ReadDir(builtin, "profiles")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".toml"))
	}
	slices.Sort(out)
	return out
}

// Load finds the profile called name: a file path when name contains a
// slash or ends in .toml (relative to confDir), else NAME.toml in
// confDir/board, then in Dir, then the built-in copy.
func Load(name, confDir string) (*Profile, error) {
	if strings.ContainsRune(name, '/') || strings.HasSuffix(name, ".toml") {
		path := name
		if !filepath.IsAbs(path) && confDir != "" {
			path = filepath.Join(confDir, path)
		}
		return loadFile(path)
	}
	if !validName(name) {
		return nil, fmt.Errorf("%w: %q: a name has letters, digits, '.', '_' or '-' (or give a path to a .toml file)", ErrNotFound, name)
	}
	var tried []string
	var dirs []string
	if confDir != "" {
		dirs = append(dirs, filepath.Join(confDir, "board"))
	}
	dirs = append(dirs, installDir)
	for _, d := range dirs {
		path := filepath.Join(d, name+".toml")
		p, err := loadFile(path)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		tried = append(tried, path)
	}
	data, err := builtin.ReadFile("profiles/" + name + ".toml")
	if err != nil {
		return nil, fmt.Errorf("%w %q: looked for %s and the built-in %s", ErrNotFound, name,
			strings.Join(tried, ", "), strings.Join(Builtin(), ", "))
	}
	return Parse("built-in", data)
}

func loadFile(path string) (*Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("board: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("board: read %s: %w", path, err)
	}
	return Parse(path, data)
}

// Detect picks the built-in profile for memTotal bytes of RAM on goarch:
// up to 96 MiB the 64 MB router, up to 320 MiB the 128-256 MB one, then x86
// on amd64 and 386, else the Raspberry Pi class. The result has Detected set.
func Detect(memTotal uint64, goarch string) *Profile {
	name := "rpi"
	switch {
	case memTotal > 0 && memTotal <= 96<<20:
		name = "router-64m-mips"
	case memTotal > 0 && memTotal <= 320<<20:
		name = "router-128m"
	case goarch == "amd64" || goarch == "386":
		name = "x86"
	}
	data, err := builtin.ReadFile("profiles/" + name + ".toml")
	if err != nil {
		panic("board: built-in profile " + name + " missing") // a build defect
	}
	p, err := Parse("built-in", data)
	if err != nil {
		panic(err) // a build defect: TestBuiltin parses every profile
	}
	p.Detected = true
	return p
}

// Limit is a memory limit: an absolute byte count, or a percentage of the
// RAM. The zero Limit is no limit.
type Limit struct {
	Bytes   int64
	Percent float64
}

// Resolve returns the limit in bytes for memTotal bytes of RAM; 0 means none
// (also for a percentage when the RAM size is unknown).
func (l Limit) Resolve(memTotal uint64) int64 {
	if l.Percent > 0 {
		return int64(float64(memTotal) * l.Percent / 100)
	}
	return l.Bytes
}

// String formats l as it is written: "40%", "20MiB", "0".
func (l Limit) String() string {
	if l.Percent > 0 {
		return strconv.FormatFloat(l.Percent, 'f', -1, 64) + "%"
	}
	return formatBytes(l.Bytes)
}

// parseLimit reads a byte count, "24MiB" (KiB, MiB, GiB) or "40%".
func parseLimit(v any) (Limit, error) {
	switch x := v.(type) {
	case int64:
		if x < 0 {
			return Limit{}, fmt.Errorf("%d is negative", x)
		}
		return Limit{Bytes: x}, nil
	case string:
		s := strings.TrimSpace(x)
		if p, ok := strings.CutSuffix(s, "%"); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
			if err != nil || math.IsNaN(f) || f <= 0 || f > 100 {
				return Limit{}, fmt.Errorf("%q: a percentage is more than 0 and at most 100", x)
			}
			return Limit{Percent: f}, nil
		}
		mul := int64(1)
		for _, u := range []struct {
			suffix string
			mul    int64
		}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
			if n, ok := strings.CutSuffix(s, u.suffix); ok {
				s, mul = strings.TrimSpace(n), u.mul
				break
			}
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 || n > math.MaxInt64/mul {
			return Limit{}, fmt.Errorf("%q: want bytes, \"24MiB\" (KiB, MiB, GiB) or \"40%%\"", x)
		}
		return Limit{Bytes: n * mul}, nil
	}
	return Limit{}, fmt.Errorf("want a string like \"24MiB\" or \"40%%\", or an integer")
}

// formatBytes writes n with the largest binary unit that divides it.
func formatBytes(n int64) string {
	for _, u := range []struct {
		name string
		mul  int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.mul == 0 {
			return strconv.FormatInt(n/u.mul, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10)
}
