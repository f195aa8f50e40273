//go:build !nortc && !tiny

package rtc

import (
	"net/netip"

	"github.com/srs-lite/srs-lite/internal/format/stun"
)

// handleSTUN answers a binding request of a known session whose
// MESSAGE-INTEGRITY checks with the session's ice-pwd (RFC 8489 §9.1),
// and latches the session onto the request's source address. Everything
// else is dropped: an ICE-lite server never sends requests of its own.
func (s *Server) handleSTUN(b []byte, from netip.AddrPort, tc *tcpConn) {
	req, ok := stun.ParseRequest(b)
	if !ok {
		s.stats.STUNBad.Add(1)
		return
	}
	s.mu.Lock()
	p := s.byUfrag[req.Local]
	s.mu.Unlock()
	if p == nil || (p.remoteUfrag != "" && req.Remote != p.remoteUfrag) || !req.CheckIntegrity(p.pwd) {
		s.stats.STUNBad.Add(1)
		return
	}
	var buf [128]byte
	resp := stun.AppendBindingSuccess(buf[:0], req.TxID, from, p.pwd)
	if tc != nil {
		_ = tc.write(resp)
	} else {
		_ = s.writeTo(resp, from)
	}
	s.mu.Lock()
	s.byAddr[from] = p
	s.mu.Unlock()
	p.bound(from, tc)
}
