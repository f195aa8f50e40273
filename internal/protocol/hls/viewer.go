package hls

import (
	"net"
	"net/http"
	"path"
	"strings"
	"sync/atomic"
	"time"

	"github.com/srs-lite/srs-lite/internal/log"
	"github.com/srs-lite/srs-lite/internal/media"
	sess "github.com/srs-lite/srs-lite/internal/session"
)

// HLS viewers are sessions the way SRS makes them (hls_ctx, see
// SrsHlsStream::serve_m3u8_ctx): HTTP has no connection that lasts as long
// as a play, so a play is named by a query parameter. A playlist request
// without one asks Events.Connect and Events.Play and is redirected (302) to
// the same playlist with hls_ctx=ID; the playlist it then gets carries
// hls_ctx on every segment URI, for players that drop the query of a
// redirect. Every request with the id refreshes the session and adds its
// bytes; the session ends (Events.Stop, Events.Close) when requests stop
// for a while, when it is kicked, or when the Manager closes.

// CtxParam is the query parameter naming an HLS session, as in SRS.
const CtxParam = "hls_ctx"

// Session timeouts.
const (
	// minViewerTimeout: a viewer idle this long has left even with short
	// segments (a player may stall a few seconds on a slow link).
	minViewerTimeout = 10 * time.Second
	// viewerTargets: a viewer that missed this many playlist refreshes
	// (one per target duration, RFC 8216 §6.3.4) has left. SRS waits
	// 2 × hls_window, minutes by default, which keeps gone viewers
	// counted and holding on_stop back for too long.
	viewerTargets = 3
	// maxReapEvery bounds how late a timeout is noticed.
	maxReapEvery = time.Second
)

// viewer is one HLS play session.
type viewer struct {
	s       *sess.Session
	ev      sess.Events  // the Events that connected it, which end it
	key     string       // vhost/app/stream
	last    atomic.Int64 // unix ns of the last request
	timeout atomic.Int64 // ns of idleness that end it
	kicked  atomic.Bool

	// Under Manager.vmu.
	ended  bool      // Stop and Close are done (or being done)
	forget time.Time // a kicked viewer's id is refused until then
}

func (v *viewer) touch(now time.Time) { v.last.Store(now.UnixNano()) }

// SetEvents makes HLS viewers sessions that ev is told about (on_play,
// on_stop, the session table, kicks); nil (the default) serves HLS without
// sessions and without redirects. Viewers already playing keep the Events
// they started with.
func (m *Manager) SetEvents(ev sess.Events) {
	m.vmu.Lock()
	m.events = ev
	m.vmu.Unlock()
}

// SetSessionTimeout sets how long a viewer may make no request before its
// session ends; 0 (the default) means max(3 × target duration, 10 s).
// A kicked viewer's hls_ctx is refused with 403 for as long.
func (m *Manager) SetSessionTimeout(d time.Duration) {
	m.vmu.Lock()
	m.vtimeout = d
	m.vmu.Unlock()
}

// viewerTimeout is the idle time that ends a viewer of a stream whose
// target duration is target seconds.
func (m *Manager) viewerTimeout(target int) time.Duration {
	m.vmu.Lock()
	d := m.vtimeout
	m.vmu.Unlock()
	if d > 0 {
		return d
	}
	return max(viewerTargets*time.Duration(target)*time.Second, minViewerTimeout)
}

// serveViewer answers an HLS request while viewers are sessions. v is the
// viewer named id by the request, if any; ev, when not nil, starts new
// ones.
func (m *Manager) serveViewer(w http.ResponseWriter, r *http.Request, mx *Muxer, req Request,
	ev sess.Events, id string, v *viewer) {
	if v != nil && v.key != mx.key() {
		v = nil // another stream's id
	}
	if v != nil && v.kicked.Load() {
		http.Error(w, "hls session kicked", http.StatusForbidden)
		return
	}
	if v == nil {
		if ev != nil && req.Kind == KindPlaylist && r.Method == http.MethodGet {
			m.newViewer(w, r, mx, ev)
			return
		}
		mx.serve(w, r, req, "") // an unknown or expired id: still play
		return
	}
	v.touch(time.Now())
	n := mx.serve(w, r, req, id)
	v.s.BytesOut.Add(uint64(n))
	if req.Kind == KindPlaylist {
		mx.mu.Lock()
		target := mx.targetDur
		mx.mu.Unlock()
		v.timeout.Store(int64(m.viewerTimeout(target)))
	}
}

