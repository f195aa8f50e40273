//go:build !nortc && !tiny

package rtc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	pionmedia "github.com/pion/webrtc/v4/pkg/media"

	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/protocol/rtc/rtctest"
	sess "github.com/srs-lite/srs-lite/internal/session"
)

// publishSynthetic writes a 30 fps H.264 stream of 6 KB frames (a keyframe
// each second) until ctx is done.
func publishSynthetic(t *testing.T, ctx context.Context, reg *media.Registry, key media.Key) {
	t.Helper()
	st, err := reg.Publish(key)
	if err != nil {
		t.Fatal(err)
	}
	sps := []byte{0x67, 0x42, 0xe0, 0x1f, 0xda, 0x02, 0x80, 0xbf, 0xe5}
	pps := []byte{0x68, 0xce, 0x3c, 0x80}
	cfg := media.Frame{Codec: media.CodecH264, Flags: media.FlagConfig, Payload: h264.BuildConfig([][]byte{sps}, [][]byte{pps})}
	cfg.Own()
	st.Write(&cfg)
	go func() {
		defer st.Unpublish()
		tick := time.NewTicker(time.Second / 30)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			const n = 6000
			b := media.GetBuf(n)
			p := b.Bytes()[:n]
			binary.BigEndian.PutUint32(p, n-4)
			p[4] = 0x41
			f := media.Frame{Codec: media.CodecH264}
			if i%30 == 0 {
				p[4] = 0x65
				f.Flags = media.FlagKey
			}
			d := time.Duration(i) * time.Second / 30
			f.DTS, f.PTS = d, d
			f.SetBuf(b, 0, n)
			st.Write(&f)
		}
	}()
}

// pionViewer is a pion/webrtc/v4 WHEP client counting video packets.
type pionViewer struct {
	pc       *webrtc.PeerConnection
	packets  atomic.Int64
	mu       sync.Mutex
	seqs     map[uint16]bool
	location string
	lastTS   uint32
	frames   []time.Time // arrival of each new RTP timestamp (a frame's first packet)
}

// dialWHEP plays url with pion; rewrite, when not nil, edits the answer.
func dialWHEP(t *testing.T, url string, rewrite func(string) string) *pionViewer {
	t.Helper()
	skipPionShort(t)
	pc, err := pionAPI(t, true).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	v := &pionViewer{pc: pc, seqs: map[uint16]bool{}}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			v.packets.Add(1)
			v.mu.Lock()
			v.seqs[p.SequenceNumber] = true
			if len(v.frames) == 0 || p.Timestamp != v.lastTS {
				v.lastTS = p.Timestamp
				v.frames = append(v.frames, time.Now())
			}
			v.mu.Unlock()
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	code, ans, h := post(t, url, offer.SDP)
	if code != http.StatusCreated {
		t.Fatalf("POST: %d %s", code, ans)
	}
	v.location = h.Get("Location")
	if rewrite != nil {
		ans = rewrite(ans)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ans}); err != nil {
		t.Fatal(err)
	}
	return v
}

// skipPionShort skips the pion client's tests under -short (cross-unit
// under qemu-user, where pion's network enumeration through netlink fails).
func skipPionShort(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED under -short: the pion/webrtc client needs a real network stack (netlink)")
	}
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPionWHEPSessionEvents plays with pion/webrtc (a test-only client)
// and checks the session's life: connect, play, the table, kick, stop,
// close.
func TestPionWHEPSessionEvents(t *testing.T) {
	reg := media.NewRegistry(func(string) media.Options { return media.DefaultOptions() })
	table := sess.NewTable()
	var events []string
	var mu sync.Mutex
	rec := func(e string) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}
	ev := sess.Funcs{Table: table,
		OnConnect: func(context.Context, *sess.Session) error { rec("connect"); return nil },
		OnPlay:    func(context.Context, *sess.Session) error { rec("play"); return nil },
		OnStop:    func(*sess.Session) { rec("stop") },
		OnClose:   func(*sess.Session) { rec("close") },
	}
	s, hs := pionServer(t, Deps{Registry: reg, Events: ev})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	key := media.Key{Vhost: media.DefaultVhost, App: "live", Stream: "pion"}
	publishSynthetic(t, ctx, reg, key)

	v := dialWHEP(t, hs+WHEPPath+"?app=live&stream=pion", nil)
	waitFor(t, 10*time.Second, "100 video packets", func() bool { return v.packets.Load() >= 100 })
	list := table.List()
	if len(list) != 1 || list[0].Proto != "rtc" || list[0].Role != sess.Player || list[0].BytesOut == 0 {
		t.Fatalf("session table: %+v", list)
	}
	table.Kick(list[0].ID)
	waitFor(t, 5*time.Second, "the kicked session to end", func() bool { return s.Sessions() == 0 && table.Len() == 0 })
	mu.Lock()
	got := strings.Join(events, ",")
	mu.Unlock()
	if got != "connect,play,stop,close" {
		t.Errorf("events %s", got)
	}
}

