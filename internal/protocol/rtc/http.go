//go:build !nortc && !tiny

package rtc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/srs-lite/srs-lite/internal/log"
	"github.com/srs-lite/srs-lite/internal/media"
	sess "github.com/srs-lite/srs-lite/internal/session"
)

// The WHIP and WHEP endpoints (RFC 9725 and its WHEP counterpart); a
// session's resource is the endpoint followed by its id.
const (
	WHIPPath = "/rtc/v1/whip/"
	WHEPPath = "/rtc/v1/whep/"
)

var errKicked = errors.New("kicked")

// cors lets a page of another origin use the endpoints (RFC 9725 §4.7).
func cors(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "POST, DELETE, OPTIONS, PATCH")
	h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization, If-Match")
	h.Set("Access-Control-Expose-Headers", "Location, Link, ETag")
}

// ServeHTTP serves WHIP and WHEP: POST an offer to the endpoint (201 with
// the answer and a Location), DELETE the Location to end the session,
// OPTIONS for CORS preflights.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cors(w)
	prefix := WHEPPath
	publish := strings.HasPrefix(r.URL.Path, WHIPPath)
	if publish {
		prefix = WHIPPath
	}
	id := strings.TrimPrefix(r.URL.Path, prefix)
	switch r.Method {
	case http.MethodOptions:
		w.Header().Set("Accept-Post", "application/sdp")
		w.WriteHeader(http.StatusNoContent)
	case http.MethodDelete:
		if id == "" {
			id = r.URL.Query().Get("session")
		}
		s.mu.Lock()
		p := s.byID[id]
		s.mu.Unlock()
		if p == nil || p.publish != publish {
			http.Error(w, "no such session", http.StatusNotFound)
			return
		}
		p.close(errors.New("DELETE"))
		w.WriteHeader(http.StatusOK)
	case http.MethodPost:
		if id != "" {
			http.Error(w, "POST the offer to "+prefix, http.StatusMethodNotAllowed)
			return
		}
		s.post(w, r, publish, prefix)
	case http.MethodPatch:
		// Trickle ICE and ICE restarts: not needed, the answer is complete.
		http.Error(w, "trickle ICE is not supported: the answer has every candidate", http.StatusMethodNotAllowed)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// post answers an offer.
func (s *Server) post(w http.ResponseWriter, r *http.Request, publish bool, prefix string) {
	if s.closed.Load() {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	q := r.URL.Query()
	app, name := q.Get("app"), q.Get("stream")
	if app == "" || name == "" || strings.ContainsAny(app+name, "/?#") {
		http.Error(w, "want ?app=APP&stream=STREAM", http.StatusBadRequest)
		return
	}
	vhost := media.DefaultVhost
	if s.deps.Vhost != nil {
		v, ok := s.deps.Vhost(r.Host, q.Get("vhost"))
		if !ok {
			http.Error(w, "no such vhost", http.StatusNotFound)
			return
		}
		vhost = v
	}
	key := media.Key{Vhost: vhost, App: app, Stream: name}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxOfferSize+1))
	if err != nil {
		http.Error(w, "reading the offer: "+err.Error(), http.StatusBadRequest)
		return
	}
	o, err := parseOffer(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	cid := log.NewTraceID()
	proto := "whep"
	if publish {
		proto = "whip"
	}
	l := s.log.With("cid", cid, "proto", "rtc", "remote", r.RemoteAddr, "stream", key.String())
	p := newPeer(s, cid, publish)
	p.log = l
	p.remoteUfrag, p.remoteFP = o.ufrag, o.fingerprint
	ms, err := s.negotiate(o, key, publish)
	if err != nil {
		l.Info("rtc "+proto+" refused", "err", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}

	ip := r.RemoteAddr
	if h, _, err := net.SplitHostPort(ip); err == nil {
		ip = h
	}
	ss := sess.New(cid, "rtc", ip)
	param := ""
	if r.URL.RawQuery != "" {
		param = "?" + r.URL.RawQuery
	}
	ss.SetURL("webrtc://"+r.Host+"/"+app+"/"+name, param)
	role := sess.Player
	if publish {
		role = sess.Publisher
	}
	ss.SetStream(key, role)
	ss.SetKick(func() { p.close(errKicked) })
	p.sess = ss
	ev := s.deps.Events
	if err := ev.Connect(r.Context(), ss); err != nil {
		l.Warn("rtc "+proto+" refused", "err", err)
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	if publish {
		_, err = ev.Publish(r.Context(), ss)
	} else {
		_, err = ev.Play(r.Context(), ss)
	}
	if err != nil {
		ev.Close(ss)
		l.Warn("rtc "+proto+" refused", "err", err)
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	var pub *publisher
	if publish {
		st, err := s.deps.Registry.Publish(key)
		if err != nil {
			ev.Unpublish(ss)
			ev.Close(ss)
			l.Warn("rtc whip refused", "err", err)
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		ss.SetStreamID(st.ID)
		pub = newPublisher(p, st, ms)
	}
	answer := s.buildAnswer(p, ms, s.candidates(r.Host), uint64(randUint32()))
	s.add(p)
	s.wg.Add(1)
	go s.run(p, key, ms, pub)
	l.Info("rtc "+proto+" offer answered", "session", cid)
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", prefix+cid)
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

// codecWait bounds how long a WHEP offer for a stream that has not told
// its codecs yet waits for them.
const codecWait = 2 * time.Second

// negotiate picks our side of each m-section.
func (s *Server) negotiate(o *offer, key media.Key, publish bool) ([]answerMedia, error) {
	vcodec, acodec := media.CodecH264, media.CodecOpus
	if st := s.deps.Registry.Lookup(key); !publish && st != nil {
		// A stream published a moment ago may not have told its codecs
		// yet (they come with its first frames): wait for them a little,
		// or an H.265 stream would be answered as H.264.
		ctx, cancel := context.WithTimeout(context.Background(), codecWait)
		stats := st.WaitCodecs(ctx)
		cancel()
		if stats.HasVideo && stats.Video.Codec == media.CodecH265 {
			vcodec = media.CodecH265 // browsers with H.265 in WebRTC (Safari, Chrome 136+ with hardware)
		}
		if stats.HasAudio && (stats.Audio.Codec == media.CodecPCMA || stats.Audio.Codec == media.CodecPCMU) {
			acodec = stats.Audio.Codec
		}
	}
	ms := make([]answerMedia, len(o.medias))
	var haveVideo, haveAudio bool
	var refused []string
	for i := range o.medias {
		m := &o.medias[i]
		ms[i].om = m
		wantDir := "recvonly" // the browser's direction for a viewer
		ourDir := "sendonly"
		if publish {
			wantDir, ourDir = "sendonly", "recvonly"
		}
		if !strings.Contains(m.proto, "SAVPF") || m.mid == "" || (m.dir != wantDir && m.dir != "sendrecv") {
			continue
		}
		switch m.kind {
		case "video":
			if haveVideo {
				continue
			}
			f, ok := pickVideo(m, vcodec)
			if !ok {
				refused = append(refused, fmt.Sprintf("video: srs-lite takes %s, the offer has %s", codecName(vcodec), offeredNames(m)))
				continue
			}
			haveVideo = true
			ms[i] = answerMedia{om: m, f: f, dir: ourDir, video: true, accept: true, ssrc: randUint32()}
		case "audio":
			if haveAudio {
				continue
			}
			f, ok := pickAudio(m, acodec)
			if !ok {
				refused = append(refused, fmt.Sprintf("audio: srs-lite sends %s here, the offer has %s", acodec, offeredNames(m)))
				continue
			}
			haveAudio = true
			ms[i] = answerMedia{om: m, f: f, dir: ourDir, accept: true, ssrc: randUint32()}
		}
	}
	if !haveVideo && !haveAudio || publish && !haveVideo && len(refused) > 0 {
		why := "no media to send or receive"
		if len(refused) > 0 {
			why = strings.Join(refused, "; ")
		}
		return nil, fmt.Errorf("%w: no common codec (%s)", ErrOffer, why)
	}
	return ms, nil
}

// codecName names a video codec as the refusals say it.
func codecName(c media.Codec) string {
	if c == media.CodecH265 {
		return "H.265"
	}
	return "H.264"
}

// run is a session's life after the answer: the handshake, then playing or
// publishing until it ends.
func (s *Server) run(p *peer, key media.Key, ms []answerMedia, pub *publisher) {
	defer s.wg.Done()
	ev := s.deps.Events
	defer func() {
		if v := recover(); v != nil {
			p.log.Error("rtc session panic", "panic", v, "stack", string(debug.Stack()))
		}
		p.close(errors.New("ended"))
		if pub != nil {
			pub.end()
			ev.Unpublish(p.sess)
		} else {
			ev.Stop(p.sess)
		}
		ev.Close(p.sess)
	}()
	err := p.handshake()
	if err == nil {
		if pub != nil {
			err = pub.run(p.ctx)
		} else {
			err = s.play(p, key, ms)
		}
	}
	why := err
	if c := context.Cause(p.ctx); c != nil {
		why = c
	}
	p.log.Info("rtc session end", "reason", fmt.Sprint(why), "bytes_in", p.sess.BytesIn.Load(), "bytes_out", p.sess.BytesOut.Load())
}

// play sends the stream to a viewer.
func (s *Server) play(p *peer, key media.Key, ms []answerMedia) error {
	pl := &player{p: p, key: key, plain: make([]byte, 1500), enc: make([]byte, 1500),
		rtx: make([]byte, 1500), rtxEnc: make([]byte, 1500)}
	for _, m := range ms {
		if !m.accept {
			continue
		}
		c := media.CodecOpus
		switch {
		case m.video && (m.f.name == "H265" || m.f.name == "HEVC"):
			c = media.CodecH265
		case m.video:
			c = media.CodecH264
		case m.f.name == "PCMA":
			c = media.CodecPCMA
		case m.f.name == "PCMU":
			c = media.CodecPCMU
		}
		t := newSendTrack(m.f.pt, c, uint32(m.f.clock))
		t.ssrc = m.ssrc
		if m.video {
			pl.video = t
		} else {
			pl.audio = t
		}
	}
	p.onRTCP = pl.onRTCP
	// A WHIP publisher's Opus as it came (its stream's second track), not
	// the AAC made of it; other streams' audio is their main track's.
	rd := s.deps.Registry.SubscribeWith(key, p.log, media.SubscribeOptions{Track: media.TrackOpus})
	defer rd.Close()
	p.sess.SetStreamID(rd.Stream().ID)
	pl.streamID = rd.Stream().ID
	s.requestKeyframe(key)
	return pl.run(p.ctx, rd)
}
