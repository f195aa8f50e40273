//go:build !tiny

package server

import (
	"testing"

	"github.com/srs-lite/srs-lite/internal/api"
)

func TestIngestBlocks(t *testing.T) {
	text := `[log]
level = "info"

# the door camera
[[ingest]]
name = "door"   # front
input = "rtsp://h/s"

# the gate camera
[[ ingest ]]
name = "gate"
input = """
[[ingest]]
"""

[[vhost]]
name = "__defaultVhost__"
`
	bs, ok := ingestBlocks([]byte(text))
	if !ok || len(bs) != 2 {
		t.Fatalf("blocks %v %v", bs, ok)
	}
	if got := text[bs[0][0]:bs[0][1]]; got != "[[ingest]]\nname = \"door\"   # front\ninput = \"rtsp://h/s\"\n" {
		t.Errorf("first block %q", got)
	}
	if got := text[bs[1][0]:bs[1][1]]; got != "[[ ingest ]]\nname = \"gate\"\ninput = \"\"\"\n[[ingest]]\n\"\"\"\n" {
		t.Errorf("second block %q", got)
	}
	for _, bad := range []string{"ingest = [{name = \"a\", input = \"b\"}]\n", "[ingest]\nname = \"a\"\n", "[[ingest.x]]\n"} {
		if _, ok := ingestBlocks([]byte(bad)); ok {
			t.Errorf("%q: ok", bad)
		}
	}
}

func TestIngestTOML(t *testing.T) {
	off := false
	got := string(ingestTOML(&api.IngestEdit{Name: "a", Input: "rtsp://u:p\"w\\@h/\x01", Enabled: &off, OnDemand: true, Transport: "tcp"}))
	want := "[[ingest]]\nname = \"a\"\ninput = \"rtsp://u:p\\\"w\\\\@h/\\u0001\"\nenabled = false\non_demand = true\ntransport = \"tcp\"\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
