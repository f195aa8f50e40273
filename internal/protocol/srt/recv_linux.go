package srt

import (
	"encoding/binary"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

type addrPort = netip.AddrPort

// mmsghdr is struct mmsghdr: Go pads it as C does on 32- and 64-bit.
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// batchReader reads with recvmmsg into an rbatch's buffers, without
// allocating.
type batchReader struct {
	rc    syscall.RawConn
	hdrs  [readBatch]mmsghdr
	iovs  [readBatch]unix.Iovec
	names [readBatch]unix.RawSockaddrAny
	off   bool // recvmmsg missing (ENOSYS): plain reads
}

// read waits for datagrams and returns how many it read into rb.
func (rb *rbatch) read(pc *net.UDPConn) (int, error) {
	r := &rb.r
	if r.rc == nil && !r.off {
		rc, err := pc.SyscallConn()
		if err != nil {
			r.off = true
		}
		r.rc = rc
	}
	rb.fill()
	if r.off {
		n, from, err := pc.ReadFromUDPAddrPort(rb.pbs[0].b[:])
		rb.ns[0], rb.from[0] = n, from
		if err != nil {
			return 0, err
		}
		return 1, nil
	}
	for i := range r.hdrs {
		r.iovs[i].Base = &rb.pbs[i].b[0]
		r.iovs[i].SetLen(len(rb.pbs[i].b))
		h := &r.hdrs[i].hdr
		h.Name = (*byte)(unsafe.Pointer(&r.names[i]))
		h.Namelen = uint32(unsafe.Sizeof(r.names[i]))
		h.Iov = &r.iovs[i]
		h.SetIovlen(1)
		h.Control, h.Controllen, h.Flags = nil, 0, 0
		r.hdrs[i].n = 0
	}
	var n int
	var errno syscall.Errno
	err := r.rc.Read(func(fd uintptr) bool {
		v, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.hdrs[0])), readBatch,
			unix.MSG_DONTWAIT, 0, 0)
		if e == unix.EAGAIN || e == unix.EINTR {
			return false
		}
		n, errno = int(v), e
		return true
	})
	if err != nil {
		return 0, err
	}
	if errno == unix.ENOSYS {
		r.off = true
		return 0, nil
	}
	if errno != 0 {
		return 0, errno // ICMP errors surface here on some systems
	}
	k := 0
	for i := range n {
		from, ok := sockaddr(&r.names[i])
		if !ok {
			continue
		}
		if k != i {
			rb.pbs[k], rb.pbs[i] = rb.pbs[i], rb.pbs[k]
		}
		rb.ns[k], rb.from[k] = int(r.hdrs[i].n), from
		k++
	}
	return k, nil
}

// sockaddr reads a source address.
func sockaddr(sa *unix.RawSockaddrAny) (netip.AddrPort, bool) {
	switch sa.Addr.Family {
	case unix.AF_INET:
		p := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&p.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom4(p.Addr), port), true
	case unix.AF_INET6:
		p := (*unix.RawSockaddrInet6)(unsafe.Pointer(sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&p.Port))[:])
		a := netip.AddrFrom16(p.Addr)
		if p.Scope_id != 0 {
			a = a.WithZone(strconv.FormatUint(uint64(p.Scope_id), 10)) // link-local
		}
		return netip.AddrPortFrom(a, port), true
	}
	return netip.AddrPort{}, false
}
