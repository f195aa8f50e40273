//go:build !linux

package srt

import (
	"net"
	"net/netip"
)

type addrPort = netip.AddrPort

type batchReader struct{}

// read waits for a datagram and reads it into rb.
func (rb *rbatch) read(pc *net.UDPConn) (int, error) {
	rb.fill()
	n, from, err := pc.ReadFromUDPAddrPort(rb.pbs[0].b[:])
	rb.ns[0], rb.from[0] = n, from
	if err != nil {
		return 0, err
	}
	return 1, nil
}
