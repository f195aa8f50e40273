package dvr

import (
	"bytes"
	"testing"
	"time"
)

// FuzzScanFLV checks that ScanFLV never panics, keeps a prefix of the
// input, and that the prefix it keeps scans whole and clean.
func FuzzScanFLV(f *testing.F) {
	file, ends := flvFile(f, stream(0, 100*time.Millisecond, time.Second))
	f.Add(file)
	f.Add(file[:ends[3]+2])
	f.Fuzz(func(t *testing.T, data []byte) {
		keep, audio, video, err := ScanFLV(bytes.NewReader(data), int64(len(data)))
		if keep < 0 || keep > int64(len(data)) {
			t.Fatalf("kept %d of %d bytes", keep, len(data))
		}
		if keep == int64(len(data)) && keep > 0 && err != nil {
			t.Fatalf("kept everything but: %v", err)
		}
		if keep > 0 {
			k, a, v, err := ScanFLV(bytes.NewReader(data[:keep]), keep)
			if k != keep || a != audio || v != video || err != nil {
				t.Fatalf("prefix of %d bytes scans to %d, %v", keep, k, err)
			}
		}
	})
}
