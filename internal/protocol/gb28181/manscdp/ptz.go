package manscdp

import (
	"errors"
	"fmt"
)

// PTZ operations of GB/T 28181 annex A.3 (byte 4 of PTZCmd).
const (
	PTZRight     = 0x01
	PTZLeft      = 0x02
	PTZDown      = 0x04
	PTZUp        = 0x08
	PTZZoomIn    = 0x10 // tele
	PTZZoomOut   = 0x20 // wide
	PTZPresetSet = 0x81
	PTZPresetGo  = 0x82
	PTZPresetDel = 0x83
)

// ErrPTZ is a PTZ command out of range.
var ErrPTZ = errors.New("manscdp: bad PTZ command")

// PTZCmd returns the 8-byte PTZ command of annex A.3 as the 16 upper-case
// hex digits of PTZCmd: A5, version 0 with its check nibble (0F), address
// 1, op, pan speed, tilt speed, zoom speed in the high nibble of byte 7,
// and the sum of bytes 1..7 modulo 256. For presets pass op PTZPresetSet
// or PTZPresetGo and the preset number (1..255) in tilt.
func PTZCmd(op, pan, tilt, zoom byte) (string, error) {
	if zoom > 0x0F {
		return "", fmt.Errorf("%w: zoom speed %d: want 0..15", ErrPTZ, zoom)
	}
	const addr = 1
	b := [8]byte{0xA5, 0x0F, addr & 0xFF, op, pan, tilt, zoom<<4 | (addr>>8)&0x0F}
	var sum byte
	for _, x := range b[:7] {
		sum += x
	}
	b[7] = sum
	return fmt.Sprintf("%X", b[:]), nil
}
