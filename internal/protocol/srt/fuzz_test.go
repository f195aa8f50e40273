package srt

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"
)

// FuzzPacket feeds datagrams to every packet parser (§3): data and control
// headers, ACK, NAK loss lists, drop requests and KM messages. They must
// never panic, and what parses re-encodes to the same fields.
func FuzzPacket(f *testing.F) {
	f.Add([]byte("\x5e\x89\x7c\x13\xe0\x00\x00\x01\x00\x1c\xd6\xc7\x05\xfc\x0e\x9b\x47\x40\x11\x10"))
	f.Add(appendACK(appendCtrl(nil, ctrlHeader{typ: ctrlACK, info: 1}), &ackInfo{last: 5, rtt: 100}))
	f.Add(appendLoss(appendLoss(appendCtrl(nil, ctrlHeader{typ: ctrlNAK}), 1, 1), 5, 9))
	f.Fuzz(func(t *testing.T, b []byte) {
		if isControl(b) {
			h, cif, err := parseCtrl(b)
			if err != nil {
				return
			}
			if back, _, _ := parseCtrl(appendCtrl(nil, h)); back != h {
				t.Fatalf("control header %+v re-parsed as %+v", h, back)
			}
			_, _ = parseACK(cif)
			n := 0
			_ = parseLoss(cif, func(from, to uint32) {
				if seqDiff(to, from) < 0 {
					t.Fatalf("range %d..%d", from, to)
				}
				n++
			})
			_, _, _ = parseDropReq(cif)
			if km, err := parseKM(cif); err == nil && len(km.salt) != saltSize {
				t.Fatalf("salt of %d bytes", len(km.salt))
			}
			return
		}
		h, payload, err := parseData(b)
		if err != nil {
			return
		}
		out := make([]byte, headerSize, headerSize+len(payload))
		h.put(out)
		out = append(out, payload...)
		if h2, p2, _ := parseData(out); h2 != h || !bytes.Equal(p2, payload) {
			t.Fatalf("data header %+v re-parsed as %+v", h, h2)
		}
	})
}

// FuzzHandshake parses handshake CIFs and their extensions (§3.2.1) and
// checks that a parsed one re-encodes to something that parses the same.
func FuzzHandshake(f *testing.F) {
	f.Add((&handshake{version: 4, extField: udtDgram, typ: hsInduction, socketID: 1}).append(nil))
	f.Add((&handshake{version: 5, extField: 7, typ: hsConclusion, hsType: extTypeHSREQ,
		hs: &hsExt{version: srtVersion, flags: ourFlags, rcvDelay: 120}, kmType: extTypeKMREQ,
		km: make([]byte, 48), streamID: "#!::r=live/livestream,m=publish", congestion: "live"}).append(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		hs, err := parseHandshake(b)
		if err != nil {
			return
		}
		// Extensions we do not re-encode (filter, group) are dropped.
		hs.filter, hs.group = false, false
		if len(hs.km)%4 != 0 {
			return // padded on the way out
		}
		back, err := parseHandshake(hs.append(nil))
		if err != nil {
			t.Fatalf("re-encoded handshake does not parse: %v", err)
		}
		if back.version != hs.version || back.typ != hs.typ || back.streamID != hs.streamID ||
			!bytes.Equal(back.km, hs.km) || (back.hs == nil) != (hs.hs == nil) {
			t.Fatalf("round trip: %+v != %+v", back, hs)
		}
		if hs.km != nil {
			if c, err := crypterFromKM("passphrase", hs.km); err == nil && c == nil {
				t.Fatal("nil crypter")
			}
		}
	})
}

// FuzzStreamID parses stream ids (Appendix B, as SRS reads them).
func FuzzStreamID(f *testing.F) {
	for _, s := range []string{"#!::r=live/livestream,m=publish", "live/livestream", "livestream?token=1",
		"#!::h=host/app/stream,u=user,s=sess,m=request", "#!::r=a/b/c?x=y,t=stream"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseStreamID(s)
		if err != nil {
			return
		}
		if id.Stream == "" || id.App == "" {
			t.Fatalf("%q: empty name in %+v", s, id)
		}
	})
}

// FuzzConn drives one connection's state machine (§4.5-§4.8) with
// arbitrary datagrams from its peer, timer ticks and reads, as a hostile
// or broken peer could: nothing may panic or hang.
func FuzzConn(f *testing.F) {
	f.Add(fuzzDatagrams(
		dataPacket(100, 0, "a"), dataPacket(102, 10, "c"), dataPacket(101, 5, "b"),
		appendACK(appendCtrl(nil, ctrlHeader{typ: ctrlACK, info: 1}), &ackInfo{last: 101, rtt: 1000}),
		appendLoss(appendCtrl(nil, ctrlHeader{typ: ctrlNAK}), 100, 101),
		append(appendCtrl(nil, ctrlHeader{typ: ctrlDropReq}), 0, 0, 0, 103, 0, 0, 0, 110),
		appendCtrl(nil, ctrlHeader{typ: ctrlACKACK, info: 1}),
		appendCtrl(nil, ctrlHeader{typ: ctrlShutdown}),
	))
	pc, sink := fuzzSockets(f)
	m := newMux(pc)
	f.Fuzz(func(t *testing.T, in []byte) {
		now := time.Now()
		c := newConn(m, connParams{raddr: sink, id: 1, peerID: 2, isn: 100, start: now,
			hsArrival: now, rcvLat: 20 * time.Millisecond, sndLat: 20 * time.Millisecond,
			idle: time.Hour, mtu: 1500, peerWin: flowWindow})
		buf := make([]byte, 1500)
		at := now
		for i := 0; len(in) >= 2; i++ {
			n := int(in[0])<<8 | int(in[1])
			in = in[2:]
			n = min(n, len(in), maxDatagram)
			pb := getPbuf()
			copy(pb.b[:], in[:n])
			in = in[n:]
			at = at.Add(3 * time.Millisecond)
			if n >= headerSize && !c.handle(pb, n, at) {
				putPbuf(pb)
			}
			if i%3 == 0 {
				c.tick(at)
				_, _ = c.Write(buf[:100])
			}
			_ = c.SetReadDeadline(time.Now().Add(-time.Second))
			_, _ = c.Read(buf)
		}
		c.CloseWithError(nil)
	})
}

func dataPacket(seq, ts uint32, payload string) []byte {
	b := make([]byte, headerSize, headerSize+len(payload))
	h := dataHeader{seq: seq, pos: ppSolo, msgNo: 1, ts: ts, dst: 1}
	h.put(b)
	return append(b, payload...)
}

// fuzzDatagrams joins datagrams, each after its 16-bit length.
func fuzzDatagrams(ds ...[]byte) []byte {
	var out []byte
	for _, d := range ds {
		out = append(out, byte(len(d)>>8), byte(len(d)))
		out = append(out, d...)
	}
	return out
}

func fuzzSockets(tb testing.TB) (*net.UDPConn, netip.AddrPort) {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = pc.Close(); _ = sink.Close() })
	return pc, sink.LocalAddr().(*net.UDPAddr).AddrPort()
}
