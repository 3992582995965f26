//go:build unix

package main

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// signaledByTerminal reports whether sig is a Ctrl-C or Ctrl-\ that the terminal sent to its whole
// foreground process group, the command's (pid) included: keyhold and the command are both in it. A
// kill aimed at keyhold alone while it runs in the foreground looks the same, and is not passed on
// either. Tests replace it.
var signaledByTerminal = func(sig os.Signal, pid int) bool {
	if sig != os.Interrupt && sig != syscall.SIGQUIT {
		return false
	}
	tty, err := os.Open("/dev/tty") // the controlling terminal, whatever stdin is
	if err != nil {
		return false
	}
	defer tty.Close()
	fg, err := unix.IoctlGetInt(int(tty.Fd()), unix.TIOCGPGRP)
	if err != nil {
		return false
	}
	own, err := unix.Getpgid(0)
	if err != nil {
		return false
	}
	child, err := unix.Getpgid(pid)
	return err == nil && fg == own && fg == child
}
