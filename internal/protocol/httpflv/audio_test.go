package httpflv

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/srs-lite/srs-lite/internal/format/codec/aac"
	"github.com/srs-lite/srs-lite/internal/media"
)

// TestAACPlay plays a stream's audio as ADTS: each AAC frame with a header
// from the AudioSpecificConfig, nothing else.
func TestAACPlay(t *testing.T) {
	e := newEnv(t, Config{}, Deps{})
	p := publish(t, e.reg, "__defaultVhost__", "live", "s")
	p.headers()
	p.next(1)
	resp := e.get(t, "/live/s.aac")
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "audio/aac" {
		t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	go func() {
		for range 3 {
			p.next(1)
		}
		p.s.Unpublish()
	}()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(body) > 0 {
		h, n, err := aac.ParseADTS(body)
		if err != nil || n > len(body) {
			t.Fatalf("adts after %d frames: %v (%d of %d bytes)", len(got), err, n, len(body))
		}
		if h.SampleRate != 44100 || h.Channels != 2 || h.ObjectType != aac.ObjectLC {
			t.Errorf("adts header %+v", h)
		}
		got = append(got, string(body[h.HeaderLen:n]))
		body = body[n:]
	}
	// The audio stream joins at the live edge: frames 0 (written before
	// the play) to 3.
	if len(got) != 4 || got[len(got)-1] != "\x21\x03" {
		t.Errorf("frames %q", got)
	}
}

// TestMP3Play plays an MP3 publisher's frames as they are; the other audio
// URL of each stream is refused with 415, as SRS only passes audio through.
func TestMP3Play(t *testing.T) {
	e := newEnv(t, Config{}, Deps{})
	p := publish(t, e.reg, "__defaultVhost__", "live", "mp3")
	p.s.SetAudioInfo(media.AudioInfo{Codec: media.CodecMP3, SampleRate: 44100, Channels: 2})
	frame := func(i int) []byte { return []byte{0xff, 0xfb, 0x90, 0x64, byte(i)} }
	p.write(media.CodecMP3, 0, 0, frame(0))
	// An audio-only play starts at the live edge: the answer comes with
	// the next frame.
	got := make(chan *http.Response, 1)
	go func() { got <- e.get(t, "/live/mp3.mp3") }()
	waitFor(t, "the player", func() bool { return readers(e.reg, "__defaultVhost__", "live", "mp3") == 1 })
	p.write(media.CodecMP3, 0, 26, frame(1))
	resp := <-got
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "audio/mpeg" {
		t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if r := e.get(t, "/live/mp3.aac"); r.StatusCode != 415 {
		t.Errorf(".aac of an MP3 stream: status %d, want 415", r.StatusCode)
	} else {
		r.Body.Close()
	}
	a := publish(t, e.reg, "__defaultVhost__", "live", "aac")
	a.s.SetAudioInfo(media.AudioInfo{Codec: media.CodecAAC, SampleRate: 44100, Channels: 2})
	a.headers()
	a.next(1)
	defer a.s.Unpublish()
	r := e.get(t, "/live/aac.mp3")
	msg, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 415 || !bytes.Contains(msg, []byte("AAC")) {
		t.Errorf(".mp3 of an AAC stream: status %d %q, want 415", r.StatusCode, msg)
	}

	go func() {
		for i := 2; i < 4; i++ {
			p.write(media.CodecMP3, 0, i*26, frame(i))
		}
		p.s.Unpublish()
	}()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Join([][]byte{frame(1), frame(2), frame(3)}, nil)
	if !bytes.Equal(body, want) {
		t.Errorf("body % x, want % x", body, want)
	}
}
