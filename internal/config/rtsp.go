package config

// RTSP configures the RTSP server: every stream plays as
// rtsp://HOST:PORT/APP/STREAM (TCP interleaved or UDP), and ANNOUNCE/RECORD
// publishes. Not in the tiny build (RTSPBuilt).
type RTSP struct {
	Enabled bool   `toml:"enabled" json:"enabled"`
	Listen  string `toml:"listen" json:"listen"` // TCP; RTP over UDP takes free ports per session
}

const defaultRTSPListen = "0.0.0.0:8554"

func defaultRTSP() RTSP {
	return RTSP{Enabled: true, Listen: defaultRTSPListen}
}

// validateRTSP refuses [rtsp] keys that ask for something of a build
// without the RTSP server. The shipped srs-lite.toml, with the defaults
// (enabled = true, the default listen), loads in every build: a tiny build
// serves no RTSP then.
func (c *Config) validateRTSP(ps *problems) {
	if RTSPBuilt {
		return
	}
	if c.Defined("rtsp.listen") && c.RTSP.Listen != defaultRTSPListen {
		ps.check("rtsp.listen", "not supported in this build (no RTSP server: a full build has it)")
	}
}
