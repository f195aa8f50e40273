package srt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/codec"
	"github.com/srs-lite/srs-lite/internal/format/ts"
	"github.com/srs-lite/srs-lite/internal/log"
	"github.com/srs-lite/srs-lite/internal/media"
	sess "github.com/srs-lite/srs-lite/internal/session"
)

// Media defaults.
const (
	// DefaultWaitPublisher is how long a player of a stream nobody
	// publishes is held in its handshake, waiting for a publisher (an
	// encoder reconnecting, an on-demand ingest starting), before it is
	// refused with SRT_REJX_NOTFOUND: less than libsrt's 3 s connect
	// timeout.
	DefaultWaitPublisher = 2 * time.Second
	// maxKeptOut bounds the TS buffer a player keeps between frames;
	// larger frames (keyframes of a high bitrate) get a buffer of their
	// own, so that a hundred players do not each hold one.
	maxKeptOut = 64 << 10
	// tablesEvery repeats the PAT and PMT this often in an audio-only
	// stream; a stream with video gets them before every keyframe.
	tablesEvery = 500 * time.Millisecond
)

// Errors of the media sessions, shown as the reason of a session's last
// log line.
var (
	errKicked   = errors.New("kicked")
	errNoVhost  = errors.New("srt: no such vhost")
	errShutdown = errors.New("server closing")
)

// ServerConfig holds the SRT server's settings: the connection settings of
// [srt] (latency, peer_latency, maxbw, passphrase, pbkeylen, mss,
// peer_idle_timeout) and how long a player may wait for a publisher.
type ServerConfig struct {
	Config
	// WaitPublisher: see DefaultWaitPublisher; 0 means the default, a
	// negative value refuses at once.
	WaitPublisher time.Duration
}

// ServerDeps are what the SRT server needs from its parent.
type ServerDeps struct {
	// Registry holds the streams (required).
	Registry *media.Registry
	// Log gets the session logs; nil discards them.
	Log *slog.Logger
	// Vhost resolves a stream id's h= host and ?vhost= param to a served
	// vhost, as RTMP's tcUrl; nil means media.DefaultVhost always.
	Vhost func(host, vhostParam string) (vhost string, ok bool)
	// Events is told of each caller: Connect and then Publish or Play
	// during the handshake, where an error refuses the caller with
	// SRT_REJX_FORBIDDEN (or its own RejectReason; sess.ErrLimit with
	// SRT_REJ_RESOURCE). An answer's "srt_passphrase" is this caller's, in
	// place of ServerConfig.Passphrase (a per-stream secret from a hook).
	// Unpublish or Stop and Close come when the session ends. nil allows
	// every caller and keeps no table.
	Events sess.Events
}

// Server publishes SRT callers' MPEG-TS into the registry and plays streams
// out to SRT callers as MPEG-TS, one listener for all (m=publish or
// m=request in the stream id).
type Server struct {
	deps ServerDeps
	log  *slog.Logger

	mu       sync.Mutex
	cfg      ServerConfig
	ln       *Listener
	sessions map[*Conn]Mode
	pending  map[peerKey]pendingSession // sessions admitted in a handshake, until their connection starts
	done     Totals                     // counters of the closed connections
	closed   bool
	draining bool // Drain: no new callers; Close when the last session ends
	wg       sync.WaitGroup
	ctx      context.Context
	cancel   context.CancelFunc
}

