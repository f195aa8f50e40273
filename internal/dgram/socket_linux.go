package dgram

import (
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Socket is a UDP socket shared by many peers (an SRT listener, the WebRTC
// server) whose reader is woken once per quiet spell, not once per
// datagram.
//
// A socket in Go's netpoller wakes the scheduler at every datagram that
// arrives (epoll reports each one), whether or not a goroutine waits for
// it. An SRT listener reads in batches, holding a moment between reads so
// that a hundred players' ACKs come in one recvmmsg; in the holds, the
// ACKs it was not waiting for woke the server ~3,000 times a second (100
// players), each time an epoll return, a scheduler pass and, on a box with
// one core for the server, a context switch. A Socket is not in the
// netpoller: two epoll instances of its own watch it (reads and writes),
// their registration armed one-shot only when a goroutine is about to
// wait, and those instances are in the netpoller. Between reads, datagrams
// queue in the socket without a wake-up.
//
// If the epoll instances cannot be made, the Socket is a plain
// *net.UDPConn.
type Socket struct {
	uc    *net.UDPConn // the fallback; nil when the Socket has its own descriptors
	laddr net.Addr
	v6    bool

	mu      sync.RWMutex // read-held across each system call on fd: Close does not free the number under one
	closed  bool
	fd      int // the socket (non-blocking)
	wfd     int // a second descriptor of it, registered for write readiness
	in, out watch
}

// watch is a private epoll instance with one registration of the socket,
// armed one-shot by a goroutine about to wait. The instance itself is in
// the netpoller: it turns readable when the registration fires.
type watch struct {
	ep  *os.File
	rc  syscall.RawConn
	efd int
	fd  int    // the descriptor registered
	ev  uint32 // EPOLLIN or EPOLLOUT
	fn  func(uintptr) bool

	mu  sync.Mutex // arming: two writers may wait at once
	arg unix.EpollEvent
	evs [4]unix.EpollEvent // take's: callbacks of one RawConn.Read run one at a time
}

// ListenSocket binds a UDP socket, as net.ListenUDP does.
func ListenSocket(network string, laddr *net.UDPAddr) (*Socket, error) {
	uc, err := net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	s := &Socket{laddr: uc.LocalAddr(), fd: -1, wfd: -1, in: watch{efd: -1}, out: watch{efd: -1}}
	if err := s.own(uc); err != nil {
		s.release()
		s.uc = uc
		return s, nil
	}
	_ = uc.Close() // our descriptors keep the socket; this one leaves the netpoller
	return s, nil
}

// own takes descriptors of uc's socket and makes the watches.
func (s *Socket) own(uc *net.UDPConn) error {
	rc, err := uc.SyscallConn()
	if err != nil {
		return err
	}
	var derr error
	if err := rc.Control(func(fd uintptr) {
		var dom int
		if dom, derr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_DOMAIN); derr != nil {
			return
		}
		s.v6 = dom == unix.AF_INET6
		if s.fd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0); derr != nil {
			return
		}
		s.wfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return err
	}
	if derr != nil {
		return derr
	}
	if err := s.in.init(s.fd, unix.EPOLLIN, "udp-read-watch"); err != nil {
		return err
	}
	return s.out.init(s.wfd, unix.EPOLLOUT, "udp-write-watch")
}

func (w *watch) init(fd int, ev uint32, name string) error {
	efd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return os.NewSyscallError("epoll_create1", err)
	}
	w.efd, w.fd, w.ev, w.fn = efd, fd, ev, w.take
	w.arg = unix.EpollEvent{Fd: int32(fd)} // registered disarmed
	if err := unix.EpollCtl(efd, unix.EPOLL_CTL_ADD, fd, &w.arg); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	if err := unix.SetNonblock(efd, true); err != nil {
		return os.NewSyscallError("fcntl", err)
	}
	w.ep = os.NewFile(uintptr(efd), name) // non-blocking: in the netpoller
	if w.rc, err = w.ep.SyscallConn(); err != nil {
		return err
	}
	// An instance the netpoller refused (a deadline is refused then)
	// would make every wait fail: better the fallback.
	return w.ep.SetReadDeadline(time.Time{})
}

// set arms (events != 0) or disarms the registration.
func (w *watch) set(events uint32) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.arg = unix.EpollEvent{Events: events, Fd: int32(w.fd)}
	if err := unix.EpollCtl(w.efd, unix.EPOLL_CTL_MOD, w.fd, &w.arg); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

// take consumes what the instance reports: the one-shot registration fired
// (and is disarmed by being reported). A raw call: epoll_pwait with no
// timeout never blocks.
func (w *watch) take(efd uintptr) bool {
	n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, efd, uintptr(unsafe.Pointer(&w.evs[0])),
		uintptr(len(w.evs)), 0, 0, 0)
	return e == 0 && n > 0
}

// io calls f (a system call on the socket that reports false for EAGAIN)
// until it reports true: at once, and after each wake-up of w.
func (s *Socket) io(w *watch, f func(uintptr) bool) error {
	for {
		if done, err := s.try(w, f, false); done || err != nil {
			return err
		}
		// Nothing now: arm one wake-up, look once more (what came before
		// the arming wakes nobody), then wait.
		if done, err := s.try(w, f, true); done || err != nil {
			if err == nil {
				s.disarm(w) // armed, it would wake the netpoller at each datagram until waited on
			}
			return err
		}
		if err := w.rc.Read(w.fn); err != nil {
			if s.isClosed() {
				return net.ErrClosed
			}
			return err
		}
	}
}

