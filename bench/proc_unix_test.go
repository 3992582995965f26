//go:build unix

package main

import (
	"errors"
	"syscall"
	"testing"
)

// checkExited fails t for each of pids that a process still has: kill(pid, 0) must answer ESRCH.
func checkExited(t *testing.T, pids []int) {
	t.Helper()
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("child %d is still alive after the run (kill 0: %v)", pid, err)
		}
	}
}