// NewServer checks cfg and deps.
func NewServer(cfg ServerConfig, deps ServerDeps) (*Server, error) {
	if deps.Registry == nil {
		return nil, fmt.Errorf("%w: no registry", ErrConfig)
	}
	var err error
	if cfg.Config, err = cfg.Config.withDefaults(); err != nil {
		return nil, err
	}
	if cfg.WaitPublisher == 0 {
		cfg.WaitPublisher = DefaultWaitPublisher
	}
	l := deps.Log
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	s := &Server{deps: deps, log: l, cfg: cfg, sessions: map[*Conn]Mode{}, pending: map[peerKey]pendingSession{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Listen binds addr (UDP) and serves callers on it until Close.
func (s *Server) Listen(addr string) (net.Addr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if s.ln != nil {
		return nil, fmt.Errorf("srt: already listening on %s", s.ln.Addr())
	}
	ln, err := Listen(addr, ListenConfig{Config: s.cfg.Config, Check: s.check, Rejected: s.rejected})
	if err != nil {
		return nil, err
	}
	s.ln = ln
	// Debug: a start that fails on a later listener says only that.
	rcv, snd := ln.Buffers()
	s.log.Debug("srt: UDP socket buffers", "want", udpBuffer, "rcvbuf", rcv, "sndbuf", snd)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.acceptLoop(ln)
	}()
	return ln.Addr(), nil
}

// Addr returns the bound address, or nil before Listen.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Drain refuses new callers and closes the server once its sessions have
// ended: a new listen address takes the new callers while the sessions on
// the old socket go on.
func (s *Server) Drain() {
	s.mu.Lock()
	s.draining = true
	idle := len(s.sessions) == 0
	s.mu.Unlock()
	if idle {
		go s.Close()
	}
}

// SetConfig applies new settings to the connections accepted from now on.
func (s *Server) SetConfig(cfg ServerConfig) error {
	var err error
	if cfg.Config, err = cfg.Config.withDefaults(); err != nil {
		return err
	}
	if cfg.WaitPublisher == 0 {
		cfg.WaitPublisher = DefaultWaitPublisher
	}
	s.mu.Lock()
	s.cfg = cfg
	ln := s.ln
	s.mu.Unlock()
	if ln != nil {
		return ln.SetConfig(cfg.Config)
	}
	return nil
}

// Close closes the listener and every session (publishers unpublish,
// players end), and waits for them. It is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	ln := s.ln
	s.mu.Unlock()
	s.cancel()
	if ln != nil {
		_ = ln.Close()
	}
	s.wg.Wait()
	return nil
}

func (s *Server) config() ServerConfig {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

// Totals are the counters of the server's connections, closed ones
// included, for reports and the bench.
type Totals struct {
	Publishers, Players int    // connected now
	PktRecv, PktSent    uint64 // data packets
	PktLoss             uint64 // packets found missing by our receivers
	PktRetrans          uint64 // retransmissions we sent
	PktRecvRetrans      uint64 // retransmissions that filled a hole
	PktRecvDrop         uint64 // too-late drops at our receivers (§4.6)
	PktSndDrop          uint64 // too-late drops at our senders (§4.6)
	PktRecvUndecrypt    uint64
}

func (t *Totals) add(st *Stats) {
	t.PktRecv += st.PktRecv
	t.PktSent += st.PktSent
	t.PktLoss += st.PktLoss
	t.PktRetrans += st.PktRetrans
	t.PktRecvRetrans += st.PktRecvRetrans
	t.PktRecvDrop += st.PktRecvDrop
	t.PktSndDrop += st.PktSndDrop
	t.PktRecvUndecrypt += st.PktRecvUndecrypt
}

// Add adds o's counters and connection counts to t (the totals of
// several servers: a listen address changed on reload).
func (t *Totals) Add(o Totals) {
	t.Publishers += o.Publishers
	t.Players += o.Players
	t.PktRecv += o.PktRecv
	t.PktSent += o.PktSent
	t.PktLoss += o.PktLoss
	t.PktRetrans += o.PktRetrans
	t.PktRecvRetrans += o.PktRecvRetrans
	t.PktRecvDrop += o.PktRecvDrop
	t.PktSndDrop += o.PktSndDrop
	t.PktRecvUndecrypt += o.PktRecvUndecrypt
}

// Totals returns the counters of every connection so far.
func (s *Server) Totals() Totals {
	s.mu.Lock()
	t := s.done
	conns := make(map[*Conn]Mode, len(s.sessions))
	for c, m := range s.sessions {
		conns[c] = m
	}
	s.mu.Unlock()
	for c, m := range conns {
		st := c.Stats()
		t.add(&st)
		if m == ModePublish {
			t.Publishers++
		} else {
			t.Players++
		}
	}
	return t
}

// events returns Deps.Events, or sess.Funcs{} (allow all).
func (s *Server) events() sess.Events {
	if s.deps.Events == nil {
		return sess.Funcs{}
	}
	return s.deps.Events
}

// pendingSession is a session admitted in a handshake, whose connection
// has not started yet.
type pendingSession struct {
	sess *sess.Session
	at   time.Time
}

// admitted keeps a caller's session from its handshake for its connection,
// so that the hooks of both name the same client. Sessions whose
// connection never came (refused after Check, or gone) end after a minute.
func (s *Server) admitted(req *Request, ss *sess.Session) {
	now := time.Now()
	var stale []*sess.Session
	s.mu.Lock()
	for k, e := range s.pending {
		if now.Sub(e.at) > time.Minute {
			delete(s.pending, k)
			stale = append(stale, e.sess)
		}
	}
	k := peerKey{req.Remote, req.SocketID}
	if e, ok := s.pending[k]; ok { // the handshake was checked again
		stale = append(stale, e.sess)
	}
	s.pending[k] = pendingSession{ss, now}
	s.mu.Unlock()
	s.endAdmitted(stale)
}

// endAdmitted ends sessions admitted in a handshake that never started.
func (s *Server) endAdmitted(ss []*sess.Session) {
	for _, x := range ss {
		if x.Role() == sess.Publisher {
			s.events().Unpublish(x)
		} else {
			s.events().Stop(x)
		}
		s.events().Close(x)
	}
}

// takeAdmitted returns the session admitted in c's handshake.
func (s *Server) takeAdmitted(c *Conn) *sess.Session {
	k := peerKey{c.raddr, c.peerID}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.pending[k]
	if !ok {
		return nil
	}
	delete(s.pending, k)
	return e.sess
}

// target is what a stream id resolves to.
type target struct {
	id    StreamID
	vhost string
}

// resolve maps a stream id onto a served stream.
func (s *Server) resolve(sid string) (target, error) {
	id, err := ParseStreamID(sid)
	if err != nil {
		return target{}, err
	}
	vhost := media.DefaultVhost
	if s.deps.Vhost != nil {
		var ok bool
		if vhost, ok = s.deps.Vhost(id.Vhost, paramValue(id.Param, "vhost")); !ok {
			return target{}, fmt.Errorf("%w: vhost %q is not served", errNoVhost, id.Vhost)
		}
	}
	return target{id: id, vhost: vhost}, nil
}

// paramValue returns the value of key in a "?k=v&k2=v2" param.
func paramValue(param, key string) string {
	for kv := range strings.SplitSeq(strings.TrimPrefix(param, "?"), "&") {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// newSession is the session record of a caller of t, in its handshake.
func (s *Server) newSession(t target, remote netip.AddrPort, sid string) *sess.Session {
	ss := sess.New(log.NewTraceID(), "srt", remote.Addr().String())
	ss.SetURL(s.streamURL(sid), t.id.Param)
	role := sess.Player
	if t.id.Mode == ModePublish {
		role = sess.Publisher
	}
	ss.SetStream(media.Key{Vhost: t.vhost, App: t.id.App, Stream: t.id.Stream}, role)
	return ss
}

func (s *Server) streamURL(sid string) string {
	s.mu.Lock()
	addr := ""
	if s.ln != nil {
		addr = s.ln.Addr().String()
	}
	s.mu.Unlock()
	return "srt://" + addr + "?streamid=" + sid
}

// check decides on a caller during its handshake: the stream id must name
// a served stream, a publisher's stream must be free, a player's stream
// must be published (it waits up to WaitPublisher for one), and the hooks
// must agree. It returns the stream's passphrase.
func (s *Server) check(ctx context.Context, req *Request) (string, error) {
	cfg := s.config()
	s.mu.Lock()
	draining := s.draining
	s.mu.Unlock()
	if draining {
		return "", RejResource
	}
	t, err := s.resolve(req.StreamID)
	if err != nil {
		s.log.Warn("srt: refused", "remote", req.Remote.String(), "streamid", req.StreamID, "err", err)
		switch {
		case errors.Is(err, ErrStreamMode):
			return "", RejXBadMode
		case errors.Is(err, errNoVhost):
			return "", RejXNotFound
		}
		return "", RejXBadRequest
	}
	ss := s.newSession(t, req.Remote, req.StreamID)
	key := ss.Key()
	reg := s.deps.Registry
	ev := s.events()
	refuse := func(why RejectReason, msg string, err error) (string, error) {
		s.log.Warn("srt: refused", "remote", req.Remote.String(), "cid", ss.ID, "stream", key.String(),
			"mode", t.id.Mode.String(), "reason", why.String(), "why", msg, "err", err)
		ev.Close(ss)
		return "", why
	}
	if err := ev.Connect(ctx, ss); err != nil {
		if errors.Is(err, sess.ErrLimit) {
			return refuse(RejResource, "connection limit", err)
		}
		return refuse(rejectOf(err), "on_connect denied", err)
	}
	ask, action := ev.Play, "on_play"
	if t.id.Mode == ModePublish {
		if st := reg.Lookup(media.Key{Vhost: t.vhost, App: t.id.App, Stream: t.id.Stream}); st != nil && st.Publishing() {
			return refuse(RejXConflict, "already publishing", nil)
		}
		ask, action = ev.Publish, "on_publish"
	} else if !s.waitPublisher(ctx, t, cfg.WaitPublisher) {
		return refuse(RejXNotFound, "no publisher", nil)
	}
	pass := cfg.Passphrase
	ans, err := ask(ctx, ss)
	if err != nil {
		if t.id.Mode == ModePublish {
			ev.Unpublish(ss)
		} else {
			ev.Stop(ss)
		}
		return refuse(rejectOf(err), action+" denied", err)
	}
	if p := ans["srt_passphrase"]; p != "" {
		if n := len(p); n < 10 || n > 79 {
			return refuse(RejXForbidden, action+": bad srt_passphrase",
				fmt.Errorf("the hook's srt_passphrase has %d characters: SRT wants 10 to 79", n))
		}
		pass = p
	}
	s.admitted(req, ss)
	return pass, nil
}

// rejected logs a caller the listener refused (encryption, version...).
func (s *Server) rejected(req *Request, why RejectReason) {
	s.log.Warn("srt: refused", "remote", req.Remote.String(), "streamid", req.StreamID,
		"reason", why.String(), "encrypted", req.Encrypted)
}

func rejectOf(err error) RejectReason {
	var r RejectReason
	switch {
	case errors.As(err, &r):
		return r
	case errors.Is(err, sess.ErrForbidden):
		return RejXForbidden // the security rules: SRT_REJX_FORBIDDEN (1403)
	}
	return RejXForbidden
}

// waitPublisher reports whether the stream is published, waiting up to d
// for a publisher. Its reader counts as a player meanwhile, so an
// on-demand ingest starts.
func (s *Server) waitPublisher(ctx context.Context, t target, d time.Duration) bool {
	reg := s.deps.Registry
	if st := reg.Lookup(media.Key{Vhost: t.vhost, App: t.id.App, Stream: t.id.Stream}); st != nil && st.Publishing() {
		return true
	}
	if d <= 0 {
		return false
	}
	rd := reg.Subscribe(media.Key{Vhost: t.vhost, App: t.id.App, Stream: t.id.Stream}, nil)
	defer rd.Close()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	tk := time.NewTicker(50 * time.Millisecond)
	defer tk.Stop()
	for {
		if rd.Stream().Publishing() {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-tk.C:
		}
	}
}

func (s *Server) acceptLoop(ln *Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.CloseWithError(errShutdown)
			continue
		}
		mode := ModeRequest
		if id, err := ParseStreamID(c.StreamID()); err == nil {
			mode = id.Mode
		}
		s.sessions[c] = mode
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.serve(c)
			st := c.Stats()
			s.mu.Lock()
			delete(s.sessions, c)
			s.done.add(&st)
			last := s.draining && len(s.sessions) == 0
			s.mu.Unlock()
			if last {
				go s.Close()
			}
		}()
	}
}

// session is one caller's publish or play.
type session struct {
	s      *Server
	c      *Conn
	t      target
	log    *slog.Logger
	sess   *sess.Session
	ctx    context.Context
	cancel context.CancelCauseFunc
}

func (s *Server) serve(c *Conn) {
	rec := s.takeAdmitted(c)
	remote := c.raddr
	if rec == nil { // admitted over a minute ago: already ended
		c.CloseWithError(errors.New("srt: handshake expired"))
		return
	}
	defer s.events().Close(rec)
	l := s.log.With("cid", rec.ID, "proto", "srt", "remote", remote.String())
	defer func() {
		if v := recover(); v != nil {
			l.Error("srt: session panic", "panic", v, "stack", string(debug.Stack()))
			c.CloseWithError(errors.New("internal error"))
		}
	}()
	t, err := s.resolve(c.StreamID())
	if err != nil { // checked in the handshake; the config may have changed since
		l.Warn("srt: refused", "streamid", c.StreamID(), "err", err)
		c.CloseWithError(err)
		return
	}
	ss := &session{s: s, c: c, t: t, sess: rec, log: l.With("stream", rec.Key().String())}
	ss.ctx, ss.cancel = context.WithCancelCause(s.ctx)
	defer ss.cancel(nil)
	stop := context.AfterFunc(ss.ctx, func() { c.CloseWithError(context.Cause(ss.ctx)) })
	defer stop()
	go func() {
		select {
		case <-c.Done():
			ss.cancel(c.Err())
		case <-ss.ctx.Done():
		}
	}()
	rec.SetKick(func() { ss.cancel(errKicked) })
	if t.id.Mode == ModePublish {
		ss.publish()
	} else {
		ss.play()
	}
}

// reason names why a session ended.
func (ss *session) reason(err error) string {
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, ErrPeerClosed):
		return "peer closed"
	case ss.ctx.Err() != nil && context.Cause(ss.ctx) != nil:
		c := context.Cause(ss.ctx)
		if errors.Is(c, ErrPeerClosed) {
			return "peer closed"
		}
		return c.Error()
	case err != nil:
		return err.Error()
	}
	return "done"
}

