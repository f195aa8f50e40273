package rtmp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/srs-lite/srs-lite/internal/rawio"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/amf0"
	"github.com/srs-lite/srs-lite/internal/log"
	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/session"
)

// Session constants, as SRS sends them.
const (
	// windowAckSize is the Window Acknowledgement Size and the Set Peer
	// Bandwidth the server announces after connect (RTMP 5.4.4, 5.4.5).
	windowAckSize = 2500000
	// The chunk streams of the server's messages: protocol control (RTMP
	// 5.4), commands on the connection, then per message stream audio,
	// data/status and video (SRS RTMP_CID_*).
	csidOverConnection uint32 = 3
	csidAudio          uint32 = 4
	csidOverStream     uint32 = 5
	csidVideo          uint32 = 6
	// streamID is the only message stream createStream hands out.
	streamID = 1
	// handshakeBytes counts C0, C1 and C2 into the bytes received.
	handshakeBytes = 1 + 2*HandshakeSize
	// serverName and softwareVersion go into connect's _result.
	serverName      = "srs-lite"
	softwareVersion = "0.1.0"
)

// Session errors: the reasons a connection ends.
var (
	// ErrRejected reports a connect, publish or play that was refused, by a
	// hook, the vhost, a busy stream or the peer.
	ErrRejected = errors.New("rtmp: rejected")
	// ErrProtocol reports a peer that breaks the session's order (publish
	// before connect, play while publishing).
	ErrProtocol = errors.New("rtmp: protocol violation")
	// errStopped reports a player that closed its stream.
	errStopped = errors.New("rtmp: play stopped by peer")
	// errUnpublished reports a play whose publisher left.
	errUnpublished = errors.New("rtmp: publisher left")
)

// action tells the connection's loop what a message started.
type action int

const (
	actNone action = iota
	actPlay
)

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n *atomic.Uint64
}

func (w countWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	w.n.Add(uint64(n))
	return n, err
}

// conn is one RTMP connection. Its goroutine reads and handles messages;
// while playing a helper goroutine does the reading and the connection's
// goroutine writes the media. Writes go through wmu.
type conn struct {
	srv    *Server
	cfg    ServerConfig
	nc     net.Conn
	log    *slog.Logger
	cid    string
	ip     string
	sess   *session.Session
	start  time.Time
	ctx    context.Context
	cancel context.CancelFunc

	br *bufio.Reader
	cr *ChunkReader

	wmu sync.Mutex
	cw  *ChunkWriter
	cmd []byte // command scratch, under wmu

	// Touched by the reading goroutine only.
	connected   bool
	tcURL       string
	app         string
	param       string
	vhost       string
	host        string
	ackWindow   uint32
	lastAck     uint64
	deadlineSet time.Time
	fcPublish   bool
	unknown     map[string]bool

	// Publish state (publish.go), reading goroutine only.
	pub  *media.Stream
	pubs publisher

	// Play state (play.go).
	rd      *media.Reader
	paused  atomic.Bool
	resume  atomic.Bool
	stopMu  sync.Mutex
	stopErr error
}

func newConn(s *Server, nc net.Conn) *conn {
	cid := log.NewTraceID()
	ip := nc.RemoteAddr().String()
	if h, _, err := net.SplitHostPort(ip); err == nil {
		ip = h
	}
	c := &conn{srv: s, cfg: *s.cfg.Load(), nc: nc, cid: cid, ip: ip, start: time.Now(),
		sess: session.New(cid, "rtmp", ip)}
	c.log = s.log.With("cid", cid, "proto", "rtmp", "remote", nc.RemoteAddr().String())
	// Small: a player only reads control messages, and a publisher's large
	// chunk payloads bypass the buffer (bufio reads them straight into the
	// message). 3 KB less per player than bufio's default.
	c.br = bufio.NewReaderSize(rawio.NewReader(nc), 1024)
	c.cw = NewChunkWriter(countWriter{nc, &c.sess.BytesOut})
	return c
}

// close ends the connection from outside: Server.Close or a kick.
func (c *conn) close() {
	c.cancel()
	c.nc.Close()
}

// serve runs the session until it ends or c.ctx is done. It is the
// connection's root: panics stop here.
func (c *conn) serve() {
	stop := context.AfterFunc(c.ctx, func() { c.nc.Close() })
	c.log.Info("rtmp: connection")
	var reason error
	defer func() {
		if r := recover(); r != nil {
			reason = fmt.Errorf("rtmp: panic: %v", r)
			c.log.Error("rtmp: panic", "panic", r, "stack", string(debug.Stack()))
		}
		c.cleanup()
		stop()
		c.cancel()
		c.nc.Close()
		c.srv.events().Close(c.sess)
		msg := "none"
		if reason != nil {
			msg = reason.Error()
		}
		c.log.Info("rtmp: connection closed", "bytes_in", c.sess.BytesIn.Load(),
			"bytes_out", c.sess.BytesOut.Load(), "duration", time.Since(c.start).Round(time.Millisecond),
			"reason", msg)
	}()
	reason = c.run(c.ctx)
}

