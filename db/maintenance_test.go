package db_test

import (
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/keyhold/keyhold/db"
)

func TestRotateMasterKey_InterruptedThenFinished(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, db.FileName)
	oldKey, newKey := make([]byte, 32), make([]byte, 32)
	rand.Read(oldKey)
	rand.Read(newKey)
	s, err := db.Open(ctx, path, db.Options{MasterKey: oldKey})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	var actors []db.Actor
	for i := range 4 {
		a := mustOrg(t, s, fmt.Sprintf("Org%d", i), fmt.Sprintf("admin%d@example.com", i))
		actors = append(actors, a)
		name := fmt.Sprintf("KEY_%d", i)
		want[name] = fmt.Sprintf("value %d\n", i)
		mustSecret(t, s, a, name, want[name])
	}
	s.Close()

	// Interrupted after two of the four data keys.
	n, err := db.RotateMasterKeyWithHooks(ctx, path, oldKey, newKey, func(done int) error {
		if done == 2 {
			return errors.New("crash")
		}
		return nil
	}, nil)
	if err == nil || n != 2 {
		t.Fatalf("interrupted rotation: n=%d err=%v", n, err)
	}
	// Run again: it finishes the other two.
	if n, err := db.RotateMasterKey(ctx, path, oldKey, newKey); err != nil || n != 2 {
		t.Fatalf("second run: n=%d err=%v", n, err)
	}
	// A third run has nothing left to do.
	if n, err := db.RotateMasterKey(ctx, path, oldKey, newKey); err != nil || n != 0 {
		t.Fatalf("third run: n=%d err=%v", n, err)
	}
	if _, err := db.Open(ctx, path, db.Options{MasterKey: oldKey}); !errors.Is(err, db.ErrWrongMasterKey) {
		t.Fatalf("old key after rotation: %v", err)
	}
	s, err = db.Open(ctx, path, db.Options{MasterKey: newKey})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i, a := range actors {
		name := fmt.Sprintf("KEY_%d", i)
		sec, err := s.SecretByName(ctx, a, name)
		if err != nil {
			t.Fatalf("%s after rotation: %v", name, err)
		}
		if sec.Value != want[name] {
			t.Fatalf("%s after rotation = %q, want %q", name, sec.Value, want[name])
		}
	}
	other := make([]byte, 32)
	rand.Read(other)
	if _, err := db.RotateMasterKey(ctx, path, other, oldKey); !errors.Is(err, db.ErrWrongMasterKey) {
		t.Fatalf("rotation with a stranger's key: %v", err)
	}
}

func TestBackup_UnderWriteLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, db.FileName)
	s, err := db.Open(ctx, path, db.Options{MasterKey: testMasterKey})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := mustOrg(t, s, "Acme", "ada@example.com")
	for i := range 20 {
		mustSecret(t, s, a, fmt.Sprintf("BEFORE_%d", i), fmt.Sprintf("before\n%d", i))
	}
	var (
		wg      sync.WaitGroup
		stop    atomic.Bool
		written sync.Map
		errs    atomic.Int64
	)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				name := fmt.Sprintf("DURING_%d_%d", w, i)
				if _, err := s.CreateSecret(ctx, a, name, []byte(name+"-value")); err != nil {
					errs.Add(1)
					return
				}
				written.Store(name, true)
			}
		}()
	}
	out := filepath.Join(t.TempDir(), "backup.db")
	err = db.Backup(ctx, path, out)
	stop.Store(true)
	wg.Wait()
	if err != nil || errs.Load() > 0 {
		t.Fatalf("backup: %v, writer errors %d", err, errs.Load())
	}
	if err := db.Backup(ctx, path, out); err == nil {
		t.Fatal("backup over an existing file succeeded")
	}

	// Restore: the snapshot alone in a fresh directory, opened with the same master key.
	restored, err := db.Open(ctx, out, db.Options{MasterKey: testMasterKey})
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	page, err := restored.ListSecrets(ctx, a, "", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, sec := range page.Secrets {
		got, err := restored.RevealSecret(ctx, a, sec.ID)
		if err != nil {
			t.Fatal(err)
		}
		var want string
		if _, err := fmt.Sscanf(sec.Name, "BEFORE_%d", new(int)); err == nil {
			want = "before\n" + sec.Name[len("BEFORE_"):]
		} else {
			want = sec.Name + "-value"
		}
		if got.Value != want {
			t.Fatalf("%s restored as %q, want %q", sec.Name, got.Value, want)
		}
		seen++
	}
	if seen < 20 {
		t.Fatalf("restored %d secrets, want at least the 20 written before the backup", seen)
	}
}
