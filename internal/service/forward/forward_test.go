package forward

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/session"
)

func TestURL(t *testing.T) {
	for _, tt := range []struct {
		dest, vhost, param, want, err string
	}{
		{"127.0.0.1:19350", media.DefaultVhost, "", "rtmp://127.0.0.1:19350/live/cam", ""},
		{"127.0.0.1:19350", "v.example.com", "", "rtmp://127.0.0.1:19350/live/cam?vhost=v.example.com", ""},
		{"127.0.0.1:19350", "v.example.com", "?token=x", "rtmp://127.0.0.1:19350/live/cam?token=x&vhost=v.example.com", ""},
		{"127.0.0.1:19350", "v.example.com", "?vhost=w", "rtmp://127.0.0.1:19350/live/cam?vhost=w", ""},
		{"[::1]:1935", media.DefaultVhost, "?a=b", "rtmp://[::1]:1935/live/cam?a=b", ""},
		{"rtmp://cdn.example.com/[app]/[stream]", "v", "?t=1", "rtmp://cdn.example.com/live/cam", ""},
		{"rtmp://cdn.example.com:1936/push/[vhost]_[stream]?k=1", "v", "", "rtmp://cdn.example.com:1936/push/v_cam?k=1", ""},
		{"rtmp://a.example.com/live2/KEY", "v", "", "rtmp://a.example.com/live2/KEY", ""},
		{"example.com", "v", "", "", "want host:port"},
		{"rtmp://cdn.example.com/[app]/[name]", "v", "", "", "unknown placeholder [name]"},
		{"rtmp://cdn.example.com/live", "v", "", "", "no app or stream"},
		{"http://cdn.example.com/live/x", "v", "", "", "want rtmp://"},
	} {
		got, err := URL(tt.dest, tt.vhost, "live", "cam", tt.param)
		if tt.err != "" {
			if err == nil || !errors.Is(err, ErrDestination) || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("URL(%q): %q, %v; want an error with %q", tt.dest, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("URL(%q, %q, %q) = %q, %v; want %q", tt.dest, tt.vhost, tt.param, got, err, tt.want)
		}
	}
}

// fakeConn records the frames written; block makes WriteFrame hang until
// Close (a destination that stopped reading).
type fakeConn struct {
	url    string
	block  bool
	frames atomic.Int64
	bytes  atomic.Uint64
	closed chan struct{}
	once   sync.Once
}

func (c *fakeConn) WriteFrame(f *media.Frame) error {
	if c.block {
		<-c.closed
		return errors.New("closed")
	}
	select {
	case <-c.closed:
		return errors.New("closed")
	default:
	}
	c.frames.Add(1)
	c.bytes.Add(uint64(len(f.Payload)))
	return nil
}
func (c *fakeConn) Close() error         { c.once.Do(func() { close(c.closed) }); return nil }
func (c *fakeConn) BytesWritten() uint64 { return c.bytes.Load() }
func (c *fakeConn) PeerID() string       { return "peer-" + c.url }

// fakeDialer refuses the URLs in down, and hands out conns.
type fakeDialer struct {
	mu    sync.Mutex
	down  map[string]bool
	block bool
	conns []*fakeConn
	dials map[string]int
}

func (d *fakeDialer) dial(_ context.Context, u string) (Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dials[u]++
	if d.down[u] {
		return nil, errors.New("connection refused")
	}
	c := &fakeConn{url: u, block: d.block, closed: make(chan struct{})}
	d.conns = append(d.conns, c)
	return c, nil
}

func (d *fakeDialer) setDown(u string, down bool) {
	d.mu.Lock()
	d.down[u] = down
	d.mu.Unlock()
}

func (d *fakeDialer) framesTo(u string) int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	var n int64
	for _, c := range d.conns {
		if c.url == u {
			n += c.frames.Load()
		}
	}
	return n
}

