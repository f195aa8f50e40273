package config

import (
	"reflect"
	"testing"
)

// FuzzConfig checks that Parse never panics, that a parsed config marshals
// and parses back to itself, and that the line scanner survives any text.
func FuzzConfig(f *testing.F) {
	f.Add([]byte("[log]\nlevel = \"debug\"\n"))
	f.Add([]byte("[[vhost]]\nname = \"a\"\nhls = {fragment = \"1s\"}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if line, _ := precheck(string(data)); line == 0 {
			scanLines(string(data))
		}
		c, err := Parse("fuzz.toml", data)
		if err != nil {
			if c != nil {
				t.Fatal("config returned with an error")
			}
			return
		}
		b, err := c.Marshal()
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		c2, err := Parse("marshalled.toml", b)
		if err != nil {
			t.Fatalf("re-parse: %v\n%s", err, b)
		}
		if !reflect.DeepEqual(strip(c), strip(c2)) {
			t.Fatalf("re-parse differs:\n%s", b)
		}
		if d := Diff(c, c2); d != 0 {
			t.Fatalf("Diff = %v", d)
		}
	})
}
