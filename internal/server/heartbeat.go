package server

import (
	"context"
	"os"
	"strconv"
	"sync"

	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/log"
	"github.com/srs-lite/srs-lite/internal/service/heartbeat"
)

// orderHeartbeat: after the listeners, so that the first report has their
// ports.
const orderHeartbeat = orderPTZ + 1

func init() { register(orderHeartbeat, newHeartbeat) }

// heartbeatComponent reports this server to [heartbeat] url every
// interval, in its own goroutine; a reload that changes [heartbeat]
// restarts it with the new settings.
type heartbeatComponent struct {
	s       *Server
	service string

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

func newHeartbeat(s *Server) (component, error) {
	return &heartbeatComponent{s: s, service: log.NewTraceID()}, nil
}

func (c *heartbeatComponent) name() string { return "heartbeat" }

func (c *heartbeatComponent) start(_ context.Context, cfg *config.Config) error {
	c.run(cfg.Heartbeat)
	return nil
}

func (c *heartbeatComponent) reload(_, next *config.Config, ch config.Sections) error {
	if ch.Has(config.SectionHeartbeat) {
		c.run(next.Heartbeat)
	}
	return nil
}

func (c *heartbeatComponent) close(context.Context) error {
	c.run(config.Heartbeat{})
	return nil
}

// run stops the reporter in progress and starts one of h when enabled.
func (c *heartbeatComponent) run(h config.Heartbeat) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancel != nil {
		c.cancel()
		<-c.done
		c.cancel, c.done = nil, nil
	}
	if !h.Enabled || h.URL == "" {
		return
	}
	r := heartbeat.New(heartbeat.Config{URL: h.URL, Interval: h.Interval.D()},
		func() heartbeat.Body { return c.body(h) }, c.s.log.With("component", "heartbeat"))
	ctx, cancel := context.WithCancel(c.s.baseCtx)
	done := make(chan struct{})
	c.cancel, c.done = cancel, done
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
}

// body is what this server reports: its ids, an address others reach it
// at, and the ports of its services as bound now.
func (c *heartbeatComponent) body(h config.Heartbeat) heartbeat.Body {
	cfg := c.s.cfg.Load()
	b := heartbeat.Body{
		DeviceID: h.DeviceID, Server: c.s.serverID, Service: c.service, PID: strconv.Itoa(os.Getpid()),
		IP:   os.Getenv("SRS_DEVICE_IP"), // as SRS: the address to give when the host's is not the one to use
		RTMP: []string{},
	}
	if b.DeviceID == "" {
		b.DeviceID = c.s.serverID
	}
	if b.IP == "" {
		b.IP = localIP()
	}
	port := func(role string) []string {
		if p := portOf(c.s.Addr(role)); p > 0 {
			return []string{strconv.Itoa(p)}
		}
		return nil
	}
	if p := port("rtmp"); p != nil {
		b.RTMP = p
	}
	if cfg.HTTPServer.Enabled {
		b.HTTP = port("http_server")
	}
	if cfg.HTTPAPI.Enabled {
		b.API = port("http_api")
	}
	if cfg.SRT.Enabled {
		b.SRT = port("srt")
	}
	return b
}
