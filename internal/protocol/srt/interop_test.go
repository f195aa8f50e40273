package srt

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// needTool skips the test, loudly, when a third-party peer is missing.
func needTool(t *testing.T, tool, pkg string) {
	t.Helper()
	if testing.Short() {
		// Under qemu-user (make cross-unit) the emulated side is too slow
		// for a real-time peer; these run natively in make unit.
		t.Skip("-short: interop with a third-party peer runs in the native unit tests")
	}
	if _, err := exec.LookPath(tool); err != nil {
		t.Skipf("SKIPPED: %s is not installed (Debian/Ubuntu: apt-get install %s; `make test` installs it when run as root)", tool, pkg)
	}
}

// pattern returns n bytes of a deterministic stream.
func pattern(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// feed writes data to w in chunks at rate bytes a second, then closes w
// unless keepOpen: srt-live-transmit exits at the end of its input, and
// in live mode libsrt drops what it has not sent yet when it closes (no
// linger), so a test that wants every byte keeps the input open until it
// has read them.
func feed(w io.WriteCloser, data []byte, chunk int, rate int, keepOpen bool) {
	if !keepOpen {
		defer w.Close()
	}
	per := time.Duration(float64(chunk) / float64(rate) * float64(time.Second))
	next := time.Now()
	for len(data) > 0 {
		n := min(chunk, len(data))
		if _, err := w.Write(data[:n]); err != nil {
			return
		}
		data = data[n:]
		next = next.Add(per)
		time.Sleep(time.Until(next))
	}
}

// readAll reads a connection until EOF or until want bytes arrived or the
// timeout.
func readAll(c *Conn, want int, timeout time.Duration) ([]byte, error) {
	var out bytes.Buffer
	buf := make([]byte, 1500)
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	for out.Len() < want {
		n, err := c.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			return out.Bytes(), err
		}
	}
	return out.Bytes(), nil
}

func TestInteropLiveTransmitCallerPublishes(t *testing.T) {
	needTool(t, "srt-live-transmit", "srt-tools")
	for _, tc := range []struct {
		name, pass string
		keylen     int
		extra      string
	}{
		{"plain", "", 0, ""},
		// §6.1.5: libsrt refreshes the key every 128 packets, announcing
		// the next one 32 packets before.
		{"kmrefresh", "0123456789abcdef", 16, "&kmrefreshrate=128&kmpreannounce=32"},
		{"aes128", "0123456789abcdef", 16, ""},
		{"aes192", "0123456789abcdef", 24, ""},
		{"aes256", "0123456789abcdef", 32, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := Listen("127.0.0.1:0", ListenConfig{Config: Config{Passphrase: tc.pass}})
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			data := pattern(1316 * 600)
			url := fmt.Sprintf("srt://%s?streamid=#!::r=live/x,m=publish", ln.Addr())
			if tc.pass != "" {
				url += fmt.Sprintf("&passphrase=%s&pbkeylen=%d", tc.pass, tc.keylen)
			}
			url += tc.extra
			cmd := exec.Command("srt-live-transmit", "-q", "file://con", url)
			stdin, _ := cmd.StdinPipe()
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			// srt-live-transmit holds back its last input until more comes
			// or the input ends, and when the input ends it exits and libsrt
			// drops what it has not sent (no linger in live mode): so the
			// data is followed by filler, and the input stays open until the
			// data is read.
			defer stdin.Close()
			c, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// Fed once connected: srt-live-transmit drops what it reads
			// before its caller has connected.
			go feed(stdin, append(bytes.Clone(data), make([]byte, 64<<10)...), 1316, 1316*500, true)
			if c.StreamID() != "#!::r=live/x,m=publish" {
				t.Errorf("stream id %q", c.StreamID())
			}
			// srt-live-transmit sends its input in 1456-byte chunks: every
			// chunk of the data must arrive, in order, decrypted exactly
			// (the check tells a missing chunk from an altered one).
			const chunk = 1456
			want := len(data) / chunk * chunk
			got, err := readAll(c, want, 10*time.Second)
			st := c.Stats()
			t.Logf("got %d of %d bytes, err %v, stats %+v", len(got), want, err, st)
			if tc.extra != "" && st.KMRefreshes == 0 {
				t.Errorf("no key refresh seen")
			}
			if st.PktRecvUndecrypt != 0 {
				t.Errorf("%d packets not decrypted", st.PktRecvUndecrypt)
			}
			matched, next := 0, 0
			for off := 0; off+chunk <= len(got) && next+chunk <= want; off += chunk {
				ch := got[off : off+chunk]
				i := next
				for i+chunk <= want && !bytes.Equal(ch, data[i:i+chunk]) {
					i += chunk
				}
				if i+chunk > want {
					if bytes.Equal(ch, make([]byte, chunk)) {
						break // the filler: the data is over
					}
					t.Fatalf("chunk at %d of the received stream is no chunk of the data at or after %d: altered", off, next)
				}
				matched++
				next = i + chunk
			}
			if missing := want/chunk - matched; missing > 0 {
				_ = cmd.Process.Kill()
				_ = cmd.Wait() // stderr is complete, and no longer written
				t.Errorf("%d of %d chunks arrived (%d missing); stderr %s", matched, want/chunk, missing, stderr.String())
			}
		})
	}
}

func TestInteropDialLiveTransmitListener(t *testing.T) {
	needTool(t, "srt-live-transmit", "srt-tools")
	port := freeUDPPort(t)
	cmd := exec.Command("srt-live-transmit", "-q", "-a:no", fmt.Sprintf("srt://127.0.0.1:%d?mode=listener&passphrase=abcdefghijkl", port), "file://con")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	time.Sleep(300 * time.Millisecond)
	c, err := Dial(context.Background(), fmt.Sprintf("127.0.0.1:%d", port), Config{Passphrase: "abcdefghijkl", PBKeyLen: 32, StreamID: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	data := pattern(1316 * 300)
	for i := 0; i < len(data); i += 1316 {
		if _, err := c.Write(data[i : i+1316]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	t.Logf("stats %+v", c.Stats())
	c.Close()
	done := make(chan struct{})
	var once sync.Once
	go func() { _ = cmd.Wait(); once.Do(func() { close(done) }) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
	if !bytes.Equal(stdout.Bytes(), data) {
		t.Errorf("listener wrote %d bytes, want %d; stderr %s", stdout.Len(), len(data), strings.TrimSpace(stderr.String()))
	}
}
