package api

import (
	"math"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/session"
)

// defaultVhost is the vhost of streams that name none.
const defaultVhost = media.DefaultVhost

type kbpsView struct {
	Recv30s int64 `json:"recv_30s"`
	Send30s int64 `json:"send_30s"`
}

type publishView struct {
	Active bool   `json:"active"`
	CID    string `json:"cid,omitempty"`
}

type videoView struct {
	Codec   string  `json:"codec"`
	Profile *string `json:"profile"`
	Level   *string `json:"level"`
	Width   int     `json:"width"`
	Height  int     `json:"height"`
}

type audioView struct {
	Codec      string  `json:"codec"`
	SampleRate int     `json:"sample_rate"`
	Channel    int     `json:"channel"`
	Profile    *string `json:"profile"`
}

// audioTrackView is one audio track of a stream that carries two: which
// players get it.
type audioTrackView struct {
	Track string `json:"track"` // "main" or "opus"
	audioView
	Players []string `json:"players"`
}

// Players of each audio track, as audio_tracks lists them.
var (
	mainTrackPlayers = []string{"rtmp", "http-flv", "http-ts", "hls-ts", "srt", "rtsp", "dvr"}
	opusTrackPlayers = []string{"webrtc", "hls-fmp4"}
)

// streamView is a stream as SRS's SrsStatisticStream::dumps shows it.
// Audio is the main track's (what RTMP players get); a stream with a second
// audio track (a WHIP publisher's Opus) lists both in AudioTracks.
type streamView struct {
	ID          string           `json:"id"`
	Name        string           `json:"name"`
	Vhost       string           `json:"vhost"`
	App         string           `json:"app"`
	TcURL       string           `json:"tcUrl"`
	URL         string           `json:"url"`
	LiveMS      int64            `json:"live_ms"`
	Clients     int              `json:"clients"`
	Frames      uint64           `json:"frames"`
	AudioFrames uint64           `json:"audio_frames"`
	VideoFrames uint64           `json:"video_frames"`
	SendBytes   uint64           `json:"send_bytes"`
	RecvBytes   uint64           `json:"recv_bytes"`
	Kbps        kbpsView         `json:"kbps"`
	Publish     publishView      `json:"publish"`
	Video       *videoView       `json:"video"`
	Audio       *audioView       `json:"audio"`
	AudioTracks []audioTrackView `json:"audio_tracks,omitempty"`
	HLS         any              `json:"hls,omitempty"` // the stream's HLS state, when it has HLS
}

// clientView is a connection as SRS's SrsStatisticClient::dumps shows it.
type clientView struct {
	ID        string   `json:"id"`
	Vhost     string   `json:"vhost"`
	Stream    string   `json:"stream"`
	IP        string   `json:"ip"`
	PageURL   string   `json:"pageUrl"`
	SwfURL    string   `json:"swfUrl"`
	TcURL     string   `json:"tcUrl"`
	URL       string   `json:"url"`
	Name      string   `json:"name"`
	Type      string   `json:"type"`
	Publish   bool     `json:"publish"`
	Alive     float64  `json:"alive"`
	SendBytes uint64   `json:"send_bytes"`
	RecvBytes uint64   `json:"recv_bytes"`
	Kbps      kbpsView `json:"kbps"`
}

// streamURL is SRS's stream url: "/app/stream", prefixed by the vhost
// unless it is the default one.
func streamURL(vhost, app, stream string) string {
	if app == "" && stream == "" {
		return ""
	}
	u := "/" + app + "/" + stream
	if vhost != "" && vhost != defaultVhost {
		u = vhost + u
	}
	return u
}

// codecName is the codec as SRS names it (srs_video_codec_id2str calls H.265
// "HEVC").
func codecName(c media.Codec) string {
	if c == media.CodecH265 {
		return "HEVC"
	}
	return c.String()
}

func strOrNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// streamViewLocked builds a stream's view; the caller holds a.mu.
func (a *API) streamViewLocked(s *media.Stream, st media.Stats, g *streamAgg, now time.Time) streamView {
	in, out := a.streamBytesLocked(s.ID, st.BytesIn, g)
	recv, send := a.streamMeters[s.ID].kbps()
	v := streamView{
		ID: s.ID, Name: s.Name, Vhost: s.Vhost, App: s.App,
		URL:         streamURL(s.Vhost, s.App, s.Name),
		LiveMS:      now.UnixMilli(),
		Clients:     st.Readers,
		Frames:      st.FramesIn,
		AudioFrames: st.AudioFrames,
		VideoFrames: st.VideoFrames,
		SendBytes:   out,
		RecvBytes:   in,
		Kbps:        kbpsView{recv, send},
		Publish:     publishView{Active: st.Publishing},
	}
	if st.Publishing {
		v.Clients++
	}
	if a.deps.HLS != nil {
		// HLS viewers are sessions that read no ring: count them here.
		var viewers int
		v.HLS, viewers = a.deps.HLS(s)
		v.Clients += viewers
	}
	if g != nil && g.publisher != nil {
		v.TcURL = g.publisher.URL
		if st.Publishing {
			v.Publish.CID = g.publisher.ID
		}
	}
	if st.HasVideo {
		v.Video = &videoView{Codec: codecName(st.Video.Codec), Profile: strOrNull(st.Video.Profile),
			Level: strOrNull(st.Video.Level), Width: st.Video.Width, Height: st.Video.Height}
	}
	if st.HasAudio {
		v.Audio = &audioView{Codec: codecName(st.Audio.Codec), SampleRate: st.Audio.SampleRate,
			Channel: st.Audio.Channels, Profile: strOrNull(st.Audio.Profile)}
	}
	if st.HasOpusAudio {
		if v.Audio != nil {
			v.AudioTracks = append(v.AudioTracks, audioTrackView{Track: "main", audioView: *v.Audio, Players: mainTrackPlayers})
		}
		v.AudioTracks = append(v.AudioTracks, audioTrackView{Track: "opus", Players: opusTrackPlayers,
			audioView: audioView{Codec: codecName(st.OpusAudio.Codec), SampleRate: st.OpusAudio.SampleRate,
				Channel: st.OpusAudio.Channels, Profile: strOrNull(st.OpusAudio.Profile)}})
	}
	return v
}

// streamViews builds the views of ss.
func (a *API) streamViews(ss []*media.Stream) []streamView {
	aggs := aggregate(a.deps.Clients.List())
	sts := make([]media.Stats, len(ss))
	for i, s := range ss {
		sts[i] = s.Stats()
	}
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]streamView, len(ss))
	for i, s := range ss {
		out[i] = a.streamViewLocked(s, sts[i], aggs[s.ID], now)
	}
	return out
}

func (a *API) streams(w http.ResponseWriter, r *http.Request) {
	all := a.deps.Registry.Streams()
	sel, err := paged(r, all)
	if err != nil {
		a.fail(w, r, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	a.reply(w, r, http.StatusOK, struct {
		envelope
		Total   int          `json:"total"`
		Streams []streamView `json:"streams"`
	}{a.env(CodeSuccess), len(all), a.streamViews(sel)})
}

func (a *API) stream(w http.ResponseWriter, r *http.Request) {
	s := a.deps.Registry.ByID(r.PathValue("id"))
	if s == nil {
		a.fail(w, r, http.StatusNotFound, CodeStreamNotFound, "stream not found")
		return
	}
	a.reply(w, r, http.StatusOK, struct {
		envelope
		Stream streamView `json:"stream"`
	}{a.env(CodeSuccess), a.streamViews([]*media.Stream{s})[0]})
}

// clientType is SRS's client type (srs_client_type_string) for a protocol
// and role.
func clientType(proto string, publisher bool) string {
	p := strings.ToLower(proto)
	switch {
	case p == "":
		return "Unknown"
	case p == "rtmp" && publisher:
		return "fmle-publish"
	case (p == "flv" || p == "http-flv" || p == "httpflv") && !publisher:
		return "flv-play"
	case p == "hls" && !publisher:
		return "hls-play"
	case publisher:
		return p + "-publish"
	}
	return p + "-play"
}

// clientViews builds the views of cs.
func (a *API) clientViews(cs []session.Snapshot) []clientView {
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]clientView, len(cs))
	for i := range cs {
		c := &cs[i]
		recv, send := a.clientMeters[c.ID].kbps()
		alive := now.Sub(c.Start).Seconds()
		out[i] = clientView{
			ID: c.ID, Vhost: c.Vhost, Stream: c.StreamID, IP: c.IP,
			TcURL: c.URL, URL: streamURL(c.Vhost, c.App, c.Stream), Name: c.Stream,
			Type:      clientType(c.Proto, c.Publisher()),
			Publish:   c.Publisher(),
			Alive:     math.Round(max(alive, 0)*1000) / 1000,
			SendBytes: c.BytesOut, RecvBytes: c.BytesIn,
			Kbps: kbpsView{recv, send},
		}
	}
	return out
}

