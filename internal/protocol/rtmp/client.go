package rtmp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/amf0"
	"github.com/srs-lite/srs-lite/internal/format/codec"
	"github.com/srs-lite/srs-lite/internal/format/flv"
	"github.com/srs-lite/srs-lite/internal/media"
)

// ErrURL reports an RTMP URL that cannot be dialed.
var ErrURL = errors.New("rtmp: bad url")

// ClientOptions tune a Client. Zero fields take the defaults.
type ClientOptions struct {
	// ComplexHandshake selects the digest handshake (as Flash Player); the
	// default is the simple one of RTMP 5.2.
	ComplexHandshake bool
	// ChunkSize is the chunk size the client sends with, default
	// DefaultOutChunkSize.
	ChunkSize int
	// Timeout bounds Dial, Publish and Play when ctx has no deadline,
	// default 10s.
	Timeout time.Duration
	// FlashVer is connect's flashVer, default "LNX 9,0,124,2".
	FlashVer string
	// SendBuffer, when > 0, sets the socket's send buffer (SO_SNDBUF): a
	// publisher to a server that stops reading then blocks after that much
	// instead of after the kernel's autotuned megabytes.
	SendBuffer int
	// ConnectArgs, when not nil, go with connect as its optional user
	// arguments object (RTMP 7.2.1.1): SRS's edge sends its identity there
	// (srs_sig, srs_id, srs_pid, srs_server_ip), which the origin logs.
	ConnectArgs amf0.Object
	// TLS configures an rtmps:// connection (nil: the defaults: the
	// system's roots, which SSL_CERT_FILE and SSL_CERT_DIR may name, and
	// the URL's host as the server name). A copy is used; ServerName is
	// set from the URL when empty.
	TLS *tls.Config
}

// RedirectError is an RTMP 302: the server refused the connect or play
// with NetConnection.Connect.Rejected and ex.code 302 (SRS's origin
// cluster, SrsRtmpServer::redirect), naming where the stream is. It
// matches ErrRejected with errors.Is.
type RedirectError struct {
	URL string // the full RTMP URL (ex.redirect2), or the tcUrl (ex.redirect) plus the stream
}

func (e *RedirectError) Error() string { return "rtmp: redirected (302) to " + e.URL }

// Unwrap makes a redirect a rejection.
func (e *RedirectError) Unwrap() error { return ErrRejected }

// maxRedirects bounds the 302s DialPlay follows, as FFmpeg does.
const maxRedirects = 3

// Client is an RTMP client connection: Dial connects and creates a stream,
// then either Publish and WriteFrame, or Play and ReadFrame. Writes belong
// to one goroutine and reads to one goroutine; Close may be called from any
// goroutine and unblocks them.
type Client struct {
	nc     net.Conn
	opts   ClientOptions
	app    string
	stream string
	tcURL  string
	sid    uint32
	tid    float64

	wmu     sync.Mutex
	cw      *ChunkWriter
	scratch []byte
	pieces  [2][]byte
	hdr     [16]byte

	rmu       sync.Mutex
	cr        *ChunkReader
	ackWindow uint32
	lastAck   uint64
	pending   []Message
	queue     []media.Frame
	ts        tsUnwrap
	inband    codec.InBand // a source that relays video with in-band parameter sets

	publishing atomic.Bool
	closed     atomic.Bool
	written    atomic.Uint64 // media bytes written, chunk headers included

	server ServerInfo // from the connect _result
}

// ServerInfo is what an SRS-compatible server says about itself in its
// connect _result's data object (SRS and srs-lite send srs_id, srs_pid,
// srs_server_ip, srs_server): the ids that link a client's log lines to
// the server's. Fields the server did not send are empty.
type ServerInfo struct {
	ID      string // srs_id: the server's id of this connection (its cid)
	PID     string // srs_pid
	IP      string // srs_server_ip
	Version string // srs_server, e.g. "SRS/6.0.0"
}

// Server returns what the server said about itself in the connect result.
func (c *Client) Server() ServerInfo { return c.server }

// BytesWritten returns the media bytes written so far (FLV bodies with
// their chunk headers; commands not counted).
func (c *Client) BytesWritten() uint64 { return c.written.Load() }

