// Package session keeps the server's sessions: one record per client of
// any protocol (id, ip, protocol, role, stream, url and param, start,
// bytes), which the HTTP API lists and kicks, the hooks describe, the
// connection limit counts and on-demand sources watch. It also names the
// server's side of a session's life (Events), which every protocol calls.
// It imports the standard library and media only.
package session

import (
	"context"
	"errors"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
)

// Role is what a session does with its stream.
type Role uint8

// Roles.
const (
	None      Role = iota // connected, neither publishing nor playing yet
	Player                // plays a stream
	Publisher             // publishes a stream
)

func (r Role) String() string {
	switch r {
	case Player:
		return "play"
	case Publisher:
		return "publish"
	}
	return "none"
}

// Session is one client. ID, IP and Proto are set when it is made and
// never change; the rest is set through the methods.
type Session struct {
	ID    string // the connection's trace id (cid)
	IP    string
	Proto string // rtmp, flv, ts, aac, mp3, hls, srt, ingest, ...
	Start time.Time

	BytesIn  atomic.Uint64
	BytesOut atomic.Uint64

	mu       sync.Mutex
	key      media.Key
	role     Role
	streamID string
	url      string // tcUrl or request URL, without the query
	param    string // the query with its leading '?', "" when none
	kick     func()
	state    atomic.Uint32 // stateConnected (Events.Connect said yes), stateClosed
}

// New returns a session of a client at ip speaking proto, with a new trace
// id, starting now.
func New(id, proto, ip string) *Session {
	return &Session{ID: id, IP: ip, Proto: proto, Start: time.Now()}
}

// SetURL records the client's URL (RTMP tcUrl, the HTTP request URL) and
// its query parameters ("?a=b" or "").
func (s *Session) SetURL(url, param string) {
	s.mu.Lock()
	s.url, s.param = url, param
	s.mu.Unlock()
}

// SetParam records the query parameters of the publish or play, which for
// RTMP come with the stream name rather than with the connect.
func (s *Session) SetParam(param string) {
	s.mu.Lock()
	s.param = param
	s.mu.Unlock()
}

// SetStream records the stream the client publishes or plays (or, with
// role None, the vhost and app it connected to).
func (s *Session) SetStream(key media.Key, role Role) {
	s.mu.Lock()
	s.key, s.role = key, role
	s.mu.Unlock()
}

// SetStreamID records the media.Stream.ID of the stream, once it exists.
func (s *Session) SetStreamID(id string) {
	s.mu.Lock()
	s.streamID = id
	s.mu.Unlock()
}

// SetKick sets what disconnects the client.
func (s *Session) SetKick(kick func()) {
	s.mu.Lock()
	s.kick = kick
	s.mu.Unlock()
}

// Key returns the stream key the session uses.
func (s *Session) Key() media.Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.key
}

// Role returns what the session does.
func (s *Session) Role() Role {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.role
}

// Kick disconnects the client, when it can be.
func (s *Session) Kick() {
	s.mu.Lock()
	k := s.kick
	s.mu.Unlock()
	if k != nil {
		k()
	}
}

// MarkConnected records that the server accepted the session (Events.Connect)
// and reports whether it was not already.
func (s *Session) MarkConnected() bool { return s.setState(stateConnected) }

// Connected reports whether the server accepted the session.
func (s *Session) Connected() bool { return s.state.Load()&stateConnected != 0 }

// MarkClosed records the end of the session and reports whether it had
// not ended already: Events.Close runs once.
func (s *Session) MarkClosed() bool { return s.setState(stateClosed) }

// States of a session, bits of Session.state.
const (
	stateConnected uint32 = 1 << iota
	stateClosed
)

// setState sets bit and reports whether it was not set.
func (s *Session) setState(bit uint32) bool {
	return s.state.Or(bit)&bit == 0
}

// Snapshot is a copy of a session's fields at one moment.
type Snapshot struct {
	ID, IP, Proto string
	media.Key
	Role              Role
	StreamID          string
	URL, Param        string
	Start             time.Time
	BytesIn, BytesOut uint64
}

// Publisher reports whether the session publishes.
func (s Snapshot) Publisher() bool { return s.Role == Publisher }

// Snapshot returns a copy of the session's fields.
func (s *Session) Snapshot() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Snapshot{ID: s.ID, IP: s.IP, Proto: s.Proto, Key: s.key, Role: s.role,
		StreamID: s.streamID, URL: s.url, Param: s.param, Start: s.Start,
		BytesIn: s.BytesIn.Load(), BytesOut: s.BytesOut.Load()}
}

// ErrLimit refuses a session when the server has max_connections sessions.
var ErrLimit = errors.New("session: server.max_connections reached")

// ErrForbidden refuses a publish or play that the vhost's security rules
// deny. Each protocol answers it with its own refusal: RTMP
// NetStream.Publish.Rejected or NetStream.Play.Failed, HTTP 403, SRT
// SRT_REJX_FORBIDDEN (1403).
var ErrForbidden = errors.New("session: forbidden by the security rules")

