// Package config is the TOML configuration of srs-lite: the schema, the
// embedded defaults, decoding with every problem reported as FILE:LINE: key:
// message, validation, section diffs for reload, and atomic file writes.
//
// It imports nothing internal. The schema follows SRS's names; see
// conf/srs-lite.toml for every key with its default.
package config

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/srs-lite/srs-lite/internal/media"
)

// DefaultVhost is the name of the vhost used when a client names none, as in
// SRS: the media core's, the one definition.
const DefaultVhost = media.DefaultVhost

// Config is a whole srs-lite configuration. The zero value is not useful:
// start from Default, Load or Parse.
type Config struct {
	Server     Server     `toml:"server" json:"server"`
	Log        Log        `toml:"log" json:"log"`
	RTMP       RTMP       `toml:"rtmp" json:"rtmp"`
	HTTPAPI    HTTPAPI    `toml:"http_api" json:"http_api"`
	HTTPServer HTTPServer `toml:"http_server" json:"http_server"`
	TLS        TLS        `toml:"tls" json:"tls"`
	RTC        RTC        `toml:"rtc" json:"rtc"`
	SRT        SRT        `toml:"srt" json:"srt"`
	OTA        OTA        `toml:"ota" json:"ota"`
	Heartbeat  Heartbeat  `toml:"heartbeat" json:"heartbeat"`
	GB28181    GB28181    `toml:"gb28181" json:"gb28181"`
	Vhosts     []Vhost    `toml:"vhost" json:"vhost"`
	Ingests    []Ingest   `toml:"ingest" json:"ingest"`
	Serials    []Serial   `toml:"serial" json:"serial"`

	// Transcodes are the [[transcode]] rules: see transcode.go.
	Transcodes []Transcode `toml:"transcode" json:"transcode"`

	src *source // where the config came from, for line numbers; nil for Default
}

// Server holds process-wide settings.
type Server struct {
	PID            string   `toml:"pid" json:"pid"`                         // pid file; empty: none
	Grace          Duration `toml:"grace" json:"grace"`                     // SIGTERM drain period
	MaxConnections int      `toml:"max_connections" json:"max_connections"` // across all protocols
	Board          string   `toml:"board" json:"board"`                     // board profile; empty: detect
	// MemoryLimit is the Go runtime's soft memory limit
	// (debug.SetMemoryLimit); 0: the board profile's, else none.
	MemoryLimit Size `toml:"memory_limit" json:"memory_limit"`
	// GCPercent is the collector's target (debug.SetGCPercent, GOGC); -1: off.
	GCPercent int `toml:"gc_percent" json:"gc_percent"`
}

// Log configures the process logger.
type Log struct {
	Level  string `toml:"level" json:"level"`   // debug | info | warn | error
	File   string `toml:"file" json:"file"`     // empty: standard error; "syslog": the local syslog
	Format string `toml:"format" json:"format"` // text | json
	// MaxSize caps a log file: past it the file is renamed FILE.1 (the
	// previous FILE.1 is dropped) and a new one started, so a log on a
	// tmpfs stays under twice this. 0: no cap.
	MaxSize Size `toml:"max_size" json:"max_size"`
}

// RTMP configures the RTMP listener.
type RTMP struct {
	Listen    Listen `toml:"listen" json:"listen"`
	ChunkSize int    `toml:"chunk_size" json:"chunk_size"` // outgoing chunk size, 128..65536
	// RTMPSListen is RTMP over TLS ([tls] has the certificate); empty: off.
	RTMPSListen string `toml:"rtmps_listen" json:"rtmps_listen"`
}

// HTTPAPI configures the HTTP API and web console listener.
type HTTPAPI struct {
	Enabled bool   `toml:"enabled" json:"enabled"`
	Listen  string `toml:"listen" json:"listen"` // may equal HTTPServer.Listen: one port serves both
	// HTTPSListen serves the same routes over TLS (HTTP/2 too); empty:
	// off. It may equal HTTPServer.HTTPSListen: one port serves both.
	HTTPSListen string `toml:"https_listen" json:"https_listen"`
	Auth        Auth   `toml:"auth" json:"auth"`
}

