package db_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyhold/keyhold/db"
)

// The SDK fetch remembers its answers; these tests fetch first, so an answer is remembered, then
// change what it depends on and fetch again: every change must show at once.

// fetchValue fetches name as a and returns its value, or "" when a cannot read it.
func fetchValue(t *testing.T, s *db.Store, a db.Actor, name string) string {
	t.Helper()
	sec, err := s.SecretByName(ctx, a, name)
	if db.ErrorCode(err) == db.CodeNotFound {
		return ""
	}
	if err != nil {
		t.Fatalf("SecretByName(%s): %v", name, err)
	}
	return sec.Value
}

func wantFetch(t *testing.T, s *db.Store, a db.Actor, name, want string) {
	t.Helper()
	for range 2 { // the second fetch is answered from what the first remembered
		if got := fetchValue(t, s, a, name); got != want {
			t.Fatalf("fetch %s as %s = %.40q, want %.40q", name, a.Email, got, want)
		}
	}
}

func TestFetchCache_EveryChangeShowsAtOnce(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	carol := mustMember(t, s, ada, "carol@example.com")

	// Not there yet, then created, then a new value, then deleted.
	wantFetch(t, s, ada, "STRIPE_KEY", "")
	sec := mustSecret(t, s, ada, "STRIPE_KEY", "v1")
	wantFetch(t, s, ada, "STRIPE_KEY", "v1")
	if _, err := s.UpdateSecret(ctx, ada, sec.ID, []byte("v2"), 0); err != nil {
		t.Fatal(err)
	}
	wantFetch(t, s, ada, "STRIPE_KEY", "v2")

	// Shared with Bob directly: he sees it; revoked: he does not.
	wantFetch(t, s, bob, "STRIPE_KEY", "")
	mustShare(t, s, ada, sec, db.PrincipalUser, bob.UserID, db.RoleReader)
	wantFetch(t, s, bob, "STRIPE_KEY", "v2")
	mustRevoke(t, s, ada, sec, db.PrincipalUser, bob.UserID)
	wantFetch(t, s, bob, "STRIPE_KEY", "")

	// Through a team: shared with the team, Carol joins, Carol leaves, the team is deleted.
	team := mustTeam(t, s, ada, "platform", bob)
	mustShare(t, s, ada, sec, db.PrincipalTeam, team.ID, db.RoleReader)
	wantFetch(t, s, bob, "STRIPE_KEY", "v2")
	wantFetch(t, s, carol, "STRIPE_KEY", "")
	if _, err := s.UpdateTeam(ctx, ada, team.ID, db.TeamChange{AddUserIDs: []string{carol.UserID}}); err != nil {
		t.Fatal(err)
	}
	wantFetch(t, s, carol, "STRIPE_KEY", "v2")
	if _, err := s.UpdateTeam(ctx, ada, team.ID, db.TeamChange{RemoveUserIDs: []string{carol.UserID}}); err != nil {
		t.Fatal(err)
	}
	wantFetch(t, s, carol, "STRIPE_KEY", "")
	if _, err := s.DeleteTeam(ctx, ada, team.ID); err != nil {
		t.Fatal(err)
	}
	wantFetch(t, s, bob, "STRIPE_KEY", "")

	// Bob as an Owner leaves the organization: his answers go with him; Ada's stay right.
	mustShare(t, s, ada, sec, db.PrincipalUser, bob.UserID, db.RoleOwner)
	wantFetch(t, s, bob, "STRIPE_KEY", "v2")
	if _, err := s.RemoveMember(ctx, ada, bob.UserID); err != nil {
		t.Fatal(err)
	}
	wantFetch(t, s, bob, "STRIPE_KEY", "")
	wantFetch(t, s, ada, "STRIPE_KEY", "v2")

	if _, err := s.DeleteSecret(ctx, ada, sec.ID); err != nil {
		t.Fatal(err)
	}
	wantFetch(t, s, ada, "STRIPE_KEY", "")
	// The name is free again, and a new secret under it is fetched, not the deleted one.
	mustSecret(t, s, ada, "STRIPE_KEY", "v3")
	wantFetch(t, s, ada, "STRIPE_KEY", "v3")
}

// A secret whose last Owner leaves is deleted by that member change: the answers for it go too.
func TestFetchCache_OrphanDeletedByMemberRemoval(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	carol := mustMember(t, s, ada, "carol@example.com")
	sec := mustSecret(t, s, bob, "BOB_TOKEN", "bob's")
	mustShare(t, s, bob, sec, db.PrincipalUser, carol.UserID, db.RoleReader)
	wantFetch(t, s, carol, "BOB_TOKEN", "bob's")
	if _, err := s.RemoveMember(ctx, ada, bob.UserID); err != nil {
		t.Fatal(err)
	}
	wantFetch(t, s, carol, "BOB_TOKEN", "")
}

// Every fetch is audited, whether or not its answer was remembered.
func TestFetchCache_EveryFetchAudited(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "acme", "ada@example.com")
	sec := mustSecret(t, s, ada, "AUDITED", "value")
	const n = 25
	for range n {
		wantFetch(t, s, ada, "AUDITED", "value")
	}
	if err := s.SyncAudit(); err != nil {
		t.Fatal(err)
	}
	r := rawDB(t, s)
	if got := rawInt(t, r, `SELECT COUNT(*) FROM audit_events WHERE action = ? AND secret_id = ?`, db.ActionSecretRead, sec.ID); got != 2*n {
		t.Fatalf("%d read events, want %d", got, 2*n)
	}
}

// Large values are not remembered, and are still fetched right after a change.
func TestFetchCache_LargeValue(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "acme", "ada@example.com")
	big := strings.Repeat("a", 200<<10)
	sec := mustSecret(t, s, ada, "BIG", big)
	wantFetch(t, s, ada, "BIG", big)
	if _, err := s.UpdateSecret(ctx, ada, sec.ID, []byte(big+"b"), 0); err != nil {
		t.Fatal(err)
	}
	wantFetch(t, s, ada, "BIG", big+"b")
}

// A change made by another process (the CLI, a second instance) reaches this one's answers within
// the poll interval of PRAGMA data_version.
func TestFetchCache_ChangeByAnotherProcess(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), db.FileName)
	s := mustOpenAt(t, path, db.Options{})
	ada := mustOrg(t, s, "acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	sec := mustSecret(t, s, ada, "SHARED", "value")
	mustShare(t, s, ada, sec, db.PrincipalUser, bob.UserID, db.RoleReader)
	wantFetch(t, s, bob, "SHARED", "value")

	other := mustOpenAt(t, path, db.Options{})
	adaThere := mustActor(t, other, ada.UserID, ada.OrgID)
	mustRevoke(t, other, adaThere, sec, db.PrincipalUser, bob.UserID)
	if _, err := other.UpdateSecret(ctx, adaThere, sec.ID, []byte("changed elsewhere"), 0); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for fetchValue(t, s, bob, "SHARED") != "" {
		if time.Now().After(deadline) {
			t.Fatal("Bob still fetches the secret 5 s after another process revoked his access")
		}
		time.Sleep(10 * time.Millisecond)
	}
	wantFetch(t, s, ada, "SHARED", "changed elsewhere")
}
