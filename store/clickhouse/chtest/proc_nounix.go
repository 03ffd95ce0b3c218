//go:build !unix

package chtest

import "os/exec"

func setCredential(cmd *exec.Cmd, uid, gid uint32) {}

func terminate(cmd *exec.Cmd) { cmd.Process.Kill() }
