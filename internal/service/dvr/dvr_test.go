package dvr

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/codec/aac"
	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/format/flv"
	"github.com/srs-lite/srs-lite/internal/format/fmp4"
	"github.com/srs-lite/srs-lite/internal/media"
)

var (
	testSPS = []byte{0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00, 0x00,
		0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x83, 0x19, 0x60}
	testPPS = []byte{0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0}
	// onMetaData with an empty ECMA array (AMF0 §2.10).
	testMeta = []byte("\x02\x00\x0aonMetaData\x08\x00\x00\x00\x00\x00\x00\x09")
)

func mkFrame(c media.Codec, fl media.Flags, d time.Duration, p []byte) media.Frame {
	f := media.Frame{Codec: c, Flags: fl, DTS: d, PTS: d, Payload: p}
	f.Own()
	return f
}

// stream returns a publish session's frames: metadata, sequence headers,
// then dur of 25 fps H.264 with a keyframe every gop, and 48 kHz AAC,
// starting at DTS start.
func stream(start, dur, gop time.Duration) []media.Frame {
	out := []media.Frame{
		mkFrame(media.CodecData, 0, start, testMeta),
		mkFrame(media.CodecH264, media.FlagConfig, start, h264.BuildConfig([][]byte{testSPS}, [][]byte{testPPS})),
		mkFrame(media.CodecAAC, media.FlagConfig, start, aac.BuildASC(aac.ObjectLC, 48000, 2)),
	}
	vstep, astep := 40*time.Millisecond, time.Second*1024/48000
	var ad time.Duration
	for vd := time.Duration(0); vd < dur; vd += vstep {
		fl, nal := media.Flags(0), byte(0x41)
		if vd%gop == 0 {
			fl, nal = media.FlagKey, 0x65
		}
		out = append(out, mkFrame(media.CodecH264, fl, start+vd, []byte{0, 0, 0, 4, nal, 1, 2, 3}))
		for ; ad < vd+vstep && ad < dur; ad += astep {
			out = append(out, mkFrame(media.CodecAAC, 0, start+ad, []byte{0x21, 0x10, 4, 5}))
		}
	}
	return out
}

// source feeds frames in batches, then io.EOF (or blocks until ctx is
// done when block is set).
type source struct {
	frames []media.Frame
	batch  int
	block  bool
	closed bool
	reads  int
}

func (s *source) Read(ctx context.Context, dst []media.Frame) (int, error) {
	s.reads++
	if len(s.frames) == 0 {
		if s.block {
			<-ctx.Done()
			return 0, ctx.Err()
		}
		return 0, io.EOF
	}
	n := copy(dst[:min(len(dst), max(s.batch, 1))], s.frames)
	s.frames = s.frames[n:]
	return n, nil
}

func (s *source) Close() {
	s.closed = true
	for i := range s.frames {
		s.frames[i].Release()
	}
	s.frames = nil
}

// logBuf collects log lines.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuf) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

var testStream = Stream{Vhost: "__defaultVhost__", App: "live", Name: "cam"}

func record(t *testing.T, cfg Config, frames []media.Frame) ([]File, *logBuf, error) {
	t.Helper()
	var files []File
	var lb logBuf
	src := &source{frames: frames, batch: 7}
	err := Record(context.Background(), src, testStream, cfg, Deps{Log: lb.logger(),
		OnFile: func(f File) { files = append(files, f) },
		Now:    func() time.Time { return time.UnixMilli(1700000000123) }})
	if !src.closed {
		t.Error("source not closed")
	}
	return files, &lb, err
}

// readFLV returns the frames of an FLV file.
func readFLV(t *testing.T, path string) (frames []media.Frame, audio, video bool) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	r := flv.NewReader(bufio.NewReader(fh))
	if audio, video, err = r.ReadHeader(); err != nil {
		t.Fatal(err)
	}
	for {
		tag, err := r.ReadTag()
		if err == io.EOF {
			return frames, audio, video
		}
		if err != nil {
			t.Fatal(err)
		}
		var f media.Frame
		if err := flv.FrameFromTag(tag.Type, tag.Timestamp, tag.Body, &f); err != nil {
			t.Fatal(err)
		}
		f.Payload = nil // the body is reused
		frames = append(frames, f)
	}
}

