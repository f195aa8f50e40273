package srt

import (
	"errors"
	"net"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

func isUnsupported(err error) bool {
	return errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EOPNOTSUPP)
}

// gsoOff turns GSO off (tests of the plain path).
var gsoOff bool

// gsoSpace is the room of one UDP_SEGMENT control message.
var gsoSpace = unix.CmsgSpace(2)

// hasGSO reports whether the kernel has UDP GSO for the socket: Linux 4.18
// and later answer the UDP_SEGMENT socket option (older ones would ignore
// the control message and send one large datagram).
func hasGSO(pc *net.UDPConn) bool {
	rc, err := pc.SyscallConn()
	if err != nil {
		return false
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		_, serr = unix.GetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_SEGMENT)
	}); err != nil {
		return false
	}
	return serr == nil && !gsoOff
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
