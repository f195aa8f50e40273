package srt

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"reflect"
	"testing"
)

func TestSeq(t *testing.T) {
	for _, tc := range []struct {
		a, b uint32
		diff int32
	}{
		{5, 3, 2},
		{3, 5, -2},
		{0, seqMask, 1},
		{seqMask, 0, -1},
		{10, seqMask - 9, 20},
	} {
		if got := seqDiff(tc.a, tc.b); got != tc.diff {
			t.Errorf("seqDiff(%d, %d) = %d, want %d", tc.a, tc.b, got, tc.diff)
		}
	}
	if seqAdd(seqMask, 1) != 0 || seqAdd(0, -1) != seqMask {
		t.Error("seqAdd does not wrap")
	}
}

func TestDataHeaderRoundTrip(t *testing.T) {
	for _, h := range []dataHeader{
		{seq: 1, pos: ppSolo, order: true, msgNo: 1, ts: 12345, dst: 0xdeadbeef},
		{seq: seqMask, pos: ppFirst, key: kkOdd, rexmit: true, msgNo: msgNoMask, ts: 0xffffffff, dst: 1},
		{seq: 0, pos: ppMiddle, key: kkEven},
	} {
		var b [headerSize + 3]byte
		h.put(b[:])
		copy(b[headerSize:], "abc")
		got, payload, err := parseData(b[:])
		if err != nil || got != h || string(payload) != "abc" {
			t.Errorf("round trip of %+v: %+v %q %v", h, got, payload, err)
		}
	}
	// libsrt's first data packet (captured): solo, in order, message 1.
	b, _ := hex.DecodeString("5e897c13e0000001001cd6c705fc0e9b47401110")
	h, _, err := parseData(b)
	if err != nil || h.seq != 0x5e897c13 || h.pos != ppSolo || !h.order || h.msgNo != 1 || h.dst != 0x05fc0e9b {
		t.Errorf("captured packet: %+v %v", h, err)
	}
	var rb [headerSize]byte
	h.put(rb[:])
	setRexmit(rb[:])
	if h2, _, _ := parseData(rb[:]); !h2.rexmit || h2.msgNo != 1 || h2.pos != ppSolo {
		t.Errorf("setRexmit: %+v", h2)
	}
}

func TestCtrl(t *testing.T) {
	b := appendCtrl(nil, ctrlHeader{typ: ctrlACK, info: 7, ts: 9, dst: 11})
	a := ackInfo{last: 100, rtt: 2000, rttVar: 500, avail: 8000, pktRate: 900, capacity: 5000, rate: 1200000}
	b = appendACK(b, &a)
	h, cif, err := parseCtrl(b)
	if err != nil || h.typ != ctrlACK || h.info != 7 || h.ts != 9 || h.dst != 11 {
		t.Fatalf("header %+v %v", h, err)
	}
	got, err := parseACK(cif)
	a.words = 7
	if err != nil || got != a {
		t.Errorf("ACK %+v %v", got, err)
	}
	if l, err := parseACK(cif[:4]); err != nil || l.words != 1 || l.last != 100 {
		t.Errorf("light ACK %+v %v", l, err)
	}
	if _, err := parseACK(nil); err == nil {
		t.Error("empty ACK parsed")
	}
	if _, _, err := parseCtrl(b[:10]); !errors.Is(err, ErrShortPacket) {
		t.Errorf("short control packet: %v", err)
	}
	if _, _, err := parseData(b); !errors.Is(err, ErrBadPacket) {
		t.Errorf("control packet parsed as data: %v", err)
	}
}

