//go:build !unix

package main

import (
	"os"
	"syscall"
)

// childAttr starts a child as is: there are no process groups here, so killGroup ends the child
// alone (keyhold and the bare server start no processes of their own). The RSS, CPU and load measures
// read Linux's /proc: here they report an error.
func childAttr() *syscall.SysProcAttr { return nil }

// terminate cannot ask p to shut down here, and says so: there is no SIGTERM to send to another
// process (on Windows os.Process.Signal sends only Kill), so stop kills it at once.
func terminate(*os.Process) bool { return false }

// killGroup kills p alone: there is no process group to kill here.
func killGroup(p *os.Process) { _ = p.Kill() }
