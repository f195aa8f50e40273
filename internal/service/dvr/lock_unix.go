//go:build unix

package dvr

import (
	"errors"
	"os"
	"syscall"
)

// lock takes an exclusive advisory lock (flock) on a file being written, so
// that Repair in another process leaves it alone. The kernel drops it when
// the file is closed or the process dies.
func lock(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return errInUse
	}
	if errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EOPNOTSUPP) {
		return nil // a file system without locks
	}
	return err
}
