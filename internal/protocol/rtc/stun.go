//go:build !nortc && !tiny

package rtc

import (
	"bytes"
	"net"
	"net/netip"

	"github.com/pion/stun/v3"
)

// stunRequest is a parsed STUN binding request: the local and remote
// username fragments (USERNAME "local:remote", RFC 8445 §7.2.2).
type stunRequest struct {
	msg           *stun.Message
	local, remote string
	useCandidate  bool
}

// parseSTUN decodes a binding request. It reports false for anything else:
// responses, indications, junk and truncated messages.
func parseSTUN(b []byte) (stunRequest, bool) {
	if !stun.IsMessage(b) {
		return stunRequest{}, false
	}
	m := &stun.Message{Raw: append([]byte(nil), b...)}
	if err := m.Decode(); err != nil || m.Type != stun.BindingRequest {
		return stunRequest{}, false
	}
	var u stun.Username
	if err := u.GetFrom(m); err != nil {
		return stunRequest{}, false
	}
	local, remote, ok := bytes.Cut(u, []byte{':'})
	if !ok || len(local) == 0 {
		return stunRequest{}, false
	}
	return stunRequest{msg: m, local: string(local), remote: string(remote), useCandidate: m.Contains(stun.AttrUseCandidate)}, true
}

// handleSTUN answers a binding request of a known session whose
// MESSAGE-INTEGRITY checks with the session's ice-pwd (RFC 8489 §9.1),
// and latches the session onto the request's source address. Everything
// else is dropped: an ICE-lite server never sends requests of its own.
func (s *Server) handleSTUN(b []byte, from netip.AddrPort, tc *tcpConn) {
	req, ok := parseSTUN(b)
	if !ok {
		s.stats.STUNBad.Add(1)
		return
	}
	s.mu.Lock()
	p := s.byUfrag[req.local]
	s.mu.Unlock()
	if p == nil || (p.remoteUfrag != "" && req.remote != p.remoteUfrag) {
		s.stats.STUNBad.Add(1)
		return
	}
	if err := stun.NewShortTermIntegrity(p.pwd).Check(req.msg); err != nil {
		s.stats.STUNBad.Add(1)
		return
	}
	if req.msg.Contains(stun.AttrFingerprint) {
		if err := stun.Fingerprint.Check(req.msg); err != nil {
			s.stats.STUNBad.Add(1)
			return
		}
	}
	resp, err := stun.Build(stun.NewTransactionIDSetter(req.msg.TransactionID), stun.BindingSuccess,
		&stun.XORMappedAddress{IP: net.IP(from.Addr().AsSlice()), Port: int(from.Port())},
		stun.NewShortTermIntegrity(p.pwd), stun.Fingerprint)
	if err != nil {
		return
	}
	if tc != nil {
		_ = tc.write(resp.Raw)
	} else {
		_ = s.writeTo(resp.Raw, from)
	}
	s.mu.Lock()
	s.byAddr[from] = p
	s.mu.Unlock()
	p.bound(from, tc)
}
