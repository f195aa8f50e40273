package server

import (
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// connLimit counts the connections of every listener against
// server.max_connections. A connection over the limit is closed at once,
// and the log says so at most once a second.
type connLimit struct {
	max     atomic.Int64
	n       atomic.Int64
	log     *slog.Logger
	lastLog atomic.Int64 // unix nanoseconds
}

// limitListener wraps ln so that its connections count against l.
func (l *connLimit) wrap(ln net.Listener) net.Listener { return &limitListener{Listener: ln, l: l} }

type limitListener struct {
	net.Listener
	l *connLimit
}

// Accept returns the next connection within the limit.
func (ll *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := ll.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l := ll.l
		if max := l.max.Load(); max > 0 && l.n.Add(1) > max {
			l.n.Add(-1)
			now := time.Now().UnixNano()
			if last := l.lastLog.Load(); now-last > int64(time.Second) && l.lastLog.CompareAndSwap(last, now) {
				l.log.Warn("connection refused: server.max_connections reached", "max", max, "remote", c.RemoteAddr().String())
			}
			_ = c.Close()
			continue
		} else if max <= 0 {
			l.n.Add(1)
		}
		return &limitConn{Conn: c, l: l}, nil
	}
}

type limitConn struct {
	net.Conn
	l    *connLimit
	once sync.Once
}

// Close closes the connection and frees its place.
func (c *limitConn) Close() error {
	c.once.Do(func() { c.l.n.Add(-1) })
	return c.Conn.Close()
}
