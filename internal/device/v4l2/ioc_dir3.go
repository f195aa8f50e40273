//go:build mips || mipsle || mips64 || mips64le || ppc64 || ppc64le

package v4l2

// _IOC encoding of arch/mips and arch/powerpc: 3 direction bits, 13 size
// bits.
const (
	iocWrite     = 4
	iocRead      = 2
	iocDirShift  = 29
	iocSizeShift = 16
)
