//go:build !linux

package db

import (
	"errors"
	"os"
)

// errNoReserve is returned by reserve where the filesystem cannot allocate ahead of a file's end.
var errNoReserve = errors.New("reserving space for a file is implemented on Linux only")

// reserve allocates space ahead of a file's end on Linux only: elsewhere journal appends on a full
// disk fail, and reads are refused.
func reserve(*os.File, int64) error { return errNoReserve }

// freeBytes is implemented on Linux only: elsewhere the probe always tries its write.
func freeBytes(string) (uint64, error) { return 0, errors.ErrUnsupported }
