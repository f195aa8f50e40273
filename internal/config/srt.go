package config

import "time"

// SRT configures the SRT listener (UDP, live mode). Its keys follow libsrt's
// socket options of the same names.
type SRT struct {
	Enabled bool   `toml:"enabled" json:"enabled"`
	Listen  string `toml:"listen" json:"listen"` // UDP
	// Latency is the receiver's TSBPD delay (SRTO_RCVLATENCY); the peers
	// agree on the larger of what each side asks.
	Latency Duration `toml:"latency" json:"latency"`
	// PeerLatency is the minimum TSBPD delay asked of a peer that receives
	// from us (SRTO_PEERLATENCY).
	PeerLatency Duration `toml:"peer_latency" json:"peer_latency"`
	// MaxBW caps the sending rate of one connection, retransmissions
	// included, in bytes per second; 0: the input rate plus 25% overhead.
	MaxBW Size `toml:"maxbw" json:"maxbw"`
	// Passphrase, 10 to 79 characters, turns on AES encryption; empty: none.
	Passphrase string `toml:"passphrase" json:"passphrase"`
	// PBKeyLen is the AES key length in bytes: 16, 24 or 32.
	PBKeyLen int `toml:"pbkeylen" json:"pbkeylen"`
	// MSS is the largest UDP payload plus IP/UDP headers, 76..1500.
	MSS int `toml:"mss" json:"mss"`
	// PeerIdleTimeout closes a connection that has received nothing this long.
	PeerIdleTimeout Duration `toml:"peer_idle_timeout" json:"peer_idle_timeout"`
}

func defaultSRT() SRT {
	return SRT{
		Enabled:         true,
		Listen:          "0.0.0.0:10080",
		Latency:         Duration(120 * time.Millisecond),
		PeerLatency:     Duration(120 * time.Millisecond),
		PBKeyLen:        16,
		MSS:             1500,
		PeerIdleTimeout: Duration(5 * time.Second),
	}
}

func (c *Config) validateSRT(ps *problems) {
	s := c.SRT
	durationRange(ps, "srt.latency", s.Latency, 0, 60*time.Second)
	durationRange(ps, "srt.peer_latency", s.PeerLatency, 0, 60*time.Second)
	if s.MaxBW < 0 {
		ps.check("srt.maxbw", "%d is negative: use 0 for the input rate plus 25%% overhead", s.MaxBW)
	}
	if n := len(s.Passphrase); n != 0 && (n < 10 || n > 79) {
		ps.check("srt.passphrase", "%d characters: an SRT passphrase has 10 to 79", n)
	}
	if s.PBKeyLen != 16 && s.PBKeyLen != 24 && s.PBKeyLen != 32 {
		ps.check("srt.pbkeylen", "%d: must be 16, 24 or 32 (AES-128, -192, -256)", s.PBKeyLen)
	}
	intRange(ps, "srt.mss", s.MSS, 76, 1500)
	durationRange(ps, "srt.peer_idle_timeout", s.PeerIdleTimeout, 1, time.Hour)
}
