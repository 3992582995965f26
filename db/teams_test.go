package db_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/keyhold/keyhold/db"
)

func strptr(s string) *string { return &s }

func TestStore_CreateTeam_UniqueNamePerOrg(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	acme := mustOrg(t, s, "Acme", "ada@example.com")
	globex := mustOrg(t, s, "Globex", "ada@example.com")
	ops, err := s.CreateTeam(ctx, acme, "  Ops  ", "On call")
	if err != nil {
		t.Fatal(err)
	}
	if ops.Name != "Ops" || ops.Description != "On call" || ops.OrgID != acme.OrgID || ops.ID == "" {
		t.Fatalf("created %+v", ops)
	}
	for _, name := range []string{"Ops", "ops", "OPS", " oPs "} {
		_, err := s.CreateTeam(ctx, acme, name, "")
		wantCode(t, err, db.CodeConflict)
	}
	if _, err := s.CreateTeam(ctx, globex, "ops", ""); err != nil {
		t.Fatalf("the same name in another org: %v", err)
	}
	for _, name := range []string{"", "   ", "a\x00b", strings.Repeat("t", 257)} {
		_, err := s.CreateTeam(ctx, acme, name, "")
		wantCode(t, err, db.CodeInvalid)
	}
	teams, err := s.ListTeams(ctx, acme)
	if err != nil || len(teams) != 1 || teams[0].ID != ops.ID {
		t.Fatalf("Acme teams %+v %v", teams, err)
	}
}

func TestStore_UpdateTeam_Rename(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	ops := mustTeam(t, s, ada, "Ops")
	mustTeam(t, s, ada, "Dev")

	if _, err := s.UpdateTeam(ctx, ada, ops.ID, db.TeamChange{Name: strptr("Platform"), Description: strptr("Runs things")}); err != nil {
		t.Fatal(err)
	}
	got, err := s.TeamByID(ctx, ada, ops.ID)
	if err != nil || got.Name != "Platform" || got.Description != "Runs things" {
		t.Fatalf("after rename %+v %v", got, err)
	}
	// The old name is free again, a new case of its own name is fine, another team's name is not.
	mustTeam(t, s, ada, "ops")
	if _, err := s.UpdateTeam(ctx, ada, ops.ID, db.TeamChange{Name: strptr("PLATFORM")}); err != nil {
		t.Fatalf("recasing its own name: %v", err)
	}
	_, err = s.UpdateTeam(ctx, ada, ops.ID, db.TeamChange{Name: strptr("dev")})
	wantCode(t, err, db.CodeConflict)
	_, err = s.UpdateTeam(ctx, ada, ops.ID, db.TeamChange{Name: strptr(" ")})
	wantCode(t, err, db.CodeInvalid)
	got, err = s.TeamByID(ctx, ada, ops.ID)
	if err != nil || got.Name != "PLATFORM" {
		t.Fatalf("failed renames changed the name: %+v %v", got, err)
	}
	teams, err := s.ListTeams(ctx, ada)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tm := range teams {
		names = append(names, tm.Name)
	}
	if want := []string{"Dev", "ops", "PLATFORM"}; !slices.Equal(names, want) {
		t.Errorf("teams %v, want %v (by name, case-insensitively)", names, want)
	}
}

