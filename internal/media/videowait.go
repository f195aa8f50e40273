package media

import "time"

// MaxVideoWait is how long, in the stream's timestamps, a VideoWait holds.
const MaxVideoWait = 2 * time.Second

// VideoWait holds back the start of a consumer that must begin with the
// video (a segmenter's first segment and fMP4 init, a recorder's first
// file) while the publisher declared video (Stream.ExpectTracks) that has
// not come yet, for up to MaxVideoWait: one opened on the audio that comes
// first would have no video. The other consumers get that audio.
type VideoWait struct {
	from    time.Duration // DTS of the first frame held
	started bool
	over    bool
}

// Hold reports whether a frame at dts, before any video, is held back;
// declared, asked at the first frame only (a publisher declares before it
// writes), says whether video was declared. gaveUp is true once, for the
// frame at which the declared video has not come in MaxVideoWait.
func (w *VideoWait) Hold(dts time.Duration, declared func() bool) (hold, gaveUp bool) {
	if w.over {
		return false, false
	}
	if !w.started {
		w.started, w.from = true, dts
		if declared == nil || !declared() {
			w.over = true
			return false, false
		}
	}
	if dts-w.from < MaxVideoWait {
		return true, false
	}
	w.over = true
	return false, true
}
