package srt

import (
	"io"
	"testing"
	"time"
)

// TestHoleAtShutdown: a hole still open when the peer shuts down is a loss
// its sender left unrepaired: the packets after it are read at once and it
// is not counted as a too-late drop; a hole given up while the peer is
// there is one.
func TestHoleAtShutdown(t *testing.T) {
	pc, sink := fuzzSockets(t)
	m := newMux(pc)
	for _, shutdown := range []bool{true, false} {
		now := time.Now()
		c := newConn(m, connParams{raddr: sink, id: 1, peerID: 2, isn: 100, start: now,
			hsArrival: now, rcvLat: 20 * time.Millisecond, sndLat: 20 * time.Millisecond,
			idle: time.Hour, mtu: 1500, peerWin: flowWindow})
		for _, d := range [][]byte{dataPacket(100, 0, "a"), dataPacket(102, 10, "c")} {
			pb := getPbuf()
			n := copy(pb.b[:], d)
			if !c.handle(pb, n, now) {
				putPbuf(pb)
			}
		}
		if shutdown {
			pb := getPbuf()
			n := copy(pb.b[:], appendCtrl(nil, ctrlHeader{typ: ctrlShutdown}))
			c.handle(pb, n, now)
			putPbuf(pb)
		}
		var got string
		buf := make([]byte, 1500)
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		for len(got) < 2 {
			n, err := c.Read(buf)
			if err != nil {
				t.Fatalf("shutdown %v: %v after %q", shutdown, err, got)
			}
			got += string(buf[:n])
		}
		st := c.Stats()
		if got != "ac" || st.PktLoss != 1 {
			t.Errorf("shutdown %v: read %q with %d lost, want \"ac\" with 1", shutdown, got, st.PktLoss)
		}
		if want := map[bool]uint64{true: 0, false: 1}[shutdown]; st.PktRecvDrop != want {
			t.Errorf("shutdown %v: %d too-late drops, want %d", shutdown, st.PktRecvDrop, want)
		}
		if shutdown {
			if _, err := c.Read(buf); err != io.EOF {
				t.Errorf("after the shutdown and the data: %v, want EOF", err)
			}
		}
		c.CloseWithError(nil)
	}
}
