package rtsp

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/srs-lite/srs-lite/internal/dgram"
	"github.com/srs-lite/srs-lite/internal/format/codec/aac"
	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/format/codec/h265"
	"github.com/srs-lite/srs-lite/internal/format/rtp"
	"github.com/srs-lite/srs-lite/internal/media"
)

// outTrack is one track a viewer plays: the SDP it was described with, its
// transport once set up, and its sender state.
type outTrack struct {
	idx   int
	kind  string // "video" or "audio"
	codec media.Codec
	clock uint32
	pt    uint8
	media string // the m= section, without a=control
	pk    *rtp.Packetizer

	setup    bool
	tcp      bool
	ch       [2]uint8 // interleaved channels: RTP, RTCP
	udp      [2]*srvUDP
	out      dgram.Batch // UDP: the RTP datagrams of a batch of frames
	ssrc     uint32
	seq      uint16
	startSeq uint16
	startTS  uint32 // RTP-Info rtptime: the timestamp of the session's first frame
	tsOff    uint32 // added to the packetizer's timestamps
	based    bool
	packets  uint32
	octets   uint32
	sent     bool
}

// describeTrack returns the track of a stream's codec, with its SDP media
// section, or nil when RTSP cannot carry it. cfg is the codec's sequence
// header (zero for codecs without one); info tells the audio parameters.
func describeTrack(idx int, c media.Codec, cfg *media.Frame, info media.AudioInfo, mtu int) *outTrack {
	t := &outTrack{idx: idx, codec: c}
	var b strings.Builder
	pt := uint8(96 + idx)
	switch c {
	case media.CodecH264:
		if cfg == nil || cfg.Payload == nil {
			return nil
		}
		hc, err := h264.ParseConfig(cfg.Payload)
		if err != nil || len(hc.SPS) == 0 || len(hc.SPS[0]) < 4 {
			return nil
		}
		t.kind, t.clock = "video", 90000
		fmt.Fprintf(&b, "m=video 0 RTP/AVP %d\r\na=rtpmap:%d H264/90000\r\n", pt, pt)
		fmt.Fprintf(&b, "a=fmtp:%d packetization-mode=1; profile-level-id=%s; sprop-parameter-sets=%s\r\n",
			pt, hex.EncodeToString(hc.SPS[0][1:4]), spropSets(hc.SPS, hc.PPS))
	case media.CodecH265:
		if cfg == nil || cfg.Payload == nil {
			return nil
		}
		hc, err := h265.ParseConfig(cfg.Payload)
		if err != nil || len(hc.VPS) == 0 || len(hc.SPS) == 0 || len(hc.PPS) == 0 {
			return nil
		}
		t.kind, t.clock = "video", 90000
		fmt.Fprintf(&b, "m=video 0 RTP/AVP %d\r\na=rtpmap:%d H265/90000\r\n", pt, pt)
		fmt.Fprintf(&b, "a=fmtp:%d sprop-vps=%s; sprop-sps=%s; sprop-pps=%s\r\n", pt,
			spropSets(hc.VPS), spropSets(hc.SPS), spropSets(hc.PPS))
	case media.CodecAAC:
		if cfg == nil || cfg.Payload == nil {
			return nil
		}
		asc, err := aac.ParseASC(cfg.Payload)
		if err != nil || asc.SampleRate <= 0 {
			return nil
		}
		ch := max(asc.Channels, 1)
		t.kind, t.clock = "audio", uint32(asc.SampleRate)
		fmt.Fprintf(&b, "m=audio 0 RTP/AVP %d\r\na=rtpmap:%d MPEG4-GENERIC/%d/%d\r\n", pt, pt, asc.SampleRate, ch)
		fmt.Fprintf(&b, "a=fmtp:%d streamtype=5; profile-level-id=1; mode=AAC-hbr; sizelength=13; indexlength=3; indexdeltalength=3; config=%s\r\n",
			pt, hex.EncodeToString(cfg.Payload))
	case media.CodecOpus:
		t.kind, t.clock = "audio", 48000
		fmt.Fprintf(&b, "m=audio 0 RTP/AVP %d\r\na=rtpmap:%d opus/48000/2\r\n", pt, pt)
		if info.Channels == 2 {
			fmt.Fprintf(&b, "a=fmtp:%d sprop-stereo=1\r\n", pt)
		}
	case media.CodecPCMA, media.CodecPCMU:
		rate, ch := max(info.SampleRate, 8000), max(info.Channels, 1)
		name, static := "PCMA", uint8(8)
		if c == media.CodecPCMU {
			name, static = "PCMU", 0
		}
		if rate == 8000 && ch == 1 {
			pt = static
		}
		t.kind, t.clock = "audio", uint32(rate)
		fmt.Fprintf(&b, "m=audio 0 RTP/AVP %d\r\na=rtpmap:%d %s/%d", pt, pt, name, rate)
		if ch > 1 {
			b.WriteString("/" + strconv.Itoa(ch))
		}
		b.WriteString("\r\n")
	default:
		return nil
	}
	t.pt = pt
	t.media = b.String()
	t.pk = rtp.NewPacketizer(c, t.clock, mtu)
	if cfg != nil && cfg.Payload != nil {
		t.pk.SetConfig(cfg)
	}
	return t
}

// spropSets is the base64 of parameter sets, comma-separated (RFC 6184
// §8.1 sprop-parameter-sets, RFC 7798 §7.1 sprop-vps/sps/pps).
func spropSets(sets ...[][]byte) string {
	var parts []string
	for _, ss := range sets {
		for _, s := range ss {
			parts = append(parts, base64.StdEncoding.EncodeToString(s))
		}
	}
	return strings.Join(parts, ",")
}

// trackControl is the a=control of track idx: an absolute URL, so that every
// client takes it as it is, whatever it makes of relative ones with a query.
func trackControl(base, query string, idx int) string {
	u := base + "/trackID=" + strconv.Itoa(idx)
	if query != "" {
		u += "?" + query
	}
	return u
}

// buildSDP is the DESCRIBE answer (RFC 4566) of the tracks.
func buildSDP(tracks []*outTrack, base, query, localIP string, sessID uint64) []byte {
	ipv := "IP4"
	if strings.Contains(localIP, ":") {
		ipv = "IP6"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=- %d 1 IN %s %s\r\ns=srs-lite\r\nc=IN %s %s\r\nt=0 0\r\na=tool:srs-lite\r\na=control:*\r\n",
		sessID, ipv, localIP, ipv, map[bool]string{true: "::", false: "0.0.0.0"}[ipv == "IP6"])
	for _, t := range tracks {
		b.WriteString(t.media)
		b.WriteString("a=control:" + trackControl(base, query, t.idx) + "\r\n")
	}
	return []byte(b.String())
}
