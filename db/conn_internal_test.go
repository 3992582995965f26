package db

import (
	"context"
	"path/filepath"
	"testing"
)

// The read connections map up to 2 GiB of the file (SQLite caps the window at its compile-time
// maximum without an error, so this checks what it took): a large audit trail must not push the
// secrets' pages out of the window.
func TestOpen_ReadersMapTwoGiB(t *testing.T) {
	t.Parallel()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), FileName), Options{MasterKey: make([]byte, MasterKeySize)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int64
	if err := s.r.QueryRow(`PRAGMA mmap_size`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n < 2<<30-1<<16 {
		t.Errorf("readers map %d bytes, want 2 GiB", n)
	}
}
