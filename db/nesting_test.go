package db_test

import (
	"slices"
	"testing"

	"github.com/keyhold/keyhold/db"
)

func mustNest(t *testing.T, s *db.Store, a db.Actor, outer, inner *db.Team) {
	t.Helper()
	if _, err := s.UpdateTeam(ctx, a, outer.ID, db.TeamChange{AddTeamIDs: []string{inner.ID}}); err != nil {
		t.Fatal(err)
	}
}

// A grant to an outer team reaches the members of the teams inside it, at any depth, in every
// read (lookup, list, count, fetch); taking the nesting away takes the access away at once, the
// fetch cache included.
func TestNesting_GrantReachesInnerMembersAndUnnestingRemovesIt(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "acme", "ada@example.com")
	dina := mustMember(t, s, ada, "dina@example.com")
	platform := mustTeam(t, s, ada, "Platform")
	databases := mustTeam(t, s, ada, "Databases")
	postgres := mustTeam(t, s, ada, "Postgres", dina)
	sec := mustSecret(t, s, ada, "DB_URL", "postgres://x")
	mustShare(t, s, ada, sec, db.PrincipalTeam, platform.ID, db.RoleReader)

	wantAccess(t, s, dina, sec.ID, "")
	wantFetch(t, s, dina, "DB_URL", "")
	mustNest(t, s, ada, platform, databases)
	mustNest(t, s, ada, databases, postgres)
	wantAccess(t, s, dina, sec.ID, db.RoleReader)
	wantFetch(t, s, dina, "DB_URL", "postgres://x")
	page, err := s.ListSecrets(ctx, dina, "", 0, 50)
	if err != nil || page.Total != 1 || len(page.Secrets) != 1 {
		t.Fatalf("list = %+v, %v; want DB_URL", page, err)
	}

	// The middle link goes: dina's fetch, remembered a moment ago, no longer answers.
	if _, err := s.UpdateTeam(ctx, ada, databases.ID, db.TeamChange{RemoveTeamIDs: []string{postgres.ID}}); err != nil {
		t.Fatal(err)
	}
	wantAccess(t, s, dina, sec.ID, "")
	wantFetch(t, s, dina, "DB_URL", "")
	page, err = s.ListSecrets(ctx, dina, "", 0, 50)
	if err != nil || page.Total != 0 {
		t.Fatalf("list after unnesting = %+v, %v; want nothing", page, err)
	}

	// Deleting a team in the middle cuts the path too.
	mustNest(t, s, ada, databases, postgres)
	wantFetch(t, s, dina, "DB_URL", "postgres://x")
	if _, err := s.DeleteTeam(ctx, ada, databases.ID); err != nil {
		t.Fatal(err)
	}
	wantFetch(t, s, dina, "DB_URL", "")
}

func TestNesting_CycleRefused(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "acme", "ada@example.com")
	a, b, c := mustTeam(t, s, ada, "A"), mustTeam(t, s, ada, "B"), mustTeam(t, s, ada, "C")
	mustNest(t, s, ada, a, b)
	mustNest(t, s, ada, b, c)
	for _, tc := range []struct{ outer, inner *db.Team }{{c, a}, {b, a}, {a, a}, {c, b}} {
		_, err := s.UpdateTeam(ctx, ada, tc.outer.ID, db.TeamChange{AddTeamIDs: []string{tc.inner.ID}, Name: ptr("renamed")})
		wantCode(t, err, db.CodeInvalid)
	}
	// Nothing of a refused change stays: not the name, not the edge.
	got, err := s.TeamByID(ctx, ada, c.ID)
	if err != nil || got.Name != "C" || len(got.MemberTeams) != 0 || len(got.InTeams) != 1 || got.InTeams[0].ID != b.ID {
		t.Fatalf("C = %+v, %v", got, err)
	}
	// A team of another organization is no member team.
	eve := mustOrg(t, s, "evil", "eve@example.com")
	other := mustTeam(t, s, eve, "Other")
	_, err = s.UpdateTeam(ctx, ada, a.ID, db.TeamChange{AddTeamIDs: []string{other.ID}})
	wantCode(t, err, db.CodeInvalid)
	_, err = s.UpdateTeam(ctx, eve, other.ID, db.TeamChange{AddTeamIDs: []string{a.ID}})
	wantCode(t, err, db.CodeInvalid)
}

