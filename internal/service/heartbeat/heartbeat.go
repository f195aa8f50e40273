// Package heartbeat is SRS's heartbeat: every interval, a JSON POST of this
// server's identity and listen ports to a URL. Its body is the one SRS 5+
// sends with `ports on`, which SRS's Go proxy (srs-proxy) takes as a
// registration at POST /api/v1/srs/register: ip, server, service, pid and
// rtmp are mandatory there, http, api, srt and rtc optional, device_id
// informative. A classic heartbeat collector (SRS 1-4: device_id, ip and
// optional summaries) reads the same body and ignores the rest.
package heartbeat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/srs-lite/srs-lite/internal/http1"
)

// Body is what each heartbeat POSTs.
type Body struct {
	DeviceID string   `json:"device_id"`
	IP       string   `json:"ip"`
	Server   string   `json:"server"`  // the server id, stable
	Service  string   `json:"service"` // changes at each start
	PID      string   `json:"pid"`
	RTMP     []string `json:"rtmp"`           // listen ports, as SRS sends its "listen" ("1935")
	HTTP     []string `json:"http,omitempty"` // HTTP-FLV and HLS
	API      []string `json:"api,omitempty"`
	SRT      []string `json:"srt,omitempty"`
	RTC      []string `json:"rtc,omitempty"`
}

// Config is where and how often to report.
type Config struct {
	URL      string
	Interval time.Duration
}

// logEvery is how often a failing heartbeat is logged at most.
const logEvery = time.Minute

// timeout bounds one POST, and never exceeds the interval.
const timeout = 5 * time.Second

// Reporter posts heartbeats until its context ends.
type Reporter struct {
	cfg    Config
	body   func() Body
	log    *slog.Logger
	client http1.Doer

	mu       sync.Mutex
	failing  bool
	failures int
	lastLog  time.Time
	sent     int
}

// New returns a Reporter of cfg; body gives the current body at each beat.
func New(cfg Config, body func() Body, log *slog.Logger) *Reporter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := min(timeout, cfg.Interval)
	return &Reporter{cfg: cfg, body: body, log: log, client: http1.NewClient(http1.ClientOptions{Timeout: t})}
}

// Run beats at once and then every interval, until ctx ends.
func (r *Reporter) Run(ctx context.Context) {
	tk := time.NewTicker(r.cfg.Interval)
	defer tk.Stop()
	for {
		r.beat(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
	}
}

// beat posts one heartbeat and logs its failure, at most once a minute
// (with the count since the last line), and the recovery once.
func (r *Reporter) beat(ctx context.Context) {
	err := r.post(ctx)
	if ctx.Err() != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if err == nil {
		r.sent++
		if r.failing {
			r.log.Info("heartbeat: reaching the collector again", "url", r.cfg.URL, "failed", r.failures)
		} else if r.sent == 1 {
			r.log.Info("heartbeat: first report sent", "url", r.cfg.URL, "interval", r.cfg.Interval)
		}
		r.failing, r.failures = false, 0
		return
	}
	r.failures++
	if !r.failing || now.Sub(r.lastLog) >= logEvery {
		r.log.Warn("heartbeat: report failed", "url", r.cfg.URL, "err", err, "failures", r.failures)
		r.lastLog = now
	}
	r.failing = true
}

func (r *Reporter) post(ctx context.Context) error {
	b, err := json.Marshal(r.body())
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.cfg.URL, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	ans, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	// srs-proxy answers {"code":0,...}; a JSON answer with another code
	// is a refusal. Anything else with a 2xx is taken as accepted.
	var a struct {
		Code *int `json:"code"`
	}
	if json.Unmarshal(ans, &a) == nil && a.Code != nil && *a.Code != 0 {
		return fmt.Errorf("refused with code %d: %.200s", *a.Code, ans)
	}
	return nil
}