func (ss *session) connArgs() []any {
	st := ss.c.Stats()
	return []any{"rtt", st.RTT.Round(100 * time.Microsecond).String(), "loss", st.PktLoss,
		"retrans", st.PktRetrans + st.PktRecvRetrans, "too_late_drop", st.PktRecvDrop + st.PktSndDrop,
		"latency", st.Latency.String(), "encrypted", ss.c.Encrypted()}
}

// publish demuxes the caller's MPEG-TS into frames and writes them to the
// stream until the caller leaves.
func (ss *session) publish() {
	t := ss.t
	start := time.Now()
	st, err := ss.s.deps.Registry.Publish(media.Key{Vhost: t.vhost, App: t.id.App, Stream: t.id.Stream})
	if err != nil {
		ss.log.Warn("srt: publish refused", "err", err)
		ss.c.CloseWithError(err)
		ss.s.events().Unpublish(ss.sess)
		return
	}
	ss.sess.SetStreamID(st.ID)
	ss.log.Info("srt: publish", "param", t.id.Param, "latency", ss.c.Stats().Latency.String(),
		"encrypted", ss.c.Encrypted())
	p := &tsPublisher{st: st}
	dmx := ts.NewDemuxer(p.emit)
	dmx.OnPMT = p.declare
	buf := make([]byte, maxDatagram)
	var rerr error
	for {
		n, err := ss.c.Read(buf)
		if err != nil {
			rerr = err
			break
		}
		ss.sess.BytesIn.Add(uint64(n))
		_, _ = dmx.Write(buf[:n])
	}
	_ = dmx.Flush()
	sst := st.Stats()
	st.Unpublish()
	ss.c.CloseWithError(rerr)
	args := append([]any{"reason", ss.reason(rerr), "frames", sst.FramesIn, "bytes", ss.sess.BytesIn.Load(),
		"duration", time.Since(start).Round(time.Millisecond)}, ss.connArgs()...)
	ss.log.Info("srt: unpublish", args...)
	ss.s.events().Unpublish(ss.sess)
}

