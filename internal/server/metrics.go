package server

import (
	"runtime"

	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/metrics"
	"github.com/srs-lite/srs-lite/internal/protocol/srt"
	"github.com/srs-lite/srs-lite/internal/service/forward"
	"github.com/srs-lite/srs-lite/internal/service/ingest"
)

// orderMetrics follows the API, whose handler and access policy /metrics
// shares; it starts nothing.
const orderMetrics = orderAPI + 1

func init() { register(orderMetrics, newMetrics) }

// metricsComponent serves GET /metrics on the API port: the Prometheus text
// format, with SRS's exporter families and the per-stream ones written by
// the API (the same sources as /api/v1/streams and /api/v1/clients, behind
// the same access policy), then the server's own: ingests, SRT, HLS,
// forwards, the board's memory.
type metricsComponent struct {
	passive
	s *Server
}

func newMetrics(s *Server) (component, error) { return &metricsComponent{s: s}, nil }

func (c *metricsComponent) name() string { return "metrics" }

func (c *metricsComponent) routes(r *routes) {
	ac := find[*apiComponent](c.s)
	if ac == nil {
		return
	}
	r.api.Handle("GET /metrics", ac.a.MetricsHandler(c.write))
}

// write writes the server's families, srs_lite_*.
func (c *metricsComponent) write(w *metrics.Writer) {
	c.writeMemory(w)
	if ic := find[*ingestComponent](c.s); ic != nil {
		writeIngests(w, ic.m.Status())
	}
	if sc := find[*srtComponent](c.s); sc != nil {
		if t, ok := sc.totals(); ok {
			writeSRT(w, t)
		}
	}
	if hc := find[*hlsComponent](c.s); hc != nil {
		c.writeHLS(w, hc)
	}
	if fc := find[*forwardComponent](c.s); fc != nil {
		writeForwards(w, fc.m.Status())
	}
}

// writeMemory writes the board profile and the memory against its limit.
func (c *metricsComponent) writeMemory(w *metrics.Writer) {
	// ReadMemStats stops the world for a few microseconds, once a scrape;
	// runtime/metrics would cost 100 KiB of binary.
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	w.Family("srs_lite_memory_go_bytes", metrics.Gauge,
		"Memory the Go runtime holds from the system, as its memory limit counts it (total minus released heap).")
	w.Uint(ms.Sys - ms.HeapReleased)
	bi := c.s.board.Load()
	if bi == nil {
		return
	}
	w.Family("srs_lite_board_info", metrics.Gauge, "The board profile in force, labeled by its name and where it came from.")
	w.Sample("board", bi.profile.Name, "source", bi.profile.Source).Int(1)
	w.Family("srs_lite_memory_ram_bytes", metrics.Gauge, "The RAM the board has (the cgroup limit when lower); 0 when unknown.")
	w.Uint(bi.memory.Total)
	w.Family("srs_lite_memory_limit_bytes", metrics.Gauge,
		"The Go memory limit in force (server.memory_limit, from the board profile or GOMEMLIMIT); 0 when none.")
	w.Int(max(bi.runtime.MemoryLimit, 0))
	w.Family("srs_lite_max_connections", metrics.Gauge, "server.max_connections in force; 0 when unlimited.")
	w.Int(int64(c.s.cfg.Load().Server.MaxConnections))
}

// ingestStates are the states an ingest is in, one series each.
var ingestStates = [...]string{ingest.StateDisabled, ingest.StateIdle, ingest.StateConnecting,
	ingest.StateRunning, ingest.StateRetrying, ingest.StateFailed, ingest.StateStopped}

// writeIngests writes the [[ingest]] entries, sorted by name.
func writeIngests(w *metrics.Writer, all []ingest.Status) {
	w.Family("srs_lite_ingest_state", metrics.Gauge, "1 for the state each [[ingest]] is in, 0 for the others.")
	for i := range all {
		for _, st := range ingestStates {
			w.Sample("name", all[i].Name, "state", st).Bool(all[i].State == st)
		}
	}
	w.Family("srs_lite_ingest_restarts_total", metrics.Counter, "Times each [[ingest]] source was restarted after a failure.")
	for i := range all {
		w.Sample("name", all[i].Name).Uint(all[i].Restarts)
	}
	w.Family("srs_lite_ingest_frames_total", metrics.Counter, "Frames each [[ingest]] wrote to its stream.")
	for i := range all {
		w.Sample("name", all[i].Name).Uint(all[i].Frames)
	}
	w.Family("srs_lite_ingest_bytes_total", metrics.Counter, "Bytes each [[ingest]] wrote to its stream.")
	for i := range all {
		w.Sample("name", all[i].Name).Uint(all[i].Bytes)
	}
}