func TestRecordFLVSession(t *testing.T) {
	dir := t.TempDir()
	in := stream(5*time.Second, 3*time.Second, time.Second)
	ntags := len(in)
	files, lb, err := record(t, Config{Path: filepath.Join(dir, "[app]/[stream].[timestamp].flv")}, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 {
		t.Fatalf("%d files", len(files))
	}
	want := filepath.Join(dir, "live", "cam.1700000000123.flv")
	if f := files[0]; f.Path != want || !near(f.Duration, 3*time.Second) || f.Stream != testStream || f.Err != nil {
		t.Errorf("file %+v, want %s of 3s", f, want)
	}
	frames, audio, video := readFLV(t, want)
	if !audio || !video {
		t.Errorf("header flags audio %v video %v", audio, video)
	}
	if len(frames) != ntags {
		t.Errorf("%d tags", len(frames))
	}
	kinds := []media.Codec{media.CodecData, media.CodecH264, media.CodecAAC, media.CodecH264}
	for i, c := range kinds {
		if frames[i].Codec != c || frames[i].DTS != 0 {
			t.Errorf("tag %d: %v at %v, want %v at 0", i, frames[i].Codec, frames[i].DTS, c)
		}
	}
	if !frames[3].IsKey() {
		t.Error("first video frame is not a keyframe")
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, "live", "*.tmp")); len(matches) != 0 {
		t.Errorf("temporary files left: %v", matches)
	}
	if !strings.Contains(lb.String(), "recording complete") {
		t.Errorf("log: %s", lb.String())
	}
}