// tsPublisher writes demuxed frames to a stream.
type tsPublisher struct {
	st     *media.Stream
	info   codec.Described
	framed bool // a frame was written: too late to declare tracks
}

// declare declares the tracks of the PMT that comes before the first
// frame: HLS and DVR then wait for the video of a caller whose audio comes
// first.
func (p *tsPublisher) declare(video, audio media.Codec) {
	if !p.framed {
		p.st.ExpectTracks(video != 0, audio != 0)
	}
}

func (p *tsPublisher) emit(f *media.Frame) error {
	p.framed = true
	fr := *f // the demuxer's scratch: copy the frame, then its payload
	fr.Own()
	p.info.Note(p.st, &fr)
	p.st.Write(&fr)
	return nil
}

// play sends the stream to the caller as MPEG-TS in 1316-byte payloads (7
// TS packets), from a keyframe with its parameter sets, until the stream
// ends or the caller leaves.
func (ss *session) play() {
	t := ss.t
	start := time.Now()
	rd := ss.s.deps.Registry.Subscribe(media.Key{Vhost: t.vhost, App: t.id.App, Stream: t.id.Stream}, ss.log)
	defer rd.Close()
	ss.sess.SetStreamID(rd.Stream().ID)
	ss.log.Info("srt: play", "param", t.id.Param, "latency", ss.c.Stats().PeerLatency.String(),
		"encrypted", ss.c.Encrypted())
	// One frame per Read: a full dst returns at once, so an SRT player
	// skips the merged writes (mw_latency) meant for TCP players, which
	// would add up to their delay to SRT's own latency.
	p := &tsPlayer{c: ss.c, sess: ss.sess, mux: ts.NewMuxer(), frames: make([]media.Frame, 1),
		chunk: min(LivePayload, ss.c.PayloadSize()/ts.PacketSize*ts.PacketSize), log: ss.log}
	var err error
	if p.chunk < ts.PacketSize {
		err = fmt.Errorf("srt: a payload of %d bytes cannot carry a TS packet: raise the caller's mss", ss.c.PayloadSize())
	}
	var pace media.Pacer // the cached GOP at 4x real time, not in one burst
	for err == nil {
		var n int
		n, err = rd.Read(ss.ctx, p.frames)
		if n > 0 {
			if err == nil {
				if d := pace.Frame(&p.frames[0], time.Now()); d > 0 {
					err = pace.Sleep(ss.ctx, d)
				}
			}
			if werr := p.write(p.frames[:n]); werr != nil && err == nil {
				err = werr
			}
		}
	}
	if errors.Is(err, io.EOF) {
		_ = ss.c.Close() // the stream ended: let the player get the tail
	} else {
		ss.c.CloseWithError(err)
	}
	reason := ss.reason(err)
	if errors.Is(err, io.EOF) {
		reason = "unpublished"
	}
	args := append([]any{"reason", reason, "frames", rd.Delivered(), "dropped", rd.Dropped(),
		"bytes", ss.sess.BytesOut.Load(), "duration", time.Since(start).Round(time.Millisecond)}, ss.connArgs()...)
	ss.log.Info("srt: play end", args...)
	ss.s.events().Stop(ss.sess)
}

