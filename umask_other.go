//go:build !unix

package main

// restrictUmask does nothing: this system has no umask.
func restrictUmask() {}
