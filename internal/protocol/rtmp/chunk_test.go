package rtmp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/srs-lite/srs-lite/internal/media"
)

// bufCounter swaps the reader's buffer hooks to count outstanding buffers.
type bufCounter struct {
	mu      sync.Mutex
	live    map[*media.Buf]int
	maxSize int
}

func countBufs(t testing.TB) *bufCounter {
	c := &bufCounter{live: map[*media.Buf]int{}}
	oldGet, oldRelease := getBuf, releaseBuf
	getBuf = func(n int) *media.Buf {
		b := oldGet(n)
		c.mu.Lock()
		c.live[b]++
		c.maxSize = max(c.maxSize, n)
		c.mu.Unlock()
		return b
	}
	releaseBuf = func(b *media.Buf) {
		c.mu.Lock()
		c.live[b]--
		if c.live[b] == 0 {
			delete(c.live, b)
		}
		c.mu.Unlock()
		oldRelease(b)
	}
	t.Cleanup(func() { getBuf, releaseBuf = oldGet, oldRelease })
	return c
}

// release drops a message's buffer through the counted hook.
func (c *bufCounter) release(m *Message) {
	if m.Buf != nil {
		releaseBuf(m.Buf)
		m.Buf = nil
	}
}

func (c *bufCounter) outstanding() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.live)
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	s = strings.Join(strings.Fields(s), "")
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31) + seed
	}
	return b
}

type testMsg struct {
	csid uint32
	h    MessageHeader
	p    []byte
}

// TestRoundTrip writes messages with AppendChunks and the ChunkWriter and
// reads them back, across chunk sizes, csid encodings and timestamps.
func TestRoundTrip(t *testing.T) {
	sizes := []int{0, 1, 127, 128, 129, 4096, 30000, 70000}
	timestamps := []uint32{0, 40, 0xFFFFFE, 0xFFFFFF, 0x12345678}
	csids := []uint32{2, 3, 63, 64, 65, 319, 320, 65599}
	for _, chunkSize := range []int{1, 128, 4096, 60000} {
		t.Run(fmt.Sprint("chunk=", chunkSize), func(t *testing.T) {
			bc := countBufs(t)
			var msgs []testMsg
			for i, n := range sizes {
				for j, ts := range timestamps {
					msgs = append(msgs, testMsg{
						csid: csids[(i+j)%len(csids)],
						h:    MessageHeader{Timestamp: ts, Type: TypeVideo, StreamID: uint32(i)},
						p:    pattern(n, byte(j)),
					})
				}
			}
			var wire bytes.Buffer
			cw := NewChunkWriter(&wire)
			if chunkSize != DefaultChunkSize {
				if err := cw.SetChunkSize(chunkSize); err != nil {
					t.Fatal(err)
				}
			}
			for i, m := range msgs {
				if i%2 == 0 {
					if err := cw.WriteMessage(m.csid, m.h, m.p); err != nil {
						t.Fatal(err)
					}
					continue
				}
				// In two pieces, into a buffer sized by ChunkedLen.
				h := m.h
				h.Length = uint32(len(m.p))
				want := ChunkedLen(m.csid, h, chunkSize)
				dst := make([]byte, 0, want)
				cut := len(m.p) / 3
				dst = AppendChunks(dst, m.csid, h, [][]byte{m.p[:cut], m.p[cut:]}, chunkSize)
				if len(dst) != want || cap(dst) != want {
					t.Fatalf("msg %d: AppendChunks wrote %d bytes (cap %d), ChunkedLen %d", i, len(dst), cap(dst), want)
				}
				wire.Write(dst)
			}
			total := wire.Len()
			r := NewChunkReader(&wire, ReaderOptions{})
			for i, want := range msgs {
				m, err := r.ReadMessage()
				if err != nil {
					t.Fatalf("msg %d: %v", i, err)
				}
				if m.CSID != want.csid || m.Timestamp != want.h.Timestamp || m.Type != want.h.Type ||
					m.StreamID != want.h.StreamID || !bytes.Equal(m.Payload, want.p) {
					t.Fatalf("msg %d: got csid %d ts %d type %d sid %d len %d, want %+v len %d", i,
						m.CSID, m.Timestamp, m.Type, m.StreamID, len(m.Payload), want.h, len(want.p))
				}
				if (m.Buf == nil) != (len(want.p) == 0) {
					t.Fatalf("msg %d: Buf %v for %d bytes", i, m.Buf, len(want.p))
				}
				bc.release(&m)
			}
			if _, err := r.ReadMessage(); err != io.EOF {
				t.Fatalf("end: %v", err)
			}
			if r.ChunkSize() != chunkSize {
				t.Fatalf("reader chunk size %d", r.ChunkSize())
			}
			if r.BytesRead() != uint64(total) {
				t.Fatalf("BytesRead %d, wire %d", r.BytesRead(), total)
			}
			r.Close()
			if n := bc.outstanding(); n != 0 {
				t.Fatalf("%d buffers not released", n)
			}
		})
	}
}

