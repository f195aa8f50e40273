package rtmp

import (
	"encoding/binary"
	"fmt"
	"io"
)

// basicHeaderLen returns the size of the basic header of csid, RTMP 5.3.1.1.
func basicHeaderLen(csid uint32) int {
	switch {
	case csid < 64:
		return 1
	case csid < 320:
		return 2
	}
	return 3
}

// appendBasicHeader appends a chunk basic header, RTMP 5.3.1.1. csid must be
// in 2..65599.
func appendBasicHeader(dst []byte, format uint8, csid uint32) []byte {
	switch {
	case csid < 64:
		return append(dst, format<<6|byte(csid))
	case csid < 320:
		return append(dst, format<<6, byte(csid-64))
	}
	c := csid - 64
	return append(dst, format<<6|1, byte(c), byte(c>>8))
}

// ChunkedLen returns how many bytes AppendChunks appends for a message of
// h.Length bytes on csid with the given chunk size, so that a pooled buffer
// can be sized exactly.
func ChunkedLen(csid uint32, h MessageHeader, chunkSize int) int {
	if chunkSize < 1 {
		chunkSize = DefaultChunkSize
	}
	bh := basicHeaderLen(csid)
	ext := 0
	if h.Timestamp >= 0xFFFFFF {
		ext = 4
	}
	chunks := 1
	if h.Length > 0 {
		chunks = (int(h.Length) + chunkSize - 1) / chunkSize
	}
	return int(h.Length) + bh + 11 + ext + (chunks-1)*(bh+ext)
}

// AppendChunks appends the chunks of one message to dst (RTMP 5.3.1): a type
// 0 header on the first chunk and type 3 headers on the continuations. A
// timestamp of 0xFFFFFF or more goes in the extended timestamp field, which
// the type 3 chunks repeat as ffmpeg, FMLE and FMS expect (RTMP 5.3.1.3).
//
// The payload is given in pieces (e.g. an FLV tag body header and the frame
// data) that are chunked as if concatenated; the message length written is
// their total and h.Length is ignored. csid must be in 2..65599, and a
// chunkSize below 1 means DefaultChunkSize. It does not allocate when dst has
// room for ChunkedLen bytes.
func AppendChunks(dst []byte, csid uint32, h MessageHeader, payload [][]byte, chunkSize int) []byte {
	if chunkSize < 1 {
		chunkSize = DefaultChunkSize
	}
	length := 0
	for _, p := range payload {
		length += len(p)
	}
	ts := h.Timestamp
	extended := ts >= 0xFFFFFF
	if extended {
		ts = 0xFFFFFF
	}
	dst = appendBasicHeader(dst, 0, csid)
	dst = append(dst, byte(ts>>16), byte(ts>>8), byte(ts),
		byte(length>>16), byte(length>>8), byte(length), h.Type)
	dst = binary.LittleEndian.AppendUint32(dst, h.StreamID)
	if extended {
		dst = binary.BigEndian.AppendUint32(dst, h.Timestamp)
	}
	room := chunkSize // payload bytes left in the current chunk
	for _, p := range payload {
		for len(p) > 0 {
			if room == 0 {
				dst = appendBasicHeader(dst, 3, csid)
				if extended {
					dst = binary.BigEndian.AppendUint32(dst, h.Timestamp)
				}
				room = chunkSize
			}
			n := min(room, len(p))
			dst = append(dst, p[:n]...)
			p = p[n:]
			room -= n
		}
	}
	return dst
}

// ChunkWriter writes control and command messages to a connection, each
// with one Write call. It keeps a scratch buffer, so that writing is
// allocation-free once the buffer has grown to the largest message. Media
// messages are better chunked with AppendChunks into pooled buffers and
// written with net.Buffers; the caller then keeps both on one goroutine or
// serializes them, as a ChunkWriter is not safe for concurrent use.
type ChunkWriter struct {
	w         io.Writer
	chunkSize int
	scratch   []byte
	body      []byte // AMF0 body scratch for WriteCommand
	payload   [1][]byte
	small     [16]byte
}

// WriteCommand sends an AMF0 command message (RTMP 7.1.1) on chunk stream
// csid and message stream sid, encoding into a reused scratch buffer.
func (w *ChunkWriter) WriteCommand(csid, sid uint32, name string, tid float64, obj any, args ...any) error {
	body, err := AppendCommand(w.body[:0], name, tid, obj, args...)
	if err != nil {
		return err
	}
	w.body = body
	return w.WriteMessage(csid, MessageHeader{Type: TypeCommandAMF0, StreamID: sid}, body)
}

// NewChunkWriter returns a writer to w with the chunk size at
// DefaultChunkSize.
func NewChunkWriter(w io.Writer) *ChunkWriter {
	return &ChunkWriter{w: w, chunkSize: DefaultChunkSize}
}

// ChunkSize returns the chunk size the writer uses.
func (cw *ChunkWriter) ChunkSize() int { return cw.chunkSize }

