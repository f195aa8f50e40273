package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/codec/aac"
	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/format/flv"
	"github.com/srs-lite/srs-lite/internal/format/ts"
	"github.com/srs-lite/srs-lite/internal/media"
)

// hlsSegments returns n MPEG-TS segments of 5 video frames (the first a
// keyframe, 40 ms apart) each.
func hlsSegments(t *testing.T, n int) [][]byte {
	t.Helper()
	m := ts.NewMuxer()
	m.SetTracks(media.CodecH264, media.CodecAAC)
	sps := []byte{0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00, 0xa0, 0x47, 0xfe, 0xc8}
	pps := []byte{0x68, 0xce, 0x3c, 0x80}
	if _, err := m.AppendFrame(nil, &media.Frame{Codec: media.CodecH264, Flags: media.FlagConfig,
		Payload: h264.BuildConfig([][]byte{sps}, [][]byte{pps})}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.AppendFrame(nil, &media.Frame{Codec: media.CodecAAC, Flags: media.FlagConfig,
		Payload: aac.BuildASC(2, 44100, 2)}); err != nil {
		t.Fatal(err)
	}
	var segs [][]byte
	dts := time.Duration(0)
	for range n {
		b := m.AppendTables(nil)
		for i := range 5 {
			f := media.Frame{Codec: media.CodecH264, DTS: dts, PTS: dts, Payload: []byte{0, 0, 0, 2, 0x41, 0x9a}}
			if i == 0 {
				f.Flags, f.Payload = media.FlagKey, []byte{0, 0, 0, 2, 0x65, 0x88}
			}
			var err error
			if b, err = m.AppendFrame(b, &f); err != nil {
				t.Fatal(err)
			}
			if b, err = m.AppendFrame(b, &media.Frame{Codec: media.CodecAAC, DTS: dts, PTS: dts,
				Payload: []byte{0x21, 0x10, 0x04}}); err != nil {
				t.Fatal(err)
			}
			dts += 40 * time.Millisecond
		}
		segs = append(segs, b)
	}
	return segs
}

// TestHLSPlayer plays an ended playlist: the player starts three segments
// from the end, reports each frame as an FLV tag (keyframes marked, paced in
// real time) and ends with io.EOF at #EXT-X-ENDLIST.
func TestHLSPlayer(t *testing.T) {
	segs := hlsSegments(t, 5)
	mux := http.NewServeMux()
	mux.HandleFunc("/live/s.m3u8", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:10\n"+
			"#EXTINF:0.2,\ns-10.ts\n#EXTINF:0.2,\ns-11.ts\n#EXTINF:0.2,\ns-12.ts\n"+
			"#EXTINF:0.2,\ns-13.ts\n#EXTINF:0.2,\ns-14.ts\n#EXT-X-ENDLIST\n")
	})
	var fetched []string
	for i, seg := range segs {
		name := fmt.Sprintf("/live/s-%d.ts", 10+i)
		mux.HandleFunc(name, func(w http.ResponseWriter, r *http.Request) {
			fetched = append(fetched, r.URL.Path)
			w.Write(seg)
		})
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()

	var video, keys, audio int
	start := time.Now()
	err := playHLS(context.Background(), srv.Client(), srv.URL+"/live/s.m3u8", func(typ uint8, _ uint32, body []byte) {
		switch typ {
		case flv.TagVideo:
			video++
			if body[0]>>4 == 1 {
				keys++
			}
		case flv.TagAudio:
			audio++
		}
	})
	if !errors.Is(err, io.EOF) {
		t.Fatalf("playHLS: %v", err)
	}
	if len(fetched) != 3 || fetched[0] != "/live/s-12.ts" {
		t.Fatalf("fetched %v, want the last three segments", fetched)
	}
	if video != 15 || keys != 3 || audio != 15 {
		t.Fatalf("%d video frames (%d keys), %d audio frames; want 15 (3), 15", video, keys, audio)
	}
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Fatalf("played 0.6 s of media in %s: not paced", d)
	}
}

// TestHLSPlayerFollowsRedirect: a playlist answered with a 302 (srs-lite's
// and SRS's hls_ctx) is polled at its final URL from then on, as hls.js
// does, so the player is one viewer session, not one per refresh.
func TestHLSPlayerFollowsRedirect(t *testing.T) {
	segs := hlsSegments(t, 2)
	var plain, polls int
	mux := http.NewServeMux()
	mux.HandleFunc("/live/s.m3u8", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("hls_ctx") == "" {
			plain++
			http.Redirect(w, r, "s.m3u8?hls_ctx=v1", http.StatusFound)
			return
		}
		polls++
		end := ""
		if polls > 2 {
			end = "#EXT-X-ENDLIST\n"
		}
		io.WriteString(w, "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n"+
			"#EXTINF:0.2,\ns-0.ts?hls_ctx=v1\n#EXTINF:0.2,\ns-1.ts?hls_ctx=v1\n"+end)
	})
	for i, seg := range segs {
		mux.HandleFunc(fmt.Sprintf("/live/s-%d.ts", i), func(w http.ResponseWriter, r *http.Request) { w.Write(seg) })
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	err := playHLS(context.Background(), srv.Client(), srv.URL+"/live/s.m3u8", func(uint8, uint32, []byte) {})
	if !errors.Is(err, io.EOF) {
		t.Fatalf("playHLS: %v", err)
	}
	if plain != 1 || polls < 3 {
		t.Fatalf("%d requests without hls_ctx (want 1), %d with it", plain, polls)
	}
}
