package config

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		in      any
		want    time.Duration
		str     string
		wantErr string
	}{
		{"2s", 2 * time.Second, "2s", ""},
		{"500ms", 500 * time.Millisecond, "500ms", ""},
		{"30m", 30 * time.Minute, "30m", ""},
		{"1h", time.Hour, "1h", ""},
		{"1h30m", 90 * time.Minute, "1h30m", ""},
		{"1h0m10s", time.Hour + 10*time.Second, "1h0m10s", ""},
		{"10s", 10 * time.Second, "10s", ""},
		{"0", 0, "0s", ""},
		{"1.5s", 1500 * time.Millisecond, "1.5s", ""},
		{"2x", 0, "", `invalid duration "2x"`},
		{"", 0, "", `invalid duration ""`},
		{int64(5), 0, "", `invalid duration 5: must be a string like "5s"`},
		{1.5, 0, "", `invalid duration 1.5: must be a string like "5s"`},
	} {
		t.Run(describe(tc.in), func(t *testing.T) {
			var d Duration
			err := d.decodeTOML(tc.in)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %s", err, tc.wantErr)
				}
				return
			}
			if err != nil || d.D() != tc.want || d.String() != tc.str {
				t.Fatalf("got %v %q %v, want %v %q", d.D(), d.String(), err, tc.want, tc.str)
			}
			var back Duration
			if err := back.UnmarshalText([]byte(d.String())); err != nil || back != d {
				t.Fatalf("round trip %q = %v %v", d.String(), back, err)
			}
		})
	}
}

func TestSize(t *testing.T) {
	for _, tc := range []struct {
		in      any
		want    int64
		str     string
		wantErr string
	}{
		{int64(0), 0, "0", ""},
		{int64(1000), 1000, "1000", ""},
		{int64(4096), 4096, "4KiB", ""},
		{"64MiB", 64 << 20, "64MiB", ""},
		{"512KiB", 512 << 10, "512KiB", ""},
		{"512 kib", 512 << 10, "512KiB", ""},
		{"1GB", 1e9, "1000000000", ""},
		{"1GiB", 1 << 30, "1GiB", ""},
		{"2TiB", 2 << 40, "2TiB", ""},
		{"10KB", 10000, "10000", ""},
		{"1.5MiB", 3 << 19, "1536KiB", ""},
		{"100", 100, "100", ""},
		{"100B", 100, "100", ""},
		{int64(-1), 0, "", "invalid size -1: negative"},
		{"-1MiB", 0, "", `invalid size "-1MiB"`},
		{"MiB", 0, "", `invalid size "MiB"`},
		{"1.5B", 0, "", `invalid size "1.5B": not a whole number of bytes`},
		{"9999999TiB", 0, "", `invalid size "9999999TiB": too large`},
		{"1e300GB", 0, "", `invalid size "1e300GB": too large`},
		{"NaNKB", 0, "", `invalid size "NaNKB"`},
		{"12XB", 0, "", `invalid size "12XB"`},
		{true, 0, "", `invalid size true: must be an integer or a string like "64MiB"`},
	} {
		t.Run(describe(tc.in), func(t *testing.T) {
			var s Size
			err := s.decodeTOML(tc.in)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %s", err, tc.wantErr)
				}
				return
			}
			if err != nil || int64(s) != tc.want || s.String() != tc.str {
				t.Fatalf("got %d %q %v, want %d %q", s, s.String(), err, tc.want, tc.str)
			}
			var back Size
			if err := back.UnmarshalText([]byte(s.String())); err != nil || back != s {
				t.Fatalf("round trip %q = %v %v", s.String(), back, err)
			}
		})
	}
}

func TestListen(t *testing.T) {
	for _, tc := range []struct {
		in      any
		want    string // MarshalTOML output
		wantErr string
	}{
		{"0.0.0.0:1935", `"0.0.0.0:1935"`, ""},
		{[]any{":1", "[::]:2"}, `[":1", "[::]:2"]`, ""},
		{[]any{}, `[]`, ""},
		{[]any{":1", int64(2)}, "", "expected a string or a list of strings, got a list with 2"},
		{int64(1935), "", "expected a string or a list of strings, got 1935"},
	} {
		t.Run(describe(tc.in), func(t *testing.T) {
			var l Listen
			err := l.decodeTOML(tc.in)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %s", err, tc.wantErr)
				}
				return
			}
			b, _ := l.MarshalTOML()
			if err != nil || string(b) != tc.want {
				t.Fatalf("got %s %v, want %s", b, err, tc.want)
			}
		})
	}
}

func TestQuote(t *testing.T) {
	in := "a\"b\\c\nd\te\x01f\x7fé"
	q := quote(in)
	if q != `"a\"b\\c\nd\te\u0001f\u007fé"` {
		t.Fatalf("quote = %s", q)
	}
	c := Default()
	c.HTTPServer.Dir = in
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse("q", b)
	if err != nil || got.HTTPServer.Dir != in {
		t.Fatalf("round trip: %v %q", err, got.HTTPServer.Dir)
	}
}

// TestJSON checks that the API can show a config as JSON with readable values.
func TestJSON(t *testing.T) {
	b, err := json.Marshal(Default().Vhosts[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"queue_length":"10s"`) || !strings.Contains(string(b), `"mw_latency":"350ms"`) {
		t.Fatalf("json = %s", b)
	}
}
