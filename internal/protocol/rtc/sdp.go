//go:build !nortc && !tiny

package rtc

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/srs-lite/srs-lite/internal/media"
)

// MaxOfferSize bounds an SDP offer; browsers' are a few KiB.
const MaxOfferSize = 64 << 10

// ErrOffer is wrapped by every refusal of an offer: the HTTP answer is 400.
var ErrOffer = errors.New("rtc: bad offer")

// offer is what the server needs of an SDP offer (RFC 8829 §5.8).
type offer struct {
	ufrag, pwd  string
	fingerprint string // sha-256 value, "" when another hash is given
	medias      []offerMedia
}

// offerMedia is one m-section.
type offerMedia struct {
	kind    string // audio, video, application
	proto   string
	mid     string
	dir     string // sendrecv, sendonly, recvonly, inactive
	formats []format
	ssrc    uint32 // the first a=ssrc, 0 when none
}

// format is one payload type of an m-section.
type format struct {
	pt       uint8
	name     string // upper case
	clock    int
	channels int
	fmtp     string
}

// param returns a parameter of the format's fmtp ("" when absent).
func (f format) param(key string) string {
	for _, kv := range strings.Split(f.fmtp, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return ""
}

// parseOffer parses and checks an offer.
func parseOffer(b []byte) (*offer, error) {
	if len(b) > MaxOfferSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrOffer, len(b), MaxOfferSize)
	}
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOffer, err)
	}
	o := &offer{}
	o.ufrag, _ = sd.Attribute("ice-ufrag")
	o.pwd, _ = sd.Attribute("ice-pwd")
	fp, _ := sd.Attribute("fingerprint")
	for _, md := range sd.MediaDescriptions {
		m := offerMedia{kind: md.MediaName.Media, proto: strings.Join(md.MediaName.Protos, "/"), dir: "sendrecv"}
		rtpmap := map[uint8]format{}
		var order []uint8
		for _, f := range md.MediaName.Formats {
			if n, err := strconv.ParseUint(f, 10, 8); err == nil {
				order = append(order, uint8(n))
			}
		}
		for _, a := range md.Attributes {
			switch a.Key {
			case "mid":
				m.mid = a.Value
			case "sendrecv", "sendonly", "recvonly", "inactive":
				m.dir = a.Key
			case "ice-ufrag":
				if o.ufrag == "" {
					o.ufrag = a.Value
				}
			case "ice-pwd":
				if o.pwd == "" {
					o.pwd = a.Value
				}
			case "fingerprint":
				if fp == "" {
					fp = a.Value
				}
			case "ssrc":
				if m.ssrc == 0 {
					id, _, _ := strings.Cut(a.Value, " ")
					if n, err := strconv.ParseUint(id, 10, 32); err == nil {
						m.ssrc = uint32(n)
					}
				}
			case "rtpmap", "fmtp":
				pts, rest, _ := strings.Cut(a.Value, " ")
				n, err := strconv.ParseUint(pts, 10, 8)
				if err != nil {
					continue
				}
				f := rtpmap[uint8(n)]
				f.pt = uint8(n)
				if a.Key == "fmtp" {
					f.fmtp = strings.TrimSpace(rest)
				} else {
					parts := strings.Split(rest, "/")
					f.name = strings.ToUpper(parts[0])
					if len(parts) > 1 {
						f.clock, _ = strconv.Atoi(parts[1])
					}
					if len(parts) > 2 {
						f.channels, _ = strconv.Atoi(parts[2])
					}
				}
				rtpmap[uint8(n)] = f
			}
		}
		for _, pt := range order {
			if f, ok := rtpmap[pt]; ok && f.name != "" {
				m.formats = append(m.formats, f)
			}
		}
		o.medias = append(o.medias, m)
	}
	if algo, val, ok := strings.Cut(fp, " "); ok && strings.EqualFold(algo, "sha-256") {
		o.fingerprint = strings.TrimSpace(val)
	}
	switch {
	case len(o.medias) == 0:
		return nil, fmt.Errorf("%w: no media", ErrOffer)
	case o.ufrag == "" || o.pwd == "":
		return nil, fmt.Errorf("%w: no ice-ufrag/ice-pwd", ErrOffer)
	case len(o.ufrag) > 256 || len(o.pwd) > 256 || strings.ContainsAny(o.ufrag+o.pwd, ": \r\n"):
		return nil, fmt.Errorf("%w: bad ice-ufrag/ice-pwd", ErrOffer)
	case fp == "":
		return nil, fmt.Errorf("%w: no DTLS fingerprint", ErrOffer)
	}
	return o, nil
}

// pickVideo chooses the H.264 payload type of an m-section: packetization
// mode 1 with constrained baseline 42e01f first (what every browser
// decodes in hardware), then any mode 1, then any H.264 (SRS's order).
func pickVideo(m *offerMedia, want media.Codec) (format, bool) {
	best, score := format{}, -1
	for _, f := range m.formats {
		s := -1
		switch {
		case want == media.CodecH265 && (f.name == "H265" || f.name == "HEVC"):
			s = 3
		case want != media.CodecH265 && f.name == "H264":
			s = 0
			if f.param("packetization-mode") == "1" {
				s = 1
				if strings.EqualFold(f.param("profile-level-id"), "42e01f") {
					s = 2
				}
			}
		}
		if s > score {
			best, score = f, s
		}
	}
	return best, score >= 0
}