func TestLossListCoding(t *testing.T) {
	var b []byte
	b = appendLoss(b, 5, 5)
	b = appendLoss(b, 10, 20)
	b = appendLoss(b, seqMask-1, 1) // wraps
	type r struct{ from, to uint32 }
	var got []r
	if err := parseLoss(b, func(from, to uint32) { got = append(got, r{from, to}) }); err != nil {
		t.Fatal(err)
	}
	want := []r{{5, 5}, {10, 20}, {seqMask - 1, 1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if err := parseLoss(b[:len(b)-4], func(uint32, uint32) {}); !errors.Is(err, ErrShortPacket) {
		t.Errorf("dangling range: %v", err)
	}
	bad := appendLoss(nil, 20, 10)
	if err := parseLoss(bad, func(uint32, uint32) {}); !errors.Is(err, ErrBadPacket) {
		t.Errorf("reversed range: %v", err)
	}
}

func TestLossList(t *testing.T) {
	var l lossList
	l.add(10, 12, 0)
	l.add(20, 20, 0)
	l.add(13, 14, 0) // touches: merges
	l.add(5, 6, 0)   // before: inserted in order
	if got := l.count(); got != 2+5+1 {
		t.Errorf("count %d: %v", got, l)
	}
	if !l.remove(12) || l.remove(12) {
		t.Error("remove 12")
	}
	if len(l) != 4 || l[1].to != 11 || l[2].from != 13 {
		t.Errorf("after split: %v", l)
	}
	l.removeBefore(11)
	if l[0].from != 11 || l[0].to != 11 {
		t.Errorf("removeBefore: %v", l)
	}
	var seqs []uint32
	for {
		s, ok := l.popFront()
		if !ok {
			break
		}
		seqs = append(seqs, s)
	}
	if !reflect.DeepEqual(seqs, []uint32{11, 13, 14, 20}) {
		t.Errorf("pops %v", seqs)
	}
}

// TestHandshakeCaptured parses libsrt 1.5.1's conclusion request
// (srt-live-transmit with a stream id; the KMREQ left out).
func TestHandshakeCaptured(t *testing.T) {
	cif, _ := hex.DecodeString("00000005000300070fd7f1e5000005dc00002000ffffffff0f072022014735c5" +
		"0100007f000000000000000000000000" +
		"0001000300010501000000bf00780000" +
		"000500063a3a2123696c3d72612f65766d2c63626275703d6873696c")
	hs, err := parseHandshake(cif)
	if err != nil {
		t.Fatal(err)
	}
	if hs.version != 5 || hs.encryption != 3 || hs.extField != 7 || hs.typ != hsConclusion || hs.socketID != 0x0f072022 || hs.cookie != 0x014735c5 {
		t.Errorf("fields %+v", hs)
	}
	if hs.hs == nil || hs.hs.version != 0x010501 || hs.hs.flags != 0xbf || hs.hs.rcvDelay != 120 || hs.hs.sndDelay != 0 {
		t.Errorf("HSREQ %+v", hs.hs)
	}
	if hs.streamID != "#!::r=live/abc,m=publish" {
		t.Errorf("stream id %q", hs.streamID)
	}
	if hs.peerIP != wireIP(netip.MustParseAddr("127.0.0.1")) {
		t.Errorf("peer ip % x", hs.peerIP)
	}
	// Our encoding of it is the same bytes.
	if out := hs.append(nil); !bytes.Equal(out, cif) {
		t.Errorf("re-encoded:\n%x\nwant\n%x", out, cif)
	}
}

func TestHandshakeRoundTrip(t *testing.T) {
	for _, sid := range []string{"", "a", "ab", "abc", "abcd", "abcde", "#!::r=live/livestream,m=publish"} {
		in := &handshake{version: 5, extField: hsExtHSREQ | hsExtCONFIG, isn: 77, mtu: 1500, flowWindow: 8192,
			typ: hsConclusion, socketID: 3, cookie: 4, peerIP: wireIP(netip.MustParseAddr("::1")),
			hsType: extTypeHSREQ, hs: &hsExt{version: srtVersion, flags: ourFlags, rcvDelay: 120, sndDelay: 80},
			kmType: extTypeKMREQ, km: []byte{1, 2, 3, 4, 5, 6, 7, 8}, streamID: sid, congestion: "live"}
		out, err := parseHandshake(in.append(nil))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(out, in) {
			t.Errorf("%q: got %+v, want %+v", sid, out, in)
		}
	}
}

// TestKeyWrapRFC3394 checks the key wrap against RFC 3394 §4.1-§4.6.
func TestKeyWrapRFC3394(t *testing.T) {
	for _, tc := range []struct{ kek, key, wrapped string }{
		{"000102030405060708090A0B0C0D0E0F", "00112233445566778899AABBCCDDEEFF",
			"1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5"},
		{"000102030405060708090A0B0C0D0E0F1011121314151617", "00112233445566778899AABBCCDDEEFF",
			"96778B25AE6CA435F92B5B97C050AED2468AB8A17AD84E5D"},
		{"000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", "00112233445566778899AABBCCDDEEFF",
			"64E8C3F9CE0F5BA263E9777905818A2A93C8191E7D6E8AE7"},
		{"000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
			"00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
			"28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21"},
	} {
		kek, _ := hex.DecodeString(tc.kek)
		key, _ := hex.DecodeString(tc.key)
		want, _ := hex.DecodeString(tc.wrapped)
		got, err := keyWrap(kek, key)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("wrap %s: %X %v", tc.kek, got, err)
		}
		back, err := keyUnwrap(kek, want)
		if err != nil || !bytes.Equal(back, key) {
			t.Errorf("unwrap %s: %X %v", tc.kek, back, err)
		}
		kek[0] ^= 1
		if _, err := keyUnwrap(kek, want); !errors.Is(err, ErrBadSecret) {
			t.Errorf("unwrap with a wrong key: %v", err)
		}
	}
}

func TestKeyMaterial(t *testing.T) {
	for _, n := range []int{16, 24, 32} {
		c, err := newCrypter("a passphrase", n)
		if err != nil {
			t.Fatal(err)
		}
		km, err := parseKM(c.km)
		if err != nil || km.keyLen != n || km.kk != kkEven || len(km.salt) != 16 {
			t.Fatalf("KM %+v %v", km, err)
		}
		d, err := crypterFromKM("a passphrase", c.km)
		if err != nil {
			t.Fatal(err)
		}
		msg := []byte("a payload of a few bytes that spans more than one AES block")
		enc := append([]byte(nil), msg...)
		c.xor(kkEven, 1234, enc)
		if bytes.Equal(enc, msg) {
			t.Fatal("not encrypted")
		}
		d.xor(kkEven, 1234, enc)
		if !bytes.Equal(enc, msg) {
			t.Errorf("keylen %d: decrypted %q", n, enc)
		}
		if d.xor(kkOdd, 1, enc) {
			t.Error("odd key used before it was set")
		}
		if _, err := crypterFromKM("another passphrase", c.km); !errors.Is(err, ErrBadSecret) {
			t.Errorf("wrong passphrase: %v", err)
		}
	}
	for _, bad := range [][]byte{nil, make([]byte, 16), append([]byte{0x12, 0x20, 0x29, 1}, make([]byte, 12)...)} {
		if _, err := parseKM(bad); err == nil {
			t.Errorf("parsed bad KM %x", bad)
		}
	}
}

func TestStreamID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want StreamID
		err  bool
	}{
		{in: "#!::r=live/livestream,m=publish", want: StreamID{App: "live", Stream: "livestream", Mode: ModePublish}},
		{in: "#!::r=live/livestream,m=request", want: StreamID{App: "live", Stream: "livestream"}},
		{in: "#!::r=live/livestream", want: StreamID{App: "live", Stream: "livestream"}},
		{in: "#!::m=publish,r=live/livestream,h=example.com",
			want: StreamID{Vhost: "example.com", App: "live", Stream: "livestream", Mode: ModePublish}},
		{in: "#!::h=example.com/live/livestream,m=publish",
			want: StreamID{Vhost: "example.com", App: "live", Stream: "livestream", Mode: ModePublish}},
		{in: "#!::r=live/livestream,m=publish,u=admin,s=abc123",
			want: StreamID{App: "live", Stream: "livestream", Mode: ModePublish, User: "admin", Param: "?u=admin&s=abc123"}},
		{in: "#!::r=live/livestream?secret=xyz,m=publish,t=stream",
			want: StreamID{App: "live", Stream: "livestream", Mode: ModePublish, Param: "?secret=xyz&t=stream"}},
		{in: "#!::r=a/b/c", want: StreamID{App: "a/b", Stream: "c"}},
		{in: "#!::r=livestream,M=x", want: StreamID{App: "live", Stream: "livestream", Param: "?M=x"}},
		{in: "#!::r=live/x,m=PUBLISH", want: StreamID{App: "live", Stream: "x", Mode: ModePublish}},
		{in: "live/livestream", want: StreamID{App: "live", Stream: "livestream"}},
		{in: "live/livestream?vhost=v1", want: StreamID{App: "live", Stream: "livestream", Param: "?vhost=v1"}},
		{in: "livestream", want: StreamID{App: "live", Stream: "livestream"}},
		{in: "/live/livestream", want: StreamID{App: "live", Stream: "livestream"}},
		{in: "", err: true},
		{in: "#!::m=publish", err: true},
		{in: "#!::r=live/x,m=bidirectional", err: true},
		{in: "#!::r=live/x,novalue", err: true},
		{in: "#!:{r=x}", err: true},
		{in: "live/", err: true},
	} {
		got, err := ParseStreamID(tc.in)
		if tc.err {
			if err == nil || !errors.Is(err, ErrStreamID) {
				t.Errorf("%q: got %+v, %v; want an error", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: got %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	id := StreamID{App: "live", Stream: "s", Vhost: "v", Mode: ModePublish}
	if back, err := ParseStreamID(id.String()); err != nil || back != id {
		t.Errorf("String round trip: %q -> %+v %v", id.String(), back, err)
	}
}

func TestRejectReason(t *testing.T) {
	if RejBadSecret.String() != "SRT_REJ_BADSECRET" || RejXNotFound.String() != "SRT_REJX_NOTFOUND" ||
		RejectReason(77).String() != "SRT_REJ(77)" {
		t.Error("names")
	}
	var r RejectReason
	if !errors.As(error(RejUnsecure), &r) || r != RejUnsecure {
		t.Error("errors.As")
	}
}
