//go:build !nogb28181 && !tiny

package server

import (
	"log/slog"
	"net"

	"github.com/srs-lite/srs-lite/internal/protocol/gb28181"
	"github.com/srs-lite/srs-lite/internal/protocol/gb28181/rtpps"
)

// The media half: RTP/PS on [gb28181] media_port (TCP passive and UDP) and
// by dialing devices (TCP active).
func init() {
	gbMediaFactory = func(tcp net.Listener, udp net.PacketConn, log *slog.Logger) (gb28181.Media, func() error) {
		r := rtpps.NewReceiver(tcp, udp, log)
		return r, r.Close
	}
	gbMediaStats = func(m gb28181.Media, ssrc uint32) any {
		if r, ok := m.(*rtpps.Receiver); ok {
			if st, ok := r.StatsOf(ssrc); ok {
				return st
			}
		}
		return nil
	}
}
