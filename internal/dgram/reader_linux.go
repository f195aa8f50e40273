package dgram

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsghdr is struct mmsghdr: Go pads it as C does on 32- and 64-bit.
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// batchReader is recvmmsg's state: its headers live with the Reader, so
// that reading allocates nothing.
type batchReader struct {
	rc    syscall.RawConn
	hdrs  [ReadBatch]mmsghdr
	iovs  [ReadBatch]unix.Iovec
	names [ReadBatch]unix.RawSockaddrAny
	off   bool // recvmmsg missing (ENOSYS), or no raw socket: plain reads

	// The call's arguments and results: fn is made once, so that the
	// closure RawConn.Read takes allocates nothing.
	fn    func(fd uintptr) bool
	want  int
	got   int
	errno syscall.Errno
}

func (b *batchReader) recvmmsg(fd uintptr) bool {
	v, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.hdrs[0])), uintptr(b.want),
		unix.MSG_DONTWAIT, 0, 0)
	if e == unix.EAGAIN || e == unix.EINTR {
		return false
	}
	b.got, b.errno = int(v), e
	return true
}

func (r *Reader) readBatch(bufs [][]byte, ns []int, from []netip.AddrPort) (int, error) {
	b := &r.r
	if b.rc == nil {
		rc, err := r.uc.SyscallConn()
		if err != nil {
			b.off = true
			return r.read1(bufs[0], ns, from)
		}
		b.rc, b.fn = rc, b.recvmmsg
	}
	for i, buf := range bufs {
		b.iovs[i].Base = &buf[0]
		b.iovs[i].SetLen(len(buf))
		h := &b.hdrs[i].hdr
		h.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		h.Namelen = uint32(unsafe.Sizeof(b.names[i]))
		h.Iov = &b.iovs[i]
		h.SetIovlen(1)
		h.Control, h.Controllen, h.Flags = nil, 0, 0
		b.hdrs[i].n = 0
	}
	b.want = len(bufs)
	err := b.rc.Read(b.fn)
	n, errno := b.got, b.errno
	clear(b.iovs[:len(bufs)]) // no pointers into the caller's buffers kept
	if err != nil {
		return 0, err
	}
	if errno == unix.ENOSYS {
		b.off = true
		return 0, nil
	}
	if errno != 0 {
		return 0, errno // ICMP errors surface here on some systems
	}
	for i := range n {
		ns[i] = int(b.hdrs[i].n)
		from[i] = sockaddr(&b.names[i])
	}
	return n, nil
}

// sockaddr reads a source address; an unknown family is invalid.
func sockaddr(sa *unix.RawSockaddrAny) netip.AddrPort {
	switch sa.Addr.Family {
	case unix.AF_INET:
		p := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&p.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom4(p.Addr), port)
	case unix.AF_INET6:
		p := (*unix.RawSockaddrInet6)(unsafe.Pointer(sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&p.Port))[:])
		a := netip.AddrFrom16(p.Addr)
		if p.Scope_id != 0 {
			a = a.WithZone(strconv.FormatUint(uint64(p.Scope_id), 10)) // link-local
		}
		return netip.AddrPortFrom(a, port)
	}
	return netip.AddrPort{}
}
