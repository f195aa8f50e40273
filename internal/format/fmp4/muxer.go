// Package fmp4 writes fragmented MP4 (CMAF-style) files and segments: an
// initialization segment (ftyp + moov with mvex) and then moof+mdat
// fragments, as ISO/IEC 14496-12 (ISOBMFF) §8.8 defines them, with the
// sample entries of ISO/IEC 14496-15 (avcC, hvcC), 14496-14 (esds), the AV1
// ISOBMFF binding (av1C) and Opus in ISOBMFF (dOps). HLS (fMP4 segments) and
// DVR (.mp4 recordings) use it.
//
// It also scans a fragmented file for its longest playable prefix (Scan), to
// repair a recording cut short by a crash.
package fmp4

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
)

// Errors of the muxer and the scanner.
var (
	// ErrUnsupported reports a codec fMP4 output does not carry.
	ErrUnsupported = errors.New("fmp4: unsupported codec")
	// ErrNoConfig reports a codec whose track needs a config frame first.
	ErrNoConfig = errors.New("fmp4: missing sequence header")
	// ErrInvalid reports a malformed config or frame.
	ErrInvalid = errors.New("fmp4: invalid data")
	// ErrNoTrack reports a frame for a track that SetTrack did not set.
	ErrNoTrack = errors.New("fmp4: no track for frame")
	// ErrConfigChanged reports a config frame (or a codec) that differs
	// from its track's: the stream needs a new initialization segment.
	ErrConfigChanged = errors.New("fmp4: track configuration changed")
)

// Sample flags (§8.8.3.1): sample_depends_on = 2 (an I picture) for sync
// samples; sample_depends_on = 1 and sample_is_non_sync_sample for others.
const (
	flagsSync    = 0x02000000
	flagsNonSync = 0x01010000
)

// Muxer builds a fragmented MP4 stream from media frames: one video track
// (ID 1, timescale 90000) and one audio track (ID 2, timescale the sample
// rate). It is not safe for concurrent use.
type Muxer struct {
	v, a  *track
	seq   uint32 // last fragment sequence_number (mfhd)
	count int    // frames buffered
	first time.Duration
	last  time.Duration
	hdr   []byte // scratch for WriteFragment
}

// NewMuxer returns a Muxer with no tracks.
func NewMuxer() *Muxer {
	return &Muxer{}
}

// SetTrack sets the video or audio track from its config frame (FlagConfig:
// an AVC, HEVC or AV1 decoder configuration record, an AAC
// AudioSpecificConfig, an OpusHead) or, for codecs without one (MP3, Opus
// without a header), from a first frame. The video track gets ID 1 and the
// audio track ID 2. Setting a track again replaces it; frames it buffered
// are dropped. The payload is copied.
func (m *Muxer) SetTrack(f *media.Frame) error {
	t, err := newTrack(f)
	if err != nil {
		return err
	}
	slot := &m.a
	if t.video() {
		slot = &m.v
	}
	if old := *slot; old != nil {
		m.count -= len(old.samples)
		for i := range old.samples {
			old.samples[i].Release()
		}
		t.samples, t.times = old.samples[:0], old.times[:0]
	}
	*slot = t
	return nil
}

// Track reports the codec of the video or audio track, CodecUnknown when it
// is not set.
func (m *Muxer) Track(video bool) media.Codec {
	t := m.a
	if video {
		t = m.v
	}
	if t == nil {
		return media.CodecUnknown
	}
	return t.codec
}

// tracks returns the tracks set, in track ID order.
func (m *Muxer) tracks() []*track {
	switch {
	case m.v != nil && m.a != nil:
		return []*track{m.v, m.a}
	case m.v != nil:
		return []*track{m.v}
	case m.a != nil:
		return []*track{m.a}
	}
	return nil
}

