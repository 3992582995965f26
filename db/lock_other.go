//go:build !unix

package db

import "os"

// fileLocks says whether lockFile excludes other processes: not here.
const fileLocks = false

// lockFile opens path (created with mode 0600) and always succeeds: this system has no flock. What
// that gives up: a rotation of the master key is not refused while a server runs (stop the server
// first, as the README says), and the audit journal is not used (see openJournal).
func lockFile(path string, exclusive bool) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}
