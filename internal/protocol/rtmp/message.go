// Package rtmp implements the wire layer of RTMP (Adobe RTMP specification
// 1.0): the handshake, the chunk stream reader and writer, protocol control
// and user control messages, aggregate messages and AMF command bodies.
// Sessions (connect, publish, play) are built on top of it.
package rtmp

import (
	"errors"

	"github.com/srs-lite/srs-lite/internal/media"
)

// Message type IDs, RTMP 5.4 and 7.1.
const (
	TypeSetChunkSize     uint8 = 1  // RTMP 5.4.1
	TypeAbort            uint8 = 2  // RTMP 5.4.2
	TypeAck              uint8 = 3  // RTMP 5.4.3
	TypeUserControl      uint8 = 4  // RTMP 6.2, 7.1.7
	TypeWindowAckSize    uint8 = 5  // RTMP 5.4.4
	TypeSetPeerBandwidth uint8 = 6  // RTMP 5.4.5
	TypeAudio            uint8 = 8  // RTMP 7.1.4
	TypeVideo            uint8 = 9  // RTMP 7.1.5
	TypeDataAMF3         uint8 = 15 // RTMP 7.1.2
	TypeSharedObjectAMF3 uint8 = 16 // RTMP 7.1.3
	TypeCommandAMF3      uint8 = 17 // RTMP 7.1.1
	TypeDataAMF0         uint8 = 18 // RTMP 7.1.2
	TypeSharedObjectAMF0 uint8 = 19 // RTMP 7.1.3
	TypeCommandAMF0      uint8 = 20 // RTMP 7.1.1
	TypeAggregate        uint8 = 22 // RTMP 7.1.6
)

// Chunking constants and the reader's default limits.
const (
	// CSIDProtocolControl is the chunk stream of protocol control messages
	// (RTMP 5.4).
	CSIDProtocolControl uint32 = 2
	// DefaultChunkSize is the chunk size both sides start with (RTMP 5.4.1).
	DefaultChunkSize = 128
	// MaxChunkSize is the largest chunk size Set Chunk Size can carry
	// (RTMP 5.4.1).
	MaxChunkSize = 0x7FFFFFFF
	// DefaultMaxMessageSize caps a ChunkReader's messages by default; a
	// larger peer chunk size reads as this one.
	DefaultMaxMessageSize = 16 << 20
	// DefaultMaxChunkStreams caps a ChunkReader's chunk streams by default.
	DefaultMaxChunkStreams = 64
)

// User control event types, RTMP 7.1.7.
const (
	EventStreamBegin      uint16 = 0
	EventStreamEOF        uint16 = 1
	EventStreamDry        uint16 = 2
	EventSetBufferLength  uint16 = 3
	EventStreamIsRecorded uint16 = 4
	EventPingRequest      uint16 = 6
	EventPingResponse     uint16 = 7
)

// Limit types of Set Peer Bandwidth, RTMP 5.4.5.
const (
	LimitHard    uint8 = 0
	LimitSoft    uint8 = 1
	LimitDynamic uint8 = 2
)

// Errors of the wire layer.
var (
	// ErrVersion reports a C0 or S0 version other than 3.
	ErrVersion = errors.New("rtmp: unsupported version")
	// ErrHandshakeDigest reports an S2 whose digest does not verify.
	ErrHandshakeDigest = errors.New("rtmp: handshake digest mismatch")
	// ErrChunkStream reports a chunk that does not fit its chunk stream: a
	// continuation or delta header without a previous full header, or a new
	// header in the middle of a message.
	ErrChunkStream = errors.New("rtmp: bad chunk stream")
	// ErrTooManyChunkStreams reports more chunk streams than the reader's cap.
	ErrTooManyChunkStreams = errors.New("rtmp: too many chunk streams")
	// ErrMessageTooLarge reports a message longer than the reader's cap.
	ErrMessageTooLarge = errors.New("rtmp: message too large")
	// ErrChunkSize reports an invalid Set Chunk Size value.
	ErrChunkSize = errors.New("rtmp: bad chunk size")
	// ErrShortPayload reports a control or aggregate payload that is too
	// short for its fields.
	ErrShortPayload = errors.New("rtmp: short payload")
	// ErrCommand reports a command body without a name or transaction ID.
	ErrCommand = errors.New("rtmp: bad command")
)

// MessageHeader is what a message's chunk headers carry, RTMP 5.3.1.2.
type MessageHeader struct {
	Timestamp uint32 // milliseconds, absolute
	Length    uint32 // payload bytes
	Type      uint8
	StreamID  uint32 // message stream ID
}

// Message is one RTMP message (RTMP 6.1).
//
// Ownership: Buf is the pooled buffer holding Payload, at Buf.Bytes()
// [Offset:Offset+len(Payload)], and the holder owns one reference on it.
// A message from ChunkReader.ReadMessage belongs to the caller, who either
// hands the reference to a media.Frame (Frame.SetBuf(m.Buf, m.Offset, n))
// or calls Release. Buf is nil for an empty payload.
type Message struct {
	Type      uint8
	StreamID  uint32
	Timestamp uint32
	CSID      uint32
	Payload   []byte
	Offset    int // where Payload starts in Buf.Bytes()
	Buf       *media.Buf
}

// Release drops the message's reference on Buf, if any, and clears Payload.
func (m *Message) Release() {
	if m.Buf != nil {
		m.Buf.Release()
		m.Buf = nil
	}
	m.Payload = nil
}
