package main

import "syscall"

// childAttr puts a child in its own process group (so that it can be killed with everything it
// started) and has the kernel kill it if the suite dies without cleaning up.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