// HTTPServer configures the HTTP listener for HTTP-FLV, HLS and static files.
type HTTPServer struct {
	Enabled bool   `toml:"enabled" json:"enabled"`
	Listen  string `toml:"listen" json:"listen"`
	// HTTPSListen serves the same routes over TLS (HTTP/2 too); empty: off.
	HTTPSListen string `toml:"https_listen" json:"https_listen"`
	Dir         string `toml:"dir" json:"dir"` // static files served beside the streams
}

// TLS names the certificate of the TLS listeners (https_listen,
// rtmps_listen): PEM files re-read when they change, or, both empty, a
// self-signed certificate made once per device and kept beside the config
// file.
type TLS struct {
	Cert string `toml:"cert" json:"cert"` // the certificate chain, leaf first
	Key  string `toml:"key" json:"key"`   // its private key
}

// UsesTLS reports whether any TLS listener is configured.
func (c *Config) UsesTLS() bool {
	return c.RTMP.RTMPSListen != "" || (c.HTTPAPI.Enabled && c.HTTPAPI.HTTPSListen != "") ||
		(c.HTTPServer.Enabled && c.HTTPServer.HTTPSListen != "")
}

// Vhost is one virtual host: per-stream settings for the streams under it.
type Vhost struct {
	Name              string    `toml:"name" json:"name"`
	Enabled           bool      `toml:"enabled" json:"enabled"`
	GOPCache          bool      `toml:"gop_cache" json:"gop_cache"`                       // new players start at the last keyframe
	GOPCacheMaxFrames int       `toml:"gop_cache_max_frames" json:"gop_cache_max_frames"` // cap of the cached GOP, in frames
	QueueLength       Duration  `toml:"queue_length" json:"queue_length"`                 // a player further behind skips ahead
	MWLatency         Duration  `toml:"mw_latency" json:"mw_latency"`                     // merged-write delay
	MWMsgs            int       `toml:"mw_msgs" json:"mw_msgs"`                           // frames per merged write at least, 0..128
	RingFrames        int       `toml:"ring_frames" json:"ring_frames"`                   // ring capacity, a power of two 64..65536
	TimeJitter        string    `toml:"time_jitter" json:"time_jitter"`                   // RTMP and HTTP-FLV player timestamps: full | zero | off
	ATC               bool      `toml:"atc" json:"atc"`                                   // absolute time: publisher timestamps unchanged, HLS cut on absolute time
	ATCAuto           bool      `toml:"atc_auto" json:"atc_auto"`                         // ATC when the publisher's metadata asks (bravo_atc)
	HTTPRemux         HTTPRemux `toml:"http_remux" json:"http_remux"`
	HLS               HLS       `toml:"hls" json:"hls"`
	DVR               DVR       `toml:"dvr" json:"dvr"`
	Hooks             Hooks     `toml:"hooks" json:"hooks"`
	Forward           Forward   `toml:"forward" json:"forward"`
	Cluster           Cluster   `toml:"cluster" json:"cluster"`
	Security          Security  `toml:"security" json:"security"`
}

// Forward lists the RTMP servers every stream of a vhost is pushed to.
type Forward struct {
	Destinations []string `toml:"destinations" json:"destinations"` // "host:port" or "rtmp://host/app/[stream]"
}

// Cluster modes.
const (
	ModeLocal  = "local"  // origin
	ModeRemote = "remote" // edge
)

