package hls

// Low-latency HLS (RFC 8216bis, draft-pantos-hls-rfc8216bis §4.4.4.9,
// §4.4.5.2-3, §6.2.5.2), fMP4 only. While a segment is made, each Part of
// media is closed as its own fragment (moof+mdat) and published at once as a
// part, /APP/STREAM-SEQ.PART.m4s, served from memory; the segment is the
// concatenation of its parts, so that /APP/STREAM-SEQ.m4s stays what it was.
// The playlist lists the parts of the last segments (EXT-X-PART), hints the
// next one (EXT-X-PRELOAD-HINT) and lets players block: a playlist request
// with _HLS_msn=M[&_HLS_part=P] is answered when part P of segment M (or
// segment M) exists.

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
)

// part is one published part of a segment.
type part struct {
	data  []byte // a slice of its segment's data, never written again
	dur   time.Duration
	indep bool // it starts with a keyframe (INDEPENDENT=YES)
}

// Low-latency limits.
const (
	// partHoldBackParts: PART-HOLD-BACK is this many part targets (RFC
	// 8216bis asks at least 2; 3 as Apple recommends).
	partHoldBackParts = 3
	// blockTargets: a blocking request waits at most this many target
	// durations (§6.2.5.2), then gets 503.
	blockTargets = 3
	// partsTargets: parts are listed for the segments within this many
	// target durations of the end of the playlist (§4.4.4.9).
	partsTargets = 3
)

// partDue reports whether the part in progress ends before a frame at dts:
// with it, the part would likely last longer than Part (the next frame is
// estimated to come one frame interval later).
func (ss *session) partDue(dts time.Duration) bool {
	gap := time.Duration(0)
	for _, d := range ss.lastDur {
		if d > 0 && (gap == 0 || d < gap) {
			gap = d
		}
	}
	return dts-ss.partStart+gap+time.Millisecond > ss.cfg.Part
}

// partFrame notes a frame added to the part in progress.
func (ss *session) partFrame(f *media.Frame, key bool) {
	if ss.partFrames == 0 {
		ss.partStart, ss.partVideo, ss.partIndep = f.DTS, false, !ss.hasVideo
	}
	if f.Codec.IsVideo() && !ss.partVideo {
		ss.partVideo, ss.partIndep = true, key
	}
	ss.partFrames++
}

// endPart closes the part in progress, which ends at next, and publishes
// it; the last part of a segment is published with the segment (Muxer.add),
// so that no playlist hints a part that never comes.
func (ss *session) endPart(next time.Duration, last bool) {
	s := ss.cur
	s.data = ss.c.end(s.data)
	n := len(s.data)
	p := part{data: s.data[ss.partOff:n:n], dur: max(next-ss.partStart, time.Millisecond), indep: ss.partIndep}
	ss.partOff, ss.partFrames = n, 0
	mx := ss.mx
	mx.mu.Lock()
	s.parts = append(s.parts, p)
	if last {
		mx.mu.Unlock()
		return
	}
	mx.cur = s
	mx.playlist = mx.render(make([]byte, 0, len(mx.playlist)+256), "")
	mx.plTime = mx.m.now()
	close(mx.changed)
	mx.changed = make(chan struct{})
	mx.mu.Unlock()
}

func (mx *Muxer) partName(seq uint64, i int) string {
	return string(mx.appendPartName(nil, seq, i))
}

// appendPartName appends STREAM-SEQ.PART.m4s (no allocation: the playlist
// is rendered at each part).
func (mx *Muxer) appendPartName(b []byte, seq uint64, i int) []byte {
	b = append(b, mx.stream...)
	b = append(b, '-')
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(i), 10)
	return append(b, ".m4s"...)
}

// appendSeconds appends d in seconds with 3 decimals.
func appendSeconds(b []byte, d time.Duration) []byte {
	return strconv.AppendFloat(b, d.Seconds(), 'f', 3, 64)
}

