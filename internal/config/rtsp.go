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
	return RTSP{Enabled: RTSPBuilt, Listen: defaultRTSPListen} // off where not built
}

// validateRTSP refuses [rtsp] keys that ask for something of a build
// without the RTSP server: enabled = true, or a listen address of its own.
func (c *Config) validateRTSP(ps *problems) {
	if RTSPBuilt {
		return
	}
	const why = "not supported in this build (no RTSP server: a full build has it; scripts/tiny-conf.sh writes a config for the tiny build)"
	if c.Defined("rtsp.enabled") && c.RTSP.Enabled {
		ps.check("rtsp.enabled", why)
	}
	if c.Defined("rtsp.listen") && c.RTSP.Listen != defaultRTSPListen {
		ps.check("rtsp.listen", why)
	}
}
