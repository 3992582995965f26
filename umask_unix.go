//go:build unix

package main

import "syscall"

// restrictUmask makes whatever keyhold creates private to its user, whatever mode the code that
// creates it asks for: a second line of defence behind the explicit 0600 and 0700.
func restrictUmask() { syscall.Umask(0o077) }