func (a *API) clients(w http.ResponseWriter, r *http.Request) {
	all := a.deps.Clients.List()
	sel, err := paged(r, all)
	if err != nil {
		a.fail(w, r, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	a.reply(w, r, http.StatusOK, struct {
		envelope
		Total   int          `json:"total"`
		Clients []clientView `json:"clients"`
	}{a.env(CodeSuccess), len(all), a.clientViews(sel)})
}

func (a *API) client(w http.ResponseWriter, r *http.Request) {
	c := a.deps.Clients.Get(r.PathValue("id"))
	if c == nil {
		a.fail(w, r, http.StatusNotFound, CodeClientNotFound, "client not found")
		return
	}
	a.reply(w, r, http.StatusOK, struct {
		envelope
		Client clientView `json:"client"`
	}{a.env(CodeSuccess), a.clientViews([]session.Snapshot{c.Snapshot()})[0]})
}

func (a *API) kick(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !a.deps.Clients.Kick(id) {
		a.fail(w, r, http.StatusNotFound, CodeClientNotFound, "client not found")
		return
	}
	a.log.Info("api: client kicked", "client", id, "remote", r.RemoteAddr)
	a.reply(w, r, http.StatusOK, a.env(CodeSuccess))
}

// selfView and systemView are SRS's srs_api_dump_summaries: percents are
// ratios (0.25 is 25%), as SRS gives them.
type selfView struct {
	Version    string  `json:"version"`
	PID        int     `json:"pid"`
	PPID       int     `json:"ppid"`
	Argv       string  `json:"argv"`
	Cwd        string  `json:"cwd"`
	MemKbyte   uint64  `json:"mem_kbyte"`
	MemPercent float64 `json:"mem_percent"`
	CPUPercent float64 `json:"cpu_percent"`
	SrsUptime  int64   `json:"srs_uptime"`
}

type systemView struct {
	CPUPercent      float64 `json:"cpu_percent"`
	DiskReadKBps    int64   `json:"disk_read_KBps"`
	DiskWriteKBps   int64   `json:"disk_write_KBps"`
	DiskBusyPercent float64 `json:"disk_busy_percent"`
	MemRAMKbyte     uint64  `json:"mem_ram_kbyte"`
	MemRAMPercent   float64 `json:"mem_ram_percent"`
	MemSwapKbyte    uint64  `json:"mem_swap_kbyte"`
	MemSwapPercent  float64 `json:"mem_swap_percent"`
	CPUs            int     `json:"cpus"`
	CPUsOnline      int     `json:"cpus_online"`
	Uptime          float64 `json:"uptime"`
	IdleTime        float64 `json:"ilde_time"` // sic, SRS's spelling
	Load1m          float64 `json:"load_1m"`
	Load5m          float64 `json:"load_5m"`
	Load15m         float64 `json:"load_15m"`
	NetSampleTime   int64   `json:"net_sample_time"`
	NetRecvBytes    uint64  `json:"net_recv_bytes"`
	NetSendBytes    uint64  `json:"net_send_bytes"`
	NetRecviBytes   uint64  `json:"net_recvi_bytes"`
	NetSendiBytes   uint64  `json:"net_sendi_bytes"`
	SrsSampleTime   int64   `json:"srs_sample_time"`
	SrsRecvBytes    uint64  `json:"srs_recv_bytes"`
	SrsSendBytes    uint64  `json:"srs_send_bytes"`
	ConnSys         uint64  `json:"conn_sys"`
	ConnSysET       uint64  `json:"conn_sys_et"`
	ConnSysTW       uint64  `json:"conn_sys_tw"`
	ConnSysUDP      uint64  `json:"conn_sys_udp"`
	ConnSrs         int     `json:"conn_srs"`
}

type summaryData struct {
	OK     bool       `json:"ok"`
	NowMS  int64      `json:"now_ms"`
	Self   selfView   `json:"self"`
	System systemView `json:"system"`
	Board  any        `json:"board,omitempty"` // the board profile in force (Deps.Board)
	TLS    any        `json:"tls,omitempty"`   // the TLS listeners' certificate (Deps.TLS)
}

// round4 keeps four decimals of a ratio.
func round4(f float64) float64 { return math.Round(f*1e4) / 1e4 }

// summary gathers the summaries: the sampled rates plus what is cheap to read
// now (memory, load, uptime, sockets, our byte totals). net_recv_bytes and
// net_send_bytes are the server's own bytes (as srs_recv_bytes), not the
// host's interfaces.
func (a *API) summary(now time.Time) summaryData {
	live, _, in, out := a.deps.Clients.Totals()
	a.mu.Lock()
	h, rt := a.host, a.rates
	a.mu.Unlock()

	d := summaryData{OK: rt.ok, NowMS: now.UnixMilli()}
	cwd, _ := os.Getwd()
	d.Self = selfView{
		Version: parseVersion(a.deps.Version).Version, PID: os.Getpid(), PPID: os.Getppid(),
		Argv: strings.Join(os.Args, " "), Cwd: cwd,
		CPUPercent: round4(rt.selfCPU),
		SrsUptime:  int64(now.Sub(a.deps.Start).Seconds()),
	}
	if h.selfOK {
		d.Self.PPID = h.self.ppid
	}
	if self, err := a.proc.self(); err == nil {
		d.Self.MemKbyte = self.rssKB
	} else {
		d.OK = false
	}
	sys := &d.System
	sys.CPUPercent = round4(rt.cpu)
	sys.DiskReadKBps, sys.DiskWriteKBps = int64(rt.diskReadKBps), int64(rt.diskWriteKBps)
	sys.DiskBusyPercent = round4(rt.diskBusy)
	sys.CPUs, sys.CPUsOnline = runtime.NumCPU(), runtime.NumCPU()
	if m, err := a.proc.mem(); err == nil {
		sys.MemRAMKbyte, sys.MemRAMPercent = m.total, round4(m.ramRatio())
		sys.MemSwapKbyte, sys.MemSwapPercent = m.swapTotal, round4(m.swapRatio())
		d.Self.MemPercent = round4(float64(d.Self.MemKbyte) / float64(m.total))
	} else {
		d.OK = false
	}
	if up, idle, err := a.proc.uptime(); err == nil {
		sys.Uptime, sys.IdleTime = up, idle
	} else {
		d.OK = false
	}
	if l, err := a.proc.loadavg(); err == nil {
		sys.Load1m, sys.Load5m, sys.Load15m = l[0], l[1], l[2]
	} else {
		d.OK = false
	}
	if s, err := a.proc.sockstat(); err == nil {
		sys.ConnSys, sys.ConnSysET, sys.ConnSysTW, sys.ConnSysUDP = s.tcp, s.tcpInUse, s.tcpTW, s.udp
	} else {
		d.OK = false
	}
	sys.NetSampleTime, sys.SrsSampleTime = now.UnixMilli(), now.UnixMilli()
	sys.NetRecvBytes, sys.NetSendBytes = in, out
	sys.SrsRecvBytes, sys.SrsSendBytes = in, out
	sys.ConnSrs = live
	if a.deps.Board != nil {
		d.Board = a.deps.Board()
	}
	if a.deps.TLS != nil {
		d.TLS = a.deps.TLS()
	}
	return d
}

func (a *API) summaries(w http.ResponseWriter, r *http.Request) {
	a.reply(w, r, http.StatusOK, struct {
		envelope
		Data summaryData `json:"data"`
	}{a.env(CodeSuccess), a.summary(time.Now())})
}
