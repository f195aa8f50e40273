package config

import "strings"

// unsupported names the keys of the public interface (docs/INTERFACE in the
// README) that this build does not implement yet, with what they are for.
// A file that sets one is refused with "not supported yet", never silently
// ignored: a documented key either works or says so. A key leaves this
// list when the feature lands.
var unsupported = map[string]string{
	"rtsp": "the RTSP server (play out and publish)",
}

// notSupported returns what the key at path (as decodeState names it) is
// for when this build does not implement it, or "".
func notSupported(path string) string {
	// Drop quotes and the array index markers (NUL and digits).
	var b strings.Builder
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case c == '"':
		case c == 0:
			for i+1 < len(path) && path[i+1] >= '0' && path[i+1] <= '9' {
				i++
			}
		default:
			b.WriteByte(c)
		}
	}
	return unsupported[b.String()]
}
