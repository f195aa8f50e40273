package httpflv

import (
	"log/slog"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/ts"
	"github.com/srs-lite/srs-lite/internal/media"
)

// tablesEvery is how often a TS play without video repeats the PAT and PMT
// (with video they go before each keyframe).
const tablesEvery = time.Second

// remuxer muxes frames for one player, in a format with per-player state.
type remuxer interface {
	// batch sees a batch before its frames are appended.
	batch(frames []media.Frame)
	// append appends the bytes of f to dst; an error ends the play.
	append(dst []byte, f *media.Frame) ([]byte, error)
}

// tsRemux is an HTTP-TS play's muxer (SRS's SrsTsTransmuxer).
//
// Each player has its own: the packets of a frame carry the continuity
// counters of their PID (ISO 13818-1 §2.4.3.3), which follow what this
// player was sent, from the keyframe it joined at and across the skips of
// a lapped player. A TS encoding shared through media.WireTS would carry
// one counter sequence for every player, and rewriting the counter of each
// packet per player means a private copy anyway. The muxer does not
// allocate once its scratch and the play's buffer have grown.
type tsRemux struct {
	m          *ts.Muxer
	started    bool // the PAT and PMT were sent with the current tracks
	waitKey    bool // video before the first keyframe is left out
	lastTables time.Duration
	skipped    uint64
	log        *slog.Logger
}

func newTSRemux(l *slog.Logger) *tsRemux {
	return &tsRemux{m: ts.NewMuxer(), waitKey: true, log: l}
}

// batch declares the codecs the batch shows when they change: the config
// frames a reader gets first name them.
func (t *tsRemux) batch(frames []media.Frame) {
	video, audio := t.m.Tracks()
	v, a := video, audio
	for i := range frames {
		switch c := frames[i].Codec; c {
		case media.CodecH264, media.CodecH265:
			v = c
		case media.CodecAAC, media.CodecMP3:
			a = c
		}
	}
	if v != video || a != audio {
		t.m.SetTracks(v, a)
		t.started = false // tables with the new PMT first
	}
}

func (t *tsRemux) append(dst []byte, f *media.Frame) ([]byte, error) {
	if f.Codec == media.CodecData {
		return dst, nil
	}
	if f.Codec.IsVideo() && !f.IsConfig() {
		// A player starts at a keyframe, which the muxer gives its
		// parameter sets; without the GOP cache, video waits for one.
		if t.waitKey && !f.IsKey() {
			return dst, nil
		}
		t.waitKey = false
	}
	if !f.IsConfig() && (!t.started || t.tablesDue(f)) {
		dst = t.m.AppendTables(dst)
		t.started = true
		t.lastTables = f.DTS
	}
	out, err := t.m.AppendFrame(dst, f)
	if err != nil {
		if t.skipped == 0 {
			t.log.Warn("ts: frame not sent", "codec", f.Codec.String(), "err", err)
		}
		t.skipped++
		return dst, nil
	}
	return out, nil
}

// tablesDue reports whether the PAT and PMT go before f: before each video
// keyframe, and every tablesEvery in a stream without video.
func (t *tsRemux) tablesDue(f *media.Frame) bool {
	if video, _ := t.m.Tracks(); video != 0 {
		return f.Codec.IsVideo() && f.IsKey()
	}
	return f.DTS-t.lastTables >= tablesEvery || f.DTS < t.lastTables
}
