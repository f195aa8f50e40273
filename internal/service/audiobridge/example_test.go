package audiobridge_test

import (
	"context"
	"log/slog"
	"sync"

	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/service/audiobridge"
)

// A WHEP viewer of an AAC stream plays the stream's video from the registry
// and its audio from the bridge's Opus reader; a stream without AAC, or a
// machine without ffmpeg, plays video-only.
func ExampleBridge_Opus() {
	reg := media.NewRegistry(nil)
	b := audiobridge.New(reg, audiobridge.Options{Mode: "auto", Logger: slog.Default()})
	defer b.Close()
	key := media.Key{Vhost: media.DefaultVhost, App: "live", Stream: "cam1"}
	rd, release, err := b.Opus(key)
	if err != nil {
		return // video-only: b.Unavailable() says why for the API
	}
	defer release() // from the goroutine that reads, after the last Read
	frames := make([]media.Frame, 16)
	for {
		n, err := rd.Read(context.TODO(), frames)
		for i := range frames[:n] {
			// packetize frames[i].Payload (one Opus packet, 20 ms) at
			// frames[i].DTS, on the same clock as the video's
			frames[i].Release()
		}
		if err != nil {
			return // io.EOF: the source's publish session ended
		}
	}
}

// A WHIP publisher of Opus also publishes AAC for RTMP, HTTP-FLV, TS and SRT
// players: the bridge's frames come on its own goroutine, so the publisher's
// Writes are serialized with a mutex.
func ExampleBridge_ToAAC() {
	reg := media.NewRegistry(nil)
	b := audiobridge.New(reg, audiobridge.Options{})
	defer b.Close()
	key := media.Key{Vhost: media.DefaultVhost, App: "live", Stream: "whip"}
	st, err := reg.Publish(key)
	if err != nil {
		return
	}
	defer st.Unpublish()
	var mu sync.Mutex
	write := func(f *media.Frame) {
		mu.Lock()
		st.Write(f)
		mu.Unlock()
	}
	push, stop, err := b.ToAAC(key, write)
	if err != nil {
		push, stop = func(*media.Frame) {}, func() {} // no AAC for the other players
	}
	defer stop()
	// For each depacketized Opus frame: push(&opus) (push keeps its own
	// reference); for each video frame: write(&video).
	_ = push
}
