package rtmp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/amf0"
	"github.com/srs-lite/srs-lite/internal/format/codec"
	"github.com/srs-lite/srs-lite/internal/format/flv"
	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/session"
)

// tsUnwrap turns 32-bit RTMP timestamps (milliseconds, RTMP 5.3.1.3) into a
// 64-bit timeline: each timestamp is placed at the signed 32-bit distance
// from the previous one, so wraps at 2^32 and small jitter both unwrap.
type tsUnwrap struct {
	started bool
	last    uint32
	full    int64
}

func (u *tsUnwrap) unwrap(ts uint32) int64 {
	if !u.started {
		u.started, u.last, u.full = true, ts, int64(ts)
		return u.full
	}
	u.full += int64(int32(ts - u.last))
	u.last = ts
	return u.full
}

// publisher is the per-publish state of a connection.
type publisher struct {
	ts        tsUnwrap
	audioInfo bool // AudioInfo set from a non-config frame
	inband    codec.InBand
	skipped   uint64
	lastErr   error
	media     bool // a media message came: too late to declare tracks
}

// firstString returns the first string argument of a command.
func firstString(args []any) string {
	if len(args) > 0 {
		if s, ok := args[0].(string); ok {
			return s
		}
	}
	return ""
}

// streamFor resolves the stream name of a publish or play and its param;
// a param naming a vhost overrides the connection's.
func (c *conn) streamFor(name string) (vhost, stream, param string, ok bool) {
	stream, param = splitParam(name)
	stream = trimStreamExt(stream)
	vhost = c.vhost
	if param != "" {
		if v, vok := c.resolveVhost(param); vok && v != "" {
			vhost = v
		}
	} else {
		param = c.param
	}
	return vhost, stream, param, stream != ""
}

// trimStreamExt drops a ".flv" or ".mp4" suffix some players append, as
// SRS does.
func trimStreamExt(s string) string {
	for _, ext := range [...]string{".flv", ".mp4"} {
		if len(s) > len(ext) && s[len(s)-len(ext):] == ext {
			return s[:len(s)-len(ext)]
		}
	}
	return s
}

// onPublish handles publish, RTMP 7.2.2.6.
func (c *conn) onPublish(ctx context.Context, cmd Command) error {
	if c.rd != nil || c.pub != nil {
		return fmt.Errorf("%w: publish while publishing or playing", ErrProtocol)
	}
	vhost, stream, param, ok := c.streamFor(firstString(cmd.Args))
	if !ok {
		c.onStatus("error", "NetStream.Publish.BadName", "No stream name")
		return fmt.Errorf("%w: publish without a stream name", ErrRejected)
	}
	key := media.Key{Vhost: vhost, App: c.app, Stream: stream}
	c.sess.SetStream(key, session.Publisher)
	c.sess.SetParam(param)
	if _, err := c.srv.events().Publish(ctx, c.sess); err != nil {
		c.sess.SetStream(media.Key{Vhost: c.vhost, App: c.app}, session.None)
		// NetStream.Publish.Rejected, as Adobe's servers and SRS clients
		// (OBS, ffmpeg) know it, whatever refused: security rules, on_publish.
		c.onStatus("error", "NetStream.Publish.Rejected", "Publish rejected")
		return fmt.Errorf("%w: publish %s: %w", ErrRejected, key, err)
	}
	s, err := c.srv.deps.Registry.Publish(media.Key{Vhost: vhost, App: c.app, Stream: stream})
	if err != nil {
		if errors.Is(err, media.ErrBusy) {
			c.onStatus("error", "NetStream.Publish.BadName", "Already publishing")
		}
		c.srv.events().Unpublish(c.sess)
		return fmt.Errorf("%w: publish %s: %w", ErrRejected, key, err)
	}
	c.pub, c.pubs = s, publisher{}
	c.sess.SetStreamID(s.ID)
	c.log.Info("rtmp: publish", "stream", key, "param", param)
	// RTMP 7.2.2.6: StreamBegin, then onStatus NetStream.Publish.Start (and
	// onFCPublish for FMLE-style clients, as SRS).
	if err := c.writeUserControl(EventStreamBegin, streamID); err != nil {
		return err
	}
	if c.fcPublish {
		if err := c.writeCommand(csidOverStream, streamID, "onFCPublish", 0, nil,
			c.status("status", "NetStream.Publish.Start", "Started publishing stream.")); err != nil {
			return err
		}
	}
	return c.onStatus("status", "NetStream.Publish.Start", "Started publishing stream.")
}

// endPublish ends the publish session once.
func (c *conn) endPublish() {
	if c.pub == nil {
		return
	}
	st := c.pub.Stats()
	c.pub.Unpublish()
	c.pub = nil
	c.log.Info("rtmp: unpublish", "stream", c.sess.Key(),
		"frames", st.FramesIn, "bytes", st.BytesIn, "skipped", c.pubs.skipped)
	c.srv.events().Unpublish(c.sess)
}

