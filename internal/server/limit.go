package server

import (
	"log/slog"
	"net"
	"sync/atomic"
	"time"
)

// connLimit enforces server.max_connections: a listener refuses (accepts and
// closes at once) a connection while the server has that many clients, and
// the log says so at most once a second. It counts the clients of every
// protocol (the stats table), and it does not wrap the accepted conn: a
// wrapper would hide *net.TCPConn from net.Buffers and turn each writev into
// a write per buffer.
type connLimit struct {
	max     atomic.Int64
	count   func() int
	log     *slog.Logger
	lastLog atomic.Int64 // unix nanoseconds
}

// refused logs a refused connection, at most once a second.
func (l *connLimit) refused(remote string) {
	now := time.Now().UnixNano()
	if last := l.lastLog.Load(); now-last > int64(time.Second) && l.lastLog.CompareAndSwap(last, now) {
		l.log.Warn("connection refused: server.max_connections reached", "max", l.max.Load(), "remote", remote)
	}
}

// wrap returns ln with the limit applied at Accept.
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
		if max := l.max.Load(); max > 0 && int64(l.count()) >= max {
			l.refused(c.RemoteAddr().String())
			_ = c.Close()
			continue
		}
		return c, nil
	}
}
