package dgram

import (
	"encoding/binary"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsg is the state of sendmmsg calls: the kernel's message headers, their
// iovecs and addresses, kept between calls so that sending allocates
// nothing once grown. One goroutine at a time uses one mmsg.
//
// The call is a raw system call, made without telling the scheduler: a
// socket is non-blocking, so sendmmsg never blocks (a full socket buffer
// answers EAGAIN, and the netpoller waits for room), but a batch of a
// hundred datagrams keeps the kernel busy for a hundred microseconds or
// more, and the scheduler's monitor would hand the goroutine's P to
// another thread meanwhile: on a box with one core for the server, two
// context switches per batch for nothing.
type mmsg struct {
	hdrs  []mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet6
	fn    func(fd uintptr) bool
	n     int
	sent  int
	errno syscall.Errno
}

// socket is what a Writer knows of its socket for sendmmsg.
type socket struct {
	rc syscall.RawConn
	v6 bool // AF_INET6: IPv4 destinations as v4-mapped addresses
}

func newSocket(uc Conn) (socket, bool) {
	rc, err := uc.SyscallConn()
	if err != nil {
		return socket{}, false
	}
	var dom int
	var serr error
	if err := rc.Control(func(fd uintptr) {
		dom, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_DOMAIN)
	}); err != nil || serr != nil {
		return socket{}, false
	}
	return socket{rc: rc, v6: dom == unix.AF_INET6}, true
}

// send sends ms with one sendmmsg and returns how many messages the kernel
// took.
func (m *mmsg) send(s socket, ms []msg) (int, error) {
	if len(ms) == 0 {
		return 0, nil
	}
	if m.fn == nil {
		m.fn = m.call
	}
	if cap(m.hdrs) < len(ms) {
		m.hdrs = make([]mmsghdr, len(ms))
		m.names = make([]unix.RawSockaddrInet6, len(ms))
	}
	nio := 0
	for i := range ms {
		nio += len(ms[i].bufs)
	}
	if cap(m.iovs) < nio {
		m.iovs = make([]unix.Iovec, nio)
	}
	hdrs, iovs := m.hdrs[:len(ms)], m.iovs[:nio]
	io := 0
	for i := range ms {
		e := &ms[i]
		h := &hdrs[i]
		*h = mmsghdr{}
		first := io
		for _, b := range e.bufs {
			if len(b) > 0 {
				iovs[io].Base = &b[0]
				iovs[io].SetLen(len(b))
				io++
			}
		}
		if io > first {
			h.hdr.Iov = &iovs[first]
			h.hdr.SetIovlen(io - first)
		}
		sa := &m.names[i]
		h.hdr.Name = (*byte)(unsafe.Pointer(sa))
		h.hdr.Namelen = putSockaddr(sa, e.to, s.v6)
		if len(e.oob) > 0 {
			h.hdr.Control = &e.oob[0]
			h.hdr.SetControllen(len(e.oob))
		}
	}
	m.n = len(ms)
	err := s.rc.Write(m.fn)
	clear(iovs[:io]) // no pointers into the callers' buffers kept
	if err != nil {
		return 0, err
	}
	if m.errno != 0 {
		return m.sent, m.errno
	}
	return m.sent, nil
}

func (m *mmsg) call(fd uintptr) bool {
	v, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&m.hdrs[0])), uintptr(m.n), 0, 0, 0)
	if e == unix.EAGAIN || e == unix.EINTR {
		return false // wait for room
	}
	if e != 0 {
		v = 0
	}
	m.sent, m.errno = int(v), e
	return true
}

// putSockaddr writes to into sa for a socket of the family v6 says, and
// returns its length.
func putSockaddr(sa *unix.RawSockaddrInet6, to netip.AddrPort, v6 bool) uint32 {
	a := to.Addr()
	if !v6 {
		p := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		*p = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: a.Unmap().As4()}
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&p.Port))[:], to.Port())
		return unix.SizeofSockaddrInet4
	}
	*sa = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: a.As16()}
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], to.Port())
	if z := a.Zone(); z != "" {
		if id, err := strconv.ParseUint(z, 10, 32); err == nil {
			sa.Scope_id = uint32(id)
		} else if ifi, err := net.InterfaceByName(z); err == nil {
			sa.Scope_id = uint32(ifi.Index)
		}
	}
	return unix.SizeofSockaddrInet6
}