// serverInfo reads the ServerInfo from a connect _result: the "data" object
// of its information object.
func serverInfo(res Command) ServerInfo {
	var si ServerInfo
	for _, v := range res.Args {
		data, ok := amf0.Object(amf0.Properties(v)).Get("data")
		if !ok {
			continue
		}
		o := amf0.Object(amf0.Properties(data))
		str := func(k string) string {
			x, _ := o.Get(k)
			switch x := x.(type) {
			case string:
				return x
			case float64:
				return strconv.FormatFloat(x, 'f', -1, 64)
			}
			return ""
		}
		si = ServerInfo{ID: str("srs_id"), PID: str("srs_pid"), IP: str("srs_server_ip"), Version: str("srs_server")}
	}
	return si
}

// setDataFrame is the AMF0 string "@setDataFrame" that prefixes metadata a
// publisher sends.
var setDataFrame = amf0.AppendString(nil, "@setDataFrame")

// IsURL reports whether s is an rtmp:// or rtmps:// URL.
func IsURL(s string) bool {
	return len(s) > 8 && (strings.EqualFold(s[:7], "rtmp://") || strings.EqualFold(s[:8], "rtmps://"))
}

// parseURL splits rtmp[s]://host[:port]/app[/...]/stream[?query] into the
// address, the tcUrl, the app and the stream with its query. The default
// port is 1935 for rtmp and 443 for rtmps, as FFmpeg's.
func parseURL(raw string) (addr, tcURL, app, stream string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", "", "", fmt.Errorf("%w: %w", ErrURL, err)
	}
	if (u.Scheme != "rtmp" && u.Scheme != "rtmps") || u.Host == "" {
		return "", "", "", "", fmt.Errorf("%w: %q", ErrURL, raw)
	}
	addr = u.Host
	if u.Port() == "" {
		port := "1935"
		if u.Scheme == "rtmps" {
			port = "443"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	p := strings.Trim(u.Path, "/")
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		app, stream = p[:i], p[i+1:]
	} else {
		app = p
	}
	if app == "" {
		return "", "", "", "", fmt.Errorf("%w: no app in %q", ErrURL, raw)
	}
	tcURL = u.Scheme + "://" + u.Host + "/" + app
	if u.RawQuery != "" {
		if stream == "" {
			// rtmp://host/app?token=...: a connect-only URL whose
			// query is the connect's (hooks read it from the tcUrl).
			tcURL += "?" + u.RawQuery
		} else {
			stream += "?" + u.RawQuery
		}
	}
	return addr, tcURL, app, stream, nil
}

// bound applies ctx, or the client's timeout, to the connection until the
// returned func is called.
func (c *Client) bound(ctx context.Context) func() {
	d, ok := ctx.Deadline()
	if !ok {
		d = time.Now().Add(c.opts.Timeout)
	}
	c.nc.SetDeadline(d)
	stop := context.AfterFunc(ctx, func() { c.nc.SetDeadline(time.Unix(1, 0)) })
	return func() {
		stop()
		c.nc.SetDeadline(time.Time{})
	}
}

// Dial connects to an RTMP URL (rtmp://host[:port]/app[/...]/stream[?query]):
// the handshake (RTMP 5.2), connect with the tcUrl (RTMP 7.2.1.1) and
// createStream (RTMP 7.2.1.3). An rtmps:// URL runs the same over TLS,
// verifying the server's certificate unless opts.TLS says otherwise.
func Dial(ctx context.Context, rawURL string, opts ClientOptions) (*Client, error) {
	addr, tcURL, app, stream, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = DefaultOutChunkSize
	}
	opts.ChunkSize = min(opts.ChunkSize, MaxChunkSize)
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.FlashVer == "" {
		opts.FlashVer = "LNX 9,0,124,2"
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("rtmp: dial %s: %w", addr, err)
	}
	if tc, ok := nc.(*net.TCPConn); ok && opts.SendBuffer > 0 {
		_ = tc.SetWriteBuffer(opts.SendBuffer)
	}
	if strings.HasPrefix(tcURL, "rtmps:") {
		if nc, err = tlsClient(ctx, nc, addr, opts); err != nil {
			return nil, fmt.Errorf("rtmp: dial %s: %w", addr, err)
		}
	}
	c := &Client{nc: nc, opts: opts, app: app, stream: stream, tcURL: tcURL,
		cw: NewChunkWriter(nc), cr: NewChunkReader(nc, ReaderOptions{})}
	if err := c.setup(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("rtmp: dial %s: %w", rawURL, err)
	}
	return c, nil
}

