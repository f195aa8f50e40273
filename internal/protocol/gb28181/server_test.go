package gb28181_test

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/protocol/gb28181"
	"github.com/srs-lite/srs-lite/internal/protocol/gb28181/gbsim"
	"github.com/srs-lite/srs-lite/internal/protocol/gb28181/manscdp"
)

const (
	serverID = "34020000002000000001"
	domain   = "3402000000"
	devID    = "34020000001320000001"
	chID     = "34020000001310000001"
)

type fakeMedia struct {
	mu     sync.Mutex
	expect map[uint32]gb28181.Sink
}

func (m *fakeMedia) Expect(ssrc uint32, sink gb28181.Sink) func() {
	m.mu.Lock()
	m.expect[ssrc] = sink
	m.mu.Unlock()
	return func() {
		m.mu.Lock()
		delete(m.expect, ssrc)
		m.mu.Unlock()
	}
}

func (m *fakeMedia) Dial(context.Context, string, uint32, gb28181.Sink) error { return nil }

type nopSink struct{ gone chan error }

func (nopSink) Frame(*media.Frame) {}
func (s nopSink) Gone(err error)   { s.gone <- err }

func start(t *testing.T, password string, keepalive time.Duration) (*gb28181.Server, string, *fakeMedia) {
	t.Helper()
	// UDP and TCP on one port: the UDP port's TCP twin may be taken.
	var udp net.PacketConn
	var tcp net.Listener
	for range 20 {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if tcp, err = net.Listen("tcp", u.LocalAddr().String()); err == nil {
			udp = u
			break
		}
		u.Close()
	}
	if udp == nil {
		t.Fatal("no port free for both UDP and TCP")
	}
	port := udp.LocalAddr().(*net.UDPAddr).Port
	fm := &fakeMedia{expect: map[uint32]gb28181.Sink{}}
	s := gb28181.New(gb28181.Config{ServerID: serverID, Domain: domain, Password: password,
		KeepaliveTimeout: keepalive, MediaPort: 9000}, gb28181.Deps{Media: fm})
	s.Serve(udp, tcp)
	t.Cleanup(func() { s.Close() })
	return s, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), fm
}

func device(t *testing.T, addr, transport string) *gbsim.Device {
	t.Helper()
	d, err := gbsim.Dial(gbsim.Config{Server: addr, Transport: transport, ServerID: serverID, Domain: domain,
		DeviceID: devID, Password: "secret", Name: "Gate", Manufacturer: "Hikvision", Model: "DS-2CD", Firmware: "V5.5",
		Keepalive: 200 * time.Millisecond, CatalogChunk: 1,
		Channels: []manscdp.Item{{DeviceID: chID, Name: "Gate cam", Status: "ON", PTZType: 1},
			{DeviceID: "34020000001310000002", Name: "Yard", Status: "OFF"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRegisterPlayPTZ(t *testing.T) {
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			s, addr, fm := start(t, "secret", time.Minute)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()

			bad := device(t, addr, transport)
			st, err := bad.Register(ctx, "wrong", 3600)
			if err != nil || len(st) != 2 || st[0] != 401 || st[1] != 403 {
				t.Fatalf("wrong password: statuses %v, %v; want [401 403]", st, err)
			}
			bad.Close()

			d := device(t, addr, transport)
			st, err = d.Register(ctx, "secret", 3600)
			if err != nil || len(st) != 2 || st[0] != 401 || st[1] != 200 {
				t.Fatalf("register: statuses %v, %v; want [401 200]", st, err)
			}
			go d.Run(ctx)
			waitFor(t, "catalog and device info", func() bool {
				v, ok := s.Device(devID)
				return ok && v.Online && len(v.Channels) == 2 && v.Manufacturer == "Hikvision"
			})
			v, _ := s.Device(devID)
			if v.Model != "DS-2CD" || v.Firmware != "V5.5" || v.Channels[0].Name != "Gate cam" || v.Channels[0].PTZType != 1 || v.Transport != transport {
				t.Fatalf("device %+v", v)
			}

			sink := nopSink{gone: make(chan error, 1)}
			call, err := s.Invite(ctx, devID, chID, "", sink)
			if err != nil {
				t.Fatal(err)
			}
			inv := d.Invites()
			if len(inv) != 1 || inv[0].Transport != "tcp-passive" || inv[0].SSRC != call.SSRC || inv[0].Channel != chID {
				t.Fatalf("invites %+v, ssrc %d", inv, call.SSRC)
			}
			if s := gb28181.SSRCString(call.SSRC); len(s) != 10 || s[0] != '0' || s[1:6] != domain[3:8] {
				t.Fatalf("ssrc %s", s)
			}
			for _, want := range []string{"s=Play", "m=video 9000 TCP/RTP/AVP 96", "a=recvonly", "a=rtpmap:96 PS/90000", "a=setup:passive", "a=connection:new", "y=" + gb28181.SSRCString(call.SSRC)} {
				if !strings.Contains(inv[0].SDP, want) {
					t.Errorf("offer lacks %q:\n%s", want, inv[0].SDP)
				}
			}
			fm.mu.Lock()
			_, mapped := fm.expect[call.SSRC]
			fm.mu.Unlock()
			if !mapped {
				t.Fatal("media not expected for the SSRC")
			}
			call.Bye()
			waitFor(t, "BYE", func() bool { return d.Byes() == 1 })

			if err := s.PTZ(ctx, devID, chID, "A50F01021F0000D6"); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "PTZ", func() bool { return len(d.PTZ()) == 1 })
			if got := d.PTZ()[0]; got != "A50F01021F0000D6" {
				t.Fatalf("PTZCmd %s", got)
			}

			if st, err := d.Unregister(ctx); err != nil || st[len(st)-1] != 200 {
				t.Fatalf("unregister %v %v", st, err)
			}
			waitFor(t, "offline", func() bool { v, _ := s.Device(devID); return !v.Online })
		})
	}
}

func TestKeepaliveTimeout(t *testing.T) {
	s, addr, _ := start(t, "", 1500*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := device(t, addr, "udp")
	if st, err := d.Register(ctx, "", 3600); err != nil || st[0] != 200 {
		t.Fatalf("register without password: %v %v", st, err)
	}
	go d.Run(ctx)
	time.Sleep(2 * time.Second)
	if v, _ := s.Device(devID); !v.Online {
		t.Fatal("offline while sending keepalives")
	}
	d.Silence()
	waitFor(t, "offline", func() bool { v, _ := s.Device(devID); return !v.Online })
}