// run does the handshake and then reads messages until the session ends.
func (c *conn) run(ctx context.Context) error {
	c.nc.SetDeadline(time.Now().Add(c.cfg.HandshakeTimeout))
	rw := struct {
		io.Reader
		io.Writer
	}{c.br, c.cw.w}
	if err := ServerHandshake(rw); err != nil {
		return err
	}
	c.sess.BytesIn.Store(handshakeBytes)
	c.cr = NewChunkReader(c.br, ReaderOptions{})
	for {
		m, err := c.readMessage()
		if err != nil {
			return c.readError(err)
		}
		act, err := c.handle(ctx, &m)
		if err != nil {
			return err
		}
		if act == actPlay {
			return c.play(ctx)
		}
	}
}

// readMessage reads the next message; until connect the handshake deadline
// bounds it, afterwards the idle timeout (refreshed once a second).
func (c *conn) readMessage() (Message, error) {
	if c.connected && c.rd == nil {
		if now := time.Now(); now.Sub(c.deadlineSet) > time.Second {
			c.deadlineSet = now
			c.nc.SetReadDeadline(now.Add(c.cfg.IdleTimeout))
		}
	}
	m, err := c.cr.ReadMessage()
	c.sess.BytesIn.Store(handshakeBytes + c.cr.BytesRead())
	return m, err
}

func (c *conn) readError(err error) error {
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("rtmp: peer closed: %w", err)
	}
	return fmt.Errorf("rtmp: read: %w", err)
}

// cleanup ends what the session started: the publish, the play, the
// partly read messages.
func (c *conn) cleanup() {
	c.endPublish()
	if c.rd != nil {
		c.rd.Close()
		c.rd = nil
		c.srv.events().Stop(c.sess)
		c.log.Info("rtmp: play ended", "stream", c.sess.Key())
	}
	if c.cr != nil {
		c.cr.Close()
	}
}

// handle acts on one message and takes over its buffer.
func (c *conn) handle(ctx context.Context, m *Message) (action, error) {
	var act action
	var err error
	switch m.Type {
	case TypeAudio, TypeVideo:
		c.onMedia(m)
	case TypeDataAMF0, TypeDataAMF3:
		c.onData(m)
	case TypeAggregate:
		c.onAggregate(m)
	case TypeCommandAMF0, TypeCommandAMF3:
		cmd, perr := ParseCommand(m.Payload, m.Type == TypeCommandAMF3)
		m.Release()
		if perr != nil {
			return actNone, perr
		}
		act, err = c.command(ctx, cmd)
	case TypeWindowAckSize: // RTMP 5.4.4
		n, perr := ParseWindowAckSize(m.Payload)
		m.Release()
		if perr == nil {
			c.ackWindow = n
		}
	case TypeUserControl: // RTMP 7.1.7
		uc, perr := ParseUserControl(m.Payload)
		m.Release()
		if perr == nil && uc.Event == EventPingRequest {
			err = c.writeUserControl(EventPingResponse, uc.Data)
		}
	default: // Acknowledgement, Set Peer Bandwidth, shared objects: ignored
		m.Release()
	}
	if err != nil {
		return act, err
	}
	// RTMP 5.4.3: acknowledge each window of bytes received.
	if c.cr != nil && c.ackWindow > 0 {
		if n := c.cr.BytesRead(); n-c.lastAck >= uint64(c.ackWindow) {
			c.lastAck = n
			c.wmu.Lock()
			c.setWriteDeadline()
			err = c.cw.WriteAck(n)
			c.wmu.Unlock()
		}
	}
	return act, err
}