func (c *Client) setup(ctx context.Context) error {
	defer c.bound(ctx)()
	if err := ClientHandshake(c.nc, c.opts.ComplexHandshake); err != nil {
		return err
	}
	obj := amf0.Object{
		{Key: "app", Value: c.app},
		{Key: "flashVer", Value: c.opts.FlashVer},
		{Key: "tcUrl", Value: c.tcURL},
		{Key: "fpad", Value: false},
		{Key: "capabilities", Value: float64(15)},
		{Key: "audioCodecs", Value: float64(4071)},
		{Key: "videoCodecs", Value: float64(252)},
		{Key: "videoFunction", Value: float64(1)},
		{Key: "objectEncoding", Value: float64(0)},
	}
	var args []any
	if c.opts.ConnectArgs != nil {
		args = append(args, c.opts.ConnectArgs)
	}
	res, err := c.call(ctx, csidOverConnection, 0, "connect", obj, args...)
	if err != nil {
		return err
	}
	c.server = serverInfo(res)
	c.wmu.Lock()
	err = c.cw.SetChunkSize(c.opts.ChunkSize)
	c.wmu.Unlock()
	if err != nil {
		return err
	}
	res, err = c.call(ctx, csidOverConnection, 0, "createStream", nil)
	if err != nil {
		return err
	}
	if n, ok := firstValue(res.Args).(float64); ok && n >= 0 && n < 1<<31 {
		c.sid = uint32(n)
	} else {
		return fmt.Errorf("%w: createStream result %v", ErrProtocol, res.Args)
	}
	return nil
}

// writeCommand sends an AMF0 command on csid and message stream sid.
func (c *Client) writeCommand(csid, sid uint32, name string, tid float64, obj any, args ...any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.cw.WriteCommand(csid, sid, name, tid, obj, args...)
}