// Events is the server's side of a session's life, called by every
// protocol: hooks, security rules, limits and the session table all
// answer through it.
//   - Connect when the client has said who it is (RTMP connect, an HTTP
//     request, an SRT handshake): the session enters the table, and an
//     error refuses the client (on_connect, the connection limit).
//   - Publish or Play before the media starts, after SetStream: an error
//     refuses it (on_publish / on_play, security rules). The answer is the
//     hook server's, which may carry settings for the session (an SRT
//     passphrase).
//   - Unpublish or Stop when that ends (on_unpublish / on_stop).
//   - Close when the connection ends, whatever happened before: it leaves
//     the table (on_close with the bytes). Close may be called for a
//     session that never connected; it then does nothing.
type Events interface {
	Connect(ctx context.Context, s *Session) error
	Publish(ctx context.Context, s *Session) (Answer, error)
	Play(ctx context.Context, s *Session) (Answer, error)
	Unpublish(s *Session)
	Stop(s *Session)
	Close(s *Session)
}

// Answer is what an allowing hook server said beside its yes, by key ("data"
// fields first, then the top level), e.g. "srt_passphrase".
type Answer map[string]string

// Table is the table of live sessions.
type Table struct {
	mu sync.Mutex
	m  map[string]*Session

	// Bytes of sessions that have closed, so totals stay monotonic.
	closedIn, closedOut atomic.Uint64
	total               atomic.Uint64 // sessions ever added
	refused             atomic.Uint64 // clients refused (Refused)
}

// Refused counts a client that Events refused (the connection limit, a
// hook, the security rules): SRS's srs_clients_errs_total.
func (t *Table) Refused() { t.refused.Add(1) }

// Errors returns the clients refused so far.
func (t *Table) Errors() uint64 { return t.refused.Load() }

// NewTable returns an empty table.
func NewTable() *Table { return &Table{m: map[string]*Session{}} }

// Add registers s.
func (t *Table) Add(s *Session) {
	if s.Start.IsZero() {
		s.Start = time.Now()
	}
	t.mu.Lock()
	t.m[s.ID] = s
	t.mu.Unlock()
	t.total.Add(1)
}

// Remove drops s and folds its bytes into the totals.
func (t *Table) Remove(s *Session) {
	t.mu.Lock()
	if t.m[s.ID] == s {
		delete(t.m, s.ID)
		t.closedIn.Add(s.BytesIn.Load())
		t.closedOut.Add(s.BytesOut.Load())
	}
	t.mu.Unlock()
}

// Get returns the session with the id, or nil.
func (t *Table) Get(id string) *Session {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[id]
}

// Kick disconnects the session with the id and reports whether it existed.
func (t *Table) Kick(id string) bool {
	s := t.Get(id)
	if s == nil {
		return false
	}
	s.Kick()
	return true
}

// List returns snapshots of every session, oldest first.
func (t *Table) List() []Snapshot {
	t.mu.Lock()
	ss := make([]*Session, 0, len(t.m))
	for _, s := range t.m {
		ss = append(ss, s)
	}
	t.mu.Unlock()
	out := make([]Snapshot, len(ss))
	for i, s := range ss {
		out[i] = s.Snapshot()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// Totals returns the live session count, sessions ever added, and bytes
// received and sent by all sessions, live and closed.
func (t *Table) Totals() (live int, total uint64, in, out uint64) {
	t.mu.Lock()
	live = len(t.m)
	in, out = t.closedIn.Load(), t.closedOut.Load()
	for _, s := range t.m {
		in += s.BytesIn.Load()
		out += s.BytesOut.Load()
	}
	t.mu.Unlock()
	return live, t.total.Load(), in, out
}

// Len returns the number of live sessions.
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

// Funcs is Events made of functions, each nil one allowing or doing
// nothing; Table, when not nil, keeps the connected sessions. Tests and
// tools use it, and a protocol given no Events uses Funcs{}.
type Funcs struct {
	Table                        *Table
	OnConnect, OnPublish, OnPlay func(ctx context.Context, s *Session) error
	OnUnpublish, OnStop, OnClose func(s *Session)
}

// Connect adds s to the table unless OnConnect refuses.
func (f Funcs) Connect(ctx context.Context, s *Session) error {
	if f.OnConnect != nil {
		if err := f.OnConnect(ctx, s); err != nil {
			return err
		}
	}
	if s.MarkConnected() && f.Table != nil {
		f.Table.Add(s)
	}
	return nil
}

// Publish asks OnPublish.
func (f Funcs) Publish(ctx context.Context, s *Session) (Answer, error) {
	if f.OnPublish != nil {
		return nil, f.OnPublish(ctx, s)
	}
	return nil, nil
}

// Play asks OnPlay.
func (f Funcs) Play(ctx context.Context, s *Session) (Answer, error) {
	if f.OnPlay != nil {
		return nil, f.OnPlay(ctx, s)
	}
	return nil, nil
}

// Unpublish tells OnUnpublish.
func (f Funcs) Unpublish(s *Session) {
	if f.OnUnpublish != nil {
		f.OnUnpublish(s)
	}
}

// Stop tells OnStop.
func (f Funcs) Stop(s *Session) {
	if f.OnStop != nil {
		f.OnStop(s)
	}
}

// Close takes s out of the table and tells OnClose, once, if it connected.
func (f Funcs) Close(s *Session) {
	if !s.Connected() || !s.MarkClosed() {
		return
	}
	if f.Table != nil {
		f.Table.Remove(s)
	}
	if f.OnClose != nil {
		f.OnClose(s)
	}
}
