package v4l2

// Request numbers (videodev2.h), built as the kernel's _IOC macro does
// (include/uapi/asm-generic/ioctl.h; MIPS and PowerPC encode the direction
// in three bits and the size in thirteen: see ioc_*.go).
var (
	VIDIOCQueryCap      = ioc(iocRead, 0, sizeCapability)
	VIDIOCEnumFmt       = ioc(iocRead|iocWrite, 2, sizeFmtDesc)
	VIDIOCGFmt          = ioc(iocRead|iocWrite, 4, sizeFormat)
	VIDIOCSFmt          = ioc(iocRead|iocWrite, 5, sizeFormat)
	VIDIOCReqBufs       = ioc(iocRead|iocWrite, 8, sizeRequestBufs)
	VIDIOCQueryBuf      = ioc(iocRead|iocWrite, 9, sizeBuffer)
	VIDIOCQBuf          = ioc(iocRead|iocWrite, 15, sizeBuffer)
	VIDIOCDQBuf         = ioc(iocRead|iocWrite, 17, sizeBuffer)
	VIDIOCStreamOn      = ioc(iocWrite, 18, sizeStreamOnOffIn)
	VIDIOCStreamOff     = ioc(iocWrite, 19, sizeStreamOnOffIn)
	VIDIOCGParm         = ioc(iocRead|iocWrite, 21, sizeStreamParm)
	VIDIOCSParm         = ioc(iocRead|iocWrite, 22, sizeStreamParm)
	VIDIOCEnumFrameSize = ioc(iocRead|iocWrite, 74, sizeFrmSizeEnum)
	VIDIOCEnumFrameIval = ioc(iocRead|iocWrite, 75, sizeFrmIvalEnum)
)

// ioc is _IOC(dir, 'V', nr, size).
func ioc(dir, nr, size uint32) uint32 {
	return dir<<iocDirShift | size<<iocSizeShift | 'V'<<8 | nr
}
