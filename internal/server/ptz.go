package server

import (
	"context"
	"fmt"

	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/device/ptz"
)

// ptzReload sets the PTZ ports to the [[serial]] entries of c (board
// profile ports included): changed ports close and reopen at their next
// command.
func (s *Server) ptzReload(c *config.Config) {
	f := s.firmware()
	m := f.ptz.Load()
	if m == nil {
		m = ptz.NewManager(nil, s.log)
		if !f.ptz.CompareAndSwap(nil, m) {
			m = f.ptz.Load()
		}
	}
	devs := make([]ptz.Device, 0, len(c.Serials))
	for _, e := range c.Serials {
		devs = append(devs, ptz.Device{Name: e.Name, Port: e.Device, Baud: e.Baud, Protocol: e.Protocol, Address: e.Address})
	}
	m.Configure(devs)
}

// ptzCommand is the API's POST /api/v1/ptz/{name}.
func (s *Server) ptzCommand(ctx context.Context, name string, c ptz.Command) error {
	m := s.firmware().ptz.Load()
	if m == nil {
		return fmt.Errorf("%w %q", ptz.ErrNoDevice, name)
	}
	return m.Do(ctx, name, c)
}