// pionServer starts a server on loopback for deps, with WHEP and WHIP on
// an HTTP server of its own; both close when the test ends.
func pionServer(t *testing.T, deps Deps) (*Server, string) {
	t.Helper()
	s, err := New(Config{Candidate: "127.0.0.1"}, deps)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, httpServer(t, s)
}

// pionAPI is rtctest.API: a pion/webrtc API on loopback UDP.
func pionAPI(t *testing.T, interceptors bool) *webrtc.API { return rtctest.API(t, interceptors) }

func httpServer(t *testing.T, s *Server) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(WHEPPath, s)
	mux.Handle(WHIPPath, s)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: mux}
	go hs.Serve(ln)
	t.Cleanup(func() { _ = hs.Close() })
	return "http://" + ln.Addr().String()
}

// TestPionWHEPNACK puts a UDP relay that drops 5% of the server's media
// packets between pion and the server: the viewer's NACKs get them sent
// again, and nearly every sequence number arrives.
func TestPionWHEPNACK(t *testing.T) {
	reg := media.NewRegistry(func(string) media.Options { return media.DefaultOptions() })
	s, hs := pionServer(t, Deps{Registry: reg})
	relay := lossyRelay(t, s.Addr().(*net.UDPAddr), 0.05)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	key := media.Key{Vhost: media.DefaultVhost, App: "live", Stream: "nack"}
	publishSynthetic(t, ctx, reg, key)
	port := strconv.Itoa(s.Addr().(*net.UDPAddr).Port)
	v := dialWHEP(t, hs+WHEPPath+"?app=live&stream=nack", func(ans string) string {
		var out []string
		for _, l := range strings.Split(ans, "\r\n") {
			if strings.HasPrefix(l, "a=candidate:") {
				if !strings.Contains(l, " udp ") {
					continue
				}
				l = strings.Replace(l, " "+port+" typ", " "+strconv.Itoa(relay.Port)+" typ", 1)
			}
			out = append(out, l)
		}
		return strings.Join(out, "\r\n")
	})
	waitFor(t, 15*time.Second, "1000 video packets", func() bool { return v.packets.Load() >= 1000 })
	time.Sleep(300 * time.Millisecond)
	v.mu.Lock()
	lo, hi, have := uint16(0), uint16(0), 0
	first := true
	for seq := range v.seqs {
		if first || int16(seq-lo) < 0 {
			lo = seq
		}
		if first || int16(seq-hi) > 0 {
			hi = seq
		}
		first = false
		have++
	}
	v.mu.Unlock()
	span := int(hi-lo) + 1 - 50 // the newest packets may still be on their way back
	t.Logf("received %d of %d sequence numbers; NACKs %d, retransmitted %d", have, int(hi-lo)+1,
		s.Stats().NACKs.Load(), s.Stats().Retransmits.Load())
	if s.Stats().Retransmits.Load() == 0 {
		t.Fatal("no retransmission")
	}
	if have < span*99/100 {
		t.Errorf("only %d of %d packets arrived despite NACKs", have, span)
	}
}

// lossyRelay forwards UDP between one client and server, dropping a share
// of the server's SRTP packets (not STUN or DTLS).
func lossyRelay(t *testing.T, server *net.UDPAddr, loss float64) *net.UDPAddr {
	t.Helper()
	front, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	back, err := net.DialUDP("udp", nil, server)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = front.Close(); _ = back.Close() })
	var client atomic.Pointer[net.UDPAddr]
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := front.ReadFromUDP(buf)
			if err != nil {
				return
			}
			client.Store(from)
			_, _ = back.Write(buf[:n])
		}
	}()
	go func() {
		buf := make([]byte, 2048)
		for {
			n, err := back.Read(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) {
					return
				}
				continue
			}
			if Classify(buf[:n]) == KindRTP && (buf[1] < 192 || buf[1] > 223) && rand.Float64() < loss {
				continue
			}
			if c := client.Load(); c != nil {
				_, _ = front.WriteToUDP(buf[:n], c)
			}
		}
	}()
	return front.LocalAddr().(*net.UDPAddr)
}

