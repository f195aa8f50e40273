package config

import (
	"strings"
	"testing"
)

func TestScanLines(t *testing.T) {
	text := strings.Join([]string{
		`# comment [x]`,               // 1
		`top = "a#b" # c`,             // 2
		`[server]`,                    // 3
		`  grace = "5s"`,              // 4
		`"quoted key" = 1`,            // 5
		`'lit.key' = 2`,               // 6
		`[[vhost]]`,                   // 7
		`name = "a"`,                  // 8
		`hls.fragment = "2s"`,         // 9
		`[vhost.dvr]`,                 // 10
		`path = """`,                  // 11
		`plan = "no"`,                 // 12
		`"""`,                         // 13
		`plan = 'x'`,                  // 14
		`[[vhost]]`,                   // 15
		`name = "b"`,                  // 16
		`hooks = { on_play = ["x"] }`, // 17
		`[ vhost . "cluster" ]`,       // 18
		`origins = [`,                 // 19
		`  "a:1", # ] [`,              // 20
		`]`,                           // 21
		`mode = "remote"`,             // 22
		"[log]\r",                     // 23
		`file = "a\"b" ; level = "x"`, // 24 (garbage after a value is skipped)
		`format = '''x'''`,            // 25
		`level = "y"`,                 // 26
	}, "\n")
	lines := scanLines(text)
	for _, tc := range []struct {
		path string
		line int
	}{
		{"top", 2},
		{"server", 3},
		{"server.grace", 4},
		{`server."quoted key"`, 5},
		{`server."lit.key"`, 6},
		{"vhost", 7},
		{indexKey("vhost", 0), 7},
		{indexKey("vhost", 0) + ".name", 8},
		{indexKey("vhost", 0) + ".hls", 9},
		{indexKey("vhost", 0) + ".hls.fragment", 9},
		{indexKey("vhost", 0) + ".dvr", 10},
		{indexKey("vhost", 0) + ".dvr.path", 11},
		{indexKey("vhost", 0) + ".dvr.plan", 14},
		{indexKey("vhost", 1), 15},
		{indexKey("vhost", 1) + ".name", 16},
		{indexKey("vhost", 1) + ".hooks", 17},
		{indexKey("vhost", 1) + ".cluster", 18},
		{indexKey("vhost", 1) + ".cluster.origins", 19},
		{indexKey("vhost", 1) + ".cluster.mode", 22},
		{"log", 23},
		{"log.file", 24},
		{"log.format", 25},
		{"log.level", 26},
	} {
		if got := lines[tc.path]; got != tc.line {
			t.Errorf("line of %q = %d, want %d", tc.path, got, tc.line)
		}
	}
	src := &source{lines: lines}
	if got := src.line(indexKey("vhost", 1) + ".hooks.on_play"); got != 17 {
		t.Errorf("fallback to parent = %d, want 17", got)
	}
	if got := src.line("nothing.here"); got != 0 {
		t.Errorf("unknown path = %d", got)
	}
	if got := (*source)(nil).line("x"); got != 0 {
		t.Errorf("nil source = %d", got)
	}
}

func TestDisplayKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"log.level", "log.level"},
		{indexKey("vhost", 12) + ".hls.fragment", "vhost.hls.fragment"},
		{indexKey(indexKey("a", 1)+".b", 2), "a.b"},
		{joinKey("log", "a b"), `log."a b"`},
		{joinKey("", "x\x00y"), `"x\u0000y"`},
	} {
		if got := displayKey(tc.in); got != tc.want {
			t.Errorf("displayKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
