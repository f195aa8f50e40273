//go:build !linux

package v4l2

// Open fails: V4L2 is Linux's.
func Open(path string) (Device, error) { return nil, ErrUnsupported }