// renderLL appends the low-latency media playlist. Called with mx.mu.
func (mx *Muxer) renderLL(b []byte, query string) []byte {
	b = append(b, "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:"...)
	b = strconv.AppendInt(b, int64(mx.targetDur), 10)
	b = append(b, "\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK="...)
	b = appendSeconds(b, partHoldBackParts*mx.cfg.Part)
	b = append(b, "\n#EXT-X-PART-INF:PART-TARGET="...)
	b = appendSeconds(b, mx.cfg.Part)
	b = append(b, "\n#EXT-X-MEDIA-SEQUENCE:"...)
	first := mx.nextSeq
	if len(mx.segs) > 0 {
		first = mx.segs[0].seq
	} else if mx.cur != nil {
		first = mx.cur.seq
	}
	b = strconv.AppendUint(b, first, 10)
	b = append(b, '\n')
	if mx.discSeq > 0 {
		b = append(b, "#EXT-X-DISCONTINUITY-SEQUENCE:"...)
		b = strconv.AppendUint(b, mx.discSeq, 10)
		b = append(b, '\n')
	}
	// Parts are listed for the segments that end within partsTargets
	// target durations of the end.
	from := len(mx.segs)
	var tail time.Duration
	if mx.cur != nil {
		for _, p := range mx.cur.parts {
			tail += p.dur
		}
	}
	limit := time.Duration(partsTargets*mx.targetDur) * time.Second
	for from > 0 && tail < limit {
		from--
		tail += mx.segs[from].dur
	}
	var gen uint64
	n := len(mx.segs)
	for i := 0; i <= n; i++ {
		var s *segment
		if i < n {
			s = mx.segs[i]
		} else if s = mx.cur; s == nil {
			break
		}
		if s.disc && i > 0 {
			b = append(b, "#EXT-X-DISCONTINUITY\n"...)
		}
		if s.initGen != gen {
			gen = s.initGen
			b = append(b, "#EXT-X-MAP:URI=\""...)
			b = append(b, mx.initName(gen)...)
			b = append(b, query...)
			b = append(b, "\"\n"...)
		}
		if i == 0 || s.disc {
			b = append(b, "#EXT-X-PROGRAM-DATE-TIME:"...)
			b = s.pdt.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
			b = append(b, '\n')
		}
		if i >= from {
			for k, p := range s.parts {
				b = append(b, "#EXT-X-PART:DURATION="...)
				b = appendSeconds(b, p.dur)
				b = append(b, ",URI=\""...)
				b = mx.appendPartName(b, s.seq, k)
				b = append(b, query...)
				b = append(b, '"')
				if p.indep {
					b = append(b, ",INDEPENDENT=YES"...)
				}
				b = append(b, '\n')
			}
		}
		if i == n {
			break // in progress: no EXTINF yet
		}
		b = append(b, "#EXTINF:"...)
		b = appendSeconds(b, s.dur)
		b = append(b, ",\n"...)
		b = append(b, mx.stream...)
		b = append(b, '-')
		b = strconv.AppendUint(b, s.seq, 10)
		b = append(b, ".m4s"...)
		b = append(b, query...)
		b = append(b, '\n')
	}
	if seq, k, ok := mx.nextPart(); ok {
		b = append(b, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\""...)
		b = mx.appendPartName(b, seq, k)
		b = append(b, query...)
		b = append(b, "\"\n"...)
	}
	return b
}

// nextPart names the part that comes next while a publisher is on.
// Called with mx.mu.
func (mx *Muxer) nextPart() (seq uint64, k int, ok bool) {
	if mx.sessions == 0 || mx.disposed {
		return 0, 0, false
	}
	if mx.cur != nil {
		return mx.cur.seq, len(mx.cur.parts), true
	}
	if mx.making > 0 {
		return mx.making - 1, 0, true // opened, no part yet
	}
	return mx.nextSeq, 0, true
}

// blockReq is a blocking playlist request: _HLS_msn=msn[&_HLS_part=part].
type blockReq struct {
	on   bool
	msn  uint64
	part int // -1: the whole segment
}

var errBadBlock = errors.New("hls: bad _HLS_msn or _HLS_part")

// parseBlock reads _HLS_msn and _HLS_part from a raw query (RFC 8216bis
// §6.2.5.2): decimal integers; _HLS_part without _HLS_msn is an error.
func parseBlock(raw string) (blockReq, error) {
	br := blockReq{part: -1}
	msn, hasMSN := rawParam(raw, "_HLS_msn")
	p, hasPart := rawParam(raw, "_HLS_part")
	if !hasMSN {
		if hasPart {
			return br, errBadBlock
		}
		return br, nil
	}
	n, err := strconv.ParseUint(msn, 10, 64)
	if err != nil {
		return br, errBadBlock
	}
	br.on, br.msn = true, n
	if hasPart {
		k, err := strconv.ParseUint(p, 10, 31)
		if err != nil {
			return br, errBadBlock
		}
		br.part = int(k)
	}
	return br, nil
}

