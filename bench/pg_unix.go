//go:build unix

package main

import (
	"os"
	"syscall"
)

// pgAttr is a child's attributes (childAttr) for initdb and the throwaway server, run as uid:gid
// with no supplementary groups when uid ≥ 0. Go sets the parent-death signal after changing the
// credentials, which would otherwise clear it.
func pgAttr(uid, gid int) *syscall.SysProcAttr {
	a := childAttr()
	if uid >= 0 {
		a.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	return a
}

// quitPostgres asks the postmaster for an immediate shutdown (SIGQUIT): it ends its backends and
// exits without a checkpoint, which a throwaway server does not need; with clean, for a fast one
// (SIGINT), which leaves the data directory ready to start again.
func quitPostgres(p *os.Process, clean bool) {
	if clean {
		_ = p.Signal(syscall.SIGINT)
		return
	}
	_ = p.Signal(syscall.SIGQUIT)
}
