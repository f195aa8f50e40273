package ffmpeg

import (
	"os/exec"
	"syscall"
)

// setGroup puts the child in its own process group, so that a kill reaches
// whatever it spawned, and has the kernel kill it if srs-lite dies
// (PR_SET_PDEATHSIG, prctl(2)).
func setGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return killGroup(cmd) }
}

// killGroup kills the child's process group.
func killGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		return cmd.Process.Kill()
	}
	return nil
}
