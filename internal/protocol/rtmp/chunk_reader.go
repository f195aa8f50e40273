package rtmp

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/srs-lite/srs-lite/internal/media"
)

// ReaderOptions bound what a ChunkReader accepts. Zero fields take the
// defaults.
type ReaderOptions struct {
	// MaxMessageSize caps a message's length; a longer message is an error.
	// Default DefaultMaxMessageSize (16 MiB).
	MaxMessageSize int
	// MaxChunkStreams caps how many chunk streams the peer may use.
	// Default DefaultMaxChunkStreams (64).
	MaxChunkStreams int
}

// initialAlloc is the most a message buffer gets before its bytes arrive:
// longer messages grow their buffer as chunks come in, so that a bogus
// length field costs no more memory than the bytes actually sent.
const initialAlloc = 256 << 10

// getBuf and releaseBuf get and drop message buffers; tests swap them to
// account for every buffer.
var (
	getBuf     = media.GetBuf
	releaseBuf = (*media.Buf).Release
)

// chunkStream is the state of one chunk stream, RTMP 5.3.1.
type chunkStream struct {
	csid      uint32
	hasHeader bool   // a type 0 header was seen
	timestamp uint32 // absolute timestamp of the current or last message
	delta     uint32 // last timestamp field: absolute for type 0, a delta otherwise
	length    uint32
	typ       uint8
	streamID  uint32
	extended  bool   // the last type 0/1/2 header had an extended timestamp
	extValue  uint32 // its value

	// The message being read.
	inProgress bool
	buf        *media.Buf
	got        int
}

// ChunkReader reads messages from an RTMP chunk stream (RTMP 5.3). It
// applies Set Chunk Size and Abort Message (RTMP 5.4.1, 5.4.2) itself and
// does not return them; every other message is returned.
//
// A ChunkReader is not safe for concurrent use. Close releases the buffers
// of partly read messages.
type ChunkReader struct {
	br        *bufio.Reader
	chunkSize int
	maxMsg    int
	maxCS     int
	bytesRead uint64
	low       [64]*chunkStream // csid < 64
	high      map[uint32]*chunkStream
	n         int
	scratch   [16]byte
}

// NewChunkReader returns a reader of the chunk stream on r. When r is a
// *bufio.Reader it is used as is (so bytes buffered by an earlier reader are
// not lost), otherwise r is wrapped in one. The peer's chunk size starts at
// DefaultChunkSize.
func NewChunkReader(r io.Reader, opts ReaderOptions) *ChunkReader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 4096)
	}
	if opts.MaxMessageSize <= 0 {
		opts.MaxMessageSize = DefaultMaxMessageSize
	}
	if opts.MaxChunkStreams <= 0 {
		opts.MaxChunkStreams = DefaultMaxChunkStreams
	}
	return &ChunkReader{
		br:        br,
		chunkSize: DefaultChunkSize,
		maxMsg:    opts.MaxMessageSize,
		maxCS:     opts.MaxChunkStreams,
	}
}

// BytesRead returns how many bytes of the chunk stream the reader has
// consumed. The caller sends an Acknowledgement (RTMP 5.4.3) whenever it
// passes the peer's window.
func (r *ChunkReader) BytesRead() uint64 { return r.bytesRead }

// ChunkSize returns the peer's current chunk size.
func (r *ChunkReader) ChunkSize() int { return r.chunkSize }

// Close releases the buffers of partly read messages. The reader must not be
// used afterwards.
func (r *ChunkReader) Close() {
	r.each(func(cs *chunkStream) { cs.drop() })
}

func (r *ChunkReader) release(m *Message) {
	if m.Buf != nil {
		releaseBuf(m.Buf)
	}
}

func (r *ChunkReader) each(fn func(*chunkStream)) {
	for _, cs := range r.low {
		if cs != nil {
			fn(cs)
		}
	}
	for _, cs := range r.high {
		fn(cs)
	}
}

func (cs *chunkStream) drop() {
	if cs.buf != nil {
		releaseBuf(cs.buf)
		cs.buf = nil
	}
	cs.inProgress = false
	cs.got = 0
}

