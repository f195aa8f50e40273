// Package stats keeps the server's connections and counters for the HTTP API:
// who is connected, over which protocol, to which stream, and how many bytes
// went each way. Protocols register each connection; the API lists and kicks
// them. It imports the standard library only.
package stats

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Client is one connection, as the HTTP API shows it.
type Client struct {
	ID        string // the connection's trace id (cid)
	IP        string
	Proto     string // rtmp, flv, ...
	Publisher bool
	Vhost     string
	App       string
	Stream    string
	StreamID  string // media.Stream.ID, once known
	URL       string // tcUrl or request URL
	Start     time.Time

	BytesIn  atomic.Uint64
	BytesOut atomic.Uint64

	mu   sync.Mutex
	kick func()
}

// SetStream records the stream the client publishes or plays.
func (c *Client) SetStream(vhost, app, stream, streamID string, publisher bool) {
	c.mu.Lock()
	c.Vhost, c.App, c.Stream, c.StreamID, c.Publisher = vhost, app, stream, streamID, publisher
	c.mu.Unlock()
}

// Snapshot is a copy of a client's fields at one moment.
type Snapshot struct {
	ID, IP, Proto, Vhost, App, Stream, StreamID, URL string
	Publisher                                        bool
	Start                                            time.Time
	BytesIn, BytesOut                                uint64
}

// Snapshot returns a copy of the client's fields.
func (c *Client) Snapshot() Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Snapshot{ID: c.ID, IP: c.IP, Proto: c.Proto, Vhost: c.Vhost, App: c.App,
		Stream: c.Stream, StreamID: c.StreamID, URL: c.URL, Publisher: c.Publisher, Start: c.Start,
		BytesIn: c.BytesIn.Load(), BytesOut: c.BytesOut.Load()}
}

// Clients is the table of live connections.
type Clients struct {
	mu sync.Mutex
	m  map[string]*Client

	// Bytes of connections that have closed, so totals stay monotonic.
	closedIn, closedOut atomic.Uint64
	total               atomic.Uint64 // connections ever accepted
}

// NewClients returns an empty table.
func NewClients() *Clients { return &Clients{m: map[string]*Client{}} }

// Add registers c; kick, when not nil, disconnects it.
func (t *Clients) Add(c *Client, kick func()) {
	if c.Start.IsZero() {
		c.Start = time.Now()
	}
	c.kick = kick
	t.mu.Lock()
	t.m[c.ID] = c
	t.mu.Unlock()
	t.total.Add(1)
}

// Remove drops c and folds its bytes into the totals.
func (t *Clients) Remove(c *Client) {
	t.mu.Lock()
	if t.m[c.ID] == c {
		delete(t.m, c.ID)
		t.closedIn.Add(c.BytesIn.Load())
		t.closedOut.Add(c.BytesOut.Load())
	}
	t.mu.Unlock()
}

// Get returns the client with the id, or nil.
func (t *Clients) Get(id string) *Client {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[id]
}

// Kick disconnects the client with the id and reports whether it existed.
func (t *Clients) Kick(id string) bool {
	c := t.Get(id)
	if c == nil {
		return false
	}
	c.mu.Lock()
	k := c.kick
	c.mu.Unlock()
	if k != nil {
		k()
	}
	return true
}

// List returns snapshots of every client, oldest first.
func (t *Clients) List() []Snapshot {
	t.mu.Lock()
	cs := make([]*Client, 0, len(t.m))
	for _, c := range t.m {
		cs = append(cs, c)
	}
	t.mu.Unlock()
	out := make([]Snapshot, len(cs))
	for i, c := range cs {
		out[i] = c.Snapshot()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// Totals returns the live connection count, connections ever accepted, and
// bytes received and sent by all connections, live and closed.
func (t *Clients) Totals() (live int, total uint64, in, out uint64) {
	t.mu.Lock()
	live = len(t.m)
	in, out = t.closedIn.Load(), t.closedOut.Load()
	for _, c := range t.m {
		in += c.BytesIn.Load()
		out += c.BytesOut.Load()
	}
	t.mu.Unlock()
	return live, t.total.Load(), in, out
}

// Len returns the number of live connections.
func (t *Clients) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}