type wantMsg struct {
	csid    uint32
	typ     uint8
	sid     uint32
	ts      uint32
	payload string // hex
}

// TestVectors reads hand-built chunk streams (RTMP 5.3.1).
func TestVectors(t *testing.T) {
	p200 := strings.Repeat("ab", 200)
	tests := []struct {
		name  string
		input string
		want  []wantMsg
	}{
		{
			name:  "fmt0 csid 3",
			input: "03 0003e8 000002 14 01000000 cafe",
			want:  []wantMsg{{3, 20, 1, 1000, "cafe"}},
		},
		{
			name:  "csid 64 two-byte basic header",
			input: "00 00 000001 000001 08 00000000 11",
			want:  []wantMsg{{64, 8, 0, 1, "11"}},
		},
		{
			name:  "csid 320 three-byte basic header",
			input: "01 00 01 000001 000001 08 00000000 11",
			want:  []wantMsg{{320, 8, 0, 1, "11"}},
		},
		{
			name:  "csid 65599",
			input: "01 ff ff 000001 000001 08 00000000 11",
			want:  []wantMsg{{65599, 8, 0, 1, "11"}},
		},
		{
			// RTMP 5.3.2.1: fmt 1/2 deltas accumulate, fmt 3 repeats the
			// delta; after fmt 0 the delta is its timestamp.
			name: "fmt 0 1 2 3 timestamps",
			input: "04 0003e8 000001 08 01000000 a1" + // ts 1000
				"c4 b1" + // fmt3 after fmt0: +1000
				"44 000014 000002 09 b2b2" + // fmt1: +20, new length and type
				"84 00001e b3b3" + // fmt2: +30
				"c4 b4b4", // fmt3: +30
			want: []wantMsg{
				{4, 8, 1, 1000, "a1"},
				{4, 8, 1, 2000, "b1"},
				{4, 9, 1, 2020, "b2b2"},
				{4, 9, 1, 2050, "b3b3"},
				{4, 9, 1, 2080, "b4b4"},
			},
		},
		{
			// RTMP 5.3.1.3; the continuation repeats the extended timestamp
			// as ffmpeg and FMLE write it.
			name: "extended timestamp repeated on fmt 3",
			input: "06 ffffff 0000c8 09 01000000 01000000" + p200[:256] +
				"c6 01000000" + p200[256:],
			want: []wantMsg{{6, 9, 1, 0x01000000, p200}},
		},
		{
			name: "extended timestamp omitted on fmt 3 continuation",
			input: "06 ffffff 0000c8 09 01000000 01000000" + p200[:256] +
				"c6" + p200[256:],
			want: []wantMsg{{6, 9, 1, 0x01000000, p200}},
		},
		{
			name: "extended delta on fmt 3 new message",
			input: "06 000010 000001 09 01000000 a1" + // ts 16
				"86 ffffff 01000000 a2" + // fmt2: extended delta 0x01000000
				"c6 01000000 a3", // fmt3 new message: carries and repeats the delta
			want: []wantMsg{
				{6, 9, 1, 16, "a1"},
				{6, 9, 1, 16 + 0x01000000, "a2"},
				{6, 9, 1, 16 + 0x02000000, "a3"},
			},
		},
		{
			name: "interleaved chunk streams",
			input: "04 000001 0000c8 09 01000000" + p200[:256] +
				"05 000002 000002 08 01000000 c0c1" +
				"c4" + p200[256:],
			want: []wantMsg{{5, 8, 1, 2, "c0c1"}, {4, 9, 1, 1, p200}},
		},
		{
			name: "set chunk size applies to the next chunk",
			input: "02 000000 000004 01 00000000 00000100" +
				"04 000001 0000c8 09 01000000" + p200,
			want: []wantMsg{{4, 9, 1, 1, p200}},
		},
		{
			name: "abort drops the partial message",
			input: "04 000001 0000c8 09 01000000" + p200[:256] +
				"02 000000 000004 02 00000000 00000004" +
				"04 000005 000001 08 01000000 ee",
			want: []wantMsg{{4, 8, 1, 5, "ee"}},
		},
		{
			name:  "librtmp opens csid 2 with fmt 1",
			input: "42 000000 000006 04 0006 00000d0f",
			want:  []wantMsg{{2, 4, 0, 0, "000600000d0f"}},
		},
		{
			name:  "empty message",
			input: "03 000007 000000 14 00000000",
			want:  []wantMsg{{3, 20, 0, 7, ""}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bc := countBufs(t)
			in := unhex(t, tt.input)
			r := NewChunkReader(bytes.NewReader(in), ReaderOptions{})
			for i, w := range tt.want {
				m, err := r.ReadMessage()
				if err != nil {
					t.Fatalf("msg %d: %v", i, err)
				}
				got := wantMsg{m.CSID, m.Type, m.StreamID, m.Timestamp, hex.EncodeToString(m.Payload)}
				if got != w {
					t.Fatalf("msg %d: got %+v, want %+v", i, got, w)
				}
				bc.release(&m)
			}
			if _, err := r.ReadMessage(); err != io.EOF {
				t.Fatalf("end: %v", err)
			}
			if r.BytesRead() != uint64(len(in)) {
				t.Fatalf("BytesRead %d of %d", r.BytesRead(), len(in))
			}
			r.Close()
			if n := bc.outstanding(); n != 0 {
				t.Fatalf("%d buffers not released", n)
			}
		})
	}
}

