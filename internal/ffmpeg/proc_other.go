//go:build !linux

package ffmpeg

import "os/exec"

// setGroup leaves the child in srs-lite's process group: only Linux builds
// run ffmpeg children in the field.
func setGroup(cmd *exec.Cmd) {}

// killGroup kills the child.
func killGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	return cmd.Process.Kill()
}
