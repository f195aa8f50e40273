//go:build !linux

package rtsptest

import "os/exec"

func dieWithParent(*exec.Cmd) {}
