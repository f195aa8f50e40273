//go:build !linux

package dgram

// SizeBuffers asks for rcv bytes of receive and snd bytes of send buffer
// on c (0 leaves one as it is); what the system granted is not known
// here (0).
func SizeBuffers(c Conn, rcv, snd int) (gotRcv, gotSnd int) {
	if rcv > 0 {
		_ = c.SetReadBuffer(rcv)
	}
	if snd > 0 {
		_ = c.SetWriteBuffer(snd)
	}
	return 0, 0
}