// onMedia turns an audio or video message into a frame and writes it,
// handing the message's buffer to the frame.
func (c *conn) onMedia(m *Message) {
	if c.pub == nil || m.Buf == nil {
		m.Release()
		return
	}
	c.pubs.media = true
	var f media.Frame
	if err := flv.FrameFromTag(m.Type, m.Timestamp, m.Payload, &f); err != nil {
		m.Release()
		c.pubs.skipped++
		if !errors.Is(err, flv.ErrSkip) && (c.pubs.lastErr == nil || c.pubs.lastErr.Error() != err.Error()) {
			c.pubs.lastErr = err
			c.log.Debug("rtmp: tag skipped", "type", m.Type, "err", err)
		}
		return
	}
	off := m.Offset + len(m.Payload) - len(f.Payload)
	f.SetBuf(m.Buf, off, len(f.Payload))
	m.Buf, m.Payload = nil, nil
	d := time.Duration(c.pubs.ts.unwrap(m.Timestamp)-int64(m.Timestamp)) * time.Millisecond
	f.DTS += d
	f.PTS += d
	if cfg := c.pubs.inband.Fix(&f); cfg.Payload != nil {
		c.onConfig(&cfg)
		c.pub.Write(&cfg)
	}
	if f.IsConfig() {
		c.onConfig(&f)
	} else if f.Codec.IsAudio() && !c.pubs.audioInfo && f.Codec != media.CodecAAC && f.Codec != media.CodecOpus {
		c.pubs.audioInfo = true
		c.pub.SetAudioInfo(media.AudioInfo{Codec: f.Codec, SampleRate: int(f.SampleRate), Channels: int(f.Channels)})
	}
	c.pub.Write(&f)
}

// onData caches onMetaData (also sent as @setDataFrame) as a CodecData frame
// holding "onMetaData" and its object; other data messages are dropped.
func (c *conn) onData(m *Message) {
	if c.pub == nil || m.Buf == nil {
		m.Release()
		return
	}
	p, off := m.Payload, 0
	if m.Type == TypeDataAMF3 {
		off = 1 // format byte, RTMP 7.1.2
	}
	name, n := amfString(p[min(off, len(p)):])
	if name == "@setDataFrame" {
		off += n
		name, n = amfString(p[off:])
	}
	if name != "onMetaData" {
		m.Release()
		return
	}
	if !c.pubs.media {
		c.declareTracks(p[off+n:])
	}
	f := media.Frame{Codec: media.CodecData}
	f.DTS = time.Duration(m.Timestamp) * time.Millisecond
	f.PTS = f.DTS
	f.SetBuf(m.Buf, m.Offset+off, len(p)-off)
	m.Buf, m.Payload = nil, nil
	c.pub.Write(&f)
}

// declareTracks declares to the stream the tracks an onMetaData object
// names before the first frame (videocodecid, audiocodecid, as FFmpeg, OBS
// and SRS write them; or hasVideo, hasAudio): HLS and DVR then wait for
// the video of a publisher whose audio comes first. Metadata naming
// neither declares nothing.
func (c *conn) declareTracks(obj []byte) {
	v, _, err := amf0.Decode(obj)
	if err != nil {
		return
	}
	var props []amf0.Property
	switch o := v.(type) {
	case amf0.Object:
		props = o
	case amf0.ECMAArray:
		props = o
	default:
		return
	}
	var video, audio, named bool
	for _, p := range props {
		switch p.Key {
		case "videocodecid":
			video, named = true, true
		case "audiocodecid":
			audio, named = true, true
		case "hasVideo":
			b, ok := p.Value.(bool)
			video, named = video || ok && b, named || ok
		case "hasAudio":
			b, ok := p.Value.(bool)
			audio, named = audio || ok && b, named || ok
		}
	}
	if named {
		c.pub.ExpectTracks(video, audio)
	}
}

// amfString reads an AMF0 string (AMF0 2.4) and its encoded length.
func amfString(p []byte) (string, int) {
	if len(p) < 3 || p[0] != 0x02 {
		return "", 0
	}
	n := int(p[1])<<8 | int(p[2])
	if len(p) < 3+n {
		return "", 0
	}
	return string(p[3 : 3+n]), 3 + n
}

// onAggregate splits an aggregate message, RTMP 7.1.6. Each sub-message is
// copied into a buffer of its own: a Buf carries one frame's wire caches,
// so frames must not share one.
func (c *conn) onAggregate(m *Message) {
	defer m.Release()
	if c.pub == nil {
		return
	}
	err := SplitAggregate(*m, func(sub Message) error {
		if len(sub.Payload) == 0 {
			return nil
		}
		b := media.GetBuf(len(sub.Payload))
		copy(b.Bytes(), sub.Payload)
		sub.Buf, sub.Offset, sub.Payload = b, 0, b.Bytes()[:len(sub.Payload)]
		switch sub.Type {
		case TypeAudio, TypeVideo:
			c.onMedia(&sub)
		case TypeDataAMF0:
			c.onData(&sub)
		default:
			sub.Release()
		}
		return nil
	})
	if err != nil {
		c.pubs.skipped++
		c.log.Debug("rtmp: bad aggregate", "err", err)
	}
}

// onConfig records what a sequence header says about the stream.
func (c *conn) onConfig(f *media.Frame) {
	if v, ok := codec.VideoInfo(f); ok {
		c.pub.SetVideoInfo(v)
	} else if a, ok := codec.AudioInfo(f); ok {
		c.pub.SetAudioInfo(a)
	}
}
