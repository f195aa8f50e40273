package ptz

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/tarm/serial"
)

// ErrNoDevice is matched (errors.Is) when a command names no configured port.
var ErrNoDevice = errors.New("ptz: no such serial port")

// Device is a named serial port with a camera on it.
type Device struct {
	Name     string `json:"name"`
	Port     string `json:"device"`   // e.g. /dev/ttyUSB0
	Baud     int    `json:"baud"`     // 0: the protocol's default
	Protocol string `json:"protocol"` // pelco-d (or "") | pelco-p
	Address  int    `json:"address"`
}

// baud returns the line speed: Pelco-D's usual 2400, Pelco-P's 4800.
func (d Device) baud() int {
	if d.Baud > 0 {
		return d.Baud
	}
	if d.Protocol == PelcoP {
		return 4800
	}
	return 2400
}

// Opener opens a serial port at baud, 8N1.
type Opener func(port string, baud int) (io.WriteCloser, error)

// OpenSerial opens a port with tarm/serial: raw mode, 8 data bits, no
// parity, one stop bit, no flow control.
func OpenSerial(port string, baud int) (io.WriteCloser, error) {
	p, err := serial.OpenPort(&serial.Config{Name: port, Baud: baud, Size: 8, Parity: serial.ParityNone, StopBits: serial.Stop1})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Manager sends commands to named devices. A port opens at its first
// command and stays open; a write error closes it, so that the next command
// opens it again (a USB adapter unplugged and back).
type Manager struct {
	open Opener
	log  *slog.Logger

	mu   sync.Mutex
	devs map[string]*port
}

type port struct {
	mu     sync.Mutex // one frame at a time on the wire
	dev    Device
	w      io.WriteCloser // nil until opened
	closed bool           // removed by Configure
}

// NewManager returns a Manager opening ports with open (nil: OpenSerial).
func NewManager(open Opener, log *slog.Logger) *Manager {
	if open == nil {
		open = OpenSerial
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Manager{open: open, log: log, devs: map[string]*port{}}
}

// Configure sets the devices: ports that were removed or changed are closed.
func (m *Manager) Configure(devs []Device) {
	m.mu.Lock()
	defer m.mu.Unlock()
	next := make(map[string]*port, len(devs))
	for _, d := range devs {
		if p, ok := m.devs[d.Name]; ok && p.dev == d {
			next[d.Name] = p
			continue
		}
		next[d.Name] = &port{dev: d}
	}
	for name, p := range m.devs {
		if next[name] != p {
			p.close(true)
		}
	}
	m.devs = next
}

// Do encodes c for the device called name and writes the frame, opening
// the port first if needed.
func (m *Manager) Do(ctx context.Context, name string, c Command) error {
	m.mu.Lock()
	p, ok := m.devs[name]
	m.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w %q", ErrNoDevice, name)
	}
	frame, err := Encode(p.dev.Protocol, p.dev.Address, c)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("%w %q: reconfigured meanwhile", ErrNoDevice, name)
	}
	if p.w == nil {
		w, err := m.open(p.dev.Port, p.dev.baud())
		if err != nil {
			return fmt.Errorf("ptz: %s: open %s: %w", name, p.dev.Port, err)
		}
		p.w = w
		m.log.Info("ptz: port opened", "name", name, "device", p.dev.Port, "baud", p.dev.baud(), "protocol", p.protocol())
	}
	if _, err := p.w.Write(frame); err != nil {
		p.w.Close()
		p.w = nil
		return fmt.Errorf("ptz: %s: write %s: %w", name, p.dev.Port, err)
	}
	m.log.Debug("ptz: command sent", "name", name, "action", c.Action, "frame", fmt.Sprintf("% X", frame))
	return nil
}

func (p *port) protocol() string {
	if p.dev.Protocol == "" {
		return PelcoD
	}
	return p.dev.Protocol
}

// close closes the port; for good when removed (a Configure).
func (p *port) close(removed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = p.closed || removed
	if p.w != nil {
		p.w.Close()
		p.w = nil
	}
}

// Close closes every open port. The Manager stays usable: a later command
// opens its port again.
func (m *Manager) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.devs {
		p.close(false)
	}
	return nil
}
