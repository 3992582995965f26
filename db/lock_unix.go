//go:build unix

package db

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// fileLocks says whether lockFile excludes other processes.
const fileLocks = true

// lockFile opens path (created with mode 0600) and takes a flock on it without waiting: exclusive or
// shared. It returns ErrLocked when another process holds a lock that conflicts. Closing the file
// releases the lock, and so does the end of the process.
func lockFile(path string, exclusive bool) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	if err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}