// Add buffers one frame for the next fragment. The payload is referenced,
// not copied: Add takes a reference of its own (Retain), released once the
// fragment is written; the caller keeps its own. Script data and empty
// frames are ignored, and so is a config frame equal to its track's.
//
// It returns ErrNoTrack for a frame of a track not set, and
// ErrConfigChanged for a config frame that differs from its track's or a
// frame of another codec than its track's: the caller starts a new file or
// init segment.
func (m *Muxer) Add(f *media.Frame) error {
	var t *track
	switch {
	case f.Codec.IsVideo():
		t = m.v
	case f.Codec.IsAudio():
		t = m.a
	default:
		return nil
	}
	if t == nil {
		return fmt.Errorf("fmp4: %v frame: %w", f.Codec, ErrNoTrack)
	}
	if t.codec != f.Codec {
		return fmt.Errorf("fmp4: %v frame on a %v track: %w", f.Codec, t.codec, ErrConfigChanged)
	}
	if f.IsConfig() {
		if t.config != nil && !bytes.Equal(t.config, f.Payload) {
			return ErrConfigChanged
		}
		return nil
	}
	if len(f.Payload) == 0 {
		return nil
	}
	if m.count == 0 || f.DTS < m.first {
		m.first = f.DTS
	}
	if m.count == 0 || f.DTS > m.last {
		m.last = f.DTS
	}
	m.count++
	t.samples = append(t.samples, f.Clone())
	return nil
}

// Buffered reports the span of DTS and the count of the frames buffered
// since the last fragment.
func (m *Muxer) Buffered() (time.Duration, int) {
	if m.count == 0 {
		return 0, 0
	}
	return m.last - m.first, m.count
}

// AppendFragment appends one fragment of the buffered frames, styp first
// when asked (§8.16.2), then moof (§8.8.4) and mdat (§8.1.1), and releases
// the frames. It appends nothing when no frame is buffered.
//
// Sequence numbers start at 1 and increase. Each track's tfdt holds the
// decode time of its first sample in the track's timescale; sample
// durations come from successive DTS (the last one repeats the one before
// it; AAC durations are the frame length while the timestamps agree with
// it); composition offsets (version 1 trun, signed) from PTS-DTS; sample
// flags mark keyframes as sync samples.
func (m *Muxer) AppendFragment(dst []byte, styp bool) []byte {
	if m.count == 0 {
		return dst
	}
	dst, _ = m.appendHeader(dst, styp)
	for _, t := range [...]*track{m.v, m.a} {
		if t == nil {
			continue
		}
		for i := range t.samples {
			dst = append(dst, t.samples[i].Payload...)
		}
	}
	m.release()
	return dst
}

// WriteFragment writes the same bytes as AppendFragment to w, writing the
// payloads from the frames' buffers (no copy into one fragment), and
// returns how many bytes it wrote. The frames are released even when w
// fails.
func (m *Muxer) WriteFragment(w io.Writer, styp bool) (int64, error) {
	if m.count == 0 {
		return 0, nil
	}
	defer m.release()
	var err error
	m.hdr, _ = m.appendHeader(m.hdr[:0], styp)
	n, err := w.Write(m.hdr)
	total := int64(n)
	if err != nil {
		return total, err
	}
	for _, t := range [...]*track{m.v, m.a} {
		if t == nil {
			continue
		}
		for i := range t.samples {
			n, err = w.Write(t.samples[i].Payload)
			total += int64(n)
			if err != nil {
				return total, err
			}
		}
	}
	return total, nil
}

// Drop releases the buffered frames without writing them.
func (m *Muxer) Drop() { m.release() }

// release drops the buffered frames.
func (m *Muxer) release() {
	for _, t := range [...]*track{m.v, m.a} {
		if t == nil {
			continue
		}
		for i := range t.samples {
			t.samples[i].Release()
		}
		t.samples = t.samples[:0]
	}
	m.count = 0
}

// appendHeader appends styp (when asked), moof and the mdat header of the
// buffered samples and returns the mdat payload size.
func (m *Muxer) appendHeader(dst []byte, styp bool) ([]byte, int64) {
	if styp {
		var p int
		dst, p = startBox(dst, "styp")
		dst = append(dst, "msdh"...)
		dst = u32(dst, 0)
		dst = append(dst, "msdhmsix"...)
		dst = endBox(dst, p)
	}
	m.seq++
	moofStart := len(dst)
	dst, moof := startBox(dst, "moof")
	var p int
	dst, p = startFullBox(dst, "mfhd", 0, 0) // §8.8.5
	dst = u32(dst, m.seq)
	dst = endBox(dst, p)
	var offsets [2]int // positions of the trun data_offset fields
	var sizes [2]int64
	ntraf := 0
	for _, t := range [...]*track{m.v, m.a} {
		if t == nil || len(t.samples) == 0 {
			continue
		}
		t.timeline()
		dst, offsets[ntraf] = t.appendTraf(dst)
		for i := range t.samples {
			sizes[ntraf] += int64(len(t.samples[i].Payload))
		}
		ntraf++
	}
	dst = endBox(dst, moof)
	var payload int64
	for i := range ntraf {
		payload += sizes[i]
	}
	hdrLen := 8
	if payload+8 > math.MaxUint32 {
		hdrLen = 16
	}
	// data_offset: from the start of the moof (default-base-is-moof) to
	// the track's first sample in the mdat.
	off := int64(len(dst) - moofStart + hdrLen)
	for i := range ntraf {
		binary.BigEndian.PutUint32(dst[offsets[i]:], uint32(off))
		off += sizes[i]
	}
	if hdrLen == 16 {
		dst = u32(dst, 1)
		dst = append(dst, "mdat"...)
		dst = u64(dst, uint64(payload+16))
	} else {
		dst = u32(dst, uint32(payload+8))
		dst = append(dst, "mdat"...)
	}
	return dst, payload
}