// Cluster configures the edge and origin-cluster roles of a vhost.
type Cluster struct {
	Mode          string   `toml:"mode" json:"mode"`                     // local (origin) | remote (edge)
	Origins       []string `toml:"origins" json:"origins"`               // edge: "host:port" tried in order
	Protocol      string   `toml:"protocol" json:"protocol"`             // edge pull: rtmp | flv
	TokenTraverse bool     `toml:"token_traverse" json:"token_traverse"` // edge: the origin authenticates each connect
	OriginCluster bool     `toml:"origin_cluster" json:"origin_cluster"` // origin: ask coworkers, redirect with RTMP 302
	Coworkers     []string `toml:"coworkers" json:"coworkers"`           // origin cluster: "host:api_port" of the others
}

// Security holds a vhost's allow/deny rules for publish and play (SRS's security).
type Security struct {
	Enabled bool     `toml:"enabled" json:"enabled"`
	Rules   []string `toml:"rules" json:"rules"` // "allow publish all", "deny play 10.0.0.0/8"
}

// HTTPRemux configures HTTP-FLV (and HTTP-TS) players of a vhost.
type HTTPRemux struct {
	Enabled bool   `toml:"enabled" json:"enabled"`
	Mount   string `toml:"mount" json:"mount"` // URL path with [vhost], [app], [stream]
}

// HLS configures the HLS segmenter of a vhost.
type HLS struct {
	Enabled  bool     `toml:"enabled" json:"enabled"`
	Fragment Duration `toml:"fragment" json:"fragment"` // target segment length
	Window   Duration `toml:"window" json:"window"`     // playlist length, at least one fragment
	Path     string   `toml:"path" json:"path"`         // empty: segments in memory; a folder: written there
	// Container is "ts" (MPEG-TS segments) or "fmp4" (CMAF: fragmented MP4,
	// which Safari needs for HEVC).
	Container string `toml:"container" json:"container"`
	// Dispose is how long the playlist and segments of a stream stay after
	// its publisher leaves; a publisher back within it continues the
	// playlist after an EXT-X-DISCONTINUITY.
	Dispose Duration `toml:"dispose" json:"dispose"`
	Ctx     bool     `toml:"hls_ctx" json:"hls_ctx"` // viewer sessions (SRS's hls_ctx); false behind a cache
	// LowLatency makes low-latency HLS (parts, blocking playlist reload);
	// it needs container "fmp4".
	LowLatency bool     `toml:"low_latency" json:"low_latency"`
	Part       Duration `toml:"part" json:"part"` // low-latency part length, 100ms..1s, less than fragment
}

// Time jitter algorithms (SRS's time_jitter): what RTMP and HTTP-FLV players
// get as timestamps.
const (
	JitterFull = "full" // each player's timeline starts at 0 and never jumps
	JitterZero = "zero" // each player's timeline starts at 0
	JitterOff  = "off"  // the publisher's timestamps
)

// HLS containers.
const (
	ContainerTS   = "ts"
	ContainerFMP4 = "fmp4"
)

// DVR plans.
const (
	PlanSession = "session" // one file per publish session
	PlanSegment = "segment" // a new file every Duration
)

// DVR configures recording of a vhost.
type DVR struct {
	Enabled  bool     `toml:"enabled" json:"enabled"`
	Path     string   `toml:"path" json:"path"`         // with [vhost], [app], [stream], [timestamp], [seq]
	Plan     string   `toml:"plan" json:"plan"`         // session | segment
	Duration Duration `toml:"duration" json:"duration"` // segment length for plan = "segment"
}

// Hooks lists the HTTP callback URLs of a vhost, each called in order.
type Hooks struct {
	OnConnect   []string `toml:"on_connect" json:"on_connect"`
	OnClose     []string `toml:"on_close" json:"on_close"`
	OnPublish   []string `toml:"on_publish" json:"on_publish"`
	OnUnpublish []string `toml:"on_unpublish" json:"on_unpublish"`
	OnPlay      []string `toml:"on_play" json:"on_play"`
	OnStop      []string `toml:"on_stop" json:"on_stop"`
	OnDVR       []string `toml:"on_dvr" json:"on_dvr"`
	OnHLS       []string `toml:"on_hls" json:"on_hls"`
	// OnHLSNotify are URL templates GET per new segment (SRS's
	// on_hls_notify): [vhost] [app] [stream] [seq] [url] [ts_url]
	// [server_id].
	OnHLSNotify []string `toml:"on_hls_notify" json:"on_hls_notify"`
	OnForward   []string `toml:"on_forward" json:"on_forward"`
}

