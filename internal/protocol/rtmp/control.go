package rtmp

import (
	"encoding/binary"
	"fmt"
)

// AppendSetChunkSize appends a Set Chunk Size payload (RTMP 5.4.1).
func AppendSetChunkSize(dst []byte, n uint32) []byte {
	return binary.BigEndian.AppendUint32(dst, n&MaxChunkSize)
}

// AppendAbort appends an Abort Message payload naming csid (RTMP 5.4.2).
func AppendAbort(dst []byte, csid uint32) []byte {
	return binary.BigEndian.AppendUint32(dst, csid)
}

// AppendAck appends an Acknowledgement payload: the bytes received so far
// (RTMP 5.4.3).
func AppendAck(dst []byte, seq uint32) []byte {
	return binary.BigEndian.AppendUint32(dst, seq)
}

// AppendWindowAckSize appends a Window Acknowledgement Size payload (RTMP
// 5.4.4).
func AppendWindowAckSize(dst []byte, n uint32) []byte {
	return binary.BigEndian.AppendUint32(dst, n)
}

// AppendSetPeerBandwidth appends a Set Peer Bandwidth payload (RTMP 5.4.5).
func AppendSetPeerBandwidth(dst []byte, n uint32, limit uint8) []byte {
	return append(binary.BigEndian.AppendUint32(dst, n), limit)
}

// UserControl is a User Control Message event, RTMP 7.1.7.
type UserControl struct {
	Event uint16
	// Data is the event's first 4-byte field: the message stream ID for the
	// stream events and SetBufferLength, the timestamp for the pings.
	Data uint32
	// BufferLength is the buffer length in milliseconds of
	// EventSetBufferLength.
	BufferLength uint32
}

// AppendUserControl appends a User Control Message payload (RTMP 7.1.7):
// the event type and its 4-byte fields (one for most events, two for
// EventSetBufferLength).
func AppendUserControl(dst []byte, event uint16, fields ...uint32) []byte {
	dst = binary.BigEndian.AppendUint16(dst, event)
	for _, f := range fields {
		dst = binary.BigEndian.AppendUint32(dst, f)
	}
	return dst
}

func parseUint32(p []byte, what string) (uint32, error) {
	if len(p) < 4 {
		return 0, fmt.Errorf("%w: %s: %d bytes", ErrShortPayload, what, len(p))
	}
	return binary.BigEndian.Uint32(p), nil
}

// ParseSetChunkSize parses a Set Chunk Size payload (RTMP 5.4.1): the size
// must be in 1..0x7FFFFFFF.
func ParseSetChunkSize(p []byte) (uint32, error) {
	n, err := parseUint32(p, "set chunk size")
	if err != nil {
		return 0, err
	}
	if n == 0 || n > MaxChunkSize {
		return 0, fmt.Errorf("%w: %d", ErrChunkSize, n)
	}
	return n, nil
}

// ParseAbort parses an Abort Message payload (RTMP 5.4.2) into the chunk
// stream ID to abort.
func ParseAbort(p []byte) (uint32, error) { return parseUint32(p, "abort") }

// ParseAck parses an Acknowledgement payload (RTMP 5.4.3) into its sequence
// number.
func ParseAck(p []byte) (uint32, error) { return parseUint32(p, "acknowledgement") }

// ParseWindowAckSize parses a Window Acknowledgement Size payload (RTMP
// 5.4.4).
func ParseWindowAckSize(p []byte) (uint32, error) {
	return parseUint32(p, "window acknowledgement size")
}

// ParseSetPeerBandwidth parses a Set Peer Bandwidth payload (RTMP 5.4.5). A
// payload without the limit type byte reads as LimitDynamic.
func ParseSetPeerBandwidth(p []byte) (n uint32, limit uint8, err error) {
	n, err = parseUint32(p, "set peer bandwidth")
	if err != nil {
		return 0, 0, err
	}
	if len(p) < 5 {
		return n, LimitDynamic, nil
	}
	return n, p[4], nil
}

// ParseUserControl parses a User Control Message payload (RTMP 7.1.7).
// Events with unknown types are returned with the first field, when present.
func ParseUserControl(p []byte) (UserControl, error) {
	if len(p) < 2 {
		return UserControl{}, fmt.Errorf("%w: user control: %d bytes", ErrShortPayload, len(p))
	}
	uc := UserControl{Event: binary.BigEndian.Uint16(p)}
	p = p[2:]
	switch uc.Event {
	case EventSetBufferLength:
		if len(p) < 8 {
			return UserControl{}, fmt.Errorf("%w: set buffer length: %d bytes", ErrShortPayload, len(p))
		}
		uc.Data = binary.BigEndian.Uint32(p)
		uc.BufferLength = binary.BigEndian.Uint32(p[4:])
	case EventStreamBegin, EventStreamEOF, EventStreamDry, EventStreamIsRecorded,
		EventPingRequest, EventPingResponse:
		if len(p) < 4 {
			return UserControl{}, fmt.Errorf("%w: user control %d: %d bytes", ErrShortPayload, uc.Event, len(p))
		}
		uc.Data = binary.BigEndian.Uint32(p)
	default:
		if len(p) >= 4 {
			uc.Data = binary.BigEndian.Uint32(p)
		}
	}
	return uc, nil
}

// SplitAggregate calls fn for each sub-message of an aggregate message
// (RTMP 7.1.6), in order. Each sub-message is an FLV-tag-like record: type,
// 24-bit size, 24-bit timestamp plus an 8-bit upper timestamp byte, 24-bit
// stream ID, the payload and a 4-byte back pointer. Sub-message timestamps
// are shifted so that the first one equals the aggregate's timestamp; the
// aggregate's stream ID and CSID apply to all.
//
// The sub-messages share m's buffer without taking a reference: sub.Buf is
// m.Buf and sub.Offset locates sub.Payload in it. fn calls sub.Buf.Retain to
// keep a sub-message past the call; the caller still releases m.
func SplitAggregate(m Message, fn func(sub Message) error) error {
	p := m.Payload
	off := 0
	var first uint32
	for i := 0; off < len(p); i++ {
		if len(p)-off < 11 {
			return fmt.Errorf("%w: aggregate: sub-message header at %d", ErrShortPayload, off)
		}
		h := p[off : off+11]
		size := int(u24(h[1:4]))
		ts := u24(h[4:7]) | uint32(h[7])<<24
		if size > len(p)-off-11 {
			return fmt.Errorf("%w: aggregate: sub-message of %d bytes at %d", ErrShortPayload, size, off)
		}
		if i == 0 {
			first = ts
		}
		sub := Message{
			Type:      h[0],
			StreamID:  m.StreamID,
			Timestamp: m.Timestamp + (ts - first),
			CSID:      m.CSID,
			Payload:   p[off+11 : off+11+size],
			Offset:    m.Offset + off + 11,
			Buf:       m.Buf,
		}
		if err := fn(sub); err != nil {
			return err
		}
		off += 11 + size
		// The back pointer; a last sub-message without one is accepted.
		off = min(off+4, len(p))
	}
	return nil
}
