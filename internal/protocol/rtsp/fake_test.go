package rtsp

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
)

// fakeCam is a scripted RTSP server, for what GStreamer's does not do:
// Basic auth, redirects, a wrong Content-Base, silence over UDP, requests
// to the client, BYE.
type fakeCam struct {
	t  *testing.T
	ln net.Listener

	basic       string // "user:pass" required with Basic auth
	redirect    bool   // the first DESCRIBE of /cam answers 302 to /real
	contentBase string // Content-Base of DESCRIBE ("" none)
	noUDP       bool   // accept UDP SETUP but never send over it
	silent      bool   // send no media at all
	bye         bool   // send an RTCP BYE after a few packets
	timeout     int    // Session timeout

	mu        sync.Mutex
	methods   []string
	urls      []string
	keepAlive atomic.Int32
	rr        atomic.Int32
	answered  atomic.Int32 // client answers to our GET_PARAMETER
	wg        sync.WaitGroup
}

const fakeSDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=cam\r\nt=0 0\r\n" +
	"m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n" +
	"a=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z0LADdoFB+wFqDAwNSgAAAMACAAAAwGUeKFV,aM48gA==\r\n" +
	"a=control:trackID=1\r\n"

func newFakeCam(t *testing.T) *fakeCam {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeCam{t: t, ln: ln, timeout: 60}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.wg.Add(1)
			go func() { defer f.wg.Done(); f.serve(c) }()
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); f.wg.Wait() })
	return f
}

func (f *fakeCam) url(path string) string { return "rtsp://" + f.ln.Addr().String() + path }

func (f *fakeCam) record(m *Message) {
	f.mu.Lock()
	f.methods = append(f.methods, m.Method)
	f.urls = append(f.urls, m.URL)
	f.mu.Unlock()
}

// videoPackets are captured H.264 packets of the GStreamer camera.
func videoPackets(t testing.TB) [][]byte {
	b, err := os.ReadFile(filepath.Join("..", "..", "format", "rtp", "testdata", "h264aac-video.rtp"))
	if err != nil {
		t.Fatal(err)
	}
	var pkts [][]byte
	for len(b) >= 2 {
		n := int(binary.BigEndian.Uint16(b))
		pkts = append(pkts, b[2:2+n])
		b = b[2+n:]
	}
	return pkts
}

func (f *fakeCam) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	var wmu sync.Mutex
	write := func(s string) {
		wmu.Lock()
		_, _ = c.Write([]byte(s))
		wmu.Unlock()
	}
	done := make(chan struct{})
	defer close(done)
	tcp := false
	for {
		b, err := br.Peek(1)
		if err != nil {
			return
		}
		if b[0] == '$' { // RTCP from the client
			var h [4]byte
			_, _ = br.Read(h[:])
			buf := make([]byte, int(h[2])<<8|int(h[3]))
			if _, err := ioReadFull(br, buf); err != nil {
				return
			}
			if h[1] == 1 && len(buf) > 1 && buf[1] == rtcpRR {
				f.rr.Add(1)
			}
			continue
		}
		m, err := ReadMessage(br)
		if err != nil {
			return
		}
		if m.Method == "" { // the client's answer to our request
			if m.StatusCode == 200 {
				f.answered.Add(1)
			}
			continue
		}
		f.record(m)
		cseq := m.Header.Get("CSeq")
		reply := func(status string, hdr ...string) {
			write("RTSP/1.0 " + status + "\r\nCSeq: " + cseq + "\r\n" + strings.Join(hdr, "") + "\r\n")
		}
		if f.basic != "" {
			want := "Basic " + base64.StdEncoding.EncodeToString([]byte(f.basic))
			if m.Header.Get("Authorization") != want {
				reply("401 Unauthorized", "WWW-Authenticate: Basic realm=\"cam\"\r\n")
				continue
			}
		}
		if m.Header.Get("Session") != "" && (m.Method == "GET_PARAMETER" || m.Method == "OPTIONS") {
			f.keepAlive.Add(1)
		}
		switch m.Method {
		case "OPTIONS":
			reply("200 OK", "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER\r\n")
		case "GET_PARAMETER":
			reply("200 OK")
		case "DESCRIBE":
			if f.redirect && strings.HasSuffix(m.URL, "/cam") {
				reply("302 Moved", "Location: "+f.url("/real")+"\r\n")
				continue
			}
			hdr := ""
			if f.contentBase != "" {
				hdr = "Content-Base: " + f.contentBase + "\r\n"
			}
			write(fmt.Sprintf("RTSP/1.0 200 OK\r\nCSeq: %s\r\n%sContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
				cseq, hdr, len(fakeSDP), fakeSDP))
		case "SETUP":
			tr := m.Header.Get("Transport")
			tcp = strings.Contains(tr, "TCP")
			sess := fmt.Sprintf("Session: 1234;timeout=%d\r\n", f.timeout)
			if tcp {
				reply("200 OK", "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n", sess)
			} else {
				reply("200 OK", "Transport: "+tr+";server_port=40000-40001\r\n", sess)
			}
		case "PLAY":
			reply("200 OK", "RTP-Info: url="+m.URL+";seq=1;rtptime=0\r\n")
			if tcp && !f.silent {
				f.wg.Add(1)
				go func() {
					defer f.wg.Done()
					f.send(write, done)
				}()
			}
		case "TEARDOWN":
			reply("200 OK")
			return
		default:
			reply("501 Not Implemented")
		}
	}
}

