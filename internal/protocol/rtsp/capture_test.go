package rtsp

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/rtp"
	"github.com/srs-lite/srs-lite/internal/protocol/rtsp/rtsptest"
)

// TestCapture records RTP packets of the GStreamer camera into
// ../../format/rtp/testdata/NAME-KIND.rtp (a 16-bit length before each packet) for the
// depacketizer tests. Run it by hand:
//
//	SRS_LITE_CAPTURE=1 go test -run TestCapture ./internal/rtsp/
func TestCapture(t *testing.T) {
	if os.Getenv("SRS_LITE_CAPTURE") == "" {
		t.Skip("set SRS_LITE_CAPTURE=1 to record testdata for package rtp")
	}
	cam := rtsptest.Start(t, 0)
	for _, mount := range []string{"h264aac", "h264pcmu", "h264latm", "h264opus", "h265"} {
		var mu sync.Mutex
		files := map[string][]byte{}
		src, _ := NewSource(cam.URL(mount), Config{Transport: TransportTCP}, nil)
		src.capture = func(kind string, f rtp.Format, pkt []byte) {
			mu.Lock()
			defer mu.Unlock()
			b := files[kind]
			if len(b) > 48<<10 {
				return
			}
			b = binary.BigEndian.AppendUint16(b, uint16(len(pkt)))
			files[kind] = append(b, pkt...)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
		_ = src.Run(ctx, newCollector(func(*collector) bool { return false }))
		cancel()
		for kind, b := range files {
			name := filepath.Join("..", "..", "format", "rtp", "testdata", mount+"-"+kind+".rtp")
			if err := os.WriteFile(name, b, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d bytes", name, len(b))
		}
	}
}
