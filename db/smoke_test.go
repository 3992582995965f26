package db_test

import (
	"testing"

	"github.com/keyhold/keyhold/db"
)

func TestStore_Smoke(t *testing.T) {
	s := mustOpen(t)
	admin := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, admin, "bob@example.com")
	sec := mustSecret(t, s, admin, "API_TOKEN", "v1\n")
	if _, err := s.SecretByID(ctx, bob, sec.ID); db.ErrorCode(err) != db.CodeNotFound {
		t.Fatalf("bob sees it: %v", err)
	}
	mustShare(t, s, admin, sec, db.PrincipalUser, bob.UserID, db.RoleReader)
	got, err := s.SecretByName(ctx, bob, "API_TOKEN")
	if err != nil || got.Value != "v1\n" || got.Access != db.RoleReader {
		t.Fatalf("got %+v %v", got, err)
	}
	_, err = s.UpdateSecret(ctx, bob, sec.ID, "v2", 0)
	wantCode(t, err, db.CodeForbidden)
	page, err := s.ListSecrets(ctx, bob, "TOK", 0, 50)
	if err != nil || page.Total != 1 || len(page.Secrets) != 1 {
		t.Fatalf("list %+v %v", page, err)
	}
	err = s.ChangeAccess(ctx, admin, sec.ID, []db.AccessChange{{Kind: db.PrincipalUser, ID: admin.UserID, Revoke: true}})
	wantCode(t, err, db.CodeConflict)
	deleted, err := s.RemoveMember(ctx, admin, bob.UserID, true)
	if err != nil || len(deleted) != 0 {
		t.Fatalf("%v %v", deleted, err)
	}
}
