//go:build !nortc && !tiny

package rtc

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	rtpfmt "github.com/srs-lite/srs-lite/internal/format/rtp"
)

// tcpConn is an ICE-TCP connection (RFC 6544 passive): each packet is
// framed by a 2-byte length (RFC 4571).
type tcpConn struct {
	c  net.Conn
	mu sync.Mutex
	wb []byte
}

// write sends one framed packet.
func (tc *tcpConn) write(b []byte) error {
	if len(b) > 0xffff {
		return errors.New("packet too large")
	}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	tc.wb = binary.BigEndian.AppendUint16(tc.wb[:0], uint16(len(b)))
	tc.wb = append(tc.wb, b...)
	_ = tc.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := tc.c.Write(tc.wb)
	return err
}

// acceptTCP serves ICE-TCP connections.
func (s *Server) acceptTCP() {
	defer s.wg.Done()
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			if s.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		s.wg.Add(1)
		go s.serveTCP(c)
	}
}

// serveTCP reads a connection's frames into the demultiplexer; the first
// must be a valid STUN binding request within 10 s.
func (s *Server) serveTCP(c net.Conn) {
	defer s.wg.Done()
	defer c.Close()
	tc := &tcpConn{c: c}
	from, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil {
		return
	}
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-s.ctx.Done():
			_ = c.Close()
		case <-stop:
		}
	}()
	buf := make([]byte, 0xffff)
	for {
		p := s.peerByAddr(from)
		d := 10 * time.Second
		if p != nil {
			d = s.cfg.Load().ConsentTimeout
		}
		_ = c.SetReadDeadline(time.Now().Add(d))
		pkt, err := rtpfmt.ReadFramed(c, buf)
		if err != nil {
			break
		}
		s.dispatch(pkt, from, tc)
	}
	if p := s.peerByAddr(from); p != nil && p.tc.Load() == tc {
		p.close(errors.New("ICE-TCP connection closed"))
	}
	s.mu.Lock()
	delete(s.byAddr, from)
	s.mu.Unlock()
}