func TestMalformed(t *testing.T) {
	tests := []struct {
		name  string
		input string
		opts  ReaderOptions
		want  error
	}{
		{"fmt 3 on unknown csid", "c3 00", ReaderOptions{}, ErrChunkStream},
		{"fmt 1 before fmt 0", "43 000000 000001 08 00", ReaderOptions{}, ErrChunkStream},
		{"fmt 2 before fmt 0", "83 000000 00", ReaderOptions{}, ErrChunkStream},
		{"fmt 0 inside a message", "04 000001 0000c8 09 01000000" + strings.Repeat("00", 128) +
			"04 000001 000001 09 01000000 00", ReaderOptions{}, ErrChunkStream},
		{"chunk size 0", "02 000000 000004 01 00000000 00000000", ReaderOptions{}, ErrChunkSize},
		{"chunk size bit 31", "02 000000 000004 01 00000000 80000000", ReaderOptions{}, ErrChunkSize},
		{"short set chunk size", "02 000000 000002 01 00000000 0001", ReaderOptions{}, ErrShortPayload},
		{"message over the cap", "03 000000 100001 09 01000000", ReaderOptions{MaxMessageSize: 1 << 20}, ErrMessageTooLarge},
		{"too many chunk streams", "03 000000 000000 09 01000000 04 000000 000000 09 01000000",
			ReaderOptions{MaxChunkStreams: 1}, ErrTooManyChunkStreams},
		{"truncated basic header", "00", ReaderOptions{}, io.ErrUnexpectedEOF},
		{"truncated message header", "03 0000", ReaderOptions{}, io.ErrUnexpectedEOF},
		{"truncated extended timestamp", "03 ffffff 000001 09 01000000 00", ReaderOptions{}, io.ErrUnexpectedEOF},
		{"truncated data", "03 000000 000010 09 01000000 0102", ReaderOptions{}, io.ErrUnexpectedEOF},
		{"huge length, few bytes", "03 000000 ffffff 09 01000000" + strings.Repeat("00", 100), ReaderOptions{}, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bc := countBufs(t)
			r := NewChunkReader(bytes.NewReader(unhex(t, tt.input)), tt.opts)
			var err error
			for err == nil {
				var m Message
				m, err = r.ReadMessage()
				bc.release(&m)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if bc.maxSize > initialAlloc {
				t.Fatalf("allocated %d bytes before reading them", bc.maxSize)
			}
			r.Close()
			if n := bc.outstanding(); n != 0 {
				t.Fatalf("%d buffers not released", n)
			}
		})
	}
}