// The last-Owner rule counts the Owners reached through nested teams: revoking the direct Owner is
// allowed while an inner member owns the secret through the outer team, and refused once none does;
// taking the inner team out then deletes the secret it orphans.
func TestNesting_LastOwnerThroughNesting(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "acme", "ada@example.com")
	olga := mustMember(t, s, ada, "olga@example.com")
	outer := mustTeam(t, s, ada, "Outer")
	inner := mustTeam(t, s, ada, "Inner", olga)
	mustNest(t, s, ada, outer, inner)
	sec := mustSecret(t, s, olga, "TOKEN", "v")
	mustShare(t, s, olga, sec, db.PrincipalTeam, outer.ID, db.RoleOwner)
	mustRevoke(t, s, olga, sec, db.PrincipalUser, olga.UserID) // olga still owns it through Outer › Inner
	wantAccess(t, s, olga, sec.ID, db.RoleOwner)
	err := s.ChangeAccess(ctx, olga, sec.ID, []db.AccessChange{{Kind: db.PrincipalTeam, ID: outer.ID, Revoke: true}})
	wantCode(t, err, db.CodeConflict)

	v, err := s.UpdateTeam(ctx, ada, outer.ID, db.TeamChange{RemoveTeamIDs: []string{inner.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Deleted) != 1 || v.Deleted[0].ID != sec.ID {
		t.Fatalf("deleted = %+v, want TOKEN", v.Deleted)
	}
	wantAccess(t, s, olga, sec.ID, "")
}

// Team Owners manage their team without being admins; other members may not, and a team Owner does
// not manage other teams or delete their own.
func TestTeamOwners_ManageTheirTeam(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "acme", "ada@example.com")
	tom := mustMember(t, s, ada, "tom@example.com")
	mia := mustMember(t, s, ada, "mia@example.com")
	team := mustTeam(t, s, ada, "Ops")
	other := mustTeam(t, s, ada, "Other")
	_, err := s.UpdateTeam(ctx, tom, team.ID, db.TeamChange{AddUserIDs: []string{mia.UserID}})
	wantCode(t, err, db.CodeForbidden)
	if _, err := s.ChangeTeamAccess(ctx, ada, team.ID, []db.RoleGrant{{Role: "Owner", UserIDs: []string{tom.UserID}}}, nil); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.CanManageTeam(ctx, tom, team.ID); err != nil || !ok {
		t.Fatalf("CanManageTeam = %v, %v", ok, err)
	}
	if _, err := s.UpdateTeam(ctx, tom, team.ID, db.TeamChange{AddUserIDs: []string{mia.UserID}, AddTeamIDs: []string{other.ID}}); err != nil {
		t.Fatal(err)
	}
	_, err = s.UpdateTeam(ctx, tom, other.ID, db.TeamChange{AddUserIDs: []string{mia.UserID}})
	wantCode(t, err, db.CodeForbidden)
	_, err = s.DeleteTeam(ctx, tom, team.ID)
	wantCode(t, err, db.CodeForbidden)
	_, err = s.UpdateTeam(ctx, mia, team.ID, db.TeamChange{Name: ptr("Mine")})
	wantCode(t, err, db.CodeForbidden)

	entries, err := s.TeamAccess(ctx, mia, team.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Role+" "+e.Kind+" "+e.User.Email+e.Team.Name)
	}
	if want := []string{"Owner user tom@example.com", "Member user mia@example.com", "Member team Other"}; !slices.Equal(got, want) {
		t.Fatalf("team access = %q, want %q", got, want)
	}

	// Leaving the organization ends the ownership.
	if _, err := s.RemoveMember(ctx, ada, tom.UserID); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.CanManageTeam(ctx, tom, team.ID); ok {
		t.Fatal("a former member still manages the team")
	}
}

