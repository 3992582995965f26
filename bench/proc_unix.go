//go:build unix

package main

import (
	"os"
	"syscall"
)

// terminate asks p to shut down with SIGTERM, on which keyhold and the bare server stop gracefully,
// and reports that it could ask.
func terminate(p *os.Process) bool {
	_ = p.Signal(syscall.SIGTERM)
	return true
}

// killGroup kills the process group p leads (childAttr gives each child its own) with SIGKILL, so
// whatever p started ends with it.
func killGroup(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGKILL) }
