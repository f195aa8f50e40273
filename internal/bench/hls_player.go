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

	"github.com/srs-lite/srs-lite/internal/flv"
	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/ts"
)

// hlsLiveEdge is how many segments from the end of the playlist an HLS
// player starts, as hls.js and Safari do.
const hlsLiveEdge = 3

// NewHLSPlayer returns the HLS Player for URLs ending in .m3u8: like a
// real player it polls the media playlist (every target duration, half of
// it when nothing new came) and fetches each new MPEG-TS segment once,
// starting hlsLiveEdge segments from the end. Each frame of a segment is
// reported as an FLV tag, so time to first frame is the time to the first
// keyframe of the first segment.
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
	var tag []byte
	emit := func(f *media.Frame) error {
		typ := uint8(flv.TagAudio)
		tag = tag[:0]
		if f.Codec.IsVideo() {
			typ = flv.TagVideo
			if f.Flags&media.FlagConfig != 0 {
				return nil
			}
			b := byte(0x27) // inter frame, AVC
			if f.Flags&media.FlagKey != 0 {
				b = 0x17
			}
			tag = append(tag, b, 1, 0, 0, 0)
		} else {
			if f.Flags&media.FlagConfig != 0 {
				return nil
			}
			tag = append(tag, 0xaf, 1) // AAC raw
		}
		tag = append(tag, f.Payload...)
		onTag(typ, uint32(f.DTS/time.Millisecond), tag)
		return nil
	}
	dmx := ts.NewDemuxer(emit)
	buf := make([]byte, 32<<10)
	for {
		pl, err := getPlaylist(ctx, client, u)
		if err != nil {
			return err
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
			next = pl.seq + int64(i) + 1
			fetched = true
		}
		if pl.end {
			return io.EOF
		}
		wait := time.Duration(pl.target) * time.Second
		if !fetched || wait <= 0 {
			wait = max(wait/2, 500*time.Millisecond)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

type mediaPlaylist struct {
	target int
	seq    int64
	uris   []string
	end    bool
}

func getPlaylist(ctx context.Context, client *http.Client, u string) (mediaPlaylist, error) {
	var pl mediaPlaylist
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return pl, fmt.Errorf("bench: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return pl, fmt.Errorf("bench: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return pl, fmt.Errorf("bench: get %s: %s: %w", u, resp.Status, ErrStatus)
	}
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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("bench: get %s: %s: %w", u, resp.Status, ErrStatus)
	}
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
