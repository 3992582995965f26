//go:build !unix

package main

import (
	"os"
	"syscall"
)

// pgAttr is childAttr: there is no user to switch to here (the suite is never root).
func pgAttr(int, int) *syscall.SysProcAttr { return childAttr() }

// quitPostgres kills the postmaster: there is no signal to ask it with here.
func quitPostgres(p *os.Process, _ bool) { _ = p.Kill() }
