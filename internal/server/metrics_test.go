package server

import (
	"strings"
	"testing"

	"github.com/srs-lite/srs-lite/internal/metrics"
	"github.com/srs-lite/srs-lite/internal/protocol/srt"
	"github.com/srs-lite/srs-lite/internal/service/forward"
	"github.com/srs-lite/srs-lite/internal/service/ingest"
)

// TestMetricsFamilies: the server's families, one series each, a repeated
// forward destination written once.
func TestMetricsFamilies(t *testing.T) {
	var w metrics.Writer
	writeIngests(&w, []ingest.Status{
		{Name: "cam1", State: ingest.StateRunning, Restarts: 2, Frames: 10, Bytes: 1000},
		{Name: "cam\"2", State: ingest.StateRetrying},
	})
	writeSRT(&w, srt.Totals{Players: 1, PktSent: 5, PktLoss: 1, PktRecvDrop: 3, PktSndDrop: 4})
	writeForwards(&w, []forward.Status{
		{Kind: "forward", Vhost: "v", Stream: "live/a", URL: "rtmp://x/live/a", State: forward.StateForwarding, Bytes: 9},
		{Kind: "forward", Vhost: "v", Stream: "live/a", URL: "rtmp://x/live/a", State: forward.StateRetrying},
	})
	if err := w.Err(); err != nil {
		t.Fatal(err)
	}
	text := string(w.Bytes())
	for _, want := range []string{
		`srs_lite_ingest_state{name="cam1",state="running"} 1`,
		`srs_lite_ingest_state{name="cam1",state="retrying"} 0`,
		`srs_lite_ingest_state{name="cam\"2",state="retrying"} 1`,
		`srs_lite_ingest_restarts_total{name="cam1"} 2`,
		`srs_lite_srt_connections{mode="play"} 1`,
		`srs_lite_srt_packets_lost_total 1`,
		`srs_lite_srt_packets_too_late_total{side="receiver"} 3`,
		`srs_lite_srt_packets_too_late_total{side="sender"} 4`,
		`srs_lite_forward_up{kind="forward",vhost="v",stream="live/a",url="rtmp://x/live/a"} 1`,
		`srs_lite_forward_send_bytes_total{kind="forward",vhost="v",stream="live/a",url="rtmp://x/live/a"} 9`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("missing %s in\n%s", want, text)
		}
	}
	if n := strings.Count(text, "\nsrs_lite_forward_up{"); n != 1 {
		t.Errorf("%d srs_lite_forward_up series, want 1", n)
	}
	if n := strings.Count(text, "\nsrs_lite_ingest_state{"); n != 2*len(ingestStates) {
		t.Errorf("%d ingest state series, want %d", n, 2*len(ingestStates))
	}
}
