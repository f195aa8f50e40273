package dgram

import "golang.org/x/sys/unix"

// SizeBuffers asks for rcv bytes of receive and snd bytes of send buffer
// on c (0 leaves one as it is) and returns what the kernel granted
// (getsockopt: twice the request, at most twice net.core.rmem_max /
// wmem_max). Where those limits are lower (a router's defaults are about
// 208 KiB) and the process may (CAP_NET_ADMIN, as firmware runs),
// SO_RCVBUFFORCE / SO_SNDBUFFORCE go past them: a burst that overflows
// the buffer is lost before anything can read it.
func SizeBuffers(c Conn, rcv, snd int) (gotRcv, gotSnd int) {
	if rcv > 0 {
		_ = c.SetReadBuffer(rcv)
	}
	if snd > 0 {
		_ = c.SetWriteBuffer(snd)
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, 0
	}
	_ = rc.Control(func(fd uintptr) {
		get := func(opt int) int {
			v, _ := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, opt)
			return v
		}
		if rcv > 0 && get(unix.SO_RCVBUF) < 2*rcv {
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcv)
		}
		if snd > 0 && get(unix.SO_SNDBUF) < 2*snd {
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, snd)
		}
		gotRcv, gotSnd = get(unix.SO_RCVBUF), get(unix.SO_SNDBUF)
	})
	return gotRcv, gotSnd
}
