package api

import (
	"net/http"
	"testing"

	"github.com/srs-lite/srs-lite/internal/media"
)

// TestStreamAudioTracks: a stream with a second audio track (a WHIP
// publisher's Opus) lists both in audio_tracks, with the players of each;
// without the main track's audio (no audio bridge) audio is null and only
// the Opus track is listed; a stream of one track has no audio_tracks.
func TestStreamAudioTracks(t *testing.T) {
	f := newFixture(t, nil)
	h := f.api.Handler()
	_, m := do(t, h, http.MethodGet, "/api/v1/streams/"+f.stream.ID)
	if _, ok := get(t, m, "stream").(map[string]any)["audio_tracks"]; ok {
		t.Error("audio_tracks on a stream of one audio track")
	}
	f.stream.SetOpusAudioInfo(media.AudioInfo{Codec: media.CodecOpus, SampleRate: 48000, Channels: 2})
	_, m = do(t, h, http.MethodGet, "/api/v1/streams/"+f.stream.ID)
	check(t, get(t, m, "stream").(map[string]any), map[string]any{
		"audio.codec": "AAC", "audio_tracks.0.track": "main", "audio_tracks.0.codec": "AAC",
		"audio_tracks.0.sample_rate": 44100.0, "audio_tracks.0.players.0": "rtmp",
		"audio_tracks.1.track": "opus", "audio_tracks.1.codec": "Opus", "audio_tracks.1.sample_rate": 48000.0,
		"audio_tracks.1.channel": 2.0, "audio_tracks.1.players.0": "webrtc", "audio_tracks.1.players.1": "hls-fmp4",
	})

	// A WHIP stream without the bridge: no main audio.
	k := media.Key{Vhost: defaultVhost, App: "live", Stream: "whip"}
	s, err := f.reg.Publish(k)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Unpublish()
	s.SetOpusAudioInfo(media.AudioInfo{Codec: media.CodecOpus, SampleRate: 48000, Channels: 2})
	_, m = do(t, h, http.MethodGet, "/api/v1/streams/"+s.ID)
	st := get(t, m, "stream").(map[string]any)
	check(t, st, map[string]any{"audio": nil, "audio_tracks.0.track": "opus", "audio_tracks.0.codec": "Opus"})
	if n := len(get(t, st, "audio_tracks").([]any)); n != 1 {
		t.Errorf("%d audio tracks, want 1", n)
	}
}
