//go:build !nortc && !tiny

package rtc

import (
	"net"
	"syscall"
)

// sizeBuffers asks for want bytes of receive and send buffer on u and
// returns what the kernel granted (getsockopt: twice the request, at most
// twice net.core.rmem_max / wmem_max). Where the limits are lower than
// want (a router's defaults are about 208 KiB) and the process may
// (CAP_NET_ADMIN, as firmware runs), SO_RCVBUFFORCE / SO_SNDBUFFORCE go
// past them.
func sizeBuffers(u *net.UDPConn, want int) (rcv, snd int) {
	_ = u.SetReadBuffer(want)
	_ = u.SetWriteBuffer(want)
	rc, err := u.SyscallConn()
	if err != nil {
		return 0, 0
	}
	_ = rc.Control(func(fd uintptr) {
		get := func(opt int) int {
			v, _ := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, opt)
			return v
		}
		if get(syscall.SO_RCVBUF) < 2*want {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, want)
		}
		if get(syscall.SO_SNDBUF) < 2*want {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUFFORCE, want)
		}
		rcv, snd = get(syscall.SO_RCVBUF), get(syscall.SO_SNDBUF)
	})
	return rcv, snd
}
