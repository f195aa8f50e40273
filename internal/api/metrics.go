package api

import (
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/metrics"
	"github.com/srs-lite/srs-lite/internal/session"
)

// maxKeptScrape is the largest scrape buffer kept between scrapes; a bigger
// one (tens of thousands of streams) is let go after its scrape.
const maxKeptScrape = 4 << 20

// MetricsHandler returns the handler of GET /metrics: the Prometheus text
// format with SRS's exporter families and the API's per-stream ones
// (WriteMetrics), then what extra writes (the server's own families), behind
// the API's access policy for reads ([http_api.auth] read).
func (a *API) MetricsHandler(extra func(w *metrics.Writer)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.deps.Auth != nil && !a.deps.Auth(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="srs-lite"`)
			a.fail(w, r, http.StatusUnauthorized, CodeUnauthorized, "unauthorized")
			return
		}
		if !a.checkAccess(w, r) {
			return
		}
		a.scrapeMu.Lock()
		defer a.scrapeMu.Unlock()
		mw := &a.scrape
		mw.Reset()
		a.WriteMetrics(mw, time.Now())
		if extra != nil {
			extra(mw)
		}
		if err := mw.Err(); err != nil {
			a.log.Error("metrics: bad family or sample left out", "err", err)
		}
		b := mw.Bytes()
		h := w.Header()
		h.Set("Content-Type", metrics.ContentType)
		h.Set("Content-Length", strconv.Itoa(len(b)))
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			w.Write(b)
		}
		if cap(b) > maxKeptScrape {
			a.scrape = metrics.Writer{}
		}
	})
}

// protoCount is a stream's players of one protocol.
type protoCount struct {
	proto string
	n     int
}

// streamRow is what the metrics say of one stream.
type streamRow struct {
	s          *media.Stream
	st         media.Stats
	in, out    uint64
	recv, send int64
	clients    int
	viewers    []protoCount // by protocol, sorted by it
}

// WriteMetrics writes SRS's exporter families (srs_build_info,
// srs_cpu_percent, srs_memory, bytes, streams, clients; SRS's
// SrsGoApiMetrics) and the per-stream families (srs_stream_*: kbps, bytes,
// frames, clients, viewers by protocol; srs_lite_stream_*: the ring's drops
// and skips). Values come from the same sources as /api/v1/summaries,
// /api/v1/streams and /api/v1/clients: the sampler's 30 s kbps, the session
// table, the registry.
func (a *API) WriteMetrics(w *metrics.Writer, now time.Time) {
	clients := a.deps.Clients.List()
	streams := a.deps.Registry.Streams()
	live, total, in, out := a.deps.Clients.Totals()

	if u, ok := uname(); ok {
		w.Family("srs_node_uname_info", metrics.Gauge, "Labeled system information as provided by the uname system call.")
		w.Sample("sysname", u[0], "nodename", u[1], "release", u[2], "version", u[3], "machine", u[4]).Int(1)
	}
	v := parseVersion(a.deps.Version)
	w.Family("srs_build_info", metrics.Gauge, "A metric with a constant '1' value labeled by the server's ids and version.")
	w.Sample("server", a.deps.ServerID, "service", a.service, "pid", a.pid,
		"major", strconv.Itoa(v.Major), "version", v.Version, "code", "srs-lite").Int(1)

	a.mu.Lock()
	rt := a.rates
	a.mu.Unlock()
	w.Family("srs_cpu_percent", metrics.Gauge, "SRS cpu used percent (of one CPU, over the last sample period).")
	w.Value(math.Round(rt.selfCPU*1e4) / 100)
	if self, err := a.proc.self(); err == nil {
		w.Family("srs_memory", metrics.Gauge, "SRS memory used (resident set, KiB).")
		w.Uint(self.rssKB)
	}
	w.Family("srs_send_bytes_total", metrics.Counter, "SRS total sent bytes.")
	w.Uint(out)
	w.Family("srs_receive_bytes_total", metrics.Counter, "SRS total received bytes.")
	w.Uint(in)
	w.Family("srs_streams", metrics.Gauge, "The number of SRS concurrent streams.")
	w.Int(int64(len(streams)))
	w.Family("srs_clients", metrics.Gauge, "The number of SRS concurrent clients.")
	w.Int(int64(live))
	w.Family("srs_clients_total", metrics.Counter, "The total counts of SRS clients.")
	w.Uint(total)
	w.Family("srs_clients_errs_total", metrics.Counter,
		"The total errors of SRS clients (clients refused: connection limit, hooks, security rules).")
	w.Uint(a.deps.Clients.Errors())
	w.Family("srs_lite_uptime_seconds", metrics.Gauge, "Seconds since the server started.")
	w.Value(float64(now.Sub(a.deps.Start).Milliseconds()) / 1000)

	rows := a.streamRows(streams, clients)
	a.writeStreams(w, rows)
}

// streamRows gathers each stream's figures as /api/v1/streams shows them,
// plus its players by protocol.
func (a *API) streamRows(streams []*media.Stream, clients []session.Snapshot) []streamRow {
	rows := make([]streamRow, len(streams))
	byID := make(map[string]int, len(streams))
	byKey := make(map[media.Key]int, len(streams))
	for i, s := range streams {
		rows[i] = streamRow{s: s, st: s.Stats()}
		byID[s.ID] = i
		byKey[s.Key()] = i
	}
	for i := range clients {
		c := &clients[i]
		if c.Role != session.Player {
			continue
		}
		// HLS viewers name their stream by key only: they read no ring.
		j, ok := byID[c.StreamID]
		if !ok && c.StreamID == "" {
			j, ok = byKey[c.Key]
		}
		if !ok {
			continue
		}
		r := &rows[j]
		proto := strings.ToLower(c.Proto)
		k := 0
		for k < len(r.viewers) && r.viewers[k].proto < proto {
			k++
		}
		if k == len(r.viewers) || r.viewers[k].proto != proto { // kept sorted: a few protocols
			r.viewers = slices.Insert(r.viewers, k, protoCount{proto, 0})
		}
		r.viewers[k].n++
	}
	aggs := aggregate(clients)
	a.mu.Lock()
	for i := range rows {
		r := &rows[i]
		r.in, r.out = a.streamBytesLocked(r.s.ID, r.st.BytesIn, aggs[r.s.ID])
		r.recv, r.send = a.streamMeters[r.s.ID].kbps()
	}
	a.mu.Unlock()
	for i := range rows {
		r := &rows[i]
		// As /api/v1/streams counts them: ring players, the publisher, and
		// HLS viewers (sessions that read no ring).
		r.clients = r.st.Readers
		if r.st.Publishing {
			r.clients++
		}
		for _, p := range r.viewers {
			if p.proto == "hls" {
				r.clients += p.n
			}
		}
	}
	return rows
}

// writeStreams writes the per-stream families, each with every stream in
// the registry's order (sorted by key).
func (a *API) writeStreams(w *metrics.Writer, rows []streamRow) {
	fam := func(name string, typ metrics.Type, help string, val func(r *streamRow) uint64) {
		w.Family(name, typ, help)
		for i := range rows {
			r := &rows[i]
			w.Sample("vhost", r.s.Vhost, "app", r.s.App, "stream", r.s.Name).Uint(val(r))
		}
	}
	fam("srs_stream_publishing", metrics.Gauge, "1 while the stream has a publisher.",
		func(r *streamRow) uint64 { return b2u(r.st.Publishing) })
	fam("srs_stream_clients", metrics.Gauge, "The stream's clients, its publisher included, as /api/v1/streams counts them.",
		func(r *streamRow) uint64 { return uint64(r.clients) })
	w.Family("srs_stream_viewers", metrics.Gauge, "The stream's players, by protocol.")
	for i := range rows {
		r := &rows[i]
		for _, p := range r.viewers {
			w.Sample("vhost", r.s.Vhost, "app", r.s.App, "stream", r.s.Name, "proto", p.proto).Int(int64(p.n))
		}
	}
	fam("srs_stream_recv_kbps", metrics.Gauge, "The stream's receive rate over the last 30 s, kbit/s.",
		func(r *streamRow) uint64 { return uint64(max(r.recv, 0)) })
	fam("srs_stream_send_kbps", metrics.Gauge, "The stream's send rate (to all its clients) over the last 30 s, kbit/s.",
		func(r *streamRow) uint64 { return uint64(max(r.send, 0)) })
	fam("srs_stream_receive_bytes_total", metrics.Counter, "Bytes received from the stream's publishers.",
		func(r *streamRow) uint64 { return r.in })
	fam("srs_stream_send_bytes_total", metrics.Counter, "Bytes sent to the stream's clients.",
		func(r *streamRow) uint64 { return r.out })
	fam("srs_stream_frames_total", metrics.Counter, "Frames written by the stream's publishers (video, audio, sequence headers, metadata).",
		func(r *streamRow) uint64 { return r.st.FramesIn })
	fam("srs_stream_video_frames_total", metrics.Counter, "Video frames written by the stream's publishers.",
		func(r *streamRow) uint64 { return r.st.VideoFrames })
	fam("srs_stream_audio_frames_total", metrics.Counter, "Audio frames written by the stream's publishers.",
		func(r *streamRow) uint64 { return r.st.AudioFrames })
	fam("srs_lite_stream_dropped_frames_total", metrics.Counter,
		"Frames the stream's readers skipped because they fell behind (lapped by the ring, or over queue_length).",
		func(r *streamRow) uint64 { return r.st.Dropped })
	fam("srs_lite_stream_keyframe_skips_total", metrics.Counter,
		"Times a reader of the stream fell behind and skipped to the newest keyframe.",
		func(r *streamRow) uint64 { return r.st.Skips })
	fam("srs_lite_stream_slow_players_total", metrics.Counter,
		"Readers of the stream closed for falling behind too often.",
		func(r *streamRow) uint64 { return r.st.SlowClosed })
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