// Ingest is a pull source started when the first reader arrives.
type Ingest struct {
	Name    string `toml:"name" json:"name"`
	Enabled bool   `toml:"enabled" json:"enabled"`
	Input   string `toml:"input" json:"input"`   // rtsp://, v4l2:///dev/video0, a file, any URL ffmpeg reads
	Output  string `toml:"output" json:"output"` // APP/STREAM here (Parse fills live/NAME), or an rtmp:// URL
	// OnDemand pulls the input only while the stream has players: it
	// connects when the first arrives and stops a while after the last leaves.
	OnDemand bool `toml:"on_demand" json:"on_demand"`
	// IdleTimeout is how long an on-demand ingest keeps pulling after its
	// last player left.
	IdleTimeout Duration `toml:"idle_timeout" json:"idle_timeout"`
	// Transport is the RTSP transport: auto (UDP, then TCP when UDP gets
	// nothing), udp or tcp (interleaved).
	Transport string `toml:"transport" json:"transport"`
	// Encoder is the H.264 encoder of inputs that need one (MJPEG and raw
	// V4L2 cameras): auto or empty (libx264 there, none for coded inputs),
	// copy, or an ffmpeg encoder such as libx264, h264_v4l2m2m or h264_omx.
	// Set on an input ffmpeg reads, it re-encodes the video.
	Encoder string `toml:"encoder" json:"encoder"`
	// ACodec is the audio of inputs ffmpeg reads: copy (empty), aac or none.
	ACodec string `toml:"acodec" json:"acodec"`
}

// Default returns the embedded default configuration: every listener on its
// default port and exactly one vhost, __defaultVhost__.
func Default() *Config {
	return &Config{
		Server: Server{
			Grace:          Duration(5 * time.Second),
			MaxConnections: 1000,
			GCPercent:      100,
		},
		Log:        Log{Level: "info", Format: "text"},
		RTMP:       RTMP{Listen: Listen{"0.0.0.0:1935"}, ChunkSize: 60000},
		HTTPAPI:    HTTPAPI{Enabled: true, Listen: "0.0.0.0:1985"},
		HTTPServer: HTTPServer{Enabled: true, Listen: "0.0.0.0:8080", Dir: "./www"},
		RTC:        defaultRTC(),
		SRT:        defaultSRT(),
		OTA:        defaultOTA(),
		Heartbeat:  Heartbeat{Interval: Duration(10 * time.Second)},
		GB28181:    defaultGB28181(),
		Vhosts:     []Vhost{DefaultVhostConfig(DefaultVhost)},
	}
}

// DefaultVhostConfig returns the defaults of a vhost named name; keys a file
// leaves out of a [[vhost]] keep these values.
func DefaultVhostConfig(name string) Vhost {
	return Vhost{
		Name:              name,
		Enabled:           true,
		GOPCache:          true,
		GOPCacheMaxFrames: 2500,
		QueueLength:       Duration(10 * time.Second),
		MWLatency:         Duration(350 * time.Millisecond),
		MWMsgs:            8,
		RingFrames:        1024,
		TimeJitter:        JitterFull,
		HTTPRemux:         HTTPRemux{Enabled: true, Mount: "[vhost]/[app]/[stream].flv"},
		HLS: HLS{
			Enabled:   true,
			Fragment:  Duration(2 * time.Second),
			Window:    Duration(10 * time.Second),
			Container: ContainerTS,
			Dispose:   Duration(2 * time.Minute),
			Ctx:       true,
			Part:      Duration(200 * time.Millisecond),
		},
		DVR: DVR{
			Path:     "./dvr/[app]/[stream].[timestamp].flv",
			Plan:     PlanSession,
			Duration: Duration(30 * time.Minute),
		},
		Hooks: Hooks{
			OnConnect: []string{}, OnClose: []string{}, OnPublish: []string{},
			OnUnpublish: []string{}, OnPlay: []string{}, OnStop: []string{},
			OnDVR: []string{}, OnHLS: []string{}, OnHLSNotify: []string{}, OnForward: []string{},
		},
		Forward:  Forward{Destinations: []string{}},
		Cluster:  Cluster{Mode: ModeLocal, Origins: []string{}, Protocol: "rtmp", Coworkers: []string{}},
		Security: Security{Rules: []string{}},
	}
}

