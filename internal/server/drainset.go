package server

import (
	"net"
	"sync"
)

// drainer is a protocol server that can stop taking new clients while its
// sessions go on (Drain), then end them (Close).
type drainer interface {
	comparable
	Addr() net.Addr
	Drain()
	Close() error
}

// drainSet is a one-listener component's server in force and those it
// replaced after a change of address, draining. Reads (metrics) may run
// while a reload swaps them.
type drainSet[T drainer] struct {
	mu  sync.Mutex
	cur T   // zero while the protocol is off
	old []T // draining
}

// get returns the server in force (zero when off).
func (l *drainSet[T]) get() T {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur
}

// set makes srv the server in force and publishes its address as proto's
// (empty when srv is zero), returning the one it replaced.
func (l *drainSet[T]) set(s *Server, proto string, srv T) (prev T) {
	var zero T
	l.mu.Lock()
	prev, l.cur = l.cur, srv
	l.mu.Unlock()
	addr := ""
	if srv != zero {
		addr = srv.Addr().String()
	}
	s.setAddr(proto, addr)
	return prev
}

// retire drains srv and keeps it until close.
func (l *drainSet[T]) retire(srv T) {
	srv.Drain()
	l.mu.Lock()
	l.old = append(l.old, srv)
	l.mu.Unlock()
}

// all returns the server in force and the draining ones.
func (l *drainSet[T]) all() []T {
	var zero T
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]T, 0, 1+len(l.old))
	if l.cur != zero {
		out = append(out, l.cur)
	}
	return append(out, l.old...)
}

// close ends every server, the draining ones first.
func (l *drainSet[T]) close() error {
	var zero T
	l.mu.Lock()
	cur, old := l.cur, l.old
	l.old = nil
	l.mu.Unlock()
	for _, o := range old {
		_ = o.Close()
	}
	if cur != zero {
		return cur.Close()
	}
	return nil
}
