package dgram

import (
	"errors"
	"net"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func isUnsupported(err error) bool {
	return errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EOPNOTSUPP)
}

// gsoOff turns GSO off (tests of the plain path; set it before NewWriter).
var gsoOff bool

// gsoSpace is the room of one UDP_SEGMENT control message.
var gsoSpace = unix.CmsgSpace(2)

// hasGSO reports whether UDP GSO works for the socket: Linux 4.18 and
// later answer the UDP_SEGMENT socket option (older ones would ignore the
// control message and send one large datagram), and a two-datagram train
// sent over loopback arrives as two datagrams (once per process: an
// emulator that passes the control message on unconverted, as qemu-user
// does, fails it).
func hasGSO(pc Conn) bool {
	if gsoOff {
		return false
	}
	rc, err := pc.SyscallConn()
	if err != nil {
		return false
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		_, serr = unix.GetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_SEGMENT)
	}); err != nil || serr != nil {
		return false
	}
	gsoOnce.Do(func() { gsoWorks = probeGSO() })
	return gsoWorks
}

var (
	gsoOnce  sync.Once
	gsoWorks bool
)

// probeGSO sends a train of a 100-byte and a 60-byte datagram over
// loopback and checks that they arrive as such.
func probeGSO() bool {
	lo := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	s, err := net.ListenUDP("udp4", lo)
	if err != nil {
		return false
	}
	defer s.Close()
	r, err := net.ListenUDP("udp4", lo)
	if err != nil {
		return false
	}
	defer r.Close()
	a, b := make([]byte, 100), make([]byte, 60)
	a[0], b[0] = 1, 2
	oob := make([]byte, gsoSpace)
	so, ok := newSocket(s)
	if !ok {
		return false
	}
	var mm mmsg
	ms := []msg{{bufs: [][]byte{a, b}, oob: putGSO(oob, len(a)), to: r.LocalAddr().(*net.UDPAddr).AddrPort()}}
	if n, err := mm.send(so, ms); n != 1 || err != nil {
		return false
	}
	buf := make([]byte, 512)
	_ = r.SetReadDeadline(time.Now().Add(time.Second))
	for _, want := range [][]byte{a, b} {
		n, err := r.Read(buf)
		if err != nil || n != len(want) || buf[0] != want[0] {
			return false
		}
	}
	return true
}

// putGSO writes into oob (gsoSpace bytes, aligned) the control message that
// cuts a message into datagrams of size bytes, and returns it.
func putGSO(oob []byte, size int) []byte {
	h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
	h.Level, h.Type = unix.IPPROTO_UDP, unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	*(*uint16)(unsafe.Pointer(&oob[unix.CmsgLen(0)])) = uint16(size)
	return oob[:gsoSpace]
}