// TestPionWHIPKeyframeForNewViewer publishes with pion over WHIP (one
// keyframe, then P frames until asked) and checks that a viewer joining
// later makes the server ask the publisher for a keyframe (PLI) within 1 s,
// and that the viewer then receives video.
func TestPionWHIPKeyframeForNewViewer(t *testing.T) {
	skipPionShort(t)
	reg := media.NewRegistry(func(string) media.Options { return media.DefaultOptions() })
	s, hs := pionServer(t, Deps{Registry: reg})

	pc, err := pionAPI(t, false).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "video", "pion")
	if err != nil {
		t.Fatal(err)
	}
	sender, err := pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		t.Fatal(err)
	}
	var plis atomic.Int64
	var lastPLI atomic.Int64
	go func() {
		for {
			pkts, _, err := sender.Sender().ReadRTCP()
			if err != nil {
				return
			}
			for _, p := range pkts {
				if strings.Contains(fmt.Sprintf("%T", p), "PictureLossIndication") {
					plis.Add(1)
					lastPLI.Store(time.Now().UnixNano())
				}
			}
		}
	}()
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	code, ans, _ := post(t, hs+WHIPPath+"?app=live&stream=whip", offer.SDP)
	if code != http.StatusCreated {
		t.Fatalf("WHIP POST: %d %s", code, ans)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ans}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sps := []byte{0, 0, 0, 1, 0x67, 0x42, 0xe0, 0x1f, 0xda, 0x02, 0x80, 0xbf, 0xe5}
	pps := []byte{0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80}
	go func() {
		tick := time.NewTicker(time.Second / 30)
		defer tick.Stop()
		sentPLIs := int64(-1)
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			var data []byte
			if n := plis.Load(); n != sentPLIs {
				sentPLIs = n // a keyframe at the start and after each PLI
				data = append(append(append(data, sps...), pps...), 0, 0, 0, 1, 0x65)
			} else {
				data = append(data, 0, 0, 0, 1, 0x41)
			}
			data = append(data, make([]byte, 3000)...)
			_ = track.WriteSample(pionmedia.Sample{Data: data, Duration: time.Second / 30})
		}
	}()
	key := media.Key{Vhost: media.DefaultVhost, App: "live", Stream: "whip"}
	defer func() {
		st := s.Stats()
		t.Logf("pc %s; server in %d pkts, stun bad %d, dtls bad %d, srtp bad %d", pc.ConnectionState(), st.PacketsIn.Load(),
			st.STUNBad.Load(), st.DTLSBad.Load(), st.SRTPBad.Load())
	}()
	waitFor(t, 10*time.Second, "WHIP video in the stream", func() bool {
		st := reg.Lookup(key)
		return st != nil && st.Stats().VideoFrames > 30
	})
	time.Sleep(1500 * time.Millisecond) // past the PLI rate limit
	before := plis.Load()
	joined := time.Now()
	v := dialWHEP(t, hs+WHEPPath+"?app=live&stream=whip", nil)
	waitFor(t, time.Second, "a PLI to the publisher after a viewer joined", func() bool { return plis.Load() > before })
	t.Logf("PLI %v after the viewer's POST", time.Duration(lastPLI.Load()-joined.UnixNano()).Round(time.Millisecond))
	waitFor(t, 5*time.Second, "video at the new viewer", func() bool { return v.packets.Load() > 30 })
}

// TestPionWHEPFramesAsTheyCome: once caught up, a viewer gets each frame
// as it is written (30 fps: a frame every 33 ms), not merged writes of
// up to mw_latency (350 ms) of media, which held WHEP frames back by
// 300 ms glass-to-glass.
func TestPionWHEPFramesAsTheyCome(t *testing.T) {
	reg := media.NewRegistry(func(string) media.Options { return media.DefaultOptions() })
	_, hs := pionServer(t, Deps{Registry: reg})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	key := media.Key{Vhost: media.DefaultVhost, App: "live", Stream: "asthey"}
	publishSynthetic(t, ctx, reg, key)
	v := dialWHEP(t, hs+WHEPPath+"?app=live&stream=asthey", nil)
	waitFor(t, 10*time.Second, "the first frame", func() bool {
		v.mu.Lock()
		defer v.mu.Unlock()
		return len(v.frames) > 0
	})
	time.Sleep(1500 * time.Millisecond) // past the GOP's catch-up
	v.mu.Lock()
	from := len(v.frames)
	v.mu.Unlock()
	time.Sleep(1500 * time.Millisecond)
	v.mu.Lock()
	arr := slices.Clone(v.frames[from:])
	v.mu.Unlock()
	if len(arr) < 30 {
		t.Fatalf("%d frames in 1.5 s, want about 45", len(arr))
	}
	var gaps []time.Duration
	for i := 1; i < len(arr); i++ {
		gaps = append(gaps, arr[i].Sub(arr[i-1]))
	}
	long := 0 // merged writes leave one every ~350 ms
	for _, g := range gaps {
		if g > 150*time.Millisecond {
			long++
		}
	}
	slices.Sort(gaps)
	t.Logf("%d frames in 1.5 s; gap between frames p50 %v, max %v, %d over 150 ms", len(arr), gaps[len(gaps)/2], gaps[len(gaps)-1], long)
	if long >= 3 {
		t.Errorf("frames come in bursts: %d gaps over 150 ms in 1.5 s (max %v), want a frame every 33 ms", long, gaps[len(gaps)-1])
	}
}