// command dispatches a command message, RTMP 7.2.
func (c *conn) command(ctx context.Context, cmd Command) (action, error) {
	if cmd.Name == "connect" {
		return actNone, c.onConnect(ctx, cmd)
	}
	if !c.connected {
		return actNone, fmt.Errorf("%w: %s before connect", ErrProtocol, cmd.Name)
	}
	tid := cmd.TransactionID
	switch cmd.Name {
	case "createStream": // RTMP 7.2.1.3
		return actNone, c.writeCommand(csidOverConnection, 0, "_result", tid, nil, float64(streamID))
	case "releaseStream", "FCPublish":
		c.fcPublish = c.fcPublish || cmd.Name == "FCPublish"
		return actNone, c.reply(tid, amf0.Undefined{})
	case "publish": // RTMP 7.2.2.6
		return actNone, c.onPublish(ctx, cmd)
	case "play", "play2": // RTMP 7.2.2.1, 7.2.2.2
		return c.onPlay(ctx, cmd)
	case "pause": // RTMP 7.2.2.8
		return actNone, c.onPause(cmd)
	case "FCUnpublish":
		if c.pub != nil {
			if err := c.writeCommand(csidOverStream, streamID, "onFCUnpublish", 0, nil,
				c.status("status", "NetStream.Unpublish.Success", "Stop publishing stream.")); err != nil {
				return actNone, err
			}
		}
		c.endPublish()
		return actNone, c.reply(tid, amf0.Undefined{})
	case "deleteStream", "closeStream": // RTMP 7.2.2.3, 7.2.2.4
		c.endPublish()
		if c.rd != nil {
			return actNone, errStopped
		}
		return actNone, nil
	case "getStreamLength":
		return actNone, c.reply(tid, float64(0))
	case "_checkbw":
		return actNone, c.reply(tid, nil)
	case "receiveAudio", "receiveVideo", "FCSubscribe", "onBWDone",
		"_result", "_error", "onStatus", "setPeerInfo":
		return actNone, nil
	}
	if c.unknown == nil {
		c.unknown = map[string]bool{}
	}
	if !c.unknown[cmd.Name] && len(c.unknown) < 16 {
		c.unknown[cmd.Name] = true
		c.log.Info("rtmp: unknown command ignored", "command", cmd.Name)
	}
	if tid > 0 { // a call that expects an answer, RTMP 7.2.1.2
		return actNone, c.writeCommand(csidOverConnection, 0, "_error", tid, nil,
			c.status("error", "NetConnection.Call.Failed", "Method not found ("+cmd.Name+")."))
	}
	return actNone, nil
}

// reply answers a call with _result when it carries a transaction ID.
func (c *conn) reply(tid float64, v any) error {
	if tid <= 0 {
		return nil
	}
	return c.writeCommand(csidOverConnection, 0, "_result", tid, nil, v)
}

// onConnect handles connect, RTMP 7.2.1.1.
func (c *conn) onConnect(ctx context.Context, cmd Command) error {
	if c.connected {
		return fmt.Errorf("%w: second connect", ErrProtocol)
	}
	obj := amf0.Object(amf0.Properties(cmd.Object))
	app, _ := obj.String("app")
	c.tcURL, _ = obj.String("tcUrl")
	c.app, c.param = splitParam(app)
	c.app = strings.Trim(c.app, "/")
	var tcParam string
	if u, err := url.Parse(normalizeVhost(c.tcURL)); err == nil {
		c.host = u.Hostname()
		if u.RawQuery != "" {
			tcParam = "?" + u.RawQuery
		}
		if c.app == "" {
			c.app = strings.Trim(u.Path, "/")
		}
	}
	if c.param == "" {
		c.param = tcParam
	}
	vhost, ok := c.resolveVhost(c.param)
	if !ok {
		c.writeCommand(csidOverConnection, 0, "_error", cmd.TransactionID, nil,
			c.status("error", "NetConnection.Connect.Rejected", "vhost not served"))
		return fmt.Errorf("%w: connect %s: no vhost", ErrRejected, c.tcURL)
	}
	c.vhost = vhost
	c.sess.SetURL(c.tcURL, c.param)
	c.sess.SetStream(media.Key{Vhost: c.vhost, App: c.app}, session.None)
	c.sess.SetKick(c.close)
	if err := c.srv.events().Connect(ctx, c.sess); err != nil {
		c.writeCommand(csidOverConnection, 0, "_error", cmd.TransactionID, nil,
			c.status("error", "NetConnection.Connect.Rejected", "connect refused"))
		return fmt.Errorf("%w: connect %s: %w", ErrRejected, c.tcURL, err)
	}
	c.log = c.log.With("app", c.app)
	if peer := edgeArgs(cmd); peer != nil {
		// An SRS (or srs-lite) edge says who it is: its pull's id goes
		// into the log, so one grep follows a player through both.
		id, _ := peer.String("srs_id")
		pid, _ := peer.Number("srs_pid")
		ip, _ := peer.String("srs_server_ip")
		srv, _ := peer.String("srs_server")
		c.log.Info("rtmp: connect", "tcUrl", c.tcURL, "vhost", c.vhost, "peer_cid", id,
			"peer_pid", int(pid), "peer_ip", ip, "peer_server", srv)
	} else {
		c.log.Info("rtmp: connect", "tcUrl", c.tcURL, "vhost", c.vhost)
	}

	// RTMP 7.2.1.1: Window Acknowledgement Size, Set Peer Bandwidth, Set
	// Chunk Size and the _result, as SRS sends them.
	c.wmu.Lock()
	c.setWriteDeadline()
	err := c.cw.WriteWindowAckSize(windowAckSize)
	if err == nil {
		err = c.cw.WriteSetPeerBandwidth(windowAckSize, LimitDynamic)
	}
	if err == nil {
		err = c.cw.SetChunkSize(c.cfg.ChunkSize)
	}
	c.wmu.Unlock()
	if err != nil {
		return err
	}
	// objectEncoding 3 (AMF3) requests are answered with 0: the session
	// speaks AMF0 only.
	props := amf0.Object{
		{Key: "fmsVer", Value: "FMS/3,5,3,888"},
		{Key: "capabilities", Value: float64(127)},
		{Key: "mode", Value: float64(1)},
	}
	result := amf0.Object{
		{Key: "level", Value: "status"},
		{Key: "code", Value: "NetConnection.Connect.Success"},
		{Key: "description", Value: "Connection succeeded"},
		{Key: "objectEncoding", Value: float64(0)},
		{Key: "data", Value: amf0.ECMAArray{
			{Key: "version", Value: "3,5,3,888"},
			{Key: "srs_server", Value: serverName + "/" + softwareVersion},
			{Key: "srs_version", Value: softwareVersion},
			{Key: "srs_server_ip", Value: localIP(c.nc)},
			{Key: "srs_pid", Value: float64(os.Getpid())},
			{Key: "srs_id", Value: c.cid},
		}},
	}
	if err := c.writeCommand(csidOverConnection, 0, "_result", cmd.TransactionID, props, result); err != nil {
		return err
	}
	c.connected = true
	return c.writeCommand(csidOverConnection, 0, "onBWDone", 0, nil)
}

