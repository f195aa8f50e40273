package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/flv"
)

// RTSPPlayer is the Player of rtsp:// URLs: a lean RTSP client over TCP
// interleaved (DESCRIBE, SETUP of each track, PLAY) that reassembles
// nothing: each RTP packet with the marker bit ends a frame, which goes to
// onTag as a stand-in FLV tag body of the frame's payload size (H.264 or
// AAC headers, zeros), so that bench counts frames, bitrate and stalls as
// for the other protocols. No authentication.
func RTSPPlayer(ctx context.Context, rawURL string, onTag func(typ uint8, ts uint32, body []byte)) error {
	u, err := url.Parse(rawURL)
	if err != nil || !strings.EqualFold(u.Scheme, "rtsp") || u.Host == "" {
		return fmt.Errorf("bench: %q is not an rtsp:// URL", rawURL)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "554")
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer nc.Close()
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c := &rtspClient{nc: nc, br: bufio.NewReaderSize(nc, 64<<10)}
	err = c.play(rawURL, onTag)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

type rtspClient struct {
	nc      net.Conn
	br      *bufio.Reader
	cseq    int
	session string
}

// request sends a request and reads its response: status, headers (lower
// case), body.
func (c *rtspClient) request(method, u, extra string) (int, map[string]string, []byte, error) {
	c.cseq++
	req := method + " " + u + " RTSP/1.0\r\nCSeq: " + strconv.Itoa(c.cseq) + "\r\nUser-Agent: srs-lite-bench\r\n" + extra
	if c.session != "" {
		req += "Session: " + c.session + "\r\n"
	}
	_ = c.nc.SetDeadline(time.Now().Add(10 * time.Second))
	defer c.nc.SetDeadline(time.Time{})
	if _, err := io.WriteString(c.nc, req+"\r\n"); err != nil {
		return 0, nil, nil, err
	}
	for {
		b, err := c.br.Peek(1)
		if err != nil {
			return 0, nil, nil, err
		}
		if b[0] == '$' { // media before the answer: skip
			if _, _, err := c.frame(nil); err != nil {
				return 0, nil, nil, err
			}
			continue
		}
		return c.response()
	}
}

func (c *rtspClient) response() (int, map[string]string, []byte, error) {
	line, err := c.br.ReadString('\n')
	if err != nil {
		return 0, nil, nil, err
	}
	f := strings.Fields(line)
	if len(f) < 2 || !strings.HasPrefix(f[0], "RTSP/") {
		return 0, nil, nil, fmt.Errorf("bench: rtsp: bad status line %q", strings.TrimSpace(line))
	}
	code, _ := strconv.Atoi(f[1])
	hdr := map[string]string{}
	for {
		l, err := c.br.ReadString('\n')
		if err != nil {
			return 0, nil, nil, err
		}
		l = strings.TrimRight(l, "\r\n")
		if l == "" {
			break
		}
		k, v, _ := strings.Cut(l, ":")
		hdr[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	var body []byte
	if n, _ := strconv.Atoi(hdr["content-length"]); n > 0 && n < 1<<20 {
		body = make([]byte, n)
		if _, err := io.ReadFull(c.br, body); err != nil {
			return 0, nil, nil, err
		}
	}
	return code, hdr, body, nil
}

// frame reads one interleaved frame into buf.
func (c *rtspClient) frame(buf []byte) (uint8, []byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return 0, nil, err
	}
	n := int(h[2])<<8 | int(h[3])
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	_, err := io.ReadFull(c.br, buf)
	return h[1], buf, err
}

func (c *rtspClient) play(rawURL string, onTag func(typ uint8, ts uint32, body []byte)) error {
	code, hdr, body, err := c.request("DESCRIBE", rawURL, "Accept: application/sdp\r\n")
	if err != nil {
		return fmt.Errorf("bench: rtsp: DESCRIBE: %w", err)
	}
	if code != 200 {
		return fmt.Errorf("bench: rtsp: DESCRIBE: status %d", code)
	}
	base := hdr["content-base"]
	if base == "" {
		base = rawURL
	}
	type track struct{ video bool }
	var tracks []track
	var controls []string
	for line := range strings.SplitSeq(string(body), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "m="):
			tracks = append(tracks, track{video: strings.HasPrefix(line, "m=video")})
			controls = append(controls, "")
		case strings.HasPrefix(line, "a=control:") && len(tracks) > 0:
			controls[len(controls)-1] = strings.TrimPrefix(line, "a=control:")
		}
	}
	if len(tracks) == 0 {
		return errors.New("bench: rtsp: no tracks in the SDP")
	}
	for i, ctl := range controls {
		u := ctl
		if !strings.HasPrefix(strings.ToLower(ctl), "rtsp://") {
			u = strings.TrimSuffix(base, "/") + "/" + ctl
		}
		tr := fmt.Sprintf("Transport: RTP/AVP/TCP;unicast;interleaved=%d-%d\r\n", 2*i, 2*i+1)
		code, hdr, _, err := c.request("SETUP", u, tr)
		if err != nil || code != 200 {
			return fmt.Errorf("bench: rtsp: SETUP: %d %v", code, err)
		}
		if c.session == "" {
			c.session, _, _ = strings.Cut(hdr["session"], ";")
		}
	}
	if code, _, _, err := c.request("PLAY", strings.TrimSuffix(base, "/"), "Range: npt=0.000-\r\n"); err != nil || code != 200 {
		return fmt.Errorf("bench: rtsp: PLAY: %d %v", code, err)
	}
	var buf, tag []byte
	sizes := make([]int, len(tracks))
	for {
		b, err := c.br.Peek(1)
		if err != nil {
			return err
		}
		if b[0] != '$' {
			if _, _, _, err := c.response(); err != nil {
				return err
			}
			continue
		}
		var ch uint8
		ch, buf, err = c.frame(buf)
		if err != nil {
			return err
		}
		i := int(ch / 2)
		if ch%2 == 1 || i >= len(tracks) || len(buf) < 12 {
			continue // RTCP
		}
		sizes[i] += len(buf) - 12
		if buf[1]&0x80 == 0 {
			continue
		}
		n := sizes[i]
		sizes[i] = 0
		if cap(tag) < n+5 {
			tag = make([]byte, n+5)
		}
		t := tag[:n+5]
		typ := uint8(flv.TagAudio)
		if tracks[i].video {
			typ = flv.TagVideo
			t[0], t[1] = 0x27, 1 // inter frame, AVC NALU
		} else {
			t[0], t[1] = 0xaf, 1 // AAC raw
		}
		onTag(typ, 0, t)
	}
}
