package rawio

import (
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// reader reads a socket with raw read calls, waiting through its RawConn.
type reader struct {
	nc  net.Conn
	rc  syscall.RawConn
	fn  func(uintptr) bool
	p   []byte
	n   int
	err syscall.Errno
}

// NewReader returns a reader of c that reads with raw system calls, or c
// itself when it has no descriptor (a TLS connection). Read errors are
// the poller's (os.ErrDeadlineExceeded, net.ErrClosed), a system error,
// or io.EOF. One goroutine reads with it.
func NewReader(c net.Conn) io.Reader {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return c
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return c
	}
	r := &reader{nc: c, rc: rc}
	r.fn = r.read
	return r
}

func (r *reader) read(fd uintptr) bool {
	var p unsafe.Pointer
	if len(r.p) > 0 {
		p = unsafe.Pointer(&r.p[0])
	}
	v, _, e := unix.RawSyscall(unix.SYS_READ, fd, uintptr(p), uintptr(len(r.p)))
	if e == unix.EAGAIN || e == unix.EINTR {
		return false
	}
	r.n, r.err = int(v), e
	return true
}

func (r *reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.p = p
	err := r.rc.Read(r.fn)
	r.p = nil
	if err != nil {
		return 0, err
	}
	if r.err != 0 {
		return 0, &net.OpError{Op: "read", Net: r.nc.LocalAddr().Network(), Source: r.nc.LocalAddr(),
			Addr: r.nc.RemoteAddr(), Err: os.NewSyscallError("read", r.err)}
	}
	if r.n == 0 {
		return 0, io.EOF
	}
	return r.n, nil
}
