package test

import (
	"context"
	"testing"
	"time"
)

// TestTranscode: a [[transcode]] rule makes NAME_sd at 320x180 while NAME
// is published, and stops when it ends.
func TestTranscode(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	t.Parallel()
	s := startServer(t, `
[[transcode]]
name = "sd"
app = "live"
stream = "*"
output = "[stream]_sd"
size = "320x180"
vbitrate = 300
abitrate = 48
`)
	name := streamName()
	_, stop := s.publish(t, name, true)
	s.waitPublishing(t, name)
	s.waitPublishing(t, name+"_sd")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := ffprobe(t, ctx, s.flvURL(name+"_sd"))
	video, audio := false, false
	for _, st := range p.Streams {
		switch st.CodecType {
		case "video":
			video = st.CodecName == "h264" && st.Width == 320 && st.Height == 180
		case "audio":
			audio = st.CodecName == "aac"
		}
	}
	if !video || !audio {
		t.Fatalf("ffprobe of %s_sd: %+v", name, p.Streams)
	}
	if got := decodeFrames(t, s.rtmpURL(name+"_sd")); got["video"].frames < 30 {
		t.Fatalf("decoded %+v", got)
	}
	var tr struct {
		Transcodes []struct {
			Name, Input, Output, State string
			Frames                     uint64
		} `json:"transcodes"`
	}
	s.getJSON(t, "/api/v1/transcodes", &tr)
	if len(tr.Transcodes) != 1 || tr.Transcodes[0].State != "running" || tr.Transcodes[0].Output != "live/"+name+"_sd" {
		t.Fatalf("transcodes %+v", tr.Transcodes)
	}
	for _, st := range s.streams(t) {
		if st.Name == name+"_sd_sd" {
			t.Fatal("the output was transcoded again")
		}
	}
	stop()
	s.waitUnpublished(t, name+"_sd")
	s.getJSON(t, "/api/v1/transcodes", &tr)
	if len(tr.Transcodes) != 0 {
		t.Fatalf("transcodes after the source ended: %+v", tr.Transcodes)
	}
}