// timeline computes the decode time of each buffered sample, in the
// track's timescale, into t.times. Times never decrease. AAC times follow
// the frame length while the timestamps stay within half a frame of it, so
// that rounded millisecond timestamps do not make the durations jitter.
func (t *track) timeline() {
	t.times = t.times[:0]
	prev := int64(-1)
	for i := range t.samples {
		v := max(ticks(t.samples[i].DTS, t.timescale), 0)
		if t.frameLen > 0 && t.hasNext && abs(v-t.next) <= t.frameLen/2 {
			v = t.next
		}
		v = max(v, prev)
		t.times = append(t.times, v)
		t.next, t.hasNext = v+t.frameLen, t.frameLen > 0
		prev = v
	}
}

// duration returns the duration of sample i, from the time of the next one;
// the last sample repeats the duration before it.
func (t *track) duration(i int) int64 {
	n := len(t.times)
	switch {
	case i+1 < n:
		return t.times[i+1] - t.times[i]
	case t.frameLen > 0:
		return t.frameLen
	case n >= 2:
		return t.times[n-1] - t.times[n-2]
	case t.lastDur > 0:
		return t.lastDur
	}
	return t.defDur
}

// appendTraf appends the traf box of the track's buffered samples (§8.8.6)
// and returns the position of its trun data_offset, to be patched.
func (t *track) appendTraf(dst []byte) ([]byte, int) {
	dst, traf := startBox(dst, "traf")
	// tfhd (§8.8.7): default-base-is-moof; audio samples are all sync.
	flags := uint32(0x020000)
	if !t.video() {
		flags |= 0x20 // default-sample-flags-present
	}
	dst, p := startFullBox(dst, "tfhd", 0, flags)
	dst = u32(dst, t.id)
	if !t.video() {
		dst = u32(dst, flagsSync)
	}
	dst = endBox(dst, p)
	// tfdt (§8.8.12), version 1.
	dst, p = startFullBox(dst, "tfdt", 1, 0)
	dst = u64(dst, uint64(t.times[0]))
	dst = endBox(dst, p)
	// trun (§8.8.8): data-offset, sample-duration and sample-size present;
	// for video also sample-flags and signed composition offsets.
	version, flags := uint8(0), uint32(0x000301)
	if t.video() {
		version, flags = 1, 0x000f01
	}
	dst, p = startFullBox(dst, "trun", version, flags)
	dst = u32(dst, uint32(len(t.samples)))
	at := len(dst)
	dst = u32(dst, 0) // data_offset, patched
	for i := range t.samples {
		f := &t.samples[i]
		d := t.duration(i)
		t.lastDur = d
		dst = u32(dst, uint32(min(d, math.MaxUint32)))
		dst = u32(dst, uint32(len(f.Payload)))
		if t.video() {
			sf := uint32(flagsNonSync)
			if f.IsKey() {
				sf = flagsSync
			}
			dst = u32(dst, sf)
			cts := ticks(f.PTS, t.timescale) - ticks(f.DTS, t.timescale)
			dst = u32(dst, uint32(int32(max(min(cts, math.MaxInt32), math.MinInt32))))
		}
	}
	dst = endBox(dst, p)
	return endBox(dst, traf), at
}

// ticks converts d to units of 1/scale seconds, rounded to the nearest,
// without overflow for any duration.
func ticks(d time.Duration, scale uint32) int64 {
	s, r := int64(d/time.Second), int64(d%time.Second)
	return s*int64(scale) + (r*int64(scale)+int64(time.Second)/2)/int64(time.Second)
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
