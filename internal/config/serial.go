package config

import (
	"path/filepath"
	"slices"
)

// PTZ protocols of a [[serial]] port.
const (
	ProtocolPelcoD = "pelco-d"
	ProtocolPelcoP = "pelco-p"
)

// Serial is one [[serial]] entry: a serial port (RS-485 through an adapter,
// usually) with a PTZ camera on it, driven by POST /api/v1/ptz/{name}.
// Board profiles may list ports too; an entry here with the same name wins.
type Serial struct {
	Name   string `toml:"name" json:"name"`
	Device string `toml:"device" json:"device"` // e.g. /dev/ttyUSB0
	// Baud is the line speed; 0: the protocol's usual default (Pelco-D
	// 2400, Pelco-P 4800). Always 8 data bits, no parity, 1 stop bit.
	Baud int `toml:"baud" json:"baud"`
	// Protocol is pelco-d or pelco-p; empty: pelco-d.
	Protocol string `toml:"protocol" json:"protocol"`
	// Address is the camera's receiver address as set on its switches:
	// 1..255 for Pelco-D, 0..255 for Pelco-P (where the first camera is 0).
	Address int `toml:"address" json:"address"`
}

// serialBauds are the line speeds a [[serial]] port may use.
var serialBauds = []int{1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200}

func (c *Config) validateSerial(ps *problems) {
	names := make(map[string]string, len(c.Serials))
	for i := range c.Serials {
		p := indexKey("serial", i)
		s := &c.Serials[i]
		if err := checkName(s.Name); err != nil {
			ps.check(p+".name", "%v", err)
		} else if prev, ok := names[s.Name]; ok {
			ps.check(p+".name", "duplicate serial port %q (also at %s)", s.Name, prev)
		} else {
			names[s.Name] = c.where(p + ".name")
		}
		if s.Device == "" || !filepath.IsAbs(s.Device) {
			ps.check(p+".device", "%q: want the absolute path of the port, e.g. /dev/ttyUSB0", s.Device)
		}
		if s.Baud != 0 && !slices.Contains(serialBauds, s.Baud) {
			ps.check(p+".baud", "%d: must be one of %v (or 0 for the protocol's default)", s.Baud, serialBauds)
		}
		if s.Protocol != "" && s.Protocol != ProtocolPelcoD && s.Protocol != ProtocolPelcoP {
			ps.check(p+".protocol", "%q: must be %s or %s", s.Protocol, ProtocolPelcoD, ProtocolPelcoP)
		}
		lo := 1
		if s.Protocol == ProtocolPelcoP {
			lo = 0
		}
		if s.Address < lo || s.Address > 255 {
			ps.check(p+".address", "%d out of range %d..255: the camera's address as set on its switches", s.Address, lo)
		}
	}
}

// equalSerials compares two [[serial]] lists, nil and empty alike.
func equalSerials(a, b []Serial) bool { return slices.Equal(a, b) }