// newViewer starts the session of a playlist request and redirects it to
// the playlist with its hls_ctx.
func (m *Manager) newViewer(w http.ResponseWriter, r *http.Request, mx *Muxer, ev sess.Events) {
	ip := r.RemoteAddr
	if host, _, err := net.SplitHostPort(ip); err == nil {
		ip = host
	}
	rest := withoutParam(r.URL.RawQuery, CtxParam)
	param := ""
	if rest != "" {
		param = "?" + rest
	}
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	key := mx.key()
	s := sess.New(m.newViewerID(), "hls", ip)
	s.SetURL(scheme+r.Host+r.URL.Path, param)
	s.SetStream(media.Key{Vhost: mx.vhost, App: mx.app, Stream: mx.stream}, sess.Player)
	v := &viewer{s: s, ev: ev, key: key}
	s.SetKick(func() { m.kick(v) }) // before Connect: the table may kick it from then on
	l := m.log.With("cid", s.ID, "proto", "hls", "remote", ip, "stream", key)
	if err := ev.Connect(r.Context(), s); err != nil {
		ev.Close(s)
		l.Warn("hls play refused", "url", r.URL.Path, "err", err)
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	if _, err := ev.Play(r.Context(), s); err != nil {
		ev.Close(s)
		l.Warn("hls play refused", "url", r.URL.Path, "err", err) // security rules or on_play
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	mx.mu.Lock()
	target := mx.targetDur
	mx.mu.Unlock()
	v.touch(time.Now())
	v.timeout.Store(int64(m.viewerTimeout(target)))

	m.vmu.Lock()
	if m.vclosed || v.kicked.Load() {
		m.vmu.Unlock()
		ev.Stop(s)
		ev.Close(s)
		l.Info("hls play end", "reason", "kicked or server closing before the first playlist")
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	m.viewers[s.ID] = v
	m.nview[key]++
	if !m.reaping {
		m.reaping = true
		m.vwg.Add(1)
		go m.reap(m.reapEvery())
	}
	m.vmu.Unlock()
	l.Info("hls play start", "url", r.URL.Path)

	// Relative, so that it holds behind a proxy that moves the path.
	loc := path.Base(r.URL.EscapedPath()) + "?" + CtxParam + "=" + s.ID
	if rest != "" {
		loc += "&" + rest
	}
	w.Header().Set("Location", loc)
	w.Header().Set("Cache-Control", "no-cache")
	cors(w)
	w.WriteHeader(http.StatusFound)
}

// newViewerID returns a trace id that names no viewer yet.
func (m *Manager) newViewerID() string {
	for {
		id := log.NewTraceID()
		m.vmu.Lock()
		_, used := m.viewers[id]
		m.vmu.Unlock()
		if !used {
			return id
		}
	}
}

// kick ends v at once; its id is refused for a while.
func (m *Manager) kick(v *viewer) {
	v.kicked.Store(true)
	select {
	case m.vwake <- struct{}{}:
	default:
	}
}

// reapEvery is how often the reaper looks for viewers to end.
func (m *Manager) reapEvery() time.Duration {
	if m.vtimeout > 0 {
		return min(max(m.vtimeout/4, 10*time.Millisecond), maxReapEvery)
	}
	return maxReapEvery
}

// reap ends viewers that went idle or were kicked until the Manager closes.
// One goroutine for all viewers: a timer per viewer would have to be
// reset on every request.
func (m *Manager) reap(every time.Duration) {
	defer m.vwg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-m.vdone:
			return
		case <-t.C:
		case <-m.vwake:
		}
		m.expire(time.Now(), false)
	}
}

// expire ends the viewers that were kicked or idle past their timeout, or
// all of them.
func (m *Manager) expire(now time.Time, all bool) {
	type ended struct {
		v      *viewer
		reason string
	}
	var end []ended
	ns := now.UnixNano()
	m.vmu.Lock()
	for id, v := range m.viewers {
		if v.ended {
			if all || now.After(v.forget) {
				delete(m.viewers, id)
			}
			continue
		}
		reason := ""
		switch {
		case v.kicked.Load():
			reason = "kicked"
			v.forget = now.Add(time.Duration(v.timeout.Load()))
		case all:
			reason = "server closing"
		case ns-v.last.Load() > v.timeout.Load():
			reason = "timeout"
		default:
			continue
		}
		v.ended = true
		if reason != "kicked" || all {
			delete(m.viewers, id)
		}
		if m.nview[v.key]--; m.nview[v.key] <= 0 {
			delete(m.nview, v.key)
		}
		end = append(end, ended{v, reason})
	}
	m.vmu.Unlock()
	for _, e := range end {
		s := e.v.s
		e.v.ev.Stop(s)
		e.v.ev.Close(s)
		m.log.Info("hls play end", "cid", s.ID, "proto", "hls", "stream", e.v.key, "reason", e.reason,
			"bytes", s.BytesOut.Load(), "duration", now.Sub(s.Start).Round(time.Millisecond))
	}
}

// closeViewers ends every viewer; no viewer starts after it.
func (m *Manager) closeViewers() {
	m.vmu.Lock()
	if m.vclosed {
		m.vmu.Unlock()
		return
	}
	m.vclosed = true
	close(m.vdone)
	m.vmu.Unlock()
	m.vwg.Wait()
	m.expire(time.Now(), true)
}

// viewerCount returns the live viewers of a stream.
func (m *Manager) viewerCount(key string) int {
	m.vmu.Lock()
	defer m.vmu.Unlock()
	return m.nview[key]
}

// queryValue returns the raw value of the first name=value pair of the raw
// query, "" when none. Session ids are base36, so no unescaping is needed,
// and none is done: this runs on every segment request.
func queryValue(raw, name string) string {
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		if len(kv) > len(name) && kv[len(name)] == '=' && kv[:len(name)] == name {
			return kv[len(name)+1:]
		}
	}
	return ""
}

// withoutParam returns the raw query without its name=... (and bare name)
// pairs, the others kept in order.
func withoutParam(raw, name string) string {
	if !strings.Contains(raw, name) {
		return raw
	}
	var b strings.Builder
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		if kv == "" || kv == name || strings.HasPrefix(kv, name) && kv[len(name)] == '=' {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(kv)
	}
	return b.String()
}
