package dgram

import (
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

func sysctlInt(t *testing.T, name string) int {
	b, err := os.ReadFile("/proc/sys/net/core/" + name)
	if err != nil {
		t.Skipf("no /proc/sys/net/core/%s: %v", name, err)
	}
	v, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return v
}

// A socket (a *net.UDPConn or a Socket) gets what it asks for up to the
// kernel's limits, and past them where the process may (CAP_NET_ADMIN:
// SO_*BUFFORCE); a size of 0 leaves that buffer as it was.
func TestSizeBuffers(t *testing.T) {
	rmax, wmax := sysctlInt(t, "rmem_max"), sysctlInt(t, "wmem_max")
	want := 2 * max(rmax, wmax) // above both limits
	u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	s, err := ListenSocket("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for name, c := range map[string]Conn{"UDPConn": u, "Socket": s} {
		_, snd0 := SizeBuffers(c, 0, 0)
		rcv, snd := SizeBuffers(c, want, 0)
		if snd != snd0 {
			t.Errorf("%s: sndbuf %d after asking none, was %d", name, snd, snd0)
		}
		rcv, snd = SizeBuffers(c, want, want)
		t.Logf("%s: want %d (rmem_max %d, wmem_max %d): rcvbuf %d, sndbuf %d", name, want, rmax, wmax, rcv, snd)
		if rcv < 2*rmax || snd < 2*wmax {
			t.Fatalf("%s: rcvbuf %d, sndbuf %d: less than the limits allow (%d, %d)", name, rcv, snd, 2*rmax, 2*wmax)
		}
		if os.Geteuid() == 0 && (rcv < 2*want || snd < 2*want) {
			t.Fatalf("%s: as root: rcvbuf %d, sndbuf %d, want %d each (SO_*BUFFORCE)", name, rcv, snd, 2*want)
		}
	}
}
