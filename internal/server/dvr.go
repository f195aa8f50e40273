package server

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/service/dvr"
	"github.com/srs-lite/srs-lite/internal/service/hooks"
)

func init() { register(orderDVR, newDVR) }

// dvrDrain is how long close lets recordings reach the end of their
// streams before it stops them; either way every file is completed.
const dvrDrain = 5 * time.Second

// dvrComponent records the publish sessions of vhosts with [vhost.dvr] on.
type dvrComponent struct {
	passive
	s      *Server
	mu     sync.Mutex
	wg     sync.WaitGroup
	closed bool
	ctx    context.Context
	cancel context.CancelFunc

	durs tracked // finished files -> duration, for the API's list (not in tiny)
}

func newDVR(s *Server) (component, error) {
	c := &dvrComponent{s: s}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c, nil
}

func (c *dvrComponent) name() string { return "dvr" }

// start repairs the recordings a crash left unfinished in the DVR folders
// of the vhosts that record (one log line per file), before any publisher.
func (c *dvrComponent) start(_ context.Context, cfg *config.Config) error {
	var tmpls []string
	for _, v := range cfg.Vhosts {
		if v.DVR.Enabled {
			tmpls = append(tmpls, v.DVR.Path)
		}
	}
	if len(tmpls) > 0 {
		dvr.Repair(tmpls, c.s.log)
	}
	return nil
}

// onPublish starts recording a publish session when its vhost's DVR is on.
// It subscribes at once, so that the recording misses no frame, and
// records in a goroutine of its own. The vhost's settings are read now, at
// the session start.
func (c *dvrComponent) onPublish(st *media.Stream) {
	v := c.s.cfg.Load().Vhost(st.Vhost)
	if v == nil || !v.DVR.Enabled {
		return
	}
	cfg := dvr.Config{Path: v.DVR.Path, Plan: v.DVR.Plan, Duration: v.DVR.Duration.D()}
	l := c.s.log.With("stream", st.Key())
	if err := cfg.Validate(); err != nil {
		l.Error("dvr: not recording", "err", err)
		return
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.wg.Add(1)
	c.mu.Unlock()
	rd := c.s.reg.SubscribeInternal(st.Key(), l)
	go func() {
		defer c.wg.Done()
		// Record logs its own errors; the stream goes on either way.
		_ = dvr.Record(c.ctx, rd, dvr.Stream{Vhost: st.Vhost, App: st.App, Name: st.Name}, cfg,
			dvr.Deps{Log: l, OnFile: func(f dvr.File) { c.track(f); c.s.onDVR(f) },
				ExpectsVideo: func() bool { v, _ := st.ExpectedTracks(); return v }})
	}()
}

// close waits for the recordings to be complete: they end with their
// streams; those still running after dvrDrain are stopped. Every file is
// flushed, fsynced and renamed before it returns.
func (c *dvrComponent) close(context.Context) error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	done := make(chan struct{})
	go func() {
		c.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(dvrDrain):
		c.s.log.Warn("dvr: streams still running at shutdown: stopping their recordings")
		c.cancel()
		<-done
	}
	c.cancel()
	return nil
}

// onDVR is on_dvr: a recording file is complete.
func (s *Server) onDVR(f dvr.File) {
	cwd, _ := os.Getwd()
	file, _ := filepath.Abs(f.Path)
	s.hooks.Tell(s.hookURLs(f.Vhost, func(h *config.Hooks) []string { return h.OnDVR }),
		hooks.Event{ServerID: s.serverID, Action: "on_dvr", Vhost: f.Vhost, App: f.App, Stream: f.Name,
			StreamURL: "/" + f.App + "/" + f.Name, Cwd: cwd, File: file, Duration: f.Duration.Seconds()})
}
