package srt

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"
)

// hsResend is how often a caller repeats an unanswered handshake, as libsrt.
const hsResend = 250 * time.Millisecond

// ErrHandshake reports a handshake that did not complete.
var ErrHandshake = errors.New("srt: handshake failed")

// Dial connects to an SRT listener at addr (host:port) as a caller, HSv5
// (§4.3.1), and returns the connection once the handshake is done. A
// refusal is returned as a RejectReason (errors.As).
func Dial(ctx context.Context, addr string, cfg Config) (*Conn, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("srt: dial %s: %w", addr, err)
	}
	raddr := netip.AddrPortFrom(ua.AddrPort().Addr().Unmap(), ua.AddrPort().Port())
	network := "udp4"
	if raddr.Addr().Is6() {
		network = "udp6"
	}
	pc, err := net.ListenUDP(network, nil)
	if err != nil {
		return nil, fmt.Errorf("srt: dial %s: %w", addr, err)
	}
	c, err := handshakeCaller(ctx, pc, raddr, cfg)
	if err != nil {
		_ = pc.Close()
		return nil, fmt.Errorf("srt: dial %s: %w", addr, err)
	}
	return c, nil
}

func handshakeCaller(ctx context.Context, pc *net.UDPConn, raddr netip.AddrPort, cfg Config) (*Conn, error) {
	var rb [4]byte
	_, _ = rand.Read(rb[:])
	id := binary.BigEndian.Uint32(rb[:])&0x3FFFFFFF | 1
	_, _ = rand.Read(rb[:])
	isn := binary.BigEndian.Uint32(rb[:]) & seqMask
	var cr *crypter
	if cfg.Passphrase != "" {
		var err error
		if cr, err = newCrypter(cfg.Passphrase, cfg.PBKeyLen); err != nil {
			return nil, err
		}
	}
	deadline := time.Now().Add(cfg.ConnectTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	start := time.Now()
	buf := make([]byte, maxDatagram)

	// exchange sends req until a handshake answer for us arrives.
	exchange := func(req *handshake, accept func(*handshake) bool) (*handshake, ctrlHeader, time.Time, error) {
		out := appendCtrl(nil, ctrlHeader{typ: ctrlHandshake})
		out = req.append(out)
		for {
			binary.BigEndian.PutUint32(out[8:12], stamp(time.Since(start)))
			if _, err := pc.WriteToUDPAddrPort(out, raddr); err != nil {
				return nil, ctrlHeader{}, time.Time{}, err
			}
			next := time.Now().Add(hsResend)
			for {
				if err := ctx.Err(); err != nil {
					return nil, ctrlHeader{}, time.Time{}, err
				}
				if time.Now().After(deadline) {
					return nil, ctrlHeader{}, time.Time{}, fmt.Errorf("%w: no answer from the listener (timeout)", ErrHandshake)
				}
				_ = pc.SetReadDeadline(minTime(next, deadline))
				n, from, err := pc.ReadFromUDPAddrPort(buf)
				if err != nil {
					if errors.Is(err, os.ErrDeadlineExceeded) {
						if time.Now().After(next) {
							break // resend
						}
						continue
					}
					return nil, ctrlHeader{}, time.Time{}, err
				}
				at := time.Now()
				if netip.AddrPortFrom(from.Addr().Unmap(), from.Port()) != raddr {
					continue
				}
				h, cif, err := parseCtrl(buf[:n])
				if err != nil || h.typ != ctrlHandshake || h.dst != id {
					continue
				}
				hs, err := parseHandshake(cif)
				if err != nil {
					continue
				}
				if hs.typ >= hsRejectBase && hs.typ < hsDone {
					return nil, h, at, RejectReason(hs.typ - hsRejectBase)
				}
				if accept(hs) {
					hs.km = append([]byte(nil), hs.km...)
					return hs, h, at, nil
				}
			}
		}
	}

	// §4.3.1.1 induction.
	ind := &handshake{version: 4, extField: udtDgram, isn: isn, mtu: uint32(cfg.MSS), flowWindow: flowWindow,
		typ: hsInduction, socketID: id, peerIP: wireIP(raddr.Addr())}
	ir, _, _, err := exchange(ind, func(hs *handshake) bool { return hs.typ == hsInduction })
	if err != nil {
		return nil, err
	}
	if ir.version != 5 || ir.extField != srtMagic {
		return nil, fmt.Errorf("%w: the listener speaks HSv%d only", ErrHandshake, ir.version)
	}

	// §4.3.1.2 conclusion, with HSREQ, KMREQ and the stream id.
	con := &handshake{version: 5, extField: hsExtHSREQ, isn: isn, mtu: uint32(cfg.MSS), flowWindow: flowWindow,
		typ: hsConclusion, socketID: id, cookie: ir.cookie, peerIP: wireIP(raddr.Addr()),
		hsType: extTypeHSREQ, hs: &hsExt{version: srtVersion, flags: ourFlags,
			rcvDelay: uint16(cfg.Latency / time.Millisecond), sndDelay: uint16(cfg.PeerLatency / time.Millisecond)},
		streamID: cfg.StreamID}
	if cr != nil {
		con.encryption = uint16(cfg.PBKeyLen / 8)
		con.extField |= hsExtKMREQ
		con.kmType, con.km = extTypeKMREQ, cr.km
	}
	if cfg.StreamID != "" {
		con.extField |= hsExtCONFIG
	}
	cr2, h, at, err := exchange(con, func(hs *handshake) bool { return hs.typ == hsConclusion })
	if err != nil {
		return nil, err
	}
	if cr2.hs == nil || cr2.hsType != extTypeHSRSP {
		return nil, fmt.Errorf("%w: no HSRSP in the listener's conclusion", ErrHandshake)
	}
	if cr != nil {
		switch {
		case len(cr2.km) == 4:
			return nil, fmt.Errorf("%w: the listener refused our key material (state %d)", RejBadSecret,
				binary.BigEndian.Uint32(cr2.km))
		case cr2.km == nil:
			return nil, RejUnsecure
		}
	}
	mtu := min(int(cr2.mtu), cfg.MSS)
	if mtu < 76 {
		mtu = cfg.MSS
	}
	_ = pc.SetReadDeadline(time.Time{})
	m := newMux(pc)
	m.single = true
	c := newConn(m, connParams{raddr: raddr, id: id, peerID: cr2.socketID, isn: isn, start: start,
		peerTS: h.ts, hsArrival: at,
		rcvLat: max(cfg.Latency, time.Duration(cr2.hs.sndDelay)*time.Millisecond),
		sndLat: max(cfg.PeerLatency, time.Duration(cr2.hs.rcvDelay)*time.Millisecond),
		idle:   cfg.PeerIdleTimeout, maxBW: cfg.MaxBW, mtu: mtu, peerWin: int(cr2.flowWindow), cr: cr,
		streamID: cfg.StreamID})
	m.mu.Lock()
	m.addLocked(c)
	m.mu.Unlock()
	m.start(nil)
	return c, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
