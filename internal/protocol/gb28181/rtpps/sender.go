package rtpps

import (
	"context"
	"encoding/binary"
	"io"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/ps"
)

// PayloadType is the RTP payload type GB28181 devices use for PS (the SDP's
// "a=rtpmap:96 PS/90000").
const PayloadType = 96

// MaxPayload is the most program stream bytes a Sender puts in one packet,
// so that a packet fits an Ethernet MTU with the IP, UDP and RTP headers.
const MaxPayload = 1400

// Sender sends program stream bytes as RTP packets, the way a GB28181
// device does: each frame's bytes (one pack: see ps.SplitFrames and
// ps.Muxer) cut into packets of at most MaxPayload bytes, all with the
// frame's timestamp, the marker bit on the last one. Over TCP (Framed)
// each packet gets the RFC 4571 two-byte length and a frame goes out in
// one write; over UDP each packet is one write (one datagram).
type Sender struct {
	w      io.Writer
	framed bool
	ssrc   uint32
	pt     uint8
	seq    uint16
	buf    []byte

	// Drop, when set, is asked for each packet (by its sequence number)
	// and drops it when it returns true: tests inject loss with it.
	Drop func(seq uint16) bool
}

// NewSender returns a Sender writing to w: a UDP socket connected to the
// receiver (framed false), or a TCP connection (framed true).
func NewSender(w io.Writer, framed bool, ssrc uint32, pt uint8) *Sender {
	return &Sender{w: w, framed: framed, ssrc: ssrc, pt: pt}
}

// Seq returns the sequence number of the next packet.
func (s *Sender) Seq() uint16 { return s.seq }

// WritePS sends the program stream bytes of one frame with its 90 kHz
// timestamp.
func (s *Sender) WritePS(ps []byte, ts uint32) error {
	s.buf = s.buf[:0]
	for first := true; first || len(ps) > 0; first = false {
		n := min(len(ps), MaxPayload)
		marker := n == len(ps)
		seq := s.seq
		s.seq++
		if s.Drop != nil && s.Drop(seq) {
			ps = ps[n:]
			continue
		}
		start := len(s.buf)
		if s.framed {
			s.buf = binary.BigEndian.AppendUint16(s.buf, uint16(12+n))
		}
		b1 := s.pt & 0x7f
		if marker {
			b1 |= 0x80
		}
		s.buf = append(s.buf, 0x80, b1)
		s.buf = binary.BigEndian.AppendUint16(s.buf, seq)
		s.buf = binary.BigEndian.AppendUint32(s.buf, ts)
		s.buf = binary.BigEndian.AppendUint32(s.buf, s.ssrc)
		s.buf = append(s.buf, ps[:n]...)
		ps = ps[n:]
		if !s.framed {
			if _, err := s.w.Write(s.buf[start:]); err != nil {
				return err
			}
			s.buf = s.buf[:0]
		}
	}
	if s.framed && len(s.buf) > 0 {
		_, err := s.w.Write(s.buf)
		return err
	}
	return nil
}

// Play sends a program stream (a .ps file: GStreamer's mpegpsmux output,
// the Muxer's) in real time as a device does: frame by frame as
// ps.SplitFrames cuts it, each at its PTS, with the PTS as RTP timestamp.
// With loop it starts over when it reaches the end, the timestamps inside
// the stream moved on (ps.Shift) so that they keep increasing. It returns
// when ctx is done, at the end (without loop), or on a write error.
func (s *Sender) Play(ctx context.Context, data []byte, loop bool) error {
	type piece struct {
		b   []byte
		pts int64
	}
	var pieces []piece
	ps.SplitFrames(data, func(b []byte, pts int64) { pieces = append(pieces, piece{b, pts}) })
	if len(pieces) == 0 {
		return nil
	}
	first, last := pieces[0].pts, pieces[len(pieces)-1].pts
	step := int64(3600) // 40 ms: the frame after the last one
	if len(pieces) > 1 {
		step = max((last-first)/int64(len(pieces)-1), 1)
	}
	period := last - first + step // one pass, in ticks
	buf := make([]byte, 0, 64<<10)
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for pass := int64(0); ; pass++ {
		for _, p := range pieces {
			at := pass*period + p.pts - first
			if d := time.Until(start.Add(time.Duration(at) * time.Second / 90000)); d > 0 {
				timer.Reset(d)
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-timer.C:
				}
			} else if ctx.Err() != nil {
				return ctx.Err()
			}
			b := p.b
			if pass > 0 {
				buf = append(buf[:0], p.b...)
				ps.Shift(buf, pass*period)
				b = buf
			}
			if err := s.WritePS(b, uint32(p.pts+pass*period)); err != nil {
				return err
			}
		}
		if !loop {
			return nil
		}
	}
}