func TestStore_UpdateTeam_Members(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	cat := mustMember(t, s, ada, "cat@example.com")
	zed := mustOrg(t, s, "Globex", "zed@example.com") // a user, but not of Acme
	ops := mustTeam(t, s, ada, "Ops")

	if _, err := s.UpdateTeam(ctx, ada, ops.ID, db.TeamChange{AddUserIDs: []string{bob.UserID}, AddEmails: []string{" CAT@Example.com "}}); err != nil {
		t.Fatal(err)
	}
	if m := teamMemberEmails(t, s, ada, ops.ID); !slices.Equal(m, []string{"bob@example.com", "cat@example.com"}) {
		t.Fatalf("members %v", m)
	}
	// Adding someone twice is a no-op.
	if _, err := s.UpdateTeam(ctx, ada, ops.ID, db.TeamChange{AddUserIDs: []string{bob.UserID}}); err != nil {
		t.Fatal(err)
	}

	// A stranger in the batch refuses the whole change.
	for _, ch := range []db.TeamChange{
		{AddUserIDs: []string{ada.UserID, zed.UserID}},
		{AddEmails: []string{"ada@example.com", "zed@example.com"}},
		{AddEmails: []string{"nobody@example.com"}},
		{AddUserIDs: []string{"no-such-id"}},
		{RemoveUserIDs: []string{bob.UserID, zed.UserID}},
	} {
		_, err := s.UpdateTeam(ctx, ada, ops.ID, ch)
		wantCode(t, err, db.CodeInvalid)
		if m := teamMemberEmails(t, s, ada, ops.ID); !slices.Equal(m, []string{"bob@example.com", "cat@example.com"}) {
			t.Fatalf("a refused change altered members: %v", m)
		}
	}
	_, err := s.UpdateTeam(ctx, ada, ops.ID, db.TeamChange{AddEmails: []string{"zed@example.com"}})
	if !strings.Contains(db.ErrorMessage(err), "zed@example.com") {
		t.Errorf("message %q does not name the stranger", db.ErrorMessage(err))
	}

	if _, err := s.UpdateTeam(ctx, ada, ops.ID, db.TeamChange{RemoveEmails: []string{"Bob@example.com"}, RemoveUserIDs: []string{cat.UserID}}); err != nil {
		t.Fatal(err)
	}
	if m := teamMemberEmails(t, s, ada, ops.ID); len(m) != 0 {
		t.Fatalf("members %v after removing both", m)
	}
}

func TestStore_Teams_AdminsOnly(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	ops := mustTeam(t, s, ada, "Ops", bob)

	_, err := s.CreateTeam(ctx, bob, "Mine", "")
	wantCode(t, err, db.CodeForbidden)
	_, err = s.UpdateTeam(ctx, bob, ops.ID, db.TeamChange{Name: strptr("Mine")})
	wantCode(t, err, db.CodeForbidden)
	_, err = s.PreviewUpdateTeam(ctx, bob, ops.ID, db.TeamChange{RemoveUserIDs: []string{bob.UserID}})
	wantCode(t, err, db.CodeForbidden)
	_, err = s.DeleteTeam(ctx, bob, ops.ID)
	wantCode(t, err, db.CodeForbidden)
	_, err = s.PreviewDeleteTeam(ctx, bob, ops.ID)
	wantCode(t, err, db.CodeForbidden)

	// Members may read teams.
	teams, err := s.ListTeams(ctx, bob)
	if err != nil || len(teams) != 1 || teams[0].Name != "Ops" || len(teams[0].Members) != 1 {
		t.Fatalf("bob lists %+v %v", teams, err)
	}
	// The system actor is no user, and a team's creator must be one: refused with a code, not a
	// foreign-key failure.
	_, err = s.CreateTeam(ctx, db.SystemActor(ada.OrgID), "Ops2", "")
	wantCode(t, err, db.CodeForbidden)
}

func TestStore_Teams_OtherOrgIsNotFound(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	acme := mustOrg(t, s, "Acme", "ada@example.com")
	globex := mustOrg(t, s, "Globex", "ada@example.com")
	ops := mustTeam(t, s, acme, "Ops")

	_, err := s.TeamByID(ctx, globex, ops.ID)
	wantCode(t, err, db.CodeNotFound)
	_, err = s.TeamByID(ctx, acme, "")
	wantCode(t, err, db.CodeNotFound)
	_, err = s.UpdateTeam(ctx, globex, ops.ID, db.TeamChange{Name: strptr("Taken")})
	wantCode(t, err, db.CodeNotFound)
	_, err = s.DeleteTeam(ctx, globex, ops.ID)
	wantCode(t, err, db.CodeNotFound)
	teams, err := s.ListTeams(ctx, globex)
	if err != nil || len(teams) != 0 {
		t.Fatalf("globex lists %+v %v", teams, err)
	}
	if got, err := s.TeamByID(ctx, acme, ops.ID); err != nil || got.Name != "Ops" {
		t.Fatalf("the team changed: %+v %v", got, err)
	}
}