// writeSRT writes the SRT server's counters, every connection so far.
func writeSRT(w *metrics.Writer, t srt.Totals) {
	w.Family("srs_lite_srt_connections", metrics.Gauge, "SRT connections now, by mode.")
	w.Sample("mode", "publish").Int(int64(t.Publishers))
	w.Sample("mode", "play").Int(int64(t.Players))
	counter := func(name, help string, v uint64) {
		w.Family(name, metrics.Counter, help)
		w.Uint(v)
	}
	counter("srs_lite_srt_packets_received_total", "SRT data packets received.", t.PktRecv)
	counter("srs_lite_srt_packets_sent_total", "SRT data packets sent.", t.PktSent)
	counter("srs_lite_srt_packets_lost_total", "SRT data packets found missing by our receivers (NAKed).", t.PktLoss)
	counter("srs_lite_srt_packets_retransmitted_total", "SRT data packets we sent again.", t.PktRetrans)
	counter("srs_lite_srt_packets_recovered_total", "SRT retransmissions received that filled a hole.", t.PktRecvRetrans)
	w.Family("srs_lite_srt_packets_too_late_total", metrics.Counter,
		"SRT data packets dropped as too late (TSBPD), at our receivers and at our senders.")
	w.Sample("side", "receiver").Uint(t.PktRecvDrop)
	w.Sample("side", "sender").Uint(t.PktSndDrop)
	counter("srs_lite_srt_packets_undecrypted_total", "SRT data packets that could not be decrypted.", t.PktRecvUndecrypt)
}

// writeHLS writes the HLS state of every stream that has HLS, in the
// registry's order.
func (c *metricsComponent) writeHLS(w *metrics.Writer, hc *hlsComponent) {
	type row struct {
		st    *media.Stream
		segs  int
		seq   uint64
		bytes int64
	}
	var rows []row
	for _, st := range c.s.reg.Streams() {
		h, ok := hc.m.Stats(st.Key())
		if ok {
			rows = append(rows, row{st, h.Segments, h.Seq, h.Bytes})
		}
	}
	fam := func(name, help string, val func(r *row) int64) {
		w.Family(name, metrics.Gauge, help)
		for i := range rows {
			r := &rows[i]
			w.Sample("vhost", r.st.Vhost, "app", r.st.App, "stream", r.st.Name).Int(val(r))
		}
	}
	fam("srs_lite_hls_segments", "HLS segments in the stream's playlist.", func(r *row) int64 { return int64(r.segs) })
	fam("srs_lite_hls_sequence", "Media sequence number of the stream's newest HLS segment.", func(r *row) int64 { return int64(r.seq) })
	fam("srs_lite_hls_bytes", "Bytes held in memory by the stream's HLS segments.", func(r *row) int64 { return r.bytes })
}

// writeForwards writes the forwards and publish-edge pushes of the live
// streams, by kind, stream and destination; a repeated destination is
// written once.
func writeForwards(w *metrics.Writer, all []forward.Status) {
	seen := make(map[[4]string]bool, len(all))
	keep := all[:0]
	for _, f := range all {
		k := [4]string{f.Kind, f.Vhost, f.Stream, f.URL}
		if !seen[k] {
			seen[k] = true
			keep = append(keep, f)
		}
	}
	fam := func(name string, typ metrics.Type, help string, val func(f *forward.Status) uint64) {
		w.Family(name, typ, help)
		for i := range keep {
			f := &keep[i]
			w.Sample("kind", f.Kind, "vhost", f.Vhost, "stream", f.Stream, "url", f.URL).Uint(val(f))
		}
	}
	fam("srs_lite_forward_up", metrics.Gauge, "1 while the forward's destination takes the stream.",
		func(f *forward.Status) uint64 { return b2u(f.State == forward.StateForwarding) })
	fam("srs_lite_forward_restarts_total", metrics.Counter, "Times the forward reconnected after a failure.",
		func(f *forward.Status) uint64 { return f.Restarts })
	fam("srs_lite_forward_send_bytes_total", metrics.Counter, "Bytes the forward sent to its destination.",
		func(f *forward.Status) uint64 { return f.Bytes })
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
