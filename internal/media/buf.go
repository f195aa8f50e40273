package media

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// Size classes of the buffer pool: powers of two from 2^minClassShift to
// 2^maxClassShift bytes. Larger buffers are allocated and left to the GC.
const (
	minClassShift = 6  // 64 B
	maxClassShift = 22 // 4 MiB
	numClasses    = maxClassShift - minClassShift + 1
)

// Wire kinds name the lazily built, shared wire encodings of a frame
// ("encode once"): each protocol that caches a frame's bytes on the wire uses
// its own kind.
const (
	WireRTMP = iota // RTMP chunks of the message
	WireFLV         // FLV tag: header, body and previous tag size
	WireTS          // MPEG-TS packets
	WireRTP         // RTP packets (rtp.Packetizer): records of a 2-byte length and a packet
	numWireKinds
)

var pools [numClasses]sync.Pool

func init() {
	for i := range pools {
		size := 1 << (i + minClassShift)
		cls := int8(i)
		pools[i].New = func() any { return &Buf{b: make([]byte, size), class: cls} }
	}
}

// Buf is a pooled, reference-counted byte buffer. It owns the payload of one
// frame and, lazily, that frame's wire encodings.
type Buf struct {
	b     []byte
	refs  atomic.Int32
	class int8 // pool index, -1 when not pooled

	mu   sync.Mutex
	wire [numWireKinds]wireEntry
}

type wireEntry struct {
	key uint32
	buf *Buf
	n   int
}

// GetBuf returns a buffer of at least n bytes holding one reference. Its
// first n bytes are Bytes(); their content is undefined.
func GetBuf(n int) *Buf {
	cls := classOf(n)
	var b *Buf
	if cls < 0 {
		b = &Buf{b: make([]byte, n), class: -1}
	} else {
		b = pools[cls].Get().(*Buf)
	}
	b.refs.Store(1)
	b.b = b.b[:cap(b.b)]
	return b
}

func classOf(n int) int {
	if n <= 1<<minClassShift {
		return 0
	}
	c := bits.Len(uint(n-1)) - minClassShift
	if c >= numClasses {
		return -1
	}
	return c
}

// Bytes returns the whole buffer.
func (b *Buf) Bytes() []byte { return b.b }

// Retain takes one more reference.
func (b *Buf) Retain() { b.refs.Add(1) }

// Release drops one reference; the last one returns the buffer, and its wire
// encodings, to the pool.
func (b *Buf) Release() {
	n := b.refs.Add(-1)
	if n > 0 {
		return
	}
	if n < 0 {
		panic("media: Buf released more often than retained")
	}
	for i := range b.wire {
		if w := b.wire[i].buf; w != nil {
			w.Release()
			b.wire[i] = wireEntry{}
		}
	}
	if b.class >= 0 {
		pools[b.class].Put(b)
	}
}

// Wire returns the cached wire encoding of the given kind built with key
// (a protocol's parameters, such as the RTMP chunk size), or nil.
// The bytes are valid while the caller holds a reference on b.
func (b *Buf) Wire(kind int, key uint32) []byte {
	b.mu.Lock()
	e := b.wire[kind]
	b.mu.Unlock()
	if e.buf == nil || e.key != key {
		return nil
	}
	return e.buf.b[:e.n]
}

// SetWire caches data[:n] as the wire encoding of the given kind and key and
// returns the cached bytes and true; the caller's reference on data is handed
// over. When an encoding of that kind is cached already, data is released and
// the cached one is returned if its key matches. If the key differs (a
// setting changed while the frame was live), it returns nil, false and the
// caller keeps data, uses it and releases it itself.
func (b *Buf) SetWire(kind int, key uint32, data *Buf, n int) ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := &b.wire[kind]
	if e.buf != nil {
		if e.key != key {
			return nil, false
		}
		data.Release()
		return e.buf.b[:e.n], true
	}
	*e = wireEntry{key: key, buf: data, n: n}
	return data.b[:n], true
}
