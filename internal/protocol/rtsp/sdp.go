package rtsp

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/srs-lite/srs-lite/internal/format/rtp"
)

// ErrSDP reports a session description srs-lite cannot use.
var ErrSDP = errors.New("rtsp: bad SDP")

// sdpMedia is one media description of a DESCRIBE answer (RFC 2326 §C.1).
type sdpMedia struct {
	kind    string // "video", "audio", ...
	control string // a=control, as written
	formats []rtp.Format
}

// parseSDP parses a DESCRIBE body. SDP that pion/sdp rejects (cameras write
// lines out of RFC 4566 §5 order, leave out o= or t=, or end lines with a
// bare LF) is repaired and parsed again; repaired is then true.
func parseSDP(body []byte) (media []sdpMedia, sessionControl string, repaired bool, err error) {
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(body); err != nil {
		fixed := normalizeSDP(body)
		sd = sdp.SessionDescription{}
		if err2 := sd.Unmarshal(fixed); err2 != nil {
			return nil, "", false, fmt.Errorf("%w: %w", ErrSDP, err)
		}
		repaired = true
	}
	if len(sd.MediaDescriptions) == 0 {
		return nil, "", false, fmt.Errorf("%w: no media (m=) lines", ErrSDP)
	}
	sessionControl, _ = sd.Attribute("control")
	for _, md := range sd.MediaDescriptions {
		m := sdpMedia{kind: strings.ToLower(md.MediaName.Media)}
		m.control, _ = md.Attribute("control")
		rtpmaps, fmtps := map[uint8]string{}, map[uint8]string{}
		for _, a := range md.Attributes {
			if a.Key != "rtpmap" && a.Key != "fmtp" {
				continue
			}
			pt, rest, _ := strings.Cut(strings.TrimSpace(a.Value), " ")
			n, err := strconv.Atoi(pt)
			if err != nil || n < 0 || n > 127 {
				continue
			}
			if a.Key == "rtpmap" {
				rtpmaps[uint8(n)] = rest
			} else {
				fmtps[uint8(n)] = rest
			}
		}
		for _, f := range md.MediaName.Formats {
			n, err := strconv.Atoi(f)
			if err != nil || n < 0 || n > 127 {
				continue
			}
			pt := uint8(n)
			var fm rtp.Format
			if rm, ok := rtpmaps[pt]; ok {
				if fm.ParseRtpmap(rm) != nil {
					continue
				}
				fm.PayloadType = pt
			} else if s, ok := rtp.StaticFormat(pt); ok {
				fm = s
			} else {
				continue
			}
			fm.Params = rtp.ParseFmtp(fmtps[pt])
			m.formats = append(m.formats, fm)
		}
		media = append(media, m)
	}
	return media, sessionControl, repaired, nil
}

// sdpOrder is the order of RFC 4566 §5 for session-level and media-level
// lines; lines of other types are dropped by normalizeSDP.
const (
	sessionOrder = "vosicbtka"
	mediaOrder   = "micbka"
)

// normalizeSDP rewrites an SDP into the strict RFC 4566 §5 order, adding the
// v=, o=, s= and t= lines it needs and dropping lines pion/sdp would reject
// (u=, e=, p=, r=, z= and malformed c=, b=, t=, o=).
func normalizeSDP(body []byte) []byte {
	sess := make([][]string, len(sessionOrder))
	var medias [][][]string
	cur := sess
	for _, raw := range bytes.FieldsFunc(body, func(r rune) bool { return r == '\n' || r == '\r' }) {
		line := strings.TrimSpace(string(raw))
		if len(line) < 2 || line[1] != '=' {
			continue
		}
		typ, val := line[0], strings.TrimSpace(line[2:])
		if typ == 'm' {
			if !validMediaLine(val) {
				cur = nil // skip the whole section
				continue
			}
			cur = make([][]string, len(mediaOrder))
			medias = append(medias, cur)
		}
		if cur == nil {
			continue
		}
		order := sessionOrder
		if len(medias) > 0 {
			order = mediaOrder
		}
		i := strings.IndexByte(order, typ)
		if i < 0 || !validLine(typ, val) {
			continue
		}
		cur[i] = append(cur[i], line[:2]+val)
	}
	var b bytes.Buffer
	b.WriteString("v=0\r\n")
	one := func(lines []string, def string) {
		if len(lines) > 0 {
			b.WriteString(lines[0] + "\r\n")
		} else {
			b.WriteString(def + "\r\n")
		}
	}
	one(sess[1], "o=- 0 0 IN IP4 127.0.0.1")
	s := "s=-"
	if len(sess[2]) > 0 && sess[2][0] != "s=" {
		s = sess[2][0]
	}
	b.WriteString(s + "\r\n")
	for _, i := range []int{3, 4, 5} { // i c b
		for _, l := range sess[i] {
			b.WriteString(l + "\r\n")
		}
	}
	one(sess[6], "t=0 0")
	for _, i := range []int{7, 8} { // k a
		for _, l := range sess[i] {
			b.WriteString(l + "\r\n")
		}
	}
	for _, m := range medias {
		for _, group := range m {
			for _, l := range group {
				b.WriteString(l + "\r\n")
			}
		}
	}
	return b.Bytes()
}

func validMediaLine(v string) bool {
	f := strings.Fields(v)
	if len(f) < 3 {
		return false
	}
	port, _, _ := strings.Cut(f[1], "/")
	_, err := strconv.Atoi(port)
	return err == nil
}

// validLine checks the lines whose syntax pion/sdp parses strictly.
func validLine(typ byte, v string) bool {
	f := strings.Fields(v)
	num := func(s string) bool { _, err := strconv.ParseUint(s, 10, 64); return err == nil }
	switch typ {
	case 'v':
		return false // always written as v=0
	case 'o':
		return len(f) == 6 && num(f[1]) && num(f[2])
	case 'c':
		return len(f) == 3 && (f[0] == "IN") && (f[1] == "IP4" || f[1] == "IP6")
	case 'b':
		k, n, ok := strings.Cut(v, ":")
		return ok && k != "" && num(n)
	case 't':
		return len(f) == 2 && num(f[0]) && num(f[1])
	case 'm':
		return validMediaLine(v)
	case 'a':
		return v != ""
	}
	return true
}

// controlURL resolves a media's a=control against the base URL, as RFC
// 2326 §C.1.1 and practice (ffmpeg, live555) have it: an absolute URL is
// taken as is, "*" or nothing means the base itself, and a relative one is
// appended to the base with a '/'.
func controlURL(base *url.URL, control string) (*url.URL, error) {
	control = strings.TrimSpace(control)
	if control == "" || control == "*" {
		u := *base
		return &u, nil
	}
	if l := strings.ToLower(control); strings.HasPrefix(l, "rtsp://") || strings.HasPrefix(l, "rtsps://") {
		return url.Parse(control)
	}
	// A base with a query (rtsp://cam/live?ch=1) gets the control after
	// the query, as ffmpeg and live555 send it.
	s := base.String()
	if !strings.HasSuffix(s, "/") {
		s += "/"
	}
	return url.Parse(s + control)
}
