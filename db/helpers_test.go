package db_test

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"testing"

	"github.com/keyhold/keyhold/db"
)

var ctx = context.Background()

// testMasterKey is fixed per test binary so that reopening a test database works.
var testMasterKey = func() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}()

// mustOpen opens a real SQLite file under t.TempDir().
func mustOpen(t testing.TB) *db.Store {
	t.Helper()
	s, err := db.Open(ctx, filepath.Join(t.TempDir(), db.FileName), db.Options{MasterKey: testMasterKey})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// mustOrg creates an organization whose admin is adminEmail and returns the admin's actor.
func mustOrg(t testing.TB, s *db.Store, name, adminEmail string) db.Actor {
	t.Helper()
	org, u, err := s.CreateOrg(ctx, name, db.NewUser{Email: adminEmail, FirstName: "Ada", LastName: "Admin", Password: "correct horse battery"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.ActorFor(ctx, u.ID, org.ID, "portal", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// mustMember adds a plain member to admin's organization and returns their actor.
func mustMember(t testing.TB, s *db.Store, admin db.Actor, email string) db.Actor {
	t.Helper()
	m, err := s.AddMember(ctx, admin, db.NewUser{Email: email, FirstName: "Max", LastName: "Member", Password: "correct horse battery"}, db.OrgMember)
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.ActorFor(ctx, m.ID, admin.OrgID, "portal", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mustSecret(t testing.TB, s *db.Store, a db.Actor, name, value string) *db.Secret {
	t.Helper()
	sec, err := s.CreateSecret(ctx, a, name, value)
	if err != nil {
		t.Fatal(err)
	}
	return sec
}

func mustShare(t testing.TB, s *db.Store, owner db.Actor, sec *db.Secret, kind, id string, role db.Role) {
	t.Helper()
	if err := s.ChangeAccess(ctx, owner, sec.ID, []db.AccessChange{{Kind: kind, ID: id, Role: role}}); err != nil {
		t.Fatal(err)
	}
}

func wantCode(t testing.TB, err error, want db.Code) {
	t.Helper()
	if got := db.ErrorCode(err); got != want {
		t.Fatalf("code=%q (err=%v), want %q", got, err, want)
	}
}
