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

// TestRotateMasterKey_RacingOrgCreate races organization creation (a store opened with the old key,
// as a concurrent `keyhold org create` has) with the end of rotation, round after round: when the
// last data key that existed is re-wrapped, creators start creating organizations while rotation
// goes on to switch the master key. Every organization that was created must open under the new key
// alone: a data key committed under a retired master key is a lost organization.
func TestRotateMasterKey_RacingOrgCreate(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), db.FileName)
	key := make([]byte, 32)
	rand.Read(key)
	s := mustOpenAt(t, path, db.Options{MasterKey: key})
	first := mustOrg(t, s, "Org-0", "admin@example.com") // the admin exists: later orgs hash no password
	s.Close()

	type org struct{ id, secret string } // secret: the value it holds, "" if none was stored
	var (
		mu      sync.Mutex
		orgs    = map[string]*org{first.OrgID: {id: first.OrgID}}
		refused atomic.Int64
		seq     atomic.Int64
	)
	const rounds, creators = 20, 3
	for round := range rounds {
		newKey := make([]byte, 32)
		rand.Read(newKey)
		old, err := db.Open(ctx, path, db.Options{MasterKey: key})
		if err != nil {
			t.Fatal(err)
		}
		start := make(chan struct{}) // one receive per creation
		var wg sync.WaitGroup
		for range creators {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range start {
					n := seq.Add(1)
					o, _, err := old.CreateOrg(ctx, fmt.Sprintf("Org-%d", n), db.NewUser{Email: "admin@example.com"}, "test")
					if err != nil {
						if !errors.Is(err, db.ErrMasterKeyRotated) {
							t.Errorf("round %d: create org: %v", round, err)
						}
						refused.Add(1)
						continue
					}
					rec := &org{id: o.ID}
					mu.Lock()
					orgs[o.ID] = rec
					mu.Unlock()
					u, err := old.UserByEmail(ctx, "admin@example.com")
					if err != nil {
						t.Error(err)
						continue
					}
					a, err := old.ActorFor(ctx, u.ID, o.ID, "cli", "")
					if err != nil {
						t.Error(err)
						continue
					}
					value := fmt.Sprintf("value of org %d", n)
					if _, err := old.CreateSecret(ctx, a, "K", []byte(value)); err == nil {
						mu.Lock()
						rec.secret = value
						mu.Unlock()
					} // once rotation is over the old store cannot unwrap a re-wrapped key: not an error here
				}
			}()
		}
		mu.Lock()
		existing := len(orgs)
		mu.Unlock()
		_, err = db.RotateMasterKeyWithHooks(ctx, path, key, newKey, func(done int) error {
			if done == existing { // the last key that existed is re-wrapped: creations start now
				for range creators {
					start <- struct{}{}
				}
			}
			return nil
		}, nil)
		close(start)
		wg.Wait()
		old.Close()
		if err != nil {
			t.Fatalf("round %d: rotate: %v", round, err)
		}
		key = newKey

		s, err := db.Open(ctx, path, db.Options{MasterKey: key})
		if err != nil {
			t.Fatalf("round %d: open with the new key: %v", round, err)
		}
		u, err := s.UserByEmail(ctx, "admin@example.com")
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range orgs {
			a, err := s.ActorFor(ctx, u.ID, o.id, "cli", "")
			if err != nil {
				t.Fatal(err)
			}
			if o.secret != "" {
				sec, err := s.SecretByName(ctx, a, "K")
				if err != nil || sec.Value != o.secret {
					t.Fatalf("round %d: org %s: secret under the new key: %v", round, o.id, err)
				}
			} else if _, err := s.CreateSecret(ctx, a, "K", []byte("after rotation")); err != nil {
				t.Fatalf("round %d: org %s: its data key does not open under the new key: %v", round, o.id, err)
			} else {
				o.secret = "after rotation"
			}
		}
		s.Close()
		if t.Failed() {
			return
		}
	}
	t.Logf("%d organizations, %d creations refused as rotated", len(orgs), refused.Load())
}

// TestCreateOrg_AfterRotationRefused: a store opened before a rotation cannot commit a data key
// wrapped under the retired master key, and its failed creation leaves nothing behind.
func TestCreateOrg_AfterRotationRefused(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), db.FileName)
	oldKey, newKey := make([]byte, 32), make([]byte, 32)
	rand.Read(oldKey)
	rand.Read(newKey)
	old := mustOpenAt(t, path, db.Options{MasterKey: oldKey})
	mustOrg(t, old, "Acme", "ada@example.com")
	if _, err := db.RotateMasterKey(ctx, path, oldKey, newKey); err != nil {
		t.Fatal(err)
	}
	_, _, err := old.CreateOrg(ctx, "Globex", db.NewUser{Email: "ada@example.com"}, "cli")
	if !errors.Is(err, db.ErrMasterKeyRotated) || err.Error() != "the master key was rotated while this command ran: run it again with the new key" {
		t.Fatalf("create org with the retired key: %v", err)
	}
	old.Close()

	s := mustOpenAt(t, path, db.Options{MasterKey: newKey})
	if _, err := s.OrgByName(ctx, "Globex"); db.ErrorCode(err) != db.CodeNotFound {
		t.Fatalf("the refused organization was committed: %v", err)
	}
	if n := rawInt(t, rawDB(t, s), `SELECT COUNT(*) FROM data_keys`); n != 1 {
		t.Fatalf("%d data keys, want Acme's alone", n)
	}
	// The new key creates it.
	mustOrg(t, s, "Globex", "ada@example.com")
}

// TestRotateMasterKey_LateDataKeyRewrapped: a data key created after rotation re-wrapped the last key
// it found, but before it switched the master key, is re-wrapped in the switching transaction.
func TestRotateMasterKey_LateDataKeyRewrapped(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), db.FileName)
	oldKey, newKey := make([]byte, 32), make([]byte, 32)
	rand.Read(oldKey)
	rand.Read(newKey)
	old := mustOpenAt(t, path, db.Options{MasterKey: oldKey})
	acme := mustOrg(t, old, "Acme", "ada@example.com")
	mustSecret(t, old, acme, "K", "acme's")
	var late db.Actor
	n, err := db.RotateMasterKeyWithHooks(ctx, path, oldKey, newKey, nil, func() error {
		late = mustOrg(t, old, "Late", "ada@example.com")
		mustSecret(t, old, late, "K", "late's")
		return nil
	})
	if err != nil || n != 2 {
		t.Fatalf("rotate: n=%d err=%v, want both data keys", n, err)
	}
	old.Close()
	s := mustOpenAt(t, path, db.Options{MasterKey: newKey})
	for a, want := range map[db.Actor]string{acme: "acme's", late: "late's"} {
		if sec, err := s.SecretByName(ctx, a, "K"); err != nil || sec.Value != want {
			t.Fatalf("under the new key: %v", err)
		}
	}
}

// With Existing, a database keyhold has not set up is refused, and left as it was; one it has set up
// opens.
func TestStore_Open_Existing(t *testing.T) {
	t.Parallel()
	loc := location(t)
	_, err := db.Open(ctx, loc, db.Options{MasterKey: testMasterKey, Existing: true})
	wantCode(t, err, db.CodeNotFound)
	s := mustOpenAt(t, loc, db.Options{}) // sets it up
	mustOrg(t, s, "Acme", "ada@example.com")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := db.Open(ctx, loc, db.Options{MasterKey: testMasterKey, Existing: true})
	if err != nil {
		t.Fatal(err)
	}
	again.Close()
}