// TestGrow reads a message longer than the initial allocation in small
// chunks, so that its buffer grows.
func TestGrow(t *testing.T) {
	bc := countBufs(t)
	p := pattern(initialAlloc*3+5, 9)
	var wire bytes.Buffer
	cw := NewChunkWriter(&wire)
	cw.SetChunkSize(1000)
	cw.WriteMessage(7, MessageHeader{Timestamp: 3, Type: TypeVideo, StreamID: 1}, p)
	r := NewChunkReader(&wire, ReaderOptions{})
	m, err := r.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.Payload, p) {
		t.Fatal("payload differs")
	}
	bc.release(&m)
	if n := bc.outstanding(); n != 0 {
		t.Fatalf("%d buffers not released", n)
	}
}

// TestFFmpegPublish reads the chunk stream that ffmpeg 5.1 sent after the
// handshake when publishing H.264/AAC; it sets its chunk size to 60000.
func TestFFmpegPublish(t *testing.T) {
	bc := countBufs(t)
	in, err := os.ReadFile("testdata/ffmpeg_publish.chunks")
	if err != nil {
		t.Fatal(err)
	}
	r := NewChunkReader(bytes.NewReader(in), ReaderOptions{})
	var names []string
	counts := map[uint8]int{}
	var lastVideo uint32
	for {
		m, err := r.ReadMessage()
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				break // the capture ends mid-message
			}
			t.Fatal(err)
		}
		counts[m.Type]++
		switch m.Type {
		case TypeCommandAMF0:
			c, err := ParseCommand(m.Payload, false)
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, c.Name)
		case TypeVideo:
			if m.Timestamp < lastVideo {
				t.Fatalf("video timestamp went back: %d after %d", m.Timestamp, lastVideo)
			}
			lastVideo = m.Timestamp
		}
		bc.release(&m)
	}
	r.Close()
	if got := strings.Join(names, ","); got != "connect,releaseStream,FCPublish,createStream,publish" {
		t.Fatalf("commands %s", got)
	}
	if r.ChunkSize() != 60000 {
		t.Fatalf("chunk size %d", r.ChunkSize())
	}
	if counts[TypeDataAMF0] != 1 || counts[TypeVideo] < 15 || counts[TypeAudio] < 15 {
		t.Fatalf("message counts %v", counts)
	}
	if n := bc.outstanding(); n != 0 {
		t.Fatalf("%d buffers not released", n)
	}
}

func TestChunkWriterChunkSize(t *testing.T) {
	var w bytes.Buffer
	cw := NewChunkWriter(&w)
	bad := []int{0, -1}
	if big := int64(MaxChunkSize) + 1; int64(int(big)) == big { // 64-bit int
		bad = append(bad, int(big))
	}
	for _, n := range bad {
		if err := cw.SetChunkSize(n); !errors.Is(err, ErrChunkSize) {
			t.Fatalf("SetChunkSize(%d) = %v", n, err)
		}
	}
	if w.Len() != 0 || cw.ChunkSize() != DefaultChunkSize {
		t.Fatal("a refused chunk size was sent or applied")
	}
	if err := cw.SetChunkSize(4096); err != nil {
		t.Fatal(err)
	}
	want := unhex(t, "02 000000 000004 01 00000000 00001000") // RTMP 5.4.1
	if !bytes.Equal(w.Bytes(), want) || cw.ChunkSize() != 4096 {
		t.Fatalf("wire % x", w.Bytes())
	}
}

// TestWriterExtendedTimestamp checks the type 3 continuation chunks repeat
// the extended timestamp (RTMP 5.3.1.3).
func TestWriterExtendedTimestamp(t *testing.T) {
	p := pattern(5, 0)
	got := AppendChunks(nil, 3, MessageHeader{Timestamp: 0x01020304, Type: 9, StreamID: 1}, [][]byte{p[:1], p[1:]}, 2)
	want := unhex(t, "03 ffffff 000005 09 01000000 01020304 001f"+
		"c3 01020304 3e5d"+
		"c3 01020304 7c")
	if !bytes.Equal(got, want) {
		t.Fatalf("got  % x\nwant % x", got, want)
	}
}