// defaultIngest returns the defaults of an [[ingest]] entry.
func defaultIngest() Ingest {
	return Ingest{Enabled: true, IdleTimeout: Duration(30 * time.Second), Transport: "auto"}
}

// Vhost returns the enabled vhost called name (compared case-insensitively),
// falling back to __defaultVhost__ when no vhost has that name. It returns nil
// when the vhost found is disabled, or when there is none.
func (c *Config) Vhost(name string) *Vhost {
	if name == "" {
		name = DefaultVhost
	}
	for _, try := range []string{name, DefaultVhost} {
		for i := range c.Vhosts {
			if strings.EqualFold(c.Vhosts[i].Name, try) {
				if !c.Vhosts[i].Enabled {
					return nil
				}
				return &c.Vhosts[i]
			}
		}
	}
	return nil
}

// File returns the name the config was loaded from; empty for Default.
func (c *Config) File() string {
	if c.src == nil {
		return ""
	}
	return c.src.name
}

// Marshal writes c back as TOML. Parse of the result gives a config equal to c.
func (c *Config) Marshal() ([]byte, error) {
	var b bytes.Buffer
	e := toml.NewEncoder(&b)
	e.Indent = "  "
	if err := e.Encode(c); err != nil {
		return nil, fmt.Errorf("config: marshal: %w", err)
	}
	return b.Bytes(), nil
}

// Clone returns a deep copy of c, so that a copy can be edited (by the API)
// while components keep reading the original.
func (c *Config) Clone() *Config {
	n := *c
	n.RTMP.Listen = cloneStrings(c.RTMP.Listen)
	if c.Vhosts != nil {
		n.Vhosts = make([]Vhost, len(c.Vhosts))
	}
	for i, v := range c.Vhosts {
		v.Hooks = Hooks{
			OnConnect: cloneStrings(v.Hooks.OnConnect), OnClose: cloneStrings(v.Hooks.OnClose),
			OnPublish: cloneStrings(v.Hooks.OnPublish), OnUnpublish: cloneStrings(v.Hooks.OnUnpublish),
			OnPlay: cloneStrings(v.Hooks.OnPlay), OnStop: cloneStrings(v.Hooks.OnStop),
			OnDVR: cloneStrings(v.Hooks.OnDVR), OnHLS: cloneStrings(v.Hooks.OnHLS), OnHLSNotify: cloneStrings(v.Hooks.OnHLSNotify),
			OnForward: cloneStrings(v.Hooks.OnForward),
		}
		v.Forward.Destinations = cloneStrings(v.Forward.Destinations)
		v.Cluster.Origins = cloneStrings(v.Cluster.Origins)
		v.Cluster.Coworkers = cloneStrings(v.Cluster.Coworkers)
		v.Security.Rules = cloneStrings(v.Security.Rules)
		n.Vhosts[i] = v
	}
	if c.Ingests != nil {
		n.Ingests = append([]Ingest(nil), c.Ingests...)
	}
	if c.Serials != nil {
		n.Serials = append([]Serial(nil), c.Serials...)
	}
	n.Transcodes = cloneTranscodes(c.Transcodes)
	return &n
}

func cloneStrings[S ~[]string](s S) S {
	if s == nil {
		return nil
	}
	return append(S{}, s...)
}