// call sends a command with a new transaction ID and waits for its
// _result; _error is returned as ErrRejected.
func (c *Client) call(ctx context.Context, csid, sid uint32, name string, obj any, args ...any) (Command, error) {
	c.tid++
	tid := c.tid
	if err := c.writeCommand(csid, sid, name, tid, obj, args...); err != nil {
		return Command{}, err
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for {
		m, err := c.readControl()
		if err != nil {
			return Command{}, err
		}
		if m.Type != TypeCommandAMF0 && m.Type != TypeCommandAMF3 {
			m.Release()
			continue
		}
		cmd, err := ParseCommand(m.Payload, m.Type == TypeCommandAMF3)
		m.Release()
		if err != nil {
			return Command{}, err
		}
		if u := redirectOf(cmd, c.stream); u != "" {
			return cmd, &RedirectError{URL: u}
		}
		if cmd.TransactionID != tid {
			continue
		}
		switch cmd.Name {
		case "_result":
			return cmd, nil
		case "_error":
			return cmd, fmt.Errorf("%w: %s: %s", ErrRejected, name, statusCode(cmd))
		}
	}
}

// info returns the info object of an onStatus or _error (its first
// object argument).
func info(cmd Command) amf0.Object {
	for _, v := range cmd.Args {
		if ps := amf0.Properties(v); ps != nil {
			return ps
		}
	}
	return nil
}

// redirectOf returns where an RTMP 302 sends the client, or "": an error
// whose info has ex.code 302 and ex.redirect2 (the full URL) or ex.redirect
// (a tcUrl, to which the stream is added), as SRS's
// SrsRtmpServer::redirect sends and FFmpeg's rtmpproto follows.
func redirectOf(cmd Command, stream string) string {
	if cmd.Name != "_error" && cmd.Name != "onStatus" {
		return ""
	}
	in := info(cmd)
	if l, _ := in.String("level"); l != "error" && cmd.Name == "onStatus" {
		return ""
	}
	full, u := redirectTargets(in)
	if IsURL(full) {
		return full
	}
	if !IsURL(u) {
		return ""
	}
	if stream != "" {
		u = strings.TrimRight(u, "/") + "/" + stream
	}
	return u
}

// LocalAddr returns the client's end of the connection.
func (c *Client) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// DialPlay dials rawURL and plays its stream, following RTMP 302
// redirects (at connect or at play) up to maxRedirects times.
func DialPlay(ctx context.Context, rawURL string, opts ClientOptions) (*Client, error) {
	for i := 0; ; i++ {
		c, err := Dial(ctx, rawURL, opts)
		if err == nil {
			err = c.Play(ctx)
			if err != nil {
				c.Close()
			}
		}
		if err == nil {
			return c, nil
		}
		var re *RedirectError
		if !errors.As(err, &re) || i == maxRedirects {
			return nil, err
		}
		rawURL = re.URL
	}
}

// statusCode returns the code of an onStatus or _error info object.
func statusCode(cmd Command) string {
	for _, v := range cmd.Args {
		if code, ok := amf0.Object(amf0.Properties(v)).String("code"); ok {
			return code
		}
	}
	return ""
}

func statusLevel(cmd Command) string {
	for _, v := range cmd.Args {
		if l, ok := amf0.Object(amf0.Properties(v)).String("level"); ok {
			return l
		}
	}
	return ""
}

// readControl reads the next message, acting on protocol and user control
// messages itself (RTMP 5.4, 7.1.7) and returning every other one.
func (c *Client) readControl() (Message, error) {
	for {
		m, err := c.cr.ReadMessage()
		if err != nil {
			return Message{}, err
		}
		if c.ackWindow > 0 { // RTMP 5.4.3
			if n := c.cr.BytesRead(); n-c.lastAck >= uint64(c.ackWindow) {
				c.lastAck = n
				c.wmu.Lock()
				err = c.cw.WriteAck(n)
				c.wmu.Unlock()
				if err != nil {
					m.Release()
					return Message{}, err
				}
			}
		}
		switch m.Type {
		case TypeWindowAckSize:
			if n, err := ParseWindowAckSize(m.Payload); err == nil {
				c.ackWindow = n
			}
		case TypeUserControl:
			if uc, err := ParseUserControl(m.Payload); err == nil && uc.Event == EventPingRequest {
				c.wmu.Lock()
				err = c.cw.WriteUserControl(EventPingResponse, uc.Data)
				c.wmu.Unlock()
				if err != nil {
					m.Release()
					return Message{}, err
				}
			}
		case TypeAck, TypeSetPeerBandwidth:
		default:
			return m, nil
		}
		m.Release()
	}
}

// waitStatus waits for an onStatus whose code is want; media messages that
// come first are kept for ReadFrame. An error level is ErrRejected.
func (c *Client) waitStatus(want string) error {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for {
		m, err := c.readControl()
		if err != nil {
			return err
		}
		switch m.Type {
		case TypeAudio, TypeVideo, TypeDataAMF0, TypeAggregate:
			if len(c.pending) < 64 {
				c.pending = append(c.pending, m)
				continue
			}
			m.Release()
			continue
		case TypeCommandAMF0, TypeCommandAMF3:
		default:
			m.Release()
			continue
		}
		cmd, err := ParseCommand(m.Payload, m.Type == TypeCommandAMF3)
		m.Release()
		if err != nil {
			return err
		}
		if cmd.Name != "onStatus" && cmd.Name != "_error" {
			continue
		}
		code := statusCode(cmd)
		if u := redirectOf(cmd, c.stream); u != "" {
			return &RedirectError{URL: u}
		}
		if cmd.Name == "_error" || statusLevel(cmd) == "error" {
			return fmt.Errorf("%w: %s", ErrRejected, code)
		}
		if code == want {
			return nil
		}
	}
}

// Publish publishes the URL's stream (RTMP 7.2.2.6) after releaseStream and
// FCPublish, as OBS and ffmpeg do, and waits for NetStream.Publish.Start.
func (c *Client) Publish(ctx context.Context) error {
	if c.stream == "" {
		return fmt.Errorf("%w: no stream name", ErrURL)
	}
	defer c.bound(ctx)()
	c.tid++
	if err := c.writeCommand(csidOverConnection, 0, "releaseStream", c.tid, nil, c.stream); err != nil {
		return err
	}
	c.tid++
	if err := c.writeCommand(csidOverConnection, 0, "FCPublish", c.tid, nil, c.stream); err != nil {
		return err
	}
	c.tid++
	if err := c.writeCommand(csidOverStream, c.sid, "publish", c.tid, nil, c.stream, "live"); err != nil {
		return err
	}
	if err := c.waitStatus("NetStream.Publish.Start"); err != nil {
		return fmt.Errorf("rtmp: publish %s: %w", c.stream, err)
	}
	c.publishing.Store(true)
	return nil
}

// WriteFrame sends f as an audio, video or data message: CodecData frames
// go as @setDataFrame metadata. The caller keeps its reference on f.
func (c *Client) WriteFrame(f *media.Frame) error {
	typ := flv.TagType(f)
	var csid uint32
	c.wmu.Lock()
	defer c.wmu.Unlock()
	switch typ {
	case flv.TagVideo:
		csid = csidVideo
		c.pieces[0] = flv.AppendBodyHeader(c.hdr[:0], f)
	case flv.TagAudio:
		csid = csidAudio
		c.pieces[0] = flv.AppendBodyHeader(c.hdr[:0], f)
	case flv.TagScript:
		csid = csidOverStream
		c.pieces[0] = setDataFrame
	default:
		return fmt.Errorf("rtmp: write frame: %w: codec %v", flv.ErrUnsupported, f.Codec)
	}
	c.pieces[1] = f.Payload
	h := MessageHeader{Timestamp: flv.Timestamp(f), Type: typ, StreamID: c.sid}
	c.scratch = AppendChunks(c.scratch[:0], csid, h, c.pieces[:], c.cw.ChunkSize())
	c.pieces[0], c.pieces[1] = nil, nil
	n, err := c.nc.Write(c.scratch)
	c.written.Add(uint64(n))
	if err != nil {
		return fmt.Errorf("rtmp: write frame: %w", err)
	}
	return nil
}

// Play plays the URL's stream (RTMP 7.2.2.1) and waits for
// NetStream.Play.Start; ReadFrame then returns the frames.
func (c *Client) Play(ctx context.Context) error {
	if c.stream == "" {
		return fmt.Errorf("%w: no stream name", ErrURL)
	}
	defer c.bound(ctx)()
	c.wmu.Lock()
	err := c.cw.WriteUserControl(EventSetBufferLength, c.sid, 3000)
	c.wmu.Unlock()
	if err != nil {
		return err
	}
	c.tid++
	if err := c.writeCommand(csidOverStream, c.sid, "play", c.tid, nil, c.stream, float64(-2)); err != nil {
		return err
	}
	if err := c.waitStatus("NetStream.Play.Start"); err != nil {
		return fmt.Errorf("rtmp: play %s: %w", c.stream, err)
	}
	return nil
}

// Pause sends pause (RTMP 7.2.2.8): true stops the media, false resumes it.
func (c *Client) Pause(pause bool) error {
	return c.writeCommand(csidOverStream, c.sid, "pause", 0, nil, pause, float64(0))
}

// nextMedia returns the next audio, video, data or aggregate message. The
// end of the stream (NetStream.Play.UnpublishNotify or Play.Stop) is
// io.EOF.
func (c *Client) nextMedia() (Message, error) {
	if len(c.pending) > 0 {
		m := c.pending[0]
		c.pending = append(c.pending[:0], c.pending[1:]...)
		return m, nil
	}
	for {
		m, err := c.readControl()
		if err != nil {
			return Message{}, err
		}
		switch m.Type {
		case TypeDataAMF0:
			// The session's own data messages are no stream data.
			if name, _ := amfString(m.Payload); name == "|RtmpSampleAccess" || name == "onStatus" {
				m.Release()
				continue
			}
			return m, nil
		case TypeAudio, TypeVideo, TypeAggregate:
			return m, nil
		case TypeCommandAMF0, TypeCommandAMF3:
			cmd, err := ParseCommand(m.Payload, m.Type == TypeCommandAMF3)
			m.Release()
			if err != nil || cmd.Name != "onStatus" {
				continue
			}
			switch code := statusCode(cmd); code {
			case "NetStream.Play.UnpublishNotify", "NetStream.Play.Stop", "NetStream.Play.Complete":
				return Message{}, io.EOF
			default:
				if statusLevel(cmd) == "error" {
					return Message{}, fmt.Errorf("%w: %s", ErrRejected, code)
				}
			}
		default:
			m.Release()
		}
	}
}

// ReadFrame reads the next frame into f; f's pooled buffer belongs to the
// caller, who releases it. Metadata comes as CodecData frames ("onMetaData"
// and its object). It returns io.EOF when the publisher has left.
func (c *Client) ReadFrame(f *media.Frame) error {
	c.rmu.Lock()
	defer func() {
		c.rmu.Unlock()
		if c.closed.Load() && c.rmu.TryLock() {
			c.release()
			c.rmu.Unlock()
		}
	}()
	for {
		if len(c.queue) > 0 {
			*f = c.queue[0]
			n := copy(c.queue, c.queue[1:])
			c.queue[n] = media.Frame{}
			c.queue = c.queue[:n]
			return nil
		}
		m, err := c.nextMedia()
		if err != nil {
			return err
		}
		if m.Type == TypeAggregate {
			err = SplitAggregate(m, func(sub Message) error {
				b := media.GetBuf(len(sub.Payload))
				copy(b.Bytes(), sub.Payload)
				sub.Buf, sub.Offset, sub.Payload = b, 0, b.Bytes()[:len(sub.Payload)]
				var g media.Frame
				if c.frame(&sub, &g) {
					c.queue = append(c.queue, g)
				}
				return nil
			})
			m.Release()
			if err != nil {
				return fmt.Errorf("rtmp: read frame: %w", err)
			}
			continue
		}
		if c.frame(&m, f) {
			return nil
		}
	}
}

// frame turns a media message into f, handing over the message's buffer; it
// reports false (and releases the message) for messages without a frame.
func (c *Client) frame(m *Message, f *media.Frame) bool {
	if m.Buf == nil {
		return false
	}
	off := 0
	if m.Type == TypeDataAMF0 {
		name, n := amfString(m.Payload)
		if name == "@setDataFrame" {
			off = n
			name, _ = amfString(m.Payload[n:])
		}
		if name != "onMetaData" {
			m.Release()
			return false
		}
	}
	var g media.Frame
	if err := flv.FrameFromTag(m.Type, m.Timestamp, m.Payload[off:], &g); err != nil {
		m.Release()
		return false
	}
	d := time.Duration(c.ts.unwrap(m.Timestamp)-int64(m.Timestamp)) * time.Millisecond
	if g.Codec == media.CodecData {
		d = 0
	}
	g.DTS += d
	g.PTS += d
	g.SetBuf(m.Buf, m.Offset+len(m.Payload)-len(g.Payload), len(g.Payload))
	m.Buf, m.Payload = nil, nil
	if cfg := c.inband.Fix(&g); cfg.Payload != nil { // the config goes first: both wait in the queue
		c.queue = append(c.queue, cfg, g)
		return false
	}
	*f = g
	return true
}

// release drops the buffers the client holds; rmu is held.
func (c *Client) release() {
	c.cr.Close()
	for i := range c.pending {
		c.pending[i].Release()
	}
	c.pending = nil
	for i := range c.queue {
		c.queue[i].Release()
	}
	c.queue = nil
}

// Close ends the session (FCUnpublish and deleteStream for a publisher) and
// closes the connection. It is idempotent.
func (c *Client) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	if c.publishing.Load() {
		c.nc.SetWriteDeadline(time.Now().Add(time.Second))
		c.writeCommand(csidOverConnection, 0, "FCUnpublish", 0, nil, c.stream)
		c.writeCommand(csidOverStream, c.sid, "deleteStream", 0, nil, float64(c.sid))
	}
	err := c.nc.Close()
	if c.rmu.TryLock() {
		c.release()
		c.rmu.Unlock()
	}
	return err
}

// PlayTags plays an RTMP URL until ctx is done or the stream ends, calling
// onTag with the FLV tag type, timestamp and body of every audio, video and
// data message; body is valid only during the call. It returns io.EOF when
// the publisher leaves, and ctx's error once ctx is done. It allocates
// nothing per message.
func PlayTags(ctx context.Context, url string, onTag func(typ uint8, ts uint32, body []byte)) error {
	return PlayTagsWith(ctx, url, ClientOptions{}, onTag)
}

// PlayTagsWith is PlayTags with client options (an rtmps:// load test that
// accepts a self-signed certificate, say).
func PlayTagsWith(ctx context.Context, url string, opts ClientOptions, onTag func(typ uint8, ts uint32, body []byte)) error {
	c, err := Dial(ctx, url, opts)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Play(ctx); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { c.nc.Close() })
	defer stop()
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for {
		m, err := c.nextMedia()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		if m.Type == TypeAggregate {
			SplitAggregate(m, func(sub Message) error {
				onTag(sub.Type, sub.Timestamp, sub.Payload)
				return nil
			})
		} else {
			onTag(m.Type, m.Timestamp, m.Payload)
		}
		m.Release()
	}
}