// audioHold is how long a player's audio TS packets of a stream with video
// may wait for the next video frame's before they are sent in a short
// payload: a frame interval at 25 fps and more. The packets' SRT
// timestamps are taken when they are sent, so the wait takes nothing from
// the receiver's latency window; MPEG-TS audio from ffmpeg's muxer comes
// in PES of several frames, later than this.
const audioHold = 45 * time.Millisecond

// tsPlayer muxes frames into TS and cuts it into SRT payloads.
type tsPlayer struct {
	c          *Conn
	sess       *sess.Session
	mux        *ts.Muxer
	frames     []media.Frame
	out        []byte
	chunk      int
	started    bool
	lastTables time.Duration
	skipped    uint64
	log        *slog.Logger
}

// write muxes frames and sends them; a short last payload may wait for the
// next frame's bytes (see the hold below). It releases the frames.
func (p *tsPlayer) write(frames []media.Frame) error {
	defer func() {
		for i := range frames {
			frames[i].Release()
		}
	}()
	p.tracks(frames)
	out := p.out[:0]
	for i := range frames {
		f := &frames[i]
		if f.Codec == media.CodecData {
			continue
		}
		if !p.started || p.tablesDue(f) {
			out = p.mux.AppendTables(out)
			p.started = true
			p.lastTables = f.DTS
		}
		var err error
		if out, err = p.appendFrame(out, f); err != nil {
			if p.skipped == 0 {
				p.log.Warn("srt: frame not sent", "codec", f.Codec.String(), "err", err)
			}
			p.skipped++
		}
	}
	p.out = out
	if cap(out) > maxKeptOut {
		p.out = nil // a keyframe's worth is not kept per player
	}
	if len(out) == 0 {
		return nil
	}
	// Every payload of the batch in one go (one sendmmsg where the kernel
	// has it). A video frame's short last one goes with it; audio's waits
	// for the next video frame (up to audioHold), so that a player's
	// datagrams come 30 times a second instead of 100 and so do its ACKs
	// and our ACKACKs. Audio-only streams keep back a short tail for one
	// tick (10 ms).
	hold := synInterval
	if video, _ := p.mux.Tracks(); video != 0 {
		hold = audioHold
		for i := range frames {
			if frames[i].Codec.IsVideo() {
				hold = 0
			}
		}
	}
	if _, err := p.c.WriteStream(out, p.chunk, hold); err != nil {
		return err
	}
	p.sess.BytesOut.Add(uint64(len(out)))
	return nil
}

