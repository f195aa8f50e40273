package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/flv"
	"github.com/srs-lite/srs-lite/internal/format/ts"
	"github.com/srs-lite/srs-lite/internal/media"
)

// hlsLiveEdge is how many segments from the end of the playlist an HLS
// player starts, as hls.js and Safari do.
const hlsLiveEdge = 3

// NewHLSPlayer returns the HLS Player for URLs ending in .m3u8: like a
// real player it polls the media playlist (every target duration, half of
// it when nothing new came) and fetches each new MPEG-TS segment once,
// starting hlsLiveEdge segments from the end. The frames of each segment
// are played in real time (see pacer) and reported as FLV tags, so time to
// first frame is the time to the first keyframe of the first segment and a
// stall is a segment that came too late.
func NewHLSPlayer(conns int) Player {
	client := &http.Client{Transport: newTransport(conns)}
	return func(ctx context.Context, u string, onTag func(typ uint8, ts uint32, body []byte)) error {
		return playHLS(ctx, client, u, onTag)
	}
}

// playHLS follows a live playlist until ctx is done, or the playlist is
// gone or ends.
func playHLS(ctx context.Context, client *http.Client, u string, onTag func(uint8, uint32, []byte)) error {
	base, err := url.Parse(u)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	var next int64 = -1 // media sequence of the next segment to fetch
	pc := &pacer{onTag: onTag}
	dmx := ts.NewDemuxer(pc.add)
	buf := make([]byte, 32<<10)
	for {
		pl, err := getPlaylist(ctx, client, u)
		if err != nil {
			return err
		}
		if pl.url != nil && pl.url.String() != u {
			// Redirected (srs-lite's and SRS's hls_ctx 302): poll the
			// final URL from now on, and resolve segments against it, as
			// hls.js does, so the player stays one viewer session.
			u, base = pl.url.String(), pl.url
		}
		if next < 0 {
			next = max(pl.seq, pl.seq+int64(len(pl.uris))-hlsLiveEdge)
		}
		if next < pl.seq {
			next = pl.seq // fell behind the window
		}
		fetched := false
		for i, uri := range pl.uris {
			if pl.seq+int64(i) < next {
				continue
			}
			ref, err := base.Parse(uri)
			if err != nil {
				return fmt.Errorf("bench: segment uri %q: %w", uri, err)
			}
			if err := getSegment(ctx, client, ref.String(), dmx, buf); err != nil {
				return err
			}
			if err := pc.play(ctx); err != nil {
				return err
			}
			next = pl.seq + int64(i) + 1
			fetched = true
		}
		if pl.end {
			return io.EOF
		}
		if fetched {
			continue // playing took real time: look for the next one now
		}
		// Nothing new: poll again after half the target duration (RFC
		// 8216 §6.3.4).
		wait := max(time.Duration(pl.target)*time.Second/2, 200*time.Millisecond)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// pacer plays the frames of each segment in real time, as a player shows
// them: the first frame at once, each next one at its timestamp relative to
// the first on the wall clock. A segment that arrives late finds the player
// behind and plays at once: the gap counts as a stall, as it shows on a
// screen. Only each frame's type, time and size are kept; the tag bodies
// passed on are a shared buffer with the right FLV headers.
type pacer struct {
	onTag  func(uint8, uint32, []byte)
	frames []pacedFrame
	body   []byte
	start  time.Time     // wall clock of the first frame played
	base   time.Duration // its DTS
	begun  bool
}

type pacedFrame struct {
	typ uint8
	key bool
	dts time.Duration
	n   int
}

func (p *pacer) add(f *media.Frame) error {
	if f.Flags&media.FlagConfig != 0 || !f.Codec.IsVideo() && !f.Codec.IsAudio() {
		return nil
	}
	pf := pacedFrame{typ: flv.TagAudio, dts: f.DTS, n: len(f.Payload) + 2}
	if f.Codec.IsVideo() {
		pf.typ, pf.key, pf.n = flv.TagVideo, f.Flags&media.FlagKey != 0, len(f.Payload)+5
	}
	p.frames = append(p.frames, pf)
	return nil
}

// play passes the frames of the segment just read on to onTag, paced.
func (p *pacer) play(ctx context.Context) error {
	for _, f := range p.frames {
		if !p.begun {
			p.begun, p.start, p.base = true, time.Now(), f.dts
		}
		if ahead := time.Until(p.start.Add(f.dts - p.base)); ahead > 20*time.Millisecond {
			select {
			case <-ctx.Done():
				p.frames = p.frames[:0]
				return ctx.Err()
			case <-time.After(ahead):
			}
		} else if ahead < -10*time.Second {
			// Far behind (a long stall): restart the clock here.
			p.start, p.base = time.Now(), f.dts
		}
		if cap(p.body) < f.n {
			p.body = make([]byte, f.n*2)
		}
		b := p.body[:f.n]
		if f.typ == flv.TagVideo {
			b[0], b[1] = 0x27, 1 // inter frame, AVC NALU
			if f.key {
				b[0] = 0x17
			}
		} else {
			b[0], b[1] = 0xaf, 1 // AAC raw
		}
		p.onTag(f.typ, uint32(f.dts/time.Millisecond), b)
	}
	p.frames = p.frames[:0]
	return nil
}

type mediaPlaylist struct {
	url    *url.URL // where the playlist came from, after redirects
	target int
	seq    int64
	uris   []string
	end    bool
}

func getPlaylist(ctx context.Context, client *http.Client, u string) (mediaPlaylist, error) {
	var pl mediaPlaylist
	resp, err := get(ctx, client, u)
	if err != nil {
		return pl, err
	}
	defer resp.Body.Close()
	pl.url = resp.Request.URL
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 1<<20))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "#EXT-X-TARGETDURATION:"):
			pl.target, _ = strconv.Atoi(line[len("#EXT-X-TARGETDURATION:"):])
		case strings.HasPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"):
			pl.seq, _ = strconv.ParseInt(line[len("#EXT-X-MEDIA-SEQUENCE:"):], 10, 64)
		case line == "#EXT-X-ENDLIST":
			pl.end = true
		case strings.HasPrefix(line, "#EXT-X-MAP:"):
			return pl, errors.New("bench: fMP4 HLS is not supported by the bench player; use hls.container = \"ts\"")
		case line != "" && !strings.HasPrefix(line, "#"):
			pl.uris = append(pl.uris, line)
		}
	}
	return pl, sc.Err()
}

func getSegment(ctx context.Context, client *http.Client, u string, dmx *ts.Demuxer, buf []byte) error {
	resp, err := get(ctx, client, u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := dmx.Write(buf[:n]); werr != nil {
				return fmt.Errorf("bench: segment %s: %w", u, werr)
			}
		}
		if err == io.EOF {
			return dmx.Flush()
		}
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
}