func (r *ChunkReader) stream(csid uint32) (*chunkStream, error) {
	var cs *chunkStream
	if csid < 64 {
		cs = r.low[csid]
	} else {
		cs = r.high[csid]
	}
	if cs != nil {
		return cs, nil
	}
	if r.n >= r.maxCS {
		return nil, fmt.Errorf("%w: %d", ErrTooManyChunkStreams, r.n+1)
	}
	cs = &chunkStream{csid: csid}
	if csid < 64 {
		r.low[csid] = cs
	} else {
		if r.high == nil {
			r.high = make(map[uint32]*chunkStream)
		}
		r.high[csid] = cs
	}
	r.n++
	return cs, nil
}

func (r *ChunkReader) read(n int) ([]byte, error) {
	p := r.scratch[:n]
	if _, err := io.ReadFull(r.br, p); err != nil {
		if err == io.EOF && n > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	r.bytesRead += uint64(n)
	return p, nil
}

func u24(p []byte) uint32 { return uint32(p[0])<<16 | uint32(p[1])<<8 | uint32(p[2]) }

// ReadMessage reads chunks until a message is complete and returns it; the
// caller owns its Buf (see Message). It returns io.EOF when the stream ends
// cleanly between chunks and an error wrapping io.ErrUnexpectedEOF when it
// ends inside one. After an error the reader must not be used, except for
// Close.
func (r *ChunkReader) ReadMessage() (Message, error) {
	for {
		m, done, err := r.readChunk()
		if err != nil {
			return Message{}, err
		}
		if !done {
			continue
		}
		switch m.Type {
		case TypeSetChunkSize: // RTMP 5.4.1
			n, err := ParseSetChunkSize(m.Payload)
			r.release(&m)
			if err != nil {
				return Message{}, err
			}
			// Chunks never exceed a message, and messages are capped at
			// maxMsg: any larger chunk size reads the same.
			r.chunkSize = int(min(n, uint32(r.maxMsg)))
			continue
		case TypeAbort: // RTMP 5.4.2
			csid, err := ParseAbort(m.Payload)
			r.release(&m)
			if err != nil {
				return Message{}, err
			}
			var cs *chunkStream
			if csid < 64 {
				cs = r.low[csid]
			} else {
				cs = r.high[csid]
			}
			if cs != nil {
				cs.drop()
			}
			continue
		}
		return m, nil
	}
}

// readChunk reads one chunk, RTMP 5.3.1, and returns the message it
// completes, if any.
func (r *ChunkReader) readChunk() (Message, bool, error) {
	// Basic header, RTMP 5.3.1.1.
	b0, err := r.br.ReadByte()
	if err != nil {
		return Message{}, false, err // io.EOF between chunks is a clean end
	}
	r.bytesRead++
	format := b0 >> 6
	csid := uint32(b0 & 0x3F)
	switch csid {
	case 0:
		p, err := r.read(1)
		if err != nil {
			return Message{}, false, fmt.Errorf("rtmp: chunk basic header: %w", err)
		}
		csid = uint32(p[0]) + 64
	case 1:
		p, err := r.read(2)
		if err != nil {
			return Message{}, false, fmt.Errorf("rtmp: chunk basic header: %w", err)
		}
		csid = uint32(p[1])<<8 + uint32(p[0]) + 64
	}
	cs, err := r.stream(csid)
	if err != nil {
		return Message{}, false, err
	}

	// Message header, RTMP 5.3.1.2.
	if format != 3 && cs.inProgress {
		return Message{}, false, fmt.Errorf("%w: csid %d: type %d header inside a message", ErrChunkStream, csid, format)
	}
	if !cs.hasHeader && format != 0 {
		// librtmp opens chunk stream 2 with a type 1 header for its pings
		// (ossrs/srs#98): accept that one, with message stream 0.
		if !(format == 1 && csid == CSIDProtocolControl) {
			return Message{}, false, fmt.Errorf("%w: csid %d: type %d header before type 0", ErrChunkStream, csid, format)
		}
	}
	var tsField uint32
	switch format {
	case 0:
		p, err := r.read(11)
		if err != nil {
			return Message{}, false, fmt.Errorf("rtmp: chunk message header: %w", err)
		}
		tsField = u24(p[0:3])
		cs.length = u24(p[3:6])
		cs.typ = p[6]
		cs.streamID = binary.LittleEndian.Uint32(p[7:11])
	case 1:
		p, err := r.read(7)
		if err != nil {
			return Message{}, false, fmt.Errorf("rtmp: chunk message header: %w", err)
		}
		tsField = u24(p[0:3])
		cs.length = u24(p[3:6])
		cs.typ = p[6]
	case 2:
		p, err := r.read(3)
		if err != nil {
			return Message{}, false, fmt.Errorf("rtmp: chunk message header: %w", err)
		}
		tsField = u24(p[0:3])
	}

	// Extended timestamp, RTMP 5.3.1.3.
	if format != 3 {
		cs.extended = tsField == 0xFFFFFF
		if cs.extended {
			p, err := r.read(4)
			if err != nil {
				return Message{}, false, fmt.Errorf("rtmp: extended timestamp: %w", err)
			}
			tsField = binary.BigEndian.Uint32(p)
			cs.extValue = tsField
		}
		cs.delta = tsField
		if format == 0 {
			cs.timestamp = tsField
		} else {
			cs.timestamp += tsField
		}
		cs.hasHeader = true
	} else if cs.extended {
		if !cs.inProgress {
			// A type 3 chunk starting a message carries the field.
			p, err := r.read(4)
			if err != nil {
				return Message{}, false, fmt.Errorf("rtmp: extended timestamp: %w", err)
			}
			cs.extValue = binary.BigEndian.Uint32(p)
			cs.delta = cs.extValue
		} else {
			// Continuation chunks repeat it (ffmpeg, FMLE, FMS), but some
			// senders leave it out: take the 4 bytes only when they match
			// (as SRS does).
			// A short peek is no match; the data read below reports a
			// truncated stream.
			if p, err := r.br.Peek(4); err == nil && binary.BigEndian.Uint32(p) == cs.extValue {
				r.br.Discard(4)
				r.bytesRead += 4
			}
		}
	}
	if format == 3 && !cs.inProgress {
		// RTMP 5.3.1.2.4: a new message with the previous header; the delta
		// repeats (after a type 0 header, its timestamp is the delta).
		cs.timestamp += cs.delta
	}

	// Chunk data.
	if !cs.inProgress {
		if int64(cs.length) > int64(r.maxMsg) {
			return Message{}, false, fmt.Errorf("%w: %d bytes", ErrMessageTooLarge, cs.length)
		}
		cs.inProgress = true
		cs.got = 0
		if cs.length > 0 {
			cs.buf = getBuf(min(int(cs.length), initialAlloc))
		}
	}
	n := min(int(cs.length)-cs.got, r.chunkSize)
	if n > 0 {
		if cs.got+n > len(cs.buf.Bytes()) {
			r.grow(cs, cs.got+n)
		}
		if _, err := io.ReadFull(r.br, cs.buf.Bytes()[cs.got:cs.got+n]); err != nil {
			return Message{}, false, fmt.Errorf("rtmp: chunk data: %w", unexpected(err))
		}
		r.bytesRead += uint64(n)
		cs.got += n
	}
	if cs.got < int(cs.length) {
		return Message{}, false, nil
	}
	m := Message{
		Type:      cs.typ,
		StreamID:  cs.streamID,
		Timestamp: cs.timestamp,
		CSID:      cs.csid,
		Buf:       cs.buf,
	}
	if cs.buf != nil {
		m.Payload = cs.buf.Bytes()[:cs.length]
	}
	cs.buf = nil
	cs.inProgress = false
	cs.got = 0
	return m, true, nil
}

// grow replaces the message buffer of cs with one of at least need bytes,
// doubling, up to the message length.
func (r *ChunkReader) grow(cs *chunkStream, need int) {
	size := min(max(need, 2*len(cs.buf.Bytes())), int(cs.length))
	nb := getBuf(size)
	copy(nb.Bytes(), cs.buf.Bytes()[:cs.got])
	releaseBuf(cs.buf)
	cs.buf = nb
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