// send plays the captured packets over the interleaved channel 0, asks the
// client a GET_PARAMETER, and ends with a BYE when f.bye.
func (f *fakeCam) send(write func(string), done chan struct{}) {
	pkts := videoPackets(f.t)
	write("GET_PARAMETER " + f.url("/") + " RTSP/1.0\r\nCSeq: 99\r\n\r\n")
	for i := 0; ; i++ {
		select {
		case <-done:
			return
		case <-time.After(2 * time.Millisecond):
		}
		if f.bye && i == 50 {
			bye := []byte{0x81, rtcpBYE, 0, 1, 0, 0, 0, 1}
			write(string(appendInterleaved(nil, 1, bye)))
			return
		}
		p := append([]byte(nil), pkts[i%len(pkts)]...)
		binary.BigEndian.PutUint16(p[2:], uint16(i))
		ts := binary.BigEndian.Uint32(p[4:]) + uint32(i/len(pkts))*90000*2
		binary.BigEndian.PutUint32(p[4:], ts)
		write(string(appendInterleaved(nil, 0, p)))
	}
}

func ioReadFull(br *bufio.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := br.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func runFor(t *testing.T, src *Source, d time.Duration) (*collector, error) {
	t.Helper()
	c := newCollector(func(*collector) bool { return false })
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	err := src.Run(ctx, c)
	if errors.Is(err, context.DeadlineExceeded) {
		err = nil
	}
	return c, err
}

func TestFakeBasicRedirectBase(t *testing.T) {
	f := newFakeCam(t)
	f.basic, f.redirect, f.timeout = "admin:pw", true, 4
	f.contentBase = "rtsp://10.1.2.3:554/real/" // the camera's LAN address: wrong for us
	u := strings.Replace(f.url("/cam"), "rtsp://", "rtsp://admin:pw@", 1)
	src, _ := NewSource(u, Config{Transport: TransportTCP}, testLog(t))
	c, err := runFor(t, src, 3500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if c.counts[media.CodecH264] < 10 || c.keys == 0 {
		t.Fatalf("frames %v keys %d", c.counts, c.keys)
	}
	f.mu.Lock()
	urls := strings.Join(f.urls, " ")
	methods := strings.Join(f.methods, " ")
	f.mu.Unlock()
	if !strings.Contains(urls, f.url("/real/trackID=1")) || strings.Contains(urls, "10.1.2.3") {
		t.Errorf("SETUP must use our host with the camera's path: %s", urls)
	}
	if strings.Contains(urls, "admin") {
		t.Errorf("credentials on the wire: %s", urls)
	}
	if f.keepAlive.Load() == 0 {
		t.Errorf("no keep-alive with a 4 s session timeout in 3.5 s: %s", methods)
	}
	if f.rr.Load() == 0 {
		t.Error("no RTCP receiver report")
	}
	if f.answered.Load() != 1 {
		t.Error("the client did not answer the server's GET_PARAMETER")
	}
	time.Sleep(100 * time.Millisecond)
	f.mu.Lock()
	if last := f.methods[len(f.methods)-1]; last != "TEARDOWN" {
		t.Errorf("last request %s, want TEARDOWN", last)
	}
	f.mu.Unlock()
}

func TestFakeUDPSilentFallback(t *testing.T) {
	f := newFakeCam(t)
	src, _ := NewSource(f.url("/cam"), Config{UDPWait: 300 * time.Millisecond}, testLog(t))
	c, err := runFor(t, src, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if src.Transport() != TransportTCP || c.counts[media.CodecH264] == 0 {
		t.Fatalf("transport %s frames %v", src.Transport(), c.counts)
	}
	// UDP stays given up for the next runs.
	f.mu.Lock()
	n := strings.Count(strings.Join(f.methods, " "), "SETUP")
	f.mu.Unlock()
	if n != 2 {
		t.Errorf("%d SETUPs, want one over UDP and one over TCP", n)
	}
}

func TestFakeEnds(t *testing.T) {
	t.Run("BYE", func(t *testing.T) {
		f := newFakeCam(t)
		f.bye = true
		src, _ := NewSource(f.url("/cam"), Config{Transport: TransportTCP}, testLog(t))
		_, err := runFor(t, src, 5*time.Second)
		if err == nil || !strings.Contains(err.Error(), "BYE") {
			t.Fatalf("err %v, want the BYE", err)
		}
	})
	t.Run("silence", func(t *testing.T) {
		f := newFakeCam(t)
		f.silent = true
		src, _ := NewSource(f.url("/cam"), Config{Transport: TransportTCP, Timeout: 600 * time.Millisecond}, testLog(t))
		_, err := runFor(t, src, 5*time.Second)
		if !errors.Is(err, ErrNoMedia) {
			t.Fatalf("err %v, want ErrNoMedia", err)
		}
	})
	t.Run("refused", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		src, _ := NewSource("rtsp://"+addr+"/x", Config{}, testLog(t))
		if _, err := runFor(t, src, 5*time.Second); err == nil || !strings.Contains(err.Error(), "connect") {
			t.Fatalf("err %v", err)
		}
	})
}

func TestNewSource(t *testing.T) {
	for _, bad := range []string{"http://x/y", "rtsp:///nohost", "::", "rtsps://x/y"} {
		if _, err := NewSource(bad, Config{}, nil); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if _, err := NewSource("rtsp://h/p", Config{Transport: "sctp"}, nil); err == nil {
		t.Error("transport sctp accepted")
	}
}
