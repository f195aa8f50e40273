//go:build !(mips || mipsle || mips64 || mips64le || ppc64 || ppc64le)

package v4l2

// _IOC encoding of asm-generic/ioctl.h: 2 direction bits, 14 size bits.
const (
	iocWrite     = 1
	iocRead      = 2
	iocDirShift  = 30
	iocSizeShift = 16
)
