//go:build unix

package db_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/keyhold/keyhold/db"
)

// withUmask runs the test under umask 022, the usual default, so that a file keyhold does not create
// 0600 itself shows up as 0644.
func withUmask(t *testing.T) {
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
}

// TestOpen_FilesPrivate: the database, its -wal and -shm (SQLite gives them the database file's mode),
// the audit journal and a backup are readable by their owner alone.
func TestOpen_FilesPrivate(t *testing.T) {
	withUmask(t)
	dir := t.TempDir()
	s := mustOpenAt(t, filepath.Join(dir, db.FileName), db.Options{})
	a := mustOrg(t, s, "Acme", "ada@example.com")
	sec := mustSecret(t, s, a, "K", "v")
	mustReveal(t, s, a, sec.ID) // journals a read
	out := filepath.Join(t.TempDir(), "backup.db")
	if err := db.Backup(ctx, s.Path(), out); err != nil {
		t.Fatal(err)
	}
	want := []string{db.FileName, db.FileName + "-wal", db.FileName + "-shm", db.FileName + "-audit-journal.0",
		db.FileName + "-audit-journal.1", db.FileName + "-audit-journal.lock"}
	for _, name := range want {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		wantMode(t, filepath.Join(dir, e.Name()), 0o600)
	}
	wantMode(t, out, 0o600)
	if entries, err := os.ReadDir(filepath.Dir(out)); err != nil || len(entries) != 1 {
		t.Fatalf("beside the backup: %v %v", entries, err)
	}
}

func wantMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s: mode %#o, want %#o", filepath.Base(path), got, want)
	}
}
