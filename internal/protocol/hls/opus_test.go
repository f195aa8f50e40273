package hls

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/media"
)

var (
	opusSPS = []byte{0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00, 0x00,
		0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x83, 0x19, 0x60}
	opusPPS = []byte{0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0}
)

// TestFMP4CarriesOpusTrack: the fMP4 segmenter reading a WHIP stream's
// Opus track (as the server subscribes it) writes an Opus/dOps init
// segment, not the AAC of the main track, and its segments hold the Opus
// frames; the TS segmenter of the same stream gets the AAC.
func TestFMP4CarriesOpusTrack(t *testing.T) {
	reg := testRegistry()
	k := media.Key{Vhost: "v", App: "live", Stream: "s"}
	st, err := reg.Publish(k)
	if err != nil {
		t.Fatal(err)
	}
	m := NewManager("", nil)
	defer m.Close()
	cfg := Config{Fragment: time.Second, Window: 10 * time.Second, Dispose: time.Minute, Container: ContainerFMP4}
	rd := reg.SubscribeWith(k, nil, media.SubscribeOptions{Internal: true, Track: media.TrackOpus})
	if err := m.Publish(st, rd, cfg); err != nil {
		t.Fatal(err)
	}
	ts := reg.SubscribeInternal(k, nil) // what TS-HLS (and RTMP...) read
	defer ts.Close()

	write(st, media.Frame{Codec: media.CodecOpus, Flags: media.FlagConfig, Track: media.TrackOpus},
		[]byte("OpusHead\x01\x02\x00\x00\x80\xbb\x00\x00\x00\x00\x00"))
	write(st, media.Frame{Codec: media.CodecH264, Flags: media.FlagConfig}, h264.BuildConfig([][]byte{opusSPS}, [][]byte{opusPPS}))
	write(st, media.Frame{Codec: media.CodecAAC, Flags: media.FlagConfig}, []byte{0x11, 0x90}) // AAC-LC 48 kHz stereo
	var opus int
	for i := 0; i < 3500/20; i++ { // 3.5 s: 3 segments of a 1 s GOP, then one in progress
		d := time.Duration(i) * 20 * time.Millisecond
		if i%2 == 0 {
			fl := media.Flags(0)
			if i%50 == 0 {
				fl = media.FlagKey
			}
			write(st, media.Frame{Codec: media.CodecH264, Flags: fl, DTS: d}, []byte{0, 0, 0, 2, 0x65, 0x88})
		}
		write(st, media.Frame{Codec: media.CodecOpus, Track: media.TrackOpus, DTS: d}, []byte{0xfc, 0xff, 0xfe})
		opus++
		if i%2 == 1 {
			write(st, media.Frame{Codec: media.CodecAAC, DTS: d}, []byte{0x21, 0x10})
		}
	}
	waitFor(t, "3 segments", func() bool {
		return strings.Count(serve(m, "GET", "/live/s.m3u8").Body.String(), "#EXTINF") >= 3
	})
	pl := serve(m, "GET", "/live/s.m3u8").Body.String()
	mp := regexp.MustCompile(`#EXT-X-MAP:URI="([^"]+)"`).FindStringSubmatch(pl)
	if mp == nil {
		t.Fatalf("no EXT-X-MAP:\n%s", pl)
	}
	init := serve(m, "GET", "/live/"+mp[1]).Body.Bytes()
	if !bytes.Contains(init, []byte("Opus")) || !bytes.Contains(init, []byte("dOps")) || bytes.Contains(init, []byte("mp4a")) {
		t.Fatalf("init segment without an Opus entry, or with AAC: %q", init)
	}
	seg := regexp.MustCompile(`(?m)^[^#].*\.m4s`).FindString(pl)
	body := serve(m, "GET", "/live/"+seg).Body.Bytes()
	if n := bytes.Count(body, []byte{0xfc, 0xff, 0xfe}); n < 40 {
		t.Errorf("segment %s: %d Opus packets, want a second's (50)", seg, n)
	}
	if bytes.Contains(body, []byte{0x21, 0x10}) {
		t.Errorf("segment %s carries the main track's AAC", seg)
	}

	// The main track's reader: AAC, no Opus.
	dst := make([]media.Frame, 1024)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	n, err := ts.Read(ctx, dst)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	var aac int
	for _, f := range dst[:n] {
		if f.Codec == media.CodecOpus {
			t.Fatalf("the main track's reader got Opus")
		}
		if f.Codec == media.CodecAAC {
			aac++
		}
		f.Release()
	}
	if aac == 0 {
		t.Error("the main track's reader got no AAC")
	}
	st.Unpublish()
	waitIdle(t, m)
}

// TestFMP4OpusWithoutHead: Opus on the main track with no OpusHead (a
// source that sends none) still gets an Opus track in fMP4, from its first
// frame.
func TestFMP4OpusWithoutHead(t *testing.T) {
	reg := testRegistry()
	k := media.Key{Vhost: "v", App: "live", Stream: "s"}
	st, _ := reg.Publish(k)
	m := NewManager("", nil)
	defer m.Close()
	cfg := Config{Fragment: time.Second, Window: 10 * time.Second, Dispose: time.Minute, Container: ContainerFMP4}
	if err := m.Publish(st, reg.SubscribeInternal(k, nil), cfg); err != nil {
		t.Fatal(err)
	}
	for i := range 150 { // 3 s of audio only
		d := time.Duration(i) * 20 * time.Millisecond
		f := media.Frame{Codec: media.CodecOpus, DTS: d, PTS: d, Channels: 1, Payload: []byte{0xf8, 0xff, 0xfe}}
		f.Own()
		st.Write(&f)
	}
	waitFor(t, "2 segments", func() bool {
		return strings.Count(serve(m, "GET", "/live/s.m3u8").Body.String(), "#EXTINF") >= 2
	})
	pl := serve(m, "GET", "/live/s.m3u8").Body.String()
	mp := regexp.MustCompile(`#EXT-X-MAP:URI="([^"]+)"`).FindStringSubmatch(pl)
	if mp == nil {
		t.Fatalf("no EXT-X-MAP:\n%s", pl)
	}
	if init := serve(m, "GET", "/live/"+mp[1]).Body.Bytes(); !bytes.Contains(init, []byte("dOps")) {
		t.Fatalf("init segment without an Opus entry: %q", init)
	}
	st.Unpublish()
	waitIdle(t, m)
}