func (s *Socket) try(w *watch, f func(uintptr) bool, arm bool) (bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return false, net.ErrClosed
	}
	if arm {
		if err := w.set(w.ev | unix.EPOLLONESHOT); err != nil {
			return false, err
		}
	}
	return f(uintptr(s.fd)), nil
}

func (s *Socket) disarm(w *watch) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.closed {
		_ = w.set(0)
	}
}

func (s *Socket) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

// LocalAddr returns the bound address.
func (s *Socket) LocalAddr() net.Addr { return s.laddr }

// SyscallConn returns the socket's raw connection: Read and Write wait
// through the Socket's watches.
func (s *Socket) SyscallConn() (syscall.RawConn, error) {
	if s.uc != nil {
		return s.uc.SyscallConn()
	}
	return (*rawConn)(s), nil
}

type rawConn Socket

func (c *rawConn) Control(f func(fd uintptr)) error {
	s := (*Socket)(c)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return net.ErrClosed
	}
	f(uintptr(s.fd))
	return nil
}

func (c *rawConn) Read(f func(fd uintptr) bool) error { return (*Socket)(c).io(&c.in, f) }

func (c *rawConn) Write(f func(fd uintptr) bool) error { return (*Socket)(c).io(&c.out, f) }

// ReadFromUDPAddrPort reads one datagram.
func (s *Socket) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	if s.uc != nil {
		return s.uc.ReadFromUDPAddrPort(b)
	}
	var (
		n     int
		from  netip.AddrPort
		errno syscall.Errno
	)
	err := s.io(&s.in, func(fd uintptr) bool {
		var sa unix.RawSockaddrAny
		l := uint32(unsafe.Sizeof(sa))
		var p unsafe.Pointer
		if len(b) > 0 {
			p = unsafe.Pointer(&b[0])
		}
		v, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, fd, uintptr(p), uintptr(len(b)), unix.MSG_DONTWAIT,
			uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&l)))
		if e == unix.EAGAIN || e == unix.EINTR {
			return false
		}
		n, errno = int(v), e
		if e == 0 {
			from = sockaddr(&sa)
		}
		return true
	})
	if err == nil && errno != 0 {
		err = os.NewSyscallError("recvfrom", errno)
	}
	if err != nil {
		return 0, netip.AddrPort{}, &net.OpError{Op: "read", Net: "udp", Addr: s.laddr, Err: err}
	}
	return n, from, nil
}

// WriteToUDPAddrPort sends one datagram.
func (s *Socket) WriteToUDPAddrPort(b []byte, to netip.AddrPort) (int, error) {
	if s.uc != nil {
		return s.uc.WriteToUDPAddrPort(b, to)
	}
	var sa unix.RawSockaddrInet6
	l := putSockaddr(&sa, to, s.v6)
	var (
		n     int
		errno syscall.Errno
	)
	err := s.io(&s.out, func(fd uintptr) bool {
		var p unsafe.Pointer
		if len(b) > 0 {
			p = unsafe.Pointer(&b[0])
		}
		v, _, e := unix.RawSyscall6(unix.SYS_SENDTO, fd, uintptr(p), uintptr(len(b)), unix.MSG_DONTWAIT,
			uintptr(unsafe.Pointer(&sa)), uintptr(l))
		if e == unix.EAGAIN || e == unix.EINTR {
			return false
		}
		n, errno = int(v), e
		return true
	})
	if err == nil && errno != 0 {
		err = os.NewSyscallError("sendto", errno)
	}
	if err != nil {
		return 0, &net.OpError{Op: "write", Net: "udp", Addr: net.UDPAddrFromAddrPort(to), Err: err}
	}
	return n, nil
}

// SetReadBuffer sets the socket's receive buffer size.
func (s *Socket) SetReadBuffer(bytes int) error { return s.setInt(unix.SO_RCVBUF, bytes) }

// SetWriteBuffer sets the socket's send buffer size.
func (s *Socket) SetWriteBuffer(bytes int) error { return s.setInt(unix.SO_SNDBUF, bytes) }

func (s *Socket) setInt(opt, v int) error {
	if s.uc != nil {
		if opt == unix.SO_RCVBUF {
			return s.uc.SetReadBuffer(v)
		}
		return s.uc.SetWriteBuffer(v)
	}
	var serr error
	err := (*rawConn)(s).Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, opt, v) })
	if err == nil {
		err = serr
	}
	if err != nil {
		return &net.OpError{Op: "set", Net: "udp", Addr: s.laddr, Err: os.NewSyscallError("setsockopt", err)}
	}
	return nil
}

// Close closes the socket; a goroutine waiting in a read or a write
// returns net.ErrClosed.
func (s *Socket) Close() error {
	if s.uc != nil {
		return s.uc.Close()
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return net.ErrClosed
	}
	s.closed = true
	s.mu.Unlock()
	s.release()
	return nil
}

// release closes what the Socket owns: the watches (waking their waiters)
// and the descriptors.
func (s *Socket) release() {
	for _, w := range []*watch{&s.in, &s.out} {
		if w.ep != nil {
			_ = w.ep.Close()
		} else if w.efd >= 0 {
			_ = unix.Close(w.efd)
		}
		w.ep, w.efd = nil, -1
	}
	for _, fd := range []*int{&s.fd, &s.wfd} {
		if *fd >= 0 {
			_ = unix.Close(*fd)
			*fd = -1
		}
	}
}
