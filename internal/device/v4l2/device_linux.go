package v4l2

import (
	"errors"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fdDevice is a video node opened through the kernel.
type fdDevice struct {
	fd   int
	path string
}

// Open opens a video node such as /dev/video0 for capture, non-blocking
// (Wait polls for buffers).
func Open(path string) (Device, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("v4l2: open %s: %w", path, err)
	}
	return &fdDevice{fd: fd, path: path}, nil
}

func (d *fdDevice) Ioctl(req uint32, arg []byte) error {
	var p unsafe.Pointer
	if len(arg) > 0 {
		p = unsafe.Pointer(&arg[0])
	}
	for {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(d.fd), uintptr(req), uintptr(p))
		switch e {
		case 0:
			return nil
		case unix.EINTR:
			continue
		}
		return errnoErr(e)
	}
}

// errnoErr maps the errors callers act on to the package's, keeping the
// errno in the chain.
func errnoErr(e unix.Errno) error {
	switch e {
	case unix.EINVAL:
		return fmt.Errorf("%w (%v)", ErrInvalid, e)
	case unix.ENOTTY:
		return fmt.Errorf("%w (%v)", ErrNotTTY, e)
	case unix.EAGAIN:
		return ErrAgain
	case unix.ENODEV, unix.ENXIO:
		return fmt.Errorf("%w (%v)", ErrNoDevice, e)
	}
	return e
}

func (d *fdDevice) Mmap(offset int64, length int) ([]byte, error) {
	b, err := unix.Mmap(d.fd, offset, length, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("v4l2: mmap %s: %w", d.path, err)
	}
	return b, nil
}

func (d *fdDevice) Munmap(b []byte) error { return unix.Munmap(b) }

func (d *fdDevice) Wait(timeout time.Duration) (bool, error) {
	fds := []unix.PollFd{{Fd: int32(d.fd), Events: unix.POLLIN}}
	deadline := time.Now().Add(timeout)
	for {
		ms := int(time.Until(deadline) / time.Millisecond)
		if ms < 0 {
			ms = 0
		}
		n, err := unix.Poll(fds, ms)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("v4l2: poll %s: %w", d.path, err)
		}
		if n == 0 {
			return false, nil
		}
		if fds[0].Revents&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0 && fds[0].Revents&unix.POLLIN == 0 {
			return false, fmt.Errorf("v4l2: poll %s: %w", d.path, ErrNoDevice)
		}
		return true, nil
	}
}

func (d *fdDevice) Close() error { return unix.Close(d.fd) }