func TestOrgAccess_KeepsAnOwner(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	err := s.ChangeOrgAccess(ctx, ada, ada.OrgID, nil, []db.RoleGrant{{Role: "Owner", UserIDs: []string{ada.UserID}}})
	wantCode(t, err, db.CodeConflict)
	err = s.ChangeOrgAccess(ctx, bob, ada.OrgID, []db.RoleGrant{{Role: "Owner", UserIDs: []string{bob.UserID}}}, nil)
	wantCode(t, err, db.CodeForbidden)
	// Promote bob and demote ada in one change: one Owner remains, so it is allowed.
	if err := s.ChangeOrgAccess(ctx, ada, ada.OrgID, []db.RoleGrant{{Role: "Owner", UserIDs: []string{bob.UserID}}},
		[]db.RoleGrant{{Role: "Owner", UserIDs: []string{ada.UserID}}}); err != nil {
		t.Fatal(err)
	}
	entries, err := s.OrgAccess(ctx, ada, ada.OrgID)
	if err != nil || len(entries) != 2 || entries[0].Role != "Owner" || entries[0].User.ID != bob.UserID || entries[1].Role != "Member" {
		t.Fatalf("org access = %+v, %v", entries, err)
	}
	eve := mustOrg(t, s, "evil", "eve@example.com")
	_, err = s.OrgAccess(ctx, eve, ada.OrgID)
	wantCode(t, err, db.CodeNotFound)
}

func TestIdentityRoles_ThroughNestedTeamsAndOnlyWhatTheCallerSees(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "acme", "ada@example.com")
	dina := mustMember(t, s, ada, "dina@example.com")
	carl := mustMember(t, s, ada, "carl@example.com")
	outer := mustTeam(t, s, ada, "Outer")
	inner := mustTeam(t, s, ada, "Inner", dina)
	mustNest(t, s, ada, outer, inner)
	seen := mustSecret(t, s, ada, "SEEN", "v")
	hidden := mustSecret(t, s, ada, "HIDDEN", "v")
	mustShare(t, s, ada, seen, db.PrincipalTeam, outer.ID, db.RoleReader)
	mustShare(t, s, ada, seen, db.PrincipalUser, carl.UserID, db.RoleReader)
	mustShare(t, s, ada, hidden, db.PrincipalTeam, outer.ID, db.RoleOwner)

	roles, err := s.UserIdentityRoles(ctx, ada, dina.UserID, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []db.IdentityRole{{"Organization", ada.OrgID, "Member"}, {"Team", inner.ID, "Member"}, {"Team", outer.ID, "Member"},
		{"Secret", hidden.ID, "Owner"}, {"Secret", seen.ID, "Reader"}}
	if !slices.Equal(roles, want) {
		t.Fatalf("roles = %+v, want %+v", roles, want)
	}
	// carl reads SEEN only: HIDDEN's role is not shown to him.
	roles, err = s.UserIdentityRoles(ctx, carl, dina.UserID, "Secret")
	if err != nil || !slices.Equal(roles, []db.IdentityRole{{"Secret", seen.ID, "Reader"}}) {
		t.Fatalf("roles seen by carl = %+v, %v", roles, err)
	}
	roles, err = s.TeamIdentityRoles(ctx, ada, inner.ID, "")
	if err != nil || !slices.Equal(roles, []db.IdentityRole{{"Team", outer.ID, "Member"}, {"Secret", hidden.ID, "Owner"}, {"Secret", seen.ID, "Reader"}}) {
		t.Fatalf("team roles = %+v, %v", roles, err)
	}
	_, err = s.UserIdentityRoles(ctx, ada, dina.UserID, "Planet")
	wantCode(t, err, db.CodeInvalid)
	eve := mustOrg(t, s, "evil", "eve@example.com")
	_, err = s.UserIdentityRoles(ctx, eve, dina.UserID, "")
	wantCode(t, err, db.CodeNotFound)
	_, err = s.TeamIdentityRoles(ctx, eve, inner.ID, "")
	wantCode(t, err, db.CodeNotFound)
}

func TestTextMatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"alice@example.com", "alice@example.com", true},
		{"alice@example.com", "ALICE@example.com", true},
		{"alice@example.com", "malice@example.com", false},
		{`.*@example\.com`, "bob@example.com", true},
		{`.*@example\.com`, "bob@example.org", false},
		{"Plat.*", "Platform", true},
		{"Plat", "Platform", false},
		{"a+b@x.io", "a+b@x.io", true}, // a value that is also an expression matches itself
	} {
		m, err := db.ParseTextMatch("email", tc.pattern)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Matches(tc.s); got != tc.want {
			t.Errorf("%q matches %q = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
	_, err := db.ParseTextMatch("name", "(unclosed")
	wantCode(t, err, db.CodeInvalid)
	if m, err := db.ParseTextMatch("name", ""); m != nil || err != nil || !m.Matches("anything") {
		t.Fatal("an empty filter must match everything")
	}
}

func ptr(s string) *string { return &s }