func TestRecordMP4Session(t *testing.T) {
	dir := t.TempDir()
	files, _, err := record(t, Config{Path: filepath.Join(dir, "[stream].mp4")},
		stream(0, 3*time.Second, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 {
		t.Fatalf("%d files", len(files))
	}
	b, err := os.ReadFile(files[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := fmp4.Scan(bytes.NewReader(b), int64(len(b))); n != int64(len(b)) || err != nil {
		t.Errorf("Scan = %d of %d, %v", n, len(b), err)
	}
	if got := bytes.Count(b, []byte("moof")); got < 3 || got > 4 {
		t.Errorf("%d fragments, want one about every second", got)
	}
	// mvhd (version 1) carries the duration in milliseconds.
	i := bytes.Index(b, []byte("mvhd"))
	if d := time.Duration(be64(b[i+28:])) * time.Millisecond; d != files[0].Duration.Round(time.Millisecond) || !near(d, 3*time.Second) {
		t.Errorf("mvhd duration %v, file duration %v", d, files[0].Duration)
	}
}

// near reports whether d is within an audio frame of want.
func near(d, want time.Duration) bool { return d >= want && d < want+25*time.Millisecond }

func be64(b []byte) uint64 {
	var v uint64
	for _, c := range b[:8] {
		v = v<<8 | uint64(c)
	}
	return v
}

func TestRecordSegments(t *testing.T) {
	for _, ext := range []string{".flv", ".mp4", ".ts"} {
		t.Run(ext, func(t *testing.T) {
			dir := t.TempDir()
			files, _, err := record(t, Config{Path: filepath.Join(dir, "[stream]-[seq]"+ext), Plan: PlanSegment,
				Duration: 2 * time.Second}, stream(time.Hour, 7*time.Second, time.Second))
			if err != nil {
				t.Fatal(err)
			}
			var durs []time.Duration
			for i, f := range files {
				durs = append(durs, f.Duration)
				if want := filepath.Join(dir, "cam-"+string(rune('0'+i))+ext); f.Path != want {
					t.Errorf("file %d: %s, want %s", i, f.Path, want)
				}
				if ext == ".flv" {
					frames, _, _ := readFLV(t, f.Path)
					if frames[0].Codec != media.CodecData || !frames[1].IsConfig() || !frames[2].IsConfig() || !frames[3].IsKey() {
						t.Errorf("file %d does not start with metadata, sequence headers and a keyframe", i)
					}
				}
			}
			want := []time.Duration{2 * time.Second, 2 * time.Second, 2 * time.Second, time.Second}
			if len(durs) != len(want) {
				t.Fatalf("durations %v, want %v", durs, want)
			}
			for i := range want {
				if !near(durs[i], want[i]) {
					t.Errorf("durations %v, want %v", durs, want)
				}
			}
		})
	}
}

// failingFile fails with ENOSPC once limit bytes are written.
type failingFile struct {
	*os.File
	limit, n int
}

func (f *failingFile) Write(p []byte) (int, error) {
	if f.n+len(p) > f.limit {
		k := f.limit - f.n
		w, _ := f.File.Write(p[:k])
		f.n += w
		return w, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	w, err := f.File.Write(p)
	f.n += w
	return w, err
}

func TestRecordDiskFull(t *testing.T) {
	for _, ext := range []string{".flv", ".mp4", ".ts"} {
		t.Run(ext, func(t *testing.T) {
			dir := t.TempDir()
			var lb logBuf
			var files []File
			src := &source{frames: stream(0, 10*time.Second, time.Second), batch: 5}
			err := Record(context.Background(), src, testStream,
				Config{Path: filepath.Join(dir, "x"+ext), FlushInterval: time.Nanosecond}, Deps{
					Log:    lb.logger(),
					OnFile: func(f File) { files = append(files, f) },
					Create: func(name string) (Output, error) {
						fh, err := createFile(name)
						if err != nil {
							return nil, err
						}
						return &failingFile{File: fh.(*os.File), limit: 5000}, nil
					}})
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("Record: %v, want ENOSPC", err)
			}
			if !src.closed {
				t.Error("source not closed")
			}
			if n := strings.Count(lb.String(), "level=ERROR"); n != 1 {
				t.Errorf("%d error lines:\n%s", n, lb.String())
			}
			if !strings.Contains(lb.String(), "no space left on device") {
				t.Errorf("log does not say why:\n%s", lb.String())
			}
			if len(files) != 1 || !errors.Is(files[0].Err, syscall.ENOSPC) {
				t.Fatalf("files %+v", files)
			}
			fh, err := os.Open(files[0].Path)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			st, _ := fh.Stat()
			if st.Size() == 0 || st.Size() > 5000 {
				t.Errorf("kept %d bytes", st.Size())
			}
			var keep int64
			if ext == ".flv" {
				keep, _, _, err = ScanFLV(fh, st.Size())
			} else if ext == ".ts" {
				keep, err = ScanTS(fh, st.Size())
			} else {
				keep, err = fmp4.Scan(fh, st.Size())
			}
			if keep != st.Size() || err != nil {
				t.Errorf("kept file scans to %d of %d: %v", keep, st.Size(), err)
			}
		})
	}
}

func TestRecordCreateError(t *testing.T) {
	var lb logBuf
	src := &source{frames: stream(0, time.Second, time.Second)}
	err := Record(context.Background(), src, testStream, Config{Path: "/nonexistent/dir/x.flv"},
		Deps{Log: lb.logger(), Create: func(string) (Output, error) { return nil, syscall.EACCES }})
	if err == nil || strings.Count(lb.String(), "level=ERROR") != 1 || !src.closed {
		t.Errorf("err %v, log:\n%s", err, lb.String())
	}
}

func TestRecordFlushAndCancel(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.flv")
	src := &source{frames: stream(0, time.Second, time.Second), batch: 100, block: true}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Record(ctx, src, testStream, Config{Path: path, FlushInterval: 20 * time.Millisecond}, Deps{})
	}()
	// The frames reach the OS while the stream stalls.
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := os.Stat(path + tmpExt)
		if err == nil && st.Size() > 1000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("buffered data not flushed while the stream stalls")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("file not completed at cancel: %v", err)
	}
}

func TestRecordMP4ConfigChange(t *testing.T) {
	dir := t.TempDir()
	frames := stream(0, 2*time.Second, time.Second)
	more := stream(2*time.Second, 2*time.Second, time.Second)
	more[1].Release()
	more[1] = mkFrame(media.CodecH264, media.FlagConfig, 2*time.Second,
		h264.BuildConfig([][]byte{testSPS}, [][]byte{testPPS, testPPS}))
	frames = append(frames, more...)
	files, _, err := record(t, Config{Path: filepath.Join(dir, "x.mp4")}, frames)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files[1].Path != filepath.Join(dir, "x.1.mp4") {
		t.Fatalf("files %+v, want a new file at the new sequence header", files)
	}
	// FLV carries the new sequence header in the same file.
	files, _, _ = record(t, Config{Path: filepath.Join(dir, "x.flv")}, append(stream(0, time.Second, time.Second),
		mkFrame(media.CodecH264, media.FlagConfig, time.Second, h264.BuildConfig([][]byte{testSPS}, [][]byte{testPPS, testPPS}))))
	if len(files) != 1 {
		t.Errorf("flv: %d files", len(files))
	}
}

func TestRecordBadConfig(t *testing.T) {
	for _, c := range []Config{
		{Path: "x.avi"},
		{Path: "x.flv", Plan: "daily"},
		{Path: "x.flv", Plan: PlanSegment},
	} {
		src := &source{}
		if err := Record(context.Background(), src, testStream, c, Deps{}); err == nil || !src.closed {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

func TestAudioOnly(t *testing.T) {
	dir := t.TempDir()
	var frames []media.Frame
	frames = append(frames, mkFrame(media.CodecAAC, media.FlagConfig, 0, aac.BuildASC(aac.ObjectLC, 48000, 2)))
	for i := range 100 {
		frames = append(frames, mkFrame(media.CodecAAC, 0, time.Duration(i)*time.Second*1024/48000, []byte{1, 2}))
	}
	files, _, err := record(t, Config{Path: filepath.Join(dir, "a.flv"), Plan: PlanSegment, Duration: time.Second}, frames)
	if err != nil || len(files) != 3 {
		t.Fatalf("%v, %d files", err, len(files))
	}
	_, audio, video := readFLV(t, files[0].Path)
	if !audio || video {
		t.Errorf("header flags audio %v video %v", audio, video)
	}
}

func TestExpand(t *testing.T) {
	tm := time.Date(2024, 3, 9, 7, 5, 4, 123e6, time.UTC)
	for _, tc := range []struct {
		tmpl string
		st   Stream
		want string
	}{
		{"./dvr/[app]/[stream].[timestamp].flv", testStream, "./dvr/live/cam." + "1709967904123" + ".flv"},
		{"[vhost]/[2006][01][02]/[15][04][05].[999]-[seq].mp4", testStream, "__defaultVhost__/20240309/070504.123-3.mp4"},
		{"/r/[app]/[stream].flv", Stream{App: "..", Name: "../../etc/passwd"}, "/r/_../.._.._etc_passwd.flv"},
		{"/r/[stream].flv", Stream{Name: ""}, "/r/_.flv"},
		{"/r/plain.flv", testStream, "/r/plain.flv"},
	} {
		if got := Expand(tc.tmpl, tc.st, tm, 3); got != tc.want {
			t.Errorf("Expand(%q) = %q, want %q", tc.tmpl, got, tc.want)
		}
	}
}

func TestRoot(t *testing.T) {
	for _, tc := range []struct {
		tmpl  string
		dir   string
		depth int
	}{
		{"./dvr/[app]/[stream].[timestamp].flv", "dvr", 1},
		{"/var/dvr/[app]/[stream]/[seq].mp4", "/var/dvr", 2},
		{"/var/dvr/rec-[stream].flv", "/var/dvr", 0},
		{"[app]/[stream].flv", ".", 1},
		{"/[stream].flv", "/", 0},
		{"/var/dvr/x.flv", "/var/dvr", 0},
	} {
		dir, depth := Root(tc.tmpl)
		if dir != tc.dir || depth != tc.depth {
			t.Errorf("Root(%q) = %q, %d; want %q, %d", tc.tmpl, dir, depth, tc.dir, tc.depth)
		}
	}
}

// flvFile returns an FLV file of frames and the offsets after each tag.
func flvFile(t testing.TB, frames []media.Frame) ([]byte, []int) {
	var b bytes.Buffer
	w := flv.NewWriter(&b)
	_ = w.WriteHeader(true, true)
	ends := []int{}
	for i := range frames {
		_ = w.WriteFrame(&frames[i])
		frames[i].Release()
		ends = append(ends, b.Len())
	}
	return b.Bytes(), ends
}

func TestScanFLV(t *testing.T) {
	file, ends := flvFile(t, stream(0, 400*time.Millisecond, time.Second))
	for cut := 0; cut <= len(file); cut++ {
		want := 0
		for _, e := range ends {
			if e <= cut {
				want = e
			}
		}
		keep, audio, video, _ := ScanFLV(bytes.NewReader(file[:cut]), int64(cut))
		if keep != int64(want) {
			t.Fatalf("cut at %d: kept %d, want %d", cut, keep, want)
		}
		if keep > 0 && cut > ends[2] && (!audio || !video) {
			t.Fatalf("cut at %d: audio %v video %v", cut, audio, video)
		}
	}
	for _, tc := range []struct {
		name string
		data []byte
		want int64
	}{
		{"zero tail", append(append([]byte(nil), file...), make([]byte, 100)...), int64(len(file))},
		{"bad prev size", append(append([]byte(nil), file[:ends[0]-1]...), 9), 0},
		{"not flv", []byte("GIF89a......"), 0},
	} {
		keep, _, _, err := ScanFLV(bytes.NewReader(tc.data), int64(len(tc.data)))
		if keep != tc.want || err == nil {
			t.Errorf("%s: kept %d, %v; want %d and an error", tc.name, keep, err, tc.want)
		}
	}
}

func TestRepair(t *testing.T) {
	dir := t.TempDir()
	flvData, ends := flvFile(t, stream(0, 2*time.Second, time.Second))
	// An fMP4 recording cut inside its second fragment.
	var mp4Path string
	{
		files, _, err := record(t, Config{Path: filepath.Join(dir, "src.mp4")}, stream(0, 3*time.Second, time.Second))
		if err != nil {
			t.Fatal(err)
		}
		mp4Path = files[0].Path
	}
	mp4Data, _ := os.ReadFile(mp4Path)
	os.Remove(mp4Path)
	mp4Keep, _ := fmp4.Scan(bytes.NewReader(mp4Data[:len(mp4Data)-10]), int64(len(mp4Data)-10))
	noFlags := append([]byte(nil), flvData[:ends[20]+3]...)
	noFlags[4] = 0
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "dvr", "live"), 0o755))
	must(os.MkdirAll(filepath.Join(dir, "dvr", "live", "deeper"), 0o755))
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, "dvr", "live", name)
		must(os.WriteFile(p, b, 0o644))
		return p
	}
	write("a.flv.tmp", flvData[:ends[30]+5])
	write("b.flv.tmp", append(append([]byte(nil), flvData...), make([]byte, 512)...))
	write("c.flv.tmp", noFlags)
	write("d.mp4.tmp", mp4Data[:len(mp4Data)-10])
	write("e.flv.tmp", []byte("FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00\x09\x00"))
	write("e.flv", []byte("existing"))
	write("f.flv.tmp", flvData[:ends[5]])
	write("f.flv", []byte("existing"))
	write("deeper/g.flv.tmp", flvData[:ends[5]])
	write("notes.txt.tmp", []byte("x"))
	var lb logBuf
	n := Repair([]string{filepath.Join(dir, "dvr/[app]/[stream].flv"), filepath.Join(dir, "dvr/[app]/[stream].mp4")}, lb.logger())
	if n != 6 {
		t.Errorf("handled %d files, want 6", n)
	}
	for _, tc := range []struct {
		name string
		size int
	}{
		{"a.flv", ends[30]},
		{"b.flv", len(flvData)},
		{"c.flv", ends[20]},
		{"d.mp4", int(mp4Keep)},
		{"f.1.flv", ends[5]},
		{"e.flv", 8},
		{"f.flv", 8},
		{"deeper/g.flv.tmp", ends[5]},
		{"notes.txt.tmp", 1},
	} {
		st, err := os.Stat(filepath.Join(dir, "dvr", "live", tc.name))
		if err != nil || st.Size() != int64(tc.size) {
			t.Errorf("%s: %v, want %d bytes", tc.name, err, tc.size)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "dvr", "live", "e.flv.tmp")); !os.IsNotExist(err) {
		t.Errorf("unplayable e.flv.tmp not removed: %v", err)
	}
	c, _ := os.ReadFile(filepath.Join(dir, "dvr", "live", "c.flv"))
	if c[4] != 5 {
		t.Errorf("c.flv header flags %#x, want 5", c[4])
	}
	lines := strings.Split(strings.TrimSpace(lb.String()), "\n")
	sort.Strings(lines)
	if len(lines) != 6 || strings.Count(lb.String(), "repaired") != 5 || strings.Count(lb.String(), "removed") != 1 {
		t.Errorf("log:\n%s", lb.String())
	}
	if !strings.Contains(lb.String(), "kept="+strconv.Itoa(ends[30])) {
		t.Errorf("log does not say how many bytes were kept:\n%s", lb.String())
	}
}

