package rtsptest

import (
	"os/exec"
	"syscall"
)

// dieWithParent kills the camera when the test binary dies (a test timeout
// skips the cleanups).
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
