package config

import "time"

// GB28181 is the [gb28181] section: the SIP server GB/T 28181 cameras and
// NVRs register with.
type GB28181 struct {
	Enabled bool   `toml:"enabled" json:"enabled"`
	Listen  string `toml:"listen" json:"listen"` // SIP over UDP and TCP
	// ServerID is the platform's SIP id (20 digits), the camera's "SIP
	// server ID".
	ServerID string `toml:"server_id" json:"server_id"`
	// Domain is the SIP domain and digest realm (10 digits).
	Domain string `toml:"domain" json:"domain"`
	// Password is the devices' SIP password; empty: no authentication.
	Password string `toml:"password" json:"password"`
	// KeepaliveTimeout marks a device offline when it sent no keepalive
	// for this long.
	KeepaliveTimeout Duration `toml:"keepalive_timeout" json:"keepalive_timeout"`
	// MediaPort receives RTP/PS: TCP (the device connects) and UDP.
	MediaPort int `toml:"media_port" json:"media_port"`
	// Channels are the [[gb28181.channel]] entries.
	Channels []GBChannel `toml:"channel" json:"channel"`
}

// GBChannel is one [[gb28181.channel]]: a stream name for a channel,
// always on or not, and its media transport.
type GBChannel struct {
	// ID is "DEVICEID_CHANNELID", or a channel id alone (20 digits).
	ID string `toml:"id" json:"id"`
	// Stream is the stream name in app live; empty: the id.
	Stream string `toml:"stream" json:"stream"`
	// AlwaysOn invites the channel as soon as its device registers and
	// keeps it up with no player (for DVR).
	AlwaysOn bool `toml:"always_on" json:"always_on"`
	// Transport is how the media comes: tcp-passive (the device connects
	// to media_port), tcp-active (we connect to the device), udp.
	Transport string `toml:"transport" json:"transport"`
}

func defaultGB28181() GB28181 {
	return GB28181{
		Listen:           "0.0.0.0:5060",
		ServerID:         "34020000002000000001",
		Domain:           "3402000000",
		KeepaliveTimeout: Duration(3 * time.Minute),
		MediaPort:        9000,
	}
}

// GB28181Transports are the media transports of a channel.
var GB28181Transports = []string{"tcp-passive", "tcp-active", "udp"}
