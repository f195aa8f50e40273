package dvr

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestDuration reads the duration of recordings the DVR wrote: the FLV last
// tag, the MP4 mvhd; TS and garbage are unknown.
func TestDuration(t *testing.T) {
	for _, ext := range []string{".flv", ".mp4"} {
		t.Run(ext, func(t *testing.T) {
			dir := t.TempDir()
			files, _, err := record(t, Config{Path: filepath.Join(dir, "[stream]"+ext)}, stream(time.Hour, 5*time.Second, time.Second))
			if err != nil || len(files) != 1 {
				t.Fatalf("files %v, err %v", files, err)
			}
			data, err := os.ReadFile(files[0].Path)
			if err != nil {
				t.Fatal(err)
			}
			d, ok := Duration(bytes.NewReader(data), int64(len(data)), files[0].Path)
			if !ok || d < files[0].Duration-100*time.Millisecond || d > files[0].Duration+100*time.Millisecond {
				t.Errorf("duration %v %v, the recorder says %v", d, ok, files[0].Duration)
			}
			if _, ok := Duration(bytes.NewReader(data[:len(data)-3]), int64(len(data)-3), files[0].Path); ok && ext == ".flv" {
				t.Error("a cut FLV file has a duration")
			}
		})
	}
	if _, ok := Duration(bytes.NewReader(make([]byte, 100)), 100, "x.ts"); ok {
		t.Error("a TS file has a duration")
	}
	if _, ok := Duration(bytes.NewReader(make([]byte, 100)), 100, "x.flv"); ok {
		t.Error("zeroes have a duration")
	}
}

// FuzzDuration checks that Duration never panics nor reads outside the
// file, on FLV and MP4 names.
func FuzzDuration(f *testing.F) {
	file, _ := flvFile(f, stream(0, 500*time.Millisecond, time.Second))
	f.Add(file, false)
	f.Add([]byte("\x00\x00\x00\x18ftypisom\x00\x00\x00\x00isomiso6\x00\x00\x00\x24moov\x00\x00\x00\x1cmvhd\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\xe8\x00\x00\x07\xd0"), true)
	f.Fuzz(func(t *testing.T, data []byte, mp4 bool) {
		name := "x.flv"
		if mp4 {
			name = "x.mp4"
		}
		d, ok := Duration(bytes.NewReader(data), int64(len(data)), name)
		if d < 0 || (!ok && d != 0) {
			t.Fatalf("duration %v %v", d, ok)
		}
	})
}
