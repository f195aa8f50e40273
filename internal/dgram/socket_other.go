//go:build !linux

package dgram

import "net"

// Socket is a UDP socket shared by many peers. Elsewhere than on Linux it
// is a plain *net.UDPConn.
type Socket struct{ *net.UDPConn }

// ListenSocket binds a UDP socket, as net.ListenUDP does.
func ListenSocket(network string, laddr *net.UDPAddr) (*Socket, error) {
	uc, err := net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	return &Socket{uc}, nil
}
