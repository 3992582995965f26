//go:build !unix

package main

import "os"

// signaledByTerminal is false: without process groups, every signal is passed on.
var signaledByTerminal = func(sig os.Signal, pid int) bool { return false }