// WriteMessage writes one message on chunk stream csid; h.Length is taken
// from payload.
func (cw *ChunkWriter) WriteMessage(csid uint32, h MessageHeader, payload []byte) error {
	cw.payload[0] = payload
	cw.scratch = AppendChunks(cw.scratch[:0], csid, h, cw.payload[:], cw.chunkSize)
	cw.payload[0] = nil
	if _, err := cw.w.Write(cw.scratch); err != nil {
		return fmt.Errorf("rtmp: write message type %d: %w", h.Type, err)
	}
	return nil
}

// WriteControl writes a protocol control or user control message: chunk
// stream 2, message stream 0, timestamp 0 (RTMP 5.4).
func (cw *ChunkWriter) WriteControl(typ uint8, payload []byte) error {
	return cw.WriteMessage(CSIDProtocolControl, MessageHeader{Type: typ}, payload)
}

// SetChunkSize sends Set Chunk Size (RTMP 5.4.1) and chunks the following
// messages with n bytes, which must be in 1..0x7FFFFFFF.
func (cw *ChunkWriter) SetChunkSize(n int) error {
	if n < 1 || n > MaxChunkSize {
		return fmt.Errorf("%w: %d", ErrChunkSize, n)
	}
	if err := cw.WriteControl(TypeSetChunkSize, AppendSetChunkSize(cw.small[:0], uint32(n))); err != nil {
		return err
	}
	cw.chunkSize = n
	return nil
}

// WriteWindowAckSize sends Window Acknowledgement Size (RTMP 5.4.4).
func (cw *ChunkWriter) WriteWindowAckSize(n uint32) error {
	return cw.WriteControl(TypeWindowAckSize, AppendWindowAckSize(cw.small[:0], n))
}

// WriteSetPeerBandwidth sends Set Peer Bandwidth (RTMP 5.4.5).
func (cw *ChunkWriter) WriteSetPeerBandwidth(n uint32, limit uint8) error {
	return cw.WriteControl(TypeSetPeerBandwidth, AppendSetPeerBandwidth(cw.small[:0], n, limit))
}

// WriteAck sends Acknowledgement with the bytes received so far (RTMP
// 5.4.3); the sequence number wraps at 2^32.
func (cw *ChunkWriter) WriteAck(bytesRead uint64) error {
	return cw.WriteControl(TypeAck, AppendAck(cw.small[:0], uint32(bytesRead)))
}

// WriteUserControl sends a User Control Message (RTMP 7.1.7) with the
// event's 4-byte fields.
func (cw *ChunkWriter) WriteUserControl(event uint16, fields ...uint32) error {
	return cw.WriteControl(TypeUserControl, AppendUserControl(cw.small[:0], event, fields...))
}

// retimeScratch is the scratch retimeChunks needs: a type 0 header with an
// extended timestamp (3+11+4 bytes) and a type 3 header with one (3+4).
const retimeScratch = 32

// retimeChunks appends to vec the chunks of one message, wire as
// AppendChunks built it, as they go out with timestamp ts (RTMP 5.3.1.2):
// the new headers are written into scratch (retimeScratch bytes, which must
// stay untouched until vec is written) and the payload pieces are slices of
// wire, so that a player with its own timeline shares the payload of the
// cached chunks. Only the type 0 header carries the timestamp unless either
// timestamp needs the extended field, which every type 3 header repeats:
// then each chunk's payload is a piece of its own. wire goes whole when its
// timestamp is ts already.
func retimeChunks(vec [][]byte, wire []byte, ts uint32, chunkSize int, scratch []byte) [][]byte {
	bh := 1 // RTMP 5.3.1.1: csid 0 and 1 in the first byte mean 2 and 3 bytes
	switch wire[0] & 0x3f {
	case 0:
		bh = 2
	case 1:
		bh = 3
	}
	h0 := bh + 11
	old := uint32(wire[bh])<<16 | uint32(wire[bh+1])<<8 | uint32(wire[bh+2])
	ext := old == 0xFFFFFF
	if ext {
		old = binary.BigEndian.Uint32(wire[h0:])
		h0 += 4
	}
	if old == ts {
		return append(vec, wire)
	}
	next := ts >= 0xFFFFFF
	t := min(ts, 0xFFFFFF)
	hdr := append(scratch[:0], wire[:bh]...)
	hdr = append(hdr, byte(t>>16), byte(t>>8), byte(t))
	hdr = append(hdr, wire[bh+3:bh+11]...) // length, type, message stream id
	if next {
		hdr = binary.BigEndian.AppendUint32(hdr, ts)
	}
	if !ext && !next {
		return append(vec, hdr, wire[h0:])
	}
	cont := append(scratch[len(hdr):len(hdr)], wire[0]|3<<6) // format 3
	cont = append(cont, wire[1:bh]...)
	if next {
		cont = binary.BigEndian.AppendUint32(cont, ts)
	}
	skip := bh // the cached type 3 header
	if ext {
		skip += 4
	}
	length := int(wire[bh+3])<<16 | int(wire[bh+4])<<8 | int(wire[bh+5])
	vec = append(vec, hdr)
	for p := h0; length > 0; {
		n := min(chunkSize, length)
		vec = append(vec, wire[p:p+n])
		p += n
		length -= n
		if length > 0 {
			vec = append(vec, cont)
			p += skip
		}
	}
	return vec
}