func TestAllocs(t *testing.T) {
	frame := pattern(30000, 1)
	hdr := []byte{0x17, 1, 0, 0, 0}
	h := MessageHeader{Timestamp: 0x1000000, Length: uint32(len(hdr) + len(frame)), Type: TypeVideo, StreamID: 1}
	dst := make([]byte, 0, ChunkedLen(6, h, 4096))
	pieces := [][]byte{hdr, frame}
	if n := testing.AllocsPerRun(100, func() {
		dst = AppendChunks(dst[:0], 6, h, pieces, 4096)
	}); n != 0 {
		t.Errorf("AppendChunks: %v allocs", n)
	}
	cw := NewChunkWriter(io.Discard)
	cw.WriteMessage(3, h, frame)
	if n := testing.AllocsPerRun(100, func() {
		cw.WriteMessage(3, h, frame[:100])
		cw.WriteUserControl(EventStreamBegin, 1)
		cw.WriteAck(12345)
	}); n != 0 {
		t.Errorf("ChunkWriter: %v allocs", n)
	}
	wire := AppendChunks(nil, 6, h, pieces, 128)
	r := NewChunkReader(&loopReader{b: wire}, ReaderOptions{})
	m, _ := r.ReadMessage()
	m.Release()
	if n := testing.AllocsPerRun(100, func() {
		m, err := r.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		m.Release()
	}); n != 0 {
		t.Errorf("ReadMessage: %v allocs", n)
	}
}

// loopReader repeats b forever.
type loopReader struct {
	b   []byte
	off int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := copy(p, l.b[l.off:])
	l.off = (l.off + n) % len(l.b)
	return n, nil
}

func FuzzChunkReader(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		bc := countBufs(t)
		r := NewChunkReader(bytes.NewReader(b), ReaderOptions{})
		for {
			m, err := r.ReadMessage()
			if err != nil {
				break
			}
			if m.Buf != nil && len(m.Payload) > len(m.Buf.Bytes()) {
				t.Fatal("payload beyond its buffer")
			}
			if m.Type == TypeAggregate {
				SplitAggregate(m, func(Message) error { return nil })
			}
			bc.release(&m)
		}
		if r.BytesRead() > uint64(len(b)) {
			t.Fatalf("BytesRead %d of %d", r.BytesRead(), len(b))
		}
		r.Close()
		if n := bc.outstanding(); n != 0 {
			t.Fatalf("%d buffers not released", n)
		}
	})
}

func BenchmarkRTMPChunkWrite(b *testing.B) {
	frame := pattern(30000, 1)
	hdr := []byte{0x17, 1, 0, 0, 0}
	pieces := [][]byte{hdr, frame}
	for _, cs := range []int{128, 4096, 60000} {
		b.Run(fmt.Sprint("chunk=", cs), func(b *testing.B) {
			h := MessageHeader{Timestamp: 40, Length: uint32(len(hdr) + len(frame)), Type: TypeVideo, StreamID: 1}
			dst := make([]byte, 0, ChunkedLen(6, h, cs))
			b.ReportAllocs()
			b.SetBytes(int64(h.Length))
			for b.Loop() {
				dst = AppendChunks(dst[:0], 6, h, pieces, cs)
			}
		})
	}
}

func BenchmarkChunkRead(b *testing.B) {
	frame := pattern(30000, 1)
	for _, cs := range []int{128, 4096, 60000} {
		b.Run(fmt.Sprint("chunk=", cs), func(b *testing.B) {
			var wire []byte
			wire = AppendChunks(wire, 2, MessageHeader{Type: TypeSetChunkSize}, [][]byte{AppendSetChunkSize(nil, uint32(cs))}, 128)
			start := len(wire)
			wire = AppendChunks(wire, 6, MessageHeader{Timestamp: 40, Type: TypeVideo, StreamID: 1}, [][]byte{frame}, cs)
			r := NewChunkReader(&loopReader{b: wire}, ReaderOptions{})
			m, _ := r.ReadMessage()
			m.Release()
			r.br.Reset(&loopReader{b: wire[start:]})
			b.ReportAllocs()
			b.SetBytes(int64(len(frame)))
			for b.Loop() {
				m, err := r.ReadMessage()
				if err != nil {
					b.Fatal(err)
				}
				m.Release()
			}
		})
	}
}
