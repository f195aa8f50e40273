package sip

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const register = "REGISTER sip:34020000002000000001@3402000000 SIP/2.0\r\n" +
	"v: SIP/2.0/UDP 192.168.1.64:5060;rport;branch=z9hG4bK1234\r\n" +
	"f: <sip:34020000001320000001@3402000000>;tag=abc\r\n" +
	"t: <sip:34020000001320000001@3402000000>\r\n" +
	"i: 1-2-3@192.168.1.64\r\n" +
	"CSeq: 2 REGISTER\r\n" +
	"m: <sip:34020000001320000001@192.168.1.64:5060>\r\n" +
	"Max-Forwards: 70\r\n" +
	"Expires: 3600\r\n" +
	"l: 0\r\n\r\n"

func TestParseCompact(t *testing.T) {
	m, err := Parse([]byte(register))
	if err != nil {
		t.Fatal(err)
	}
	if m.Method != "REGISTER" || m.URI != "sip:34020000002000000001@3402000000" {
		t.Fatalf("request line %q %q", m.Method, m.URI)
	}
	if m.Branch() != "z9hG4bK1234" || m.Get("call-id") != "1-2-3@192.168.1.64" || Param(m.Get("From"), "tag") != "abc" {
		t.Fatalf("headers %+v", m.Headers)
	}
	if n, method := m.CSeq(); n != 2 || method != "REGISTER" {
		t.Fatalf("CSeq %d %s", n, method)
	}
	if URIUser(m.Get("From")) != "34020000001320000001" || URIHost(m.Get("Contact")) != "192.168.1.64:5060" {
		t.Fatal("URI parts")
	}
	// Encode and parse back.
	m2, err := Parse(m.Bytes())
	if err != nil || m2.Get("Via") != m.Get("Via") || len(m2.Headers) != len(m.Headers) {
		t.Fatalf("round trip: %v %+v", err, m2)
	}
}

func TestReadTCPFraming(t *testing.T) {
	body := "<?xml version=\"1.0\"?><Notify><CmdType>Keepalive</CmdType></Notify>"
	msg := "MESSAGE sip:a@b SIP/2.0\r\nContent-Length: " + itoa(len(body)) + "\r\n\r\n" + body
	stream := "\r\n\r\n" + msg + register + msg
	br := bufio.NewReader(strings.NewReader(stream))
	for i, want := range []string{"MESSAGE", "REGISTER", "MESSAGE"} {
		m, err := Read(br)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if m.Method != want {
			t.Fatalf("message %d: %s, want %s", i, m.Method, want)
		}
		if want == "MESSAGE" && string(m.Body) != body {
			t.Fatalf("body %q", m.Body)
		}
	}
}

func itoa(n int) string {
	return strings.TrimLeft(string([]byte{byte('0' + n/100%10), byte('0' + n/10%10), byte('0' + n%10)}), "0")
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{
		"",
		"garbage\r\n\r\n",
		"SIP/2.0 99 Too Low\r\n\r\n",
		"INVITE sip:a SIP/2.0\r\nContent-Length: 10\r\n\r\nshort",
		"INVITE sip:a SIP/2.0\r\nno colon\r\n\r\n",
	} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%q) succeeded", in)
		}
	}
}

func TestResponseParse(t *testing.T) {
	m, err := Parse([]byte("SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nWWW-Authenticate: Digest realm=\"3402000000\", nonce=\"n1\", algorithm=MD5\r\nCSeq: 1 REGISTER\r\n\r\n"))
	if err != nil || m.Status != 401 || m.Reason != "Unauthorized" {
		t.Fatalf("%v %+v", err, m)
	}
	realm, nonce, _ := Challenge(m.Get("www-authenticate"))
	if realm != "3402000000" || nonce != "n1" {
		t.Fatalf("challenge %q %q", realm, nonce)
	}
}

// TestDigestRFC2617 checks the digest against RFC 2617 3.5's example.
func TestDigestRFC2617(t *testing.T) {
	d := Digest{Username: "Mufasa", Realm: "testrealm@host.com", Nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
		URI: "/dir/index.html", Qop: "auth", NC: "00000001", CNonce: "0a4f113b"}
	if got := d.Expected("GET", "Circle Of Life"); got != "6629fae49393a05397450978507c4ef1" {
		t.Fatalf("response %s", got)
	}
	d.Response = "6629fae49393a05397450978507c4ef1"
	p, ok := ParseDigest(d.Header())
	if !ok || !p.Check("GET", "Circle Of Life") || p.Check("GET", "wrong") {
		t.Fatalf("parse/check %+v", p)
	}
}

func TestRetransmission(t *testing.T) {
	var c Clients
	c.Timeout = 1600 * time.Millisecond
	req := &Message{Method: "MESSAGE", URI: "sip:a@b"}
	req.Add("Via", "SIP/2.0/UDP h;branch="+NewBranch())
	req.Add("Call-ID", "c1")
	req.Add("CSeq", "1 MESSAGE")
	var sends atomic.Int32
	start := time.Now()
	_, err := c.Do(context.Background(), req, false, func([]byte) error { sends.Add(1); return nil }, nil)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err %v", err)
	}
	// Sent at 0, 500 ms and 1.5 s: timer E doubles from T1.
	if n := sends.Load(); n != 3 {
		t.Fatalf("%d sends in %s, want 3", n, time.Since(start))
	}
	// A reliable transport sends once; the response is matched by branch,
	// method and Call-ID.
	sends.Store(0)
	go func() {
		time.Sleep(50 * time.Millisecond)
		r := Response(req, 200, "OK", "t")
		bad := Response(req, 500, "Wrong", "t")
		bad.Set("Call-ID", "other")
		c.Deliver(bad)
		c.Deliver(r)
	}()
	resp, err := c.Do(context.Background(), req, true, func([]byte) error { sends.Add(1); return nil }, nil)
	if err != nil || resp.Status != 200 || sends.Load() != 1 {
		t.Fatalf("%v %v %d", err, resp, sends.Load())
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(register))
	f.Add([]byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP h;branch=z9hG4bKx\r\nl: 3\r\n\r\nabc"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			return
		}
		m.Branch()
		m.CSeq()
		URIUser(m.Get("From"))
		URIHost(m.Get("Contact"))
		ParseDigest(m.Get("Authorization"))
		// What parses encodes and parses again to the same message.
		m2, err := Parse(m.Bytes())
		if err != nil {
			t.Fatalf("re-parse: %v\n%q", err, m.Bytes())
		}
		if m2.Method != m.Method || m2.Status != m.Status || !bytes.Equal(m2.Body, m.Body) {
			t.Fatalf("round trip differs: %+v vs %+v", m, m2)
		}
		Read(bufio.NewReader(bytes.NewReader(data)))
	})
}

func BenchmarkParse(b *testing.B) {
	data := []byte(register)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}
