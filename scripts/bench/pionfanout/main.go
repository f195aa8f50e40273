// Command pionfanout is the reference peer of scripts/compare-webrtc.sh: a
// WHEP server built the usual way on pion/webrtc/v4 (one PeerConnection
// per viewer, default interceptors: NACK responder, reports), fanning out
// H.264 (and Opus) RTP that ffmpeg sends it (-f rtp) through
// TrackLocalStaticRTP, all sessions on one UDP port (an ICE UDP mux) as
// MediaMTX does. It is a benchmark tool in its own module: pion/webrtc never
// enters srs-lite's module.
//
//	pionfanout -http 127.0.0.1:8889 -udp 127.0.0.1:8189 -video 127.0.0.1:5004 [-audio 127.0.0.1:5006]
//
// WHEP: POST /STREAM/whep (any STREAM) -> 201, Location /session/ID;
// DELETE /session/ID ends it.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"flag"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

func main() {
	httpAddr := flag.String("http", "127.0.0.1:8889", "WHEP HTTP listen address")
	udpAddr := flag.String("udp", "127.0.0.1:8189", "WebRTC UDP listen address (all sessions)")
	videoAddr := flag.String("video", "127.0.0.1:5004", "H.264 RTP in (ffmpeg -f rtp)")
	audioAddr := flag.String("audio", "", "Opus RTP in (ffmpeg -f rtp), optional")
	flag.Parse()

	video, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "video", "pionfanout")
	if err != nil {
		log.Fatal(err)
	}
	var audio *webrtc.TrackLocalStaticRTP
	if *audioAddr != "" {
		if audio, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2},
			"audio", "pionfanout"); err != nil {
			log.Fatal(err)
		}
		go pump(*audioAddr, audio)
	}
	go pump(*videoAddr, video)

	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		log.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		log.Fatal(err)
	}
	ua, err := net.ResolveUDPAddr("udp", *udpAddr)
	if err != nil {
		log.Fatal(err)
	}
	uc, err := net.ListenUDP("udp", ua)
	if err != nil {
		log.Fatal(err)
	}
	// The socket buffers srs-lite's rtc listener asks for (4 MiB): on
	// loopback a sender's buffer holds every packet its receivers have not
	// read yet, and the default 208 KiB throttles hundreds of viewers.
	_ = uc.SetReadBuffer(4 << 20)
	_ = uc.SetWriteBuffer(4 << 20)
	se := webrtc.SettingEngine{}
	se.SetICEUDPMux(webrtc.NewICEUDPMux(nil, uc))
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(string) bool { return true })
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() || ip.Equal(ua.IP) })
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))

	var mu sync.Mutex
	sessions := map[string]*webrtc.PeerConnection{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{stream}/whep", func(w http.ResponseWriter, r *http.Request) {
		offer, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		pc, err := api.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fail := func(code int, err error) {
			_ = pc.Close()
			http.Error(w, err.Error(), code)
		}
		for _, t := range []*webrtc.TrackLocalStaticRTP{video, audio} {
			if t == nil {
				continue
			}
			s, err := pc.AddTrack(t)
			if err != nil {
				fail(http.StatusInternalServerError, err)
				return
			}
			go func() { // RTCP in: the interceptors (NACK responder) need it read
				buf := make([]byte, 1500)
				for {
					if _, _, err := s.Read(buf); err != nil {
						return
					}
				}
			}()
		}
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(offer)}); err != nil {
			fail(http.StatusBadRequest, err)
			return
		}
		ans, err := pc.CreateAnswer(nil)
		if err != nil {
			fail(http.StatusBadRequest, err)
			return
		}
		done := webrtc.GatheringCompletePromise(pc)
		if err := pc.SetLocalDescription(ans); err != nil {
			fail(http.StatusInternalServerError, err)
			return
		}
		<-done
		id := randID()
		mu.Lock()
		sessions[id] = pc
		mu.Unlock()
		pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
			if s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateClosed {
				mu.Lock()
				delete(sessions, id)
				mu.Unlock()
				_ = pc.Close()
			}
		})
		w.Header().Set("Content-Type", "application/sdp")
		w.Header().Set("Location", "/session/"+id)
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, pc.LocalDescription().SDP)
	})
	mux.HandleFunc("DELETE /session/{id}", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		pc := sessions[r.PathValue("id")]
		delete(sessions, r.PathValue("id"))
		mu.Unlock()
		if pc == nil {
			http.NotFound(w, r)
			return
		}
		_ = pc.Close()
		w.WriteHeader(http.StatusOK)
	})
	go func() {
		for range time.Tick(10 * time.Second) {
			mu.Lock()
			n := len(sessions)
			mu.Unlock()
			log.Printf("%d sessions", n)
		}
	}()
	log.Printf("pionfanout: WHEP on http://%s/STREAM/whep, WebRTC on udp %s", *httpAddr, *udpAddr)
	log.Fatal(http.ListenAndServe(*httpAddr, mux))
}

// pump reads RTP from addr and writes each packet to every viewer of t.
func pump(addr string, t *webrtc.TrackLocalStaticRTP) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		log.Fatal(err)
	}
	c, err := net.ListenUDP("udp", ua)
	if err != nil {
		log.Fatal(err)
	}
	_ = c.SetReadBuffer(4 << 20)
	buf := make([]byte, 1600)
	for {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			log.Fatal(err)
		}
		if _, err := t.Write(buf[:n]); err != nil && err != io.ErrClosedPipe {
			log.Printf("write: %v", err)
		}
	}
}

func randID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
