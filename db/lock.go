package db

import (
	"errors"
	"os"
)

// ErrLocked is returned by LockServe and LockRotation while another process holds the lock in a way
// that conflicts.
var ErrLocked = errors.New("db: locked by another process")

// Lock is an advisory lock on a file beside the database. Close releases it; so does the end of the
// process, however it ends.
type Lock struct{ f *os.File }

// Close releases the lock.
func (l *Lock) Close() error { return l.f.Close() }

// serveLockPath is the file that keeps servers and master key rotation apart for the database at
// dbPath.
func serveLockPath(dbPath string) string { return dbPath + "-serve.lock" }

// LockServe takes the lock a server holds for its whole life on the database at dbPath: shared, so
// that servers do not exclude one another. It returns ErrLocked while a rotation of the master key
// holds it.
func LockServe(dbPath string) (*Lock, error) {
	f, err := lockFile(serveLockPath(dbPath), false)
	if err != nil {
		return nil, err
	}
	return &Lock{f: f}, nil
}

// LockRotation takes the same lock exclusively, for a rotation of the master key: it returns
// ErrLocked while a server runs on the database at dbPath, and while it is held no server starts.
func LockRotation(dbPath string) (*Lock, error) {
	f, err := lockFile(serveLockPath(dbPath), true)
	if err != nil {
		return nil, err
	}
	return &Lock{f: f}, nil
}
