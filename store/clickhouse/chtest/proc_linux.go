package chtest

import (
	"os/exec"
	"syscall"
)

// setProcAttrs ties the server's life to the test process: it gets
// SIGKILL if the test binary dies without stopping it.
func setProcAttrs(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
