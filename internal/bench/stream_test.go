package bench

import (
	"net/http"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/flv"
)

// Tag bodies of the synthetic stream: H.264 (FLV spec E.4.3.1) and AAC
// (E.4.2.1).
var (
	avcSeqHeader = []byte{0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 4, 0x67, 0x64, 0, 0x1f, 1, 0, 4, 0x68, 0xee, 0x3c, 0x80}
	aacSeqHeader = []byte{0xaf, 0, 0x12, 0x10}
)

// synth is an http.Handler streaming a synthetic live FLV stream in real
// time: header, AVC and AAC sequence headers, then 30 fps video with a 2 s
// GOP and AAC frames at 44.1 kHz / 1024 samples.
type synth struct {
	keySize, interSize, audioSize int           // tag body sizes
	pauseAt, pause                time.Duration // a stall in the stream, if pause > 0
	endAt                         time.Duration // end the stream, if > 0
}

const (
	frameInterval = time.Second / 30
	audioInterval = 1024 * time.Second / 44100
	gopFrames     = 60
)

// defaultSynth is the stream most tests use.
var defaultSynth = synth{keySize: 20000, interSize: 2000, audioSize: 300}

// kbps returns the stream's approximate FLV bitrate.
func (s synth) kbps() float64 {
	video := float64(s.keySize+(gopFrames-1)*s.interSize+gopFrames*tagOverhead) / 2
	audio := float64(s.audioSize+tagOverhead) / audioInterval.Seconds()
	return (video + audio) * 8 / 1000
}

func body(size int, head ...byte) []byte {
	b := make([]byte, max(size, len(head)))
	copy(b, head)
	return b
}

// appendTag appends a whole FLV tag and its PreviousTagSize.
func appendTag(dst []byte, typ uint8, ts uint32, body []byte) []byte {
	dst = flv.AppendTagHeader(dst, typ, len(body), ts)
	dst = append(dst, body...)
	n := flv.TagHeaderSize + len(body)
	return append(dst, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

func (s synth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "video/x-flv")
	key := body(s.keySize, 0x17, 1, 0, 0, 0)
	inter := body(s.interSize, 0x27, 1, 0, 0, 0)
	audio := body(s.audioSize, 0xaf, 1)
	buf := flv.Header(true, true)
	buf = appendTag(buf, flv.TagVideo, 0, avcSeqHeader)
	buf = appendTag(buf, flv.TagAudio, 0, aacSeqHeader)
	fl, _ := w.(http.Flusher)
	start := time.Now()
	paused := false
	var nv, na int
	ctx := r.Context()
	for {
		tv := time.Duration(nv) * frameInterval
		ta := time.Duration(na) * audioInterval
		next := min(tv, ta)
		if s.endAt > 0 && next >= s.endAt {
			w.Write(buf)
			return
		}
		if s.pause > 0 && !paused && next >= s.pauseAt {
			paused = true
			w.Write(buf)
			if fl != nil {
				fl.Flush()
			}
			buf = buf[:0]
			start = start.Add(s.pause)
		}
		if d := time.Until(start.Add(next)); d > 0 {
			if len(buf) > 0 {
				if _, err := w.Write(buf); err != nil {
					return
				}
				if fl != nil {
					fl.Flush()
				}
				buf = buf[:0]
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(d):
			}
		}
		if tv <= ta {
			b := inter
			if nv%gopFrames == 0 {
				b = key
			}
			buf = appendTag(buf, flv.TagVideo, uint32(tv/time.Millisecond), b)
			nv++
		} else {
			buf = appendTag(buf, flv.TagAudio, uint32(ta/time.Millisecond), audio)
			na++
		}
	}
}

// synthFLV returns the first d of the synthetic stream as bytes.
func synthFLV(s synth, d time.Duration) []byte {
	key := body(s.keySize, 0x17, 1, 0, 0, 0)
	inter := body(s.interSize, 0x27, 1, 0, 0, 0)
	audio := body(s.audioSize, 0xaf, 1)
	buf := flv.Header(true, true)
	buf = appendTag(buf, flv.TagVideo, 0, avcSeqHeader)
	buf = appendTag(buf, flv.TagAudio, 0, aacSeqHeader)
	for nv, na := 0, 0; ; {
		tv := time.Duration(nv) * frameInterval
		ta := time.Duration(na) * audioInterval
		if min(tv, ta) >= d {
			return buf
		}
		if tv <= ta {
			b := inter
			if nv%gopFrames == 0 {
				b = key
			}
			buf = appendTag(buf, flv.TagVideo, uint32(tv/time.Millisecond), b)
			nv++
		} else {
			buf = appendTag(buf, flv.TagAudio, uint32(ta/time.Millisecond), audio)
			na++
		}
	}
}
