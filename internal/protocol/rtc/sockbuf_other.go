//go:build !nortc && !tiny && !linux

package rtc

import "net"

// sizeBuffers asks for want bytes of receive and send buffer on u; what
// the system granted is not known here (0).
func sizeBuffers(u *net.UDPConn, want int) (rcv, snd int) {
	_ = u.SetReadBuffer(want)
	_ = u.SetWriteBuffer(want)
	return 0, 0
}