func newTestManager(t *testing.T, d *fakeDialer, tab *session.Table) (*Manager, *media.Registry) {
	t.Helper()
	reg := media.NewRegistry(nil)
	m, err := New(Deps{Registry: reg, Clients: tab, Dial: d.dial, MinBackoff: 50 * time.Millisecond,
		MaxBackoff: 200 * time.Millisecond, WriteTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, reg
}

func writeFrames(st *media.Stream, from, n int) {
	for i := from; i < from+n; i++ {
		f := media.Frame{Codec: media.CodecH264, DTS: time.Duration(i) * 40 * time.Millisecond,
			Payload: []byte{0, 0, 0, 1, 0x41, byte(i)}}
		f.PTS = f.DTS
		if i%25 == 0 {
			f.Flags = media.FlagKey
			f.Payload[4] = 0x65
		}
		f.Own()
		st.Write(&f)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func state(m *Manager) (Status, bool) {
	s := m.Status()
	if len(s) != 1 {
		return Status{}, false
	}
	return s[0], true
}

// TestSupervisor: a destination down at first is retried with backoff and
// gets the stream once up; the job is a session while connected; it ends
// with the publish session.
func TestSupervisor(t *testing.T) {
	const u = "rtmp://dest/live/cam"
	d := &fakeDialer{down: map[string]bool{u: true}, dials: map[string]int{}}
	tab := session.NewTable()
	m, reg := newTestManager(t, d, tab)
	st, err := reg.Publish(media.Key{Vhost: media.DefaultVhost, App: "live", Stream: "cam"})
	if err != nil {
		t.Fatal(err)
	}
	m.Start(st, Target{Kind: KindForward, URLs: []string{u}})
	waitFor(t, "retrying", func() bool {
		s, ok := state(m)
		return ok && s.State == StateRetrying && strings.Contains(s.Error, "refused") && s.Restarts >= 2
	})
	if tab.Len() != 0 {
		t.Fatalf("%d sessions while not connected", tab.Len())
	}
	writeFrames(st, 0, 10)
	d.setDown(u, false)
	waitFor(t, "forwarding", func() bool { s, ok := state(m); return ok && s.State == StateForwarding })
	writeFrames(st, 10, 40)
	waitFor(t, "frames", func() bool { return d.framesTo(u) >= 40 })
	s, _ := state(m)
	if s.URL != u || s.Kind != KindForward || s.Stream != "live/cam" || s.PeerID != "peer-"+u || s.Bytes == 0 {
		t.Fatalf("status %+v", s)
	}
	cs := tab.List()
	if len(cs) != 1 || cs[0].Proto != "forward" || cs[0].Role != session.Publisher || cs[0].ID != s.ID {
		t.Fatalf("sessions %+v, status id %s", cs, s.ID)
	}
	// Kicked: reconnects.
	tab.Kick(s.ID)
	waitFor(t, "reconnected", func() bool {
		s, ok := state(m)
		return ok && s.State == StateForwarding && s.ID != "" && s.ID != cs[0].ID
	})
	st.Unpublish()
	waitFor(t, "job gone", func() bool { return len(m.Status()) == 0 && tab.Len() == 0 })
}

// TestFailover: a publish edge moves to the next origin when one refuses,
// and back to the first when the second dies.
func TestFailover(t *testing.T) {
	const o1, o2 = "rtmp://o1/live/cam", "rtmp://o2/live/cam"
	d := &fakeDialer{down: map[string]bool{o1: true}, dials: map[string]int{}}
	m, reg := newTestManager(t, d, nil)
	st, _ := reg.Publish(media.Key{Vhost: media.DefaultVhost, App: "live", Stream: "cam"})
	defer st.Unpublish()
	m.Start(st, Target{Kind: KindEdge, URLs: []string{o1, o2}})
	writeFrames(st, 0, 30)
	waitFor(t, "o2", func() bool { return d.framesTo(o2) >= 30 })
	s, _ := state(m)
	if s.URL != o2 || s.State != StateForwarding || len(s.URLs) != 2 {
		t.Fatalf("status %+v", s)
	}
	d.setDown(o1, false)
	d.setDown(o2, true)
	d.mu.Lock()
	for _, c := range d.conns {
		c.Close() // o2 dies
	}
	d.mu.Unlock()
	writeFrames(st, 30, 1)
	waitFor(t, "back on o1", func() bool { s, ok := state(m); return ok && s.URL == o1 && s.State == StateForwarding })
	writeFrames(st, 31, 30)
	waitFor(t, "o1 frames", func() bool { return d.framesTo(o1) > 0 })
}

// TestBlackHole: a destination that stops reading never blocks the
// publisher; the job times out and reconnects.
func TestBlackHole(t *testing.T) {
	const u = "rtmp://hole/live/cam"
	d := &fakeDialer{down: map[string]bool{}, dials: map[string]int{}, block: true}
	m, reg := newTestManager(t, d, nil)
	st, _ := reg.Publish(media.Key{Vhost: media.DefaultVhost, App: "live", Stream: "cam"})
	defer st.Unpublish()
	m.Start(st, Target{Kind: KindForward, URLs: []string{u}})
	start := time.Now()
	writeFrames(st, 0, 5000) // far more than the ring holds
	if el := time.Since(start); el > time.Second {
		t.Fatalf("publisher took %s for 5000 frames", el)
	}
	waitFor(t, "write timeout", func() bool {
		s, ok := state(m)
		return ok && s.Restarts >= 1 && strings.Contains(s.Error, "write timeout")
	})
}

// TestDynamicAndApply: Add starts more targets of the session; Apply (a
// reload) stops the static ones no longer configured and keeps the
// dynamic ones.
func TestDynamicAndApply(t *testing.T) {
	const a, b, c = "rtmp://a/live/cam", "rtmp://b/live/cam", "rtmp://c/live/cam"
	d := &fakeDialer{down: map[string]bool{}, dials: map[string]int{}}
	m, reg := newTestManager(t, d, nil)
	st, _ := reg.Publish(media.Key{Vhost: media.DefaultVhost, App: "live", Stream: "cam"})
	p := m.Start(st, Target{Kind: KindForward, URLs: []string{a}})
	p.Add(Target{Kind: KindDynamic, URLs: []string{b}})
	waitFor(t, "two", func() bool { return len(m.Status()) == 2 })
	m.Apply(st, []Target{{Kind: KindForward, URLs: []string{c}}}, KindForward, KindEdge)
	waitFor(t, "b and c", func() bool {
		s := m.Status()
		return len(s) == 2 && s[0].URL == b && s[1].URL == c
	})
	writeFrames(st, 0, 30)
	waitFor(t, "frames to b and c", func() bool { return d.framesTo(b) > 0 && d.framesTo(c) > 0 })
	st.Unpublish()
	waitFor(t, "gone", func() bool { return len(m.Status()) == 0 })
	p.Add(Target{Kind: KindDynamic, URLs: []string{a}}) // too late: nothing
	if n := len(m.Status()); n != 0 {
		t.Fatalf("%d jobs after the session", n)
	}
}

// FuzzURL: URL never panics, and what it returns is an rtmp:// URL.
func FuzzURL(f *testing.F) {
	for _, s := range []string{"127.0.0.1:1935", "rtmp://h/[app]/[stream]", "rtmp://[vhost]/a/b", "[::1]:1", "rtmp://h:x/a/b", ":"} {
		f.Add(s, "v", "live", "cam", "?a=b")
	}
	f.Fuzz(func(t *testing.T, dest, vhost, app, stream, param string) {
		u, err := URL(dest, vhost, app, stream, param)
		if err == nil && !strings.HasPrefix(u, "rtmp://") {
			t.Fatalf("URL(%q) = %q", dest, u)
		}
	})
}
