package server

import (
	"context"
	"fmt"

	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/device/ptz"
)

func init() { register(orderPTZ, newPTZ) }

// ptzComponent drives the serial PTZ ports of [[serial]] (board profile
// ports included).
type ptzComponent struct {
	passive
	m *ptz.Manager
}

func newPTZ(s *Server) (component, error) {
	return &ptzComponent{m: ptz.NewManager(nil, s.log)}, nil
}

func (c *ptzComponent) name() string { return "ptz" }

// configure sets the ports: changed ports close and reopen at their next
// command.
func (c *ptzComponent) configure(cfg *config.Config) {
	devs := make([]ptz.Device, 0, len(cfg.Serials))
	for _, e := range cfg.Serials {
		devs = append(devs, ptz.Device{Name: e.Name, Port: e.Device, Baud: e.Baud, Protocol: e.Protocol, Address: e.Address})
	}
	c.m.Configure(devs)
}

func (c *ptzComponent) start(_ context.Context, cfg *config.Config) error {
	c.configure(cfg)
	return nil
}

func (c *ptzComponent) reload(_, next *config.Config, ch config.Sections) error {
	if ch.Has(config.SectionSerial) {
		c.configure(next)
	}
	return nil
}

func (c *ptzComponent) close(context.Context) error { return c.m.Close() }

// ptzBackends are PTZ back ends other than the serial ports (GB28181),
// asked first by POST /api/v1/ptz/{name}: each reports whether name is
// one of its own.
var ptzBackends []func(s *Server, ctx context.Context, name string, cmd ptz.Command) (bool, error)

// command is the API's POST /api/v1/ptz/{name}.
func (c *ptzComponent) command(ctx context.Context, name string, cmd ptz.Command) error {
	if c == nil {
		return fmt.Errorf("%w %q", ptz.ErrNoDevice, name)
	}
	return c.m.Do(ctx, name, cmd)
}
