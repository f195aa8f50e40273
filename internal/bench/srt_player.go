package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/flv"
	"github.com/srs-lite/srs-lite/internal/format/ts"
	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/protocol/srt"
)

// SRTPlayer is the Player of srt:// URLs, as libsrt's tools write them:
//
//	srt://HOST:PORT?streamid=#!::r=live/livestream,m=request[&passphrase=P][&pbkeylen=16][&latency=MS]
//
// It connects as a caller, demuxes the MPEG-TS it receives and hands each
// frame to onTag as an FLV tag body, so that bench counts frames, bitrate and
// stalls as for the other protocols.
func SRTPlayer(ctx context.Context, rawURL string, onTag func(typ uint8, ts uint32, body []byte)) error {
	addr, cfg, err := ParseSRTURL(rawURL)
	if err != nil {
		return err
	}
	c, err := srt.Dial(ctx, addr, cfg)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.CloseWithError(ctx.Err()) })
	defer stop()
	var body []byte
	d := ts.NewDemuxer(func(f *media.Frame) error {
		body = append(flv.AppendBodyHeader(body[:0], f), f.Payload...)
		onTag(flv.TagType(f), flv.Timestamp(f), body)
		return nil
	})
	buf := make([]byte, 1500)
	for {
		n, err := c.Read(buf)
		if err != nil {
			_ = d.Flush()
			if errors.Is(err, io.EOF) {
				return io.EOF
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("bench: %w", err)
		}
		_, _ = d.Write(buf[:n])
	}
}

// ParseSRTURL reads an srt:// URL: the listener's address and the caller's
// settings from the query (streamid, passphrase, pbkeylen, latency in ms).
// The stream id may hold a raw '#', as libsrt's tools accept it.
func ParseSRTURL(rawURL string) (string, srt.Config, error) {
	var cfg srt.Config
	rest, ok := strings.CutPrefix(rawURL, "srt://")
	if !ok {
		return "", cfg, fmt.Errorf("bench: %q is not an srt:// URL", rawURL)
	}
	hostport, query, _ := strings.Cut(rest, "?")
	hostport = strings.TrimSuffix(hostport, "/")
	if hostport == "" {
		return "", cfg, fmt.Errorf("bench: %q names no host:port", rawURL)
	}
	for kv := range strings.SplitSeq(query, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if u, err := url.PathUnescape(v); err == nil {
			v = u
		}
		switch k {
		case "streamid":
			cfg.StreamID = v
		case "passphrase":
			cfg.Passphrase = v
		case "pbkeylen", "latency":
			n, err := strconv.Atoi(v)
			if err != nil {
				return "", cfg, fmt.Errorf("bench: %s=%q is not a number", k, v)
			}
			if k == "pbkeylen" {
				cfg.PBKeyLen = n
			} else {
				cfg.Latency = time.Duration(n) * time.Millisecond
			}
		}
	}
	return hostport, cfg, nil
}