func BenchmarkRecordFLV(b *testing.B) {
	dir := b.TempDir()
	frames := stream(0, 60*time.Second, 2*time.Second)
	b.ReportAllocs()
	n := len(frames)
	for b.Loop() {
		fs := make([]media.Frame, n)
		for i := range frames {
			fs[i] = frames[i].Clone()
		}
		src := &source{frames: fs, batch: 16}
		if err := Record(context.Background(), src, testStream, Config{Path: filepath.Join(dir, "b.flv")}, Deps{
			OnFile: func(f File) { _ = os.Remove(f.Path) }}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/frame")
}

func TestRepairSkipsLiveRecording(t *testing.T) {
	dir := t.TempDir()
	out, err := createFile(filepath.Join(dir, "live.flv.tmp"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	var lb logBuf
	Repair([]string{filepath.Join(dir, "[stream].flv")}, lb.logger())
	if _, err := os.Stat(filepath.Join(dir, "live.flv.tmp")); err != nil {
		t.Errorf("a file being written was touched: %v", err)
	}
	if !strings.Contains(lb.String(), "another process is writing it") {
		t.Errorf("log:\n%s", lb.String())
	}
}

func TestClockReset(t *testing.T) {
	dir := t.TempDir()
	frames := stream(time.Hour, 2*time.Second, time.Second)
	more := stream(0, 2*time.Second, time.Second) // the encoder restarted
	frames = append(frames, more[3:]...)
	more[0].Release()
	more[1].Release()
	more[2].Release()
	files, _, err := record(t, Config{Path: filepath.Join(dir, "x.flv")}, frames)
	if err != nil || len(files) != 1 {
		t.Fatalf("%v, %+v", err, files)
	}
	if d := files[0].Duration; d < 4*time.Second || d > 4*time.Second+50*time.Millisecond {
		t.Errorf("duration %v, want 4s", d)
	}
	got, _, _ := readFLV(t, files[0].Path)
	var last time.Duration
	for i, f := range got {
		if f.Codec.IsVideo() && !f.IsConfig() {
			if f.DTS < last {
				t.Fatalf("tag %d: video DTS %v after %v", i, f.DTS, last)
			}
			last = f.DTS
		}
	}
}

// A publisher that declared video (a WHIP offer's) and whose audio comes
// first: the file starts at the video's keyframe. Undeclared, it starts
// with the audio, as before; declared video that never comes: audio alone
// after media.MaxVideoWait (files start at time 0: told by their length).
func TestDeclaredVideoWaits(t *testing.T) {
	const audioFor = 3 * time.Second
	audioFirst := func(videoAt time.Duration) []media.Frame {
		frames := []media.Frame{mkFrame(media.CodecAAC, media.FlagConfig, 0, aac.BuildASC(aac.ObjectLC, 48000, 2))}
		astep := time.Second * 1024 / 48000
		for d := time.Duration(0); d < min(videoAt, audioFor); d += astep {
			frames = append(frames, mkFrame(media.CodecAAC, 0, d, []byte{0x21, 0x10, 4, 5}))
		}
		if videoAt < audioFor {
			frames = append(frames, mkFrame(media.CodecH264, media.FlagConfig, videoAt, h264.BuildConfig([][]byte{testSPS}, [][]byte{testPPS})))
			frames = append(frames, mkFrame(media.CodecH264, media.FlagKey, videoAt, []byte{0, 0, 0, 4, 0x65, 1, 2, 3}))
		}
		return frames
	}
	record := func(declared bool, frames []media.Frame) (media.Frame, File) {
		t.Helper()
		dir := t.TempDir()
		var files []File
		src := &source{frames: frames, batch: 7}
		err := Record(context.Background(), src, testStream, Config{Path: filepath.Join(dir, "a.flv")}, Deps{
			OnFile:       func(f File) { files = append(files, f) },
			ExpectsVideo: func() bool { return declared }})
		if err != nil || len(files) != 1 {
			t.Fatalf("declared %v: %v, %d files", declared, err, len(files))
		}
		got, _, _ := readFLV(t, files[0].Path)
		for _, f := range got {
			if !f.IsConfig() && f.Codec != media.CodecData {
				return f, files[0]
			}
		}
		t.Fatalf("declared %v: no media frame", declared)
		return media.Frame{}, File{}
	}
	if f, _ := record(true, audioFirst(500*time.Millisecond)); f.Codec != media.CodecH264 || !f.IsKey() {
		t.Errorf("declared video: the file starts with %v (key %v), want the video keyframe", f.Codec, f.IsKey())
	}
	if f, file := record(false, audioFirst(500*time.Millisecond)); f.Codec != media.CodecAAC || !near(file.Duration, 500*time.Millisecond) {
		t.Errorf("undeclared: the file starts with %v and lasts %v, want the audio from 0 (500ms)", f.Codec, file.Duration)
	}
	if f, file := record(true, audioFirst(time.Hour)); f.Codec != media.CodecAAC || !near(file.Duration, audioFor-media.MaxVideoWait) {
		t.Errorf("declared video that never comes: the file starts with %v and lasts %v, want the audio after %v (%v)",
			f.Codec, file.Duration, media.MaxVideoWait, audioFor-media.MaxVideoWait)
	}
}
