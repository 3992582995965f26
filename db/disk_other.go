//go:build !linux

package db

import "errors"

// freeBytes is implemented on Linux only: elsewhere the probe always tries its write.
func freeBytes(string) (uint64, error) { return 0, errors.ErrUnsupported }
