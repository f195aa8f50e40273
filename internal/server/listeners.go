package server

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"syscall"
)

// listenerSet holds the TCP listeners of one role ("rtmp", "http_api",
// "http_server") and rebinds them when their addresses change on reload:
// a new address is bound before the old one closes, and the connections
// accepted on the old one keep going (closing a listener ends only its
// accept loop).
type listenerSet struct {
	s     *Server
	role  string
	limit bool                  // counts against server.max_connections
	serve func(ln net.Listener) // serves ln until it closes; runs in its own goroutine

	mu  sync.Mutex
	lns map[string]net.Listener // by configured address
	ord []string                // configured addresses, in order
}

func newListenerSet(s *Server, role string, limit bool, serve func(net.Listener)) *listenerSet {
	return &listenerSet{s: s, role: role, limit: limit, serve: serve, lns: map[string]net.Listener{}}
}

// set binds addrs and closes the listeners of addresses no longer in it. On
// an error nothing changes.
func (l *listenerSet) set(addrs []string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if slices.Equal(addrs, l.ord) {
		return nil
	}
	fresh := map[string]net.Listener{}
	undo := func() {
		for _, ln := range fresh {
			_ = ln.Close()
		}
	}
	var gone []net.Listener
	for _, a := range addrs {
		if _, ok := l.lns[a]; ok || fresh[a] != nil {
			continue
		}
		ln, err := net.Listen("tcp", a)
		if err != nil && errors.Is(err, syscall.EADDRINUSE) {
			// The port is ours on another address of this role (a
			// wildcard becoming one interface, say): that one must close
			// first, a moment without a listener on the port.
			if old := l.samePort(a, addrs); old != nil {
				_ = old.Close()
				gone = append(gone, old)
				ln, err = net.Listen("tcp", a)
			}
		}
		if err != nil {
			undo()
			return fmt.Errorf("cannot listen for %s on %s: %w", l.role, a, unwrapAddrInUse(err))
		}
		fresh[a] = ln
	}
	next := make(map[string]net.Listener, len(addrs))
	for _, a := range addrs {
		if ln, ok := l.lns[a]; ok {
			next[a] = ln
		} else {
			next[a] = fresh[a]
		}
	}
	for a, ln := range l.lns {
		if _, keep := next[a]; !keep && !slices.Contains(gone, ln) {
			_ = ln.Close() // its connections go on
		}
	}
	l.lns, l.ord = next, slices.Clone(addrs)
	for _, ln := range fresh {
		var served net.Listener = ln
		if l.limit {
			served = l.s.limit.wrap(ln)
		}
		l.s.goServe(func() { l.serve(served) })
	}
	l.s.setAddr(l.role, l.firstAddr())
	return nil
}

// samePort returns a listener of this role on a's port whose address is
// not in keep, or nil.
func (l *listenerSet) samePort(a string, keep []string) net.Listener {
	_, port, err := net.SplitHostPort(a)
	if err != nil {
		return nil
	}
	for addr, ln := range l.lns {
		if _, p, err := net.SplitHostPort(addr); err == nil && p == port && !slices.Contains(keep, addr) {
			return ln
		}
	}
	return nil
}

// firstAddr is the bound address of the first listener; l.mu is held.
func (l *listenerSet) firstAddr() string {
	if len(l.ord) == 0 {
		return ""
	}
	return l.lns[l.ord[0]].Addr().String()
}

// close closes every listener.
func (l *listenerSet) close() {
	_ = l.set(nil)
}

// unwrapAddrInUse drops the *net.OpError around a listen error, so that the
// message reads "address already in use" after the role and address.
func unwrapAddrInUse(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}
