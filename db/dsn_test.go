package db_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/keyhold/keyhold/db"
)

// TestOpen_PathWithURICharacters: the database is the file at the path given, even when the path holds
// characters that mean something in a file: URI (# ends it, ? starts its query, % starts an escape).
func TestOpen_PathWithURICharacters(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"data#1", "data?mode=memory", "data%20x", "data 1"} {
		t.Run(dir, func(t *testing.T) {
			base := t.TempDir()
			path := filepath.Join(base, dir, db.FileName)
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				t.Fatal(err)
			}
			s, err := db.Open(context.Background(), path, db.Options{MasterKey: make([]byte, 32)})
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("no database at %s: %v", path, err)
			}
			entries, _ := os.ReadDir(base)
			if len(entries) != 1 || entries[0].Name() != dir {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Fatalf("files next to %q: %q", dir, names)
			}
		})
	}
}
