package v4l2

import (
	"errors"
	"time"
)

// Device is an opened video node: the system calls capture needs. Open
// returns the real one; tests use a fake that answers like a driver.
type Device interface {
	// Ioctl issues request req on the device; arg holds the request's
	// struct, encoded, and receives what the driver writes back.
	Ioctl(req uint32, arg []byte) error
	// Mmap maps length bytes of the device's memory at offset (a buffer's
	// m.offset), shared, for reading.
	Mmap(offset int64, length int) ([]byte, error)
	// Munmap unmaps memory Mmap returned.
	Munmap(b []byte) error
	// Wait waits up to timeout for a filled buffer (poll(2) POLLIN); false
	// when the time ran out.
	Wait(timeout time.Duration) (bool, error)
	// Close closes the device.
	Close() error
}

// Errors of the device layer.
var (
	// ErrUnsupported reports a build without V4L2 (not Linux).
	ErrUnsupported = errors.New("v4l2: video capture needs Linux")
	// ErrInvalid is the driver's EINVAL: the end of an enumeration, or a
	// value the driver refuses.
	ErrInvalid = errors.New("v4l2: invalid argument")
	// ErrNotTTY is the driver's ENOTTY: the request is not implemented.
	ErrNotTTY = errors.New("v4l2: request not supported by the driver")
	// ErrAgain is EAGAIN: no buffer is ready yet.
	ErrAgain = errors.New("v4l2: no buffer ready")
	// ErrNoDevice is ENODEV: the camera was unplugged.
	ErrNoDevice = errors.New("v4l2: device gone")
)
