package dgram

import (
	"net"
	"net/netip"
	"syscall"
)

// Conn is the socket a Reader or a Writer works on: a *net.UDPConn, or a
// Socket.
type Conn interface {
	SyscallConn() (syscall.RawConn, error)
	ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error)
	WriteToUDPAddrPort(b []byte, to netip.AddrPort) (int, error)
	LocalAddr() net.Addr
	Close() error
	SetReadBuffer(bytes int) error
	SetWriteBuffer(bytes int) error
}

var (
	_ Conn = (*net.UDPConn)(nil)
	_ Conn = (*Socket)(nil)
)
