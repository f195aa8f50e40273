package server

import (
	"context"
	"sync"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/service/dvr"
)

// dvrDrain is how long closeDVR lets recordings reach the end of their
// streams before it stops them; either way every file is completed.
const dvrDrain = 5 * time.Second

// dvrSet tracks a server's recordings.
type dvrSet struct {
	mu     sync.Mutex
	wg     sync.WaitGroup
	closed bool
	ctx    context.Context
	cancel context.CancelFunc
}

// dvrSets holds each server's recordings, keyed by *Server (the Server
// struct has no field for them).
var dvrSets sync.Map

func (s *Server) dvrs() *dvrSet {
	if d, ok := dvrSets.Load(s); ok {
		return d.(*dvrSet)
	}
	d := &dvrSet{}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	if old, loaded := dvrSets.LoadOrStore(s, d); loaded {
		d.cancel()
		return old.(*dvrSet)
	}
	return d
}

// dvrPublish starts recording a publish session when its vhost's DVR is on.
// It runs in the publisher's goroutine (Registry.OnPublish) and does not
// block: it subscribes at once, so that the recording misses no frame, and
// records in a goroutine of its own. The vhost's settings are read now, at
// the session start.
func (s *Server) dvrPublish(st *media.Stream) {
	v := s.cfg.Load().Vhost(st.Vhost)
	if v == nil || !v.DVR.Enabled {
		return
	}
	cfg := dvr.Config{Path: v.DVR.Path, Plan: v.DVR.Plan, Duration: v.DVR.Duration.D()}
	l := s.log.With("stream", st.Key())
	if err := cfg.Validate(); err != nil {
		l.Error("dvr: not recording", "err", err)
		return
	}
	d := s.dvrs()
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.wg.Add(1)
	d.mu.Unlock()
	rd := s.reg.SubscribeInternal(st.Vhost, st.App, st.Name, l)
	go func() {
		defer d.wg.Done()
		// Record logs its own errors; the stream goes on either way.
		_ = dvr.Record(d.ctx, rd, dvr.Stream{Vhost: st.Vhost, App: st.App, Name: st.Name}, cfg,
			dvr.Deps{Log: l, OnFile: s.onDVR})
	}()
}

// closeDVR waits for the recordings to be complete, at shutdown: they end
// with their streams; those still running after dvrDrain are stopped. Every
// file is flushed, fsynced and renamed before it returns.
func (s *Server) closeDVR() {
	v, ok := dvrSets.Load(s)
	if !ok {
		return
	}
	d := v.(*dvrSet)
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	done := make(chan struct{})
	go func() {
		d.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(dvrDrain):
		s.log.Warn("dvr: streams still running at shutdown: stopping their recordings")
		d.cancel()
		<-done
	}
	d.cancel()
	dvrSets.Delete(s)
}

// repairDVR repairs the recordings a crash left unfinished in the DVR
// folders of the vhosts that record (one log line per file). The server
// calls it once at start, before it accepts publishers.
func (s *Server) repairDVR() {
	var tmpls []string
	for _, v := range s.cfg.Load().Vhosts {
		if v.DVR.Enabled {
			tmpls = append(tmpls, v.DVR.Path)
		}
	}
	if len(tmpls) > 0 {
		dvr.Repair(tmpls, s.log)
	}
}
