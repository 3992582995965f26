//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestDataFilesPrivate: under the usual umask 022, everything keyhold writes into the data directory
// (the CLI and a server), and a backup, is readable by its owner alone, and the directory is 0700; a
// server started on a data directory others can read says so in one warning line.
func TestDataFilesPrivate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	bin := buildKeyhold(t)
	data := filepath.Join(t.TempDir(), "keyhold-data")
	want := seedOrgs(t, data)
	keys := apiKeys(t, data, want)
	private := func(when string) {
		t.Helper()
		wantPerm(t, data, 0o700)
		for _, name := range tree(t, data) {
			if name != "." {
				wantPerm(t, filepath.Join(data, name), 0o600)
			}
		}
		if t.Failed() {
			t.Fatalf("%s: %v", when, tree(t, data))
		}
	}
	private("after the CLI")

	addr := freeAddr(t)
	srv := startServer(t, bin, data, addr, nil)
	wantServed(t, addr, keys, want) // journals reads
	for _, name := range []string{"keyhold.db-wal", "keyhold.db-shm", "keyhold.db-audit-journal.0", "keyhold.db-serve.lock"} {
		if _, err := os.Stat(filepath.Join(data, name)); err != nil {
			t.Fatalf("while serving: %v", err)
		}
	}
	private("while serving")
	stopServer(t, srv)
	private("after the server stopped")
	if strings.Contains(srv.stderr.String(), "other users") {
		t.Fatalf("a warning about a private data directory:\n%s", srv.stderr.String())
	}

	out := filepath.Join(t.TempDir(), "backup.db")
	if code, _, errOut := cli(t, data, "", "backup", "--out", out); code != 0 {
		t.Fatal(errOut)
	}
	wantPerm(t, out, 0o600)

	if err := os.Chmod(data, 0o755); err != nil {
		t.Fatal(err)
	}
	srv = startServer(t, bin, data, addr, nil)
	stopServer(t, srv)
	var warnings []string
	for _, line := range strings.Split(srv.stderr.String(), "\n") {
		if strings.Contains(line, "level=WARN") {
			warnings = append(warnings, line)
		}
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "other users") || !strings.Contains(warnings[0], data) {
		t.Fatalf("warnings for a 0755 data directory: %q", warnings)
	}
}