// pickAudio chooses the audio payload type for the source's codec: Opus,
// PCMA or PCMU passthrough (AAC is Opus after the bridge).
func pickAudio(m *offerMedia, src media.Codec) (format, bool) {
	name := "OPUS"
	switch src {
	case media.CodecPCMA:
		name = "PCMA"
	case media.CodecPCMU:
		name = "PCMU"
	}
	for _, f := range m.formats {
		if f.name == name && (name != "OPUS" || f.clock == 48000) {
			return f, true
		}
	}
	return format{}, false
}

// offeredNames lists the codecs of an m-section, for error messages.
func offeredNames(m *offerMedia) string {
	var names []string
	seen := map[string]bool{}
	for _, f := range m.formats {
		if f.name == "RTX" || f.name == "RED" || f.name == "ULPFEC" || f.name == "FLEXFEC-03" || seen[f.name] {
			continue
		}
		seen[f.name] = true
		names = append(names, f.name)
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// answerMedia is our side of one m-section.
type answerMedia struct {
	om     *offerMedia
	f      format // zero: rejected (port 0)
	ssrc   uint32 // ours when we send
	dir    string
	video  bool
	accept bool
}

// buildAnswer writes the SDP answer: ICE-lite, our credentials and
// fingerprint, setup:passive, BUNDLE of the accepted m-sections, complete
// candidates (no trickle).
func (s *Server) buildAnswer(p *peer, ms []answerMedia, cands []string, sessID uint64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=srs-lite %d 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=ice-lite\r\n", sessID)
	var mids []string
	for _, m := range ms {
		if m.accept {
			mids = append(mids, m.om.mid)
		}
	}
	fmt.Fprintf(&b, "a=group:BUNDLE %s\r\na=msid-semantic: WMS srs-lite\r\n", strings.Join(mids, " "))
	for i, m := range ms {
		if !m.accept {
			fmts := "0"
			if m.om.kind == "application" {
				fmts = "webrtc-datachannel"
			} else if len(m.om.formats) > 0 {
				fmts = strconv.Itoa(int(m.om.formats[0].pt))
			}
			fmt.Fprintf(&b, "m=%s 0 %s %s\r\nc=IN IP4 0.0.0.0\r\na=mid:%s\r\na=inactive\r\n", m.om.kind, m.om.proto, fmts, m.om.mid)
			continue
		}
		f := m.f
		fmt.Fprintf(&b, "m=%s 9 UDP/TLS/RTP/SAVPF %d\r\nc=IN IP4 0.0.0.0\r\n", m.om.kind, f.pt)
		fmt.Fprintf(&b, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=fingerprint:sha-256 %s\r\na=setup:passive\r\n", p.ufrag, p.pwd, s.fingerprint)
		fmt.Fprintf(&b, "a=mid:%s\r\na=%s\r\na=rtcp-mux\r\na=rtcp-rsize\r\n", m.om.mid, m.dir)
		if f.channels > 0 {
			fmt.Fprintf(&b, "a=rtpmap:%d %s/%d/%d\r\n", f.pt, rtpName(f.name), f.clock, f.channels)
		} else {
			fmt.Fprintf(&b, "a=rtpmap:%d %s/%d\r\n", f.pt, rtpName(f.name), f.clock)
		}
		if f.fmtp != "" {
			fmt.Fprintf(&b, "a=fmtp:%d %s\r\n", f.pt, f.fmtp)
		}
		if m.video {
			fmt.Fprintf(&b, "a=rtcp-fb:%d nack\r\na=rtcp-fb:%d nack pli\r\na=rtcp-fb:%d ccm fir\r\n", f.pt, f.pt, f.pt)
		}
		if m.dir == "sendonly" {
			fmt.Fprintf(&b, "a=msid:srs-lite %s\r\na=ssrc:%d cname:srs-lite\r\na=ssrc:%d msid:srs-lite %s\r\n", m.om.kind, m.ssrc, m.ssrc, m.om.kind)
		}
		if i == firstAccepted(ms) {
			for j, c := range cands {
				fmt.Fprintf(&b, "a=candidate:%d 1 udp %d %s %d typ host generation 0\r\n", j+1, 2130706431-j, c, s.port)
				fmt.Fprintf(&b, "a=candidate:%d 1 tcp %d %s %d typ host tcptype passive generation 0\r\n", 100+j+1, 1671430143-j, c, s.port)
			}
			b.WriteString("a=end-of-candidates\r\n")
		}
	}
	return b.String()
}

func firstAccepted(ms []answerMedia) int {
	for i, m := range ms {
		if m.accept {
			return i
		}
	}
	return -1
}

// rtpName spells an encoding name as browsers do.
func rtpName(n string) string {
	if n == "OPUS" {
		return "opus"
	}
	return n
}
