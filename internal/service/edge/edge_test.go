package edge

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
)

// fakeOrigin sends n frames (a config frame, then a keyframe every 10) at
// 40 ms steps from base, then ends with err (io.EOF: the stream ended).
type fakeOrigin struct {
	mu    sync.Mutex
	n     int
	base  time.Duration
	err   error
	dials atomic.Int32
	down  bool // refuses connections
}

type fakeUp struct {
	o  *fakeOrigin
	id string
}

func (u *fakeUp) PeerID() string { return u.id }
func (u *fakeUp) Close() error   { return nil }
func (u *fakeUp) Pull(ctx context.Context, fn func(*media.Frame) error) error {
	u.o.mu.Lock()
	n, base, err := u.o.n, u.o.base, u.o.err
	u.o.mu.Unlock()
	cfg := media.Frame{Codec: media.CodecH264, Flags: media.FlagConfig, DTS: base, PTS: base, Payload: []byte{1, 2}}
	if e := fn(&cfg); e != nil {
		return e
	}
	for i := range n {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var fl media.Flags
		if i%10 == 0 {
			fl = media.FlagKey
		}
		t := base + time.Duration(i)*40*time.Millisecond
		f := media.Frame{Codec: media.CodecH264, Flags: fl, DTS: t, PTS: t, Payload: []byte{0, 0, 0, 1, 5}}
		if e := fn(&f); e != nil {
			return e
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err == nil {
		<-ctx.Done()
		return ctx.Err()
	}
	return err
}

func newTestManager(t *testing.T, origins map[string]*fakeOrigin, order []string) (*Manager, *media.Registry) {
	t.Helper()
	reg := media.NewRegistry(nil)
	m, err := New(Deps{
		Registry: reg,
		Dial: func(ctx context.Context, r Request) (Upstream, error) {
			o := origins[r.Origin]
			o.dials.Add(1)
			if o.down {
				return nil, errors.New("connection refused")
			}
			return &fakeUp{o: o, id: "origin-" + r.Origin}, nil
		},
		Config: func(vhost string) (Config, bool) { return Config{Origins: order, Protocol: "rtmp"}, true },
		Idle:   300 * time.Millisecond, Poll: 20 * time.Millisecond, NoData: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	reg.OnSubscribe(func(s *media.Stream) { m.Demand(s.Vhost, s.App, s.Name) })
	t.Cleanup(m.Close)
	return m, reg
}

// TestFailover: O1's stream ends, the player stays attached to one local
// publish and gets O2's frames on a monotonic timeline.
func TestFailover(t *testing.T) {
	o1 := &fakeOrigin{n: 30, base: 5 * time.Second, err: io.EOF}
	o2 := &fakeOrigin{n: 30, base: 0}
	m, reg := newTestManager(t, map[string]*fakeOrigin{"o1": o1, "o2": o2}, []string{"o1", "o2"})
	rd := reg.Subscribe(media.Key{Vhost: "v", App: "live", Stream: "s"}, nil)
	defer rd.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var buf [16]media.Frame
	var last time.Duration = -1
	media := 0
	for media < 59 {
		n, err := rd.Read(ctx, buf[:])
		for i := range n {
			f := &buf[i]
			if !f.IsConfig() {
				media++
				if f.DTS <= last {
					t.Errorf("frame %d at %v after %v", media, f.DTS, last)
				}
				last = f.DTS
			}
			f.Release()
		}
		if err != nil {
			t.Fatalf("read after %d frames: %v", media, err)
		}
	}
	if o1.dials.Load() != 1 || o2.dials.Load() != 1 {
		t.Errorf("dials o1 %d o2 %d", o1.dials.Load(), o2.dials.Load())
	}
	st := m.Status()
	if len(st) != 1 || st[0].Origin != "o2" || st[0].PeerID != "origin-o2" || st[0].Switches != 1 {
		t.Errorf("status %+v", st)
	}
}

// TestIdleStop: the pull stops after the last player left, and a new
// player starts it again; players of one stream share one pull.
func TestIdleStop(t *testing.T) {
	o1 := &fakeOrigin{n: 5}
	m, reg := newTestManager(t, map[string]*fakeOrigin{"o1": o1}, []string{"o1"})
	r1 := reg.Subscribe(media.Key{Vhost: "v", App: "live", Stream: "s"}, nil)
	r2 := reg.Subscribe(media.Key{Vhost: "v", App: "live", Stream: "s"}, nil)
	waitFor(t, "publish", func() bool {
		s := reg.Lookup(media.Key{Vhost: "v", App: "live", Stream: "s"})
		return s != nil && s.Publishing()
	})
	if o1.dials.Load() != 1 {
		t.Fatalf("%d dials for two players", o1.dials.Load())
	}
	r1.Close()
	r2.Close()
	waitFor(t, "idle stop", func() bool {
		return len(m.Status()) == 0 && reg.Lookup(media.Key{Vhost: "v", App: "live", Stream: "s"}) == nil
	})
	r3 := reg.Subscribe(media.Key{Vhost: "v", App: "live", Stream: "s"}, nil)
	defer r3.Close()
	waitFor(t, "pull again", func() bool {
		return o1.dials.Load() == 2 && reg.Lookup(media.Key{Vhost: "v", App: "live", Stream: "s"}).Publishing()
	})
}

// TestOriginDown: a refusing origin is skipped; a silent one (no such
// stream) is left after NoData.
func TestOriginDown(t *testing.T) {
	o1 := &fakeOrigin{down: true}
	o2 := &fakeOrigin{n: 0} // connects, sends the config frame only, then nothing
	o3 := &fakeOrigin{n: 5}
	_, reg := newTestManager(t, map[string]*fakeOrigin{"o1": o1, "o2": o2, "o3": o3}, []string{"o1", "o2", "o3"})
	rd := reg.Subscribe(media.Key{Vhost: "v", App: "live", Stream: "s"}, nil)
	defer rd.Close()
	waitFor(t, "o3", func() bool { return o3.dials.Load() == 1 })
	if o1.dials.Load() != 1 || o2.dials.Load() != 1 {
		t.Errorf("dials %d %d", o1.dials.Load(), o2.dials.Load())
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
