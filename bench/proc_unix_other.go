//go:build unix && !linux

package main

import "syscall"

// childAttr puts a child in its own process group, so that it can be killed with everything it
// started. (The RSS measures need Linux's /proc; elsewhere they report an error.)
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
