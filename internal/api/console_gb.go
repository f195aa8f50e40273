//go:build !nogb28181 && !tiny

package api

import "github.com/srs-lite/srs-lite/internal/buildinfo"

// The build has GB28181 (internal/server/gb28181.go has the same
// constraint): `srs-lite -v` and the console's env.json list it, and the
// console's cameras page shows the devices.
func init() { buildinfo.Register("gb28181") }