// rawParam is queryValue that also tells a parameter present but empty.
func rawParam(raw, name string) (string, bool) {
	for raw != "" {
		var kv string
		kv, raw, _ = cutAmp(raw)
		if len(kv) >= len(name) && kv[:len(name)] == name && (len(kv) == len(name) || kv[len(name)] == '=') {
			if len(kv) == len(name) {
				return "", true
			}
			return kv[len(name)+1:], true
		}
	}
	return "", false
}

func cutAmp(s string) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '&' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// find returns the segment seq of the playlist or in progress, nil when
// there is none. Called with mx.mu.
func (mx *Muxer) find(seq uint64) *segment {
	if mx.cur != nil && mx.cur.seq == seq {
		return mx.cur
	}
	for _, s := range mx.segs {
		if s.seq == seq {
			return s
		}
	}
	return nil
}

// lastSeq is the media sequence of the last segment of the playlist, the
// one in progress counted. Called with mx.mu.
func (mx *Muxer) lastSeq() (uint64, bool) {
	if mx.cur != nil {
		return mx.cur.seq, true
	}
	if n := len(mx.segs); n > 0 {
		return mx.segs[n-1].seq, true
	}
	return 0, false
}

// has reports whether the playlist answers br: it holds part br.part of
// segment br.msn (a part past the last of a complete segment is the first
// of the next one), or segment br.msn complete. A segment that left the
// window is answered at once. Called with mx.mu.
func (mx *Muxer) has(br blockReq) bool {
	for range 2 {
		if n := len(mx.segs); n > 0 && br.msn <= mx.segs[n-1].seq {
			if br.part < 0 {
				return true
			}
			s := mx.find(br.msn)
			if s == nil || br.part < len(s.parts) {
				return true
			}
			br = blockReq{on: true, msn: br.msn + 1, part: 0}
			continue
		}
		return mx.cur != nil && mx.cur.seq == br.msn && br.part >= 0 && br.part < len(mx.cur.parts)
	}
	return false
}

// tooFar reports whether br asks beyond what RFC 8216bis §6.2.5.2 lets a
// client wait for: a segment more than two after the last one, or a part
// more than the Advance Part Limit (3 s of parts) after the last part.
// Called with mx.mu.
func (mx *Muxer) tooFar(br blockReq) bool {
	last, ok := mx.lastSeq()
	if !ok {
		last = mx.nextSeq
	}
	if br.msn > last+2 {
		return true
	}
	limit := 3
	if mx.cfg.Part < time.Second {
		limit = int(math.Ceil(float64(3*time.Second) / float64(mx.cfg.Part)))
	}
	if br.part < 0 {
		return false
	}
	if mx.cur != nil && br.msn == mx.cur.seq {
		return br.part-(len(mx.cur.parts)-1) > limit
	}
	return br.msn > last && br.part > limit
}

// blockWait is how long a blocking request waits. Called with mx.mu.
func (mx *Muxer) blockWait() time.Duration {
	return time.Duration(blockTargets*mx.targetDur) * time.Second
}

// servePart answers a part; the next part (the preload hint) and the few
// after it are waited for, as blocking playlist requests are.
func (mx *Muxer) servePart(w http.ResponseWriter, r *http.Request, seq uint64, k int) int64 {
	mx.mu.Lock()
	if !mx.cfg.LowLatency {
		mx.mu.Unlock()
		http.Error(w, "no parts: low_latency is off", http.StatusNotFound)
		return 0
	}
	deadline := time.NewTimer(mx.blockWait())
	mx.mu.Unlock()
	defer deadline.Stop()
	for {
		mx.mu.Lock()
		s := mx.find(seq)
		if s != nil && k < len(s.parts) {
			p := s.parts[k]
			s.refs.Add(1)
			mx.mu.Unlock()
			defer s.release()
			w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(segmentMaxAge))
			return serveBytes(w, r, "video/iso.segment", p.data)
		}
		// Only a part still to come is waited for.
		last, _ := mx.lastSeq()
		coming := mx.sessions > 0 && !mx.disposed && !mx.tooFar(blockReq{on: true, msn: seq, part: k}) &&
			(s != nil && s == mx.cur || s == nil && seq > last || s == nil && mx.cur == nil && seq == mx.nextSeq)
		ch := mx.changed
		mx.mu.Unlock()
		if !coming {
			http.Error(w, "no such part", http.StatusNotFound)
			return 0
		}
		select {
		case <-ch:
		case <-deadline.C:
			http.Error(w, "part not produced in time", http.StatusServiceUnavailable)
			return 0
		case <-r.Context().Done():
			return 0
		}
	}
}