// edgeArgs returns connect's optional user arguments object when it
// carries SRS's edge identity (srs_sig or srs_id), else nil.
func edgeArgs(cmd Command) amf0.Object {
	for _, v := range cmd.Args {
		o := amf0.Object(amf0.Properties(v))
		if _, ok := o.Get("srs_id"); ok {
			return o
		}
		if _, ok := o.Get("srs_sig"); ok {
			return o
		}
	}
	return nil
}

// localIP is the server's address of the connection, SRS's srs_server_ip.
func localIP(nc net.Conn) string {
	a := nc.LocalAddr().String()
	if h, _, err := net.SplitHostPort(a); err == nil {
		return h
	}
	return a
}

// resolveVhost picks the vhost from a ?vhost= (or ?domain=) param and the
// tcUrl host.
func (c *conn) resolveVhost(param string) (string, bool) {
	vp := ""
	if param != "" {
		q, _ := url.ParseQuery(strings.TrimPrefix(param, "?"))
		vp = q.Get("vhost")
		if vp == "" {
			vp = q.Get("domain")
		}
	}
	if c.srv.deps.Vhost == nil {
		return media.DefaultVhost, true
	}
	return c.srv.deps.Vhost(c.host, vp)
}

// normalizeVhost turns SRS's legacy "app...vhost...name" form into a query.
func normalizeVhost(s string) string {
	return strings.Replace(s, "...vhost...", "?vhost=", 1)
}

// splitParam splits "name?query" into the name and "?query", after
// normalizing the legacy vhost form.
func splitParam(s string) (name, param string) {
	s = normalizeVhost(s)
	if i := strings.IndexByte(s, '?'); i >= 0 {
		return s[:i], s[i:]
	}
	return s, ""
}

// status returns an onStatus info object, RTMP 7.2.2.
func (c *conn) status(level, code, desc string) amf0.Object {
	return amf0.Object{
		{Key: "level", Value: level},
		{Key: "code", Value: code},
		{Key: "description", Value: desc},
		{Key: "clientid", Value: c.cid},
	}
}

// onStatus sends an onStatus command on the message stream.
func (c *conn) onStatus(level, code, desc string) error {
	return c.writeCommand(csidOverStream, streamID, "onStatus", 0, nil, c.status(level, code, desc))
}

func (c *conn) setWriteDeadline() {
	c.nc.SetWriteDeadline(time.Now().Add(c.cfg.IdleTimeout))
}

// writeCommand sends an AMF0 command message, RTMP 7.1.1.
func (c *conn) writeCommand(csid, sid uint32, name string, tid float64, obj any, args ...any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.setWriteDeadline()
	return c.cw.WriteCommand(csid, sid, name, tid, obj, args...)
}

// writeData sends an AMF0 data message, RTMP 7.1.2.
func (c *conn) writeData(vs ...any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	body, err := amf0.AppendAll(c.cmd[:0], vs...)
	if err != nil {
		return fmt.Errorf("rtmp: data message: %w", err)
	}
	c.cmd = body
	c.setWriteDeadline()
	return c.cw.WriteMessage(csidOverStream, MessageHeader{Type: TypeDataAMF0, StreamID: streamID}, body)
}

func (c *conn) writeUserControl(event uint16, data uint32) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.setWriteDeadline()
	return c.cw.WriteUserControl(event, data)
}