// appendFrame appends f's TS packets: the frame's shared encoding (the
// media.WireTS cache, made by the first player of the stream to send the
// frame) with this player's continuity counters, or a new encoding, which
// it then shares. The cache key is the muxer state the packets depend on,
// so that a player whose tracks or codec configs differ encodes its own.
func (p *tsPlayer) appendFrame(out []byte, f *media.Frame) ([]byte, error) {
	b := f.Buf()
	if b == nil || f.IsConfig() {
		return p.mux.AppendFrame(out, f)
	}
	key := p.mux.Key()
	if w := b.Wire(media.WireTS, key); w != nil {
		return p.mux.AppendShared(out, w), nil
	}
	at := len(out)
	out, err := p.mux.AppendFrame(out, f)
	if err != nil || len(out) == at {
		return out, err
	}
	enc := out[at:]
	wb := media.GetBuf(len(enc))
	copy(wb.Bytes(), enc)
	if _, ok := b.SetWire(media.WireTS, key, wb, len(enc)); !ok {
		wb.Release() // cached with another key: ours stays private
	}
	return out, nil
}

// tablesDue reports whether the PAT and PMT go before f: before each video
// keyframe, and every tablesEvery in a stream without video.
func (p *tsPlayer) tablesDue(f *media.Frame) bool {
	video, _ := p.mux.Tracks()
	if video != 0 {
		return f.Codec.IsVideo() && f.IsKey() && !f.IsConfig()
	}
	return f.DTS-p.lastTables >= tablesEvery || f.DTS < p.lastTables
}

// tracks declares the codecs the batch shows, when they change: the config
// frames a reader gets first name them.
func (p *tsPlayer) tracks(frames []media.Frame) {
	video, audio := p.mux.Tracks()
	v, a := video, audio
	for i := range frames {
		c := frames[i].Codec
		switch {
		case c == media.CodecH264 || c == media.CodecH265:
			v = c
		case c == media.CodecAAC || c == media.CodecMP3:
			a = c
		}
	}
	if v != video || a != audio {
		p.mux.SetTracks(v, a)
		p.started = false // tables with the new PMT first
	}
}
