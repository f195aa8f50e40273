package rtp

import (
	"encoding/binary"
	"io"
)

// ReadFramed reads one packet framed by RFC 4571 (a 16-bit length, then the
// packet: RTP and RTCP over TCP, ICE-TCP) into buf, which must hold 65535
// bytes, and returns it.
func ReadFramed(r io.Reader, buf []byte) ([]byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(h[:]))
	if _, err := io.ReadFull(r, buf[:n]); err != nil {
		return nil, err
	}
	return buf[:n], nil
}
