package gb28181

import (
	"net"
	"sync"
	"time"

	"github.com/srs-lite/srs-lite/internal/protocol/gb28181/manscdp"
)

// Device is the API's view of a registered device.
type Device struct {
	ID            string         `json:"id"`
	Name          string         `json:"name"`
	Manufacturer  string         `json:"manufacturer"`
	Model         string         `json:"model"`
	Firmware      string         `json:"firmware"`
	Online        bool           `json:"online"`
	Transport     string         `json:"transport"` // udp or tcp
	Address       string         `json:"address"`
	Registered    time.Time      `json:"registered"`
	LastKeepalive time.Time      `json:"last_keepalive"`
	Expires       int            `json:"expires"` // seconds, as registered
	Channels      []manscdp.Item `json:"channels"`
	Calls         []CallInfo     `json:"calls"` // INVITE sessions up
}

// CallInfo is the API's view of an INVITE session.
type CallInfo struct {
	Channel   string    `json:"channel"`
	SSRC      string    `json:"ssrc"`
	Transport string    `json:"transport"`
	Since     time.Time `json:"since"`
	// Media is the receiver's counters of the SSRC (Deps.MediaStats).
	Media any `json:"media,omitempty"`
}

// device is a device's record, under Server.mu.
type device struct {
	id            string
	conn          conn
	online        bool
	registered    time.Time // the registration (not refreshes)
	refreshed     time.Time // the last REGISTER
	lastKeepalive time.Time
	expires       time.Duration
	name          string
	manufacturer  string
	model         string
	firmware      string
	channels      []manscdp.Item
	catalogSN     int
	cseq          uint32
}

func (d *device) view() Device {
	v := Device{ID: d.id, Name: d.name, Manufacturer: d.manufacturer, Model: d.model, Firmware: d.firmware,
		Online: d.online, Registered: d.registered, LastKeepalive: d.lastKeepalive,
		Expires: int(d.expires / time.Second), Channels: append([]manscdp.Item{}, d.channels...)}
	if d.conn != nil {
		v.Transport, v.Address = d.conn.transport(), d.conn.remote().String()
	}
	return v
}

// setChannel adds or updates a channel from a Catalog item.
func (d *device) setChannel(it manscdp.Item) {
	for i := range d.channels {
		if d.channels[i].DeviceID == it.DeviceID {
			d.channels[i] = it
			return
		}
	}
	d.channels = append(d.channels, it)
}

// conn is how the server reaches a device: its UDP address on the SIP
// socket, or its TCP connection.
type conn interface {
	send(b []byte) error
	reliable() bool
	transport() string
	remote() net.Addr
	local() net.Addr // the address the device reaches us at
}

type udpConn struct {
	pc   net.PacketConn
	addr net.Addr
	port int // our SIP port
}

func (c *udpConn) send(b []byte) error {
	_, err := c.pc.WriteTo(b, c.addr)
	return err
}
func (c *udpConn) reliable() bool    { return false }
func (c *udpConn) transport() string { return "udp" }
func (c *udpConn) remote() net.Addr  { return c.addr }

// local is the address of ours the device sends to: the socket's own when
// bound to one, else the source address the kernel picks toward it.
func (c *udpConn) local() net.Addr {
	la := c.pc.LocalAddr().(*net.UDPAddr)
	if !la.IP.IsUnspecified() {
		return la
	}
	ip := localIPFor(c.addr)
	return &net.UDPAddr{IP: ip, Port: la.Port}
}

type tcpConn struct {
	c  net.Conn
	mu sync.Mutex
}

func (c *tcpConn) send(b []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := c.c.Write(b)
	return err
}
func (c *tcpConn) reliable() bool    { return true }
func (c *tcpConn) transport() string { return "tcp" }
func (c *tcpConn) remote() net.Addr  { return c.c.RemoteAddr() }
func (c *tcpConn) local() net.Addr   { return c.c.LocalAddr() }

// localIPFor returns the local IP the kernel would send from toward addr.
func localIPFor(addr net.Addr) net.IP {
	u, ok := addr.(*net.UDPAddr)
	if !ok {
		return net.IPv4(127, 0, 0, 1)
	}
	c, err := net.DialUDP("udp", nil, u)
	if err != nil {
		return net.IPv4(127, 0, 0, 1)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP
}
