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

// refEmails lists the emails of us, in order.
func refEmails(us []db.UserRef) []string {
	out := []string{}
	for _, u := range us {
		out = append(out, u.Email)
	}
	return out
}

func TestStore_TeamView_MembersAndNonMembers(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	acme := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, acme, "bob@example.com")
	cat := mustMember(t, s, acme, "cat@example.com")
	dan := mustMember(t, s, acme, "dan@example.com")
	globex := mustOrg(t, s, "Globex", "zed@example.com") // a user, but not of Acme
	ops := mustTeam(t, s, acme, "Ops", dan, bob)
	mustTeam(t, s, acme, "Dev", cat) // another team's members are still candidates for Ops

	for _, a := range []db.Actor{acme, bob} { // every member may read it
		v, err := s.TeamView(ctx, a, ops.ID)
		if err != nil {
			t.Fatal(err)
		}
		if v.Team.ID != ops.ID || v.Team.Name != "Ops" || v.Team.OrgID != acme.OrgID {
			t.Errorf("team %+v", v.Team)
		}
		if got, want := refEmails(v.Team.Members), []string{"bob@example.com", "dan@example.com"}; !slices.Equal(got, want) {
			t.Errorf("members %v, want %v", got, want)
		}
		if got, want := refEmails(v.NonMembers), []string{"ada@example.com", "cat@example.com"}; !slices.Equal(got, want) {
			t.Errorf("non-members %v, want %v (the organization's others, by email)", got, want)
		}
		if len(v.NonMembers) == 2 && (v.NonMembers[0].Name != "Ada Admin" || v.NonMembers[1].Name != "cat Member" || v.NonMembers[1].ID != cat.UserID) {
			t.Errorf("non-members %+v, want their names and IDs", v.NonMembers)
		}
		if v.Removed != nil || v.Deleted != nil {
			t.Errorf("a read reports a change: %+v", v)
		}
	}

	empty := mustTeam(t, s, acme, "Empty")
	v, err := s.TeamView(ctx, acme, empty.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := refEmails(v.NonMembers), []string{"ada@example.com", "bob@example.com", "cat@example.com", "dan@example.com"}; len(v.Team.Members) != 0 || !slices.Equal(got, want) {
		t.Errorf("empty team: members %v, non-members %v", v.Team.Members, got)
	}

	// Another organization's team, no team and an unknown one are not found.
	for _, id := range []string{ops.ID, "", "no-such-team"} {
		_, err := s.TeamView(ctx, globex, id)
		wantCode(t, err, db.CodeNotFound)
	}
	_, err = s.TeamView(ctx, acme, "")
	wantCode(t, err, db.CodeNotFound)
	_, err = s.TeamView(ctx, acme, "no-such-team")
	wantCode(t, err, db.CodeNotFound)
}

func TestStore_UpdateTeam_ReturnsTheView(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	raw := rawDB(t, s)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	cat := mustMember(t, s, ada, "cat@example.com")
	dan := mustMember(t, s, ada, "dan@example.com")
	ops := mustTeam(t, s, ada, "Ops", bob)

	// Adding (and renaming in the same change): the team as the change left it.
	v, err := s.UpdateTeam(ctx, ada, ops.ID, db.TeamChange{Name: strptr("Platform"), AddEmails: []string{"CAT@example.com"}, NonMembers: true})
	if err != nil {
		t.Fatal(err)
	}
	if v.Team.ID != ops.ID || v.Team.Name != "Platform" {
		t.Errorf("team %+v, want renamed", v.Team)
	}
	if got, want := refEmails(v.Team.Members), []string{"bob@example.com", "cat@example.com"}; !slices.Equal(got, want) {
		t.Errorf("members %v, want %v", got, want)
	}
	if got, want := refEmails(v.NonMembers), []string{"ada@example.com", "dan@example.com"}; !slices.Equal(got, want) {
		t.Errorf("non-members %v, want %v", got, want)
	}
	if len(v.Removed) != 0 || len(v.Deleted) != 0 {
		t.Errorf("adding removed %v and deleted %v", v.Removed, v.Deleted)
	}

	// Removing bob and dan, who is not in the team: only bob is reported removed.
	v, err = s.UpdateTeam(ctx, ada, ops.ID, db.TeamChange{RemoveUserIDs: []string{bob.UserID, dan.UserID}, NonMembers: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Removed) != 1 || v.Removed[0].ID != bob.UserID || v.Removed[0].Email != "bob@example.com" || v.Removed[0].Name != "bob Member" {
		t.Errorf("removed %+v, want bob alone, named", v.Removed)
	}
	if got, want := refEmails(v.Team.Members), []string{"cat@example.com"}; !slices.Equal(got, want) {
		t.Errorf("members %v, want %v", got, want)
	}
	if got, want := refEmails(v.NonMembers), []string{"ada@example.com", "bob@example.com", "dan@example.com"}; !slices.Equal(got, want) {
		t.Errorf("non-members %v, want %v", got, want)
	}

	// Removing someone who is not in the team removes nobody and records nothing. Without
	// NonMembers the answer does not read the organization's other members.
	events := auditCount(t, raw)
	v, err = s.UpdateTeam(ctx, ada, ops.ID, db.TeamChange{RemoveEmails: []string{"bob@example.com"}})
	if err == nil && v.NonMembers != nil {
		t.Errorf("non-members %v read without NonMembers", refEmails(v.NonMembers))
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Removed) != 0 || len(v.Deleted) != 0 || !slices.Equal(refEmails(v.Team.Members), []string{"cat@example.com"}) {
		t.Errorf("removing a non-member: %+v", v)
	}
	if n := auditCount(t, raw); n != events {
		t.Errorf("removing a non-member recorded %d events", n-events)
	}

	// The last-Owner rule's deletions come with the members whose leaving caused them.
	orphan := mustSecret(t, s, ada, "VIA_OPS", "v")
	mustShare(t, s, ada, orphan, db.PrincipalTeam, ops.ID, db.RoleOwner)
	mustRevoke(t, s, ada, orphan, db.PrincipalUser, ada.UserID)
	v, err = s.UpdateTeam(ctx, ada, ops.ID, db.TeamChange{RemoveUserIDs: []string{cat.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Removed) != 1 || v.Removed[0].ID != cat.UserID || !slices.Equal(secretNames(v.Deleted), []string{"VIA_OPS"}) || len(v.Team.Members) != 0 {
		t.Errorf("removing the last Owner: removed %+v, deleted %v, members %v", v.Removed, secretNames(v.Deleted), v.Team.Members)
	}
}

func TestStore_PreviewUpdateTeam_ReturnsTheViewAndChangesNothing(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	raw := rawDB(t, s)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	cat := mustMember(t, s, ada, "cat@example.com")
	dan := mustMember(t, s, ada, "dan@example.com")
	ops := mustTeam(t, s, ada, "Ops", bob, cat)
	before, err := s.TeamView(ctx, ada, ops.ID)
	if err != nil {
		t.Fatal(err)
	}
	events := auditCount(t, raw)

	v, err := s.PreviewUpdateTeam(ctx, ada, ops.ID, db.TeamChange{Name: strptr("Platform"), AddUserIDs: []string{dan.UserID}, RemoveUserIDs: []string{bob.UserID}, NonMembers: true})
	if err != nil {
		t.Fatal(err)
	}
	if v.Team.Name != "Platform" || !slices.Equal(refEmails(v.Team.Members), []string{"cat@example.com", "dan@example.com"}) {
		t.Errorf("previewed team %+v, want the would-be team", v.Team)
	}
	if got, want := refEmails(v.NonMembers), []string{"ada@example.com", "bob@example.com"}; !slices.Equal(got, want) {
		t.Errorf("previewed non-members %v, want %v", got, want)
	}
	if got := refEmails(v.Removed); !slices.Equal(got, []string{"bob@example.com"}) {
		t.Errorf("previewed removed %v, want bob", got)
	}

	after, err := s.TeamView(ctx, ada, ops.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Team.Name != "Ops" || !slices.Equal(refEmails(after.Team.Members), refEmails(before.Team.Members)) ||
		!slices.Equal(refEmails(after.NonMembers), refEmails(before.NonMembers)) {
		t.Errorf("the preview changed the team: %+v, was %+v", after, before)
	}
	if n := auditCount(t, raw); n != events {
		t.Errorf("the preview recorded %d events", n-events)
	}
	// A refused change is refused by its preview too.
	_, err = s.PreviewUpdateTeam(ctx, ada, ops.ID, db.TeamChange{AddEmails: []string{"zed@example.com"}})
	wantCode(t, err, db.CodeInvalid)
}

func TestStore_DeleteTeam_ReturnsTheTeamAsItWas(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	ops := mustTeam(t, s, ada, "Ops", bob)

	for _, del := range []func() (*db.TeamView, error){
		func() (*db.TeamView, error) { return s.PreviewDeleteTeam(ctx, ada, ops.ID) },
		func() (*db.TeamView, error) { return s.DeleteTeam(ctx, ada, ops.ID) },
	} {
		v, err := del()
		if err != nil {
			t.Fatal(err)
		}
		if v.Team.ID != ops.ID || v.Team.Name != "Ops" || !slices.Equal(refEmails(v.Team.Members), []string{"bob@example.com"}) || len(v.Deleted) != 0 {
			t.Errorf("view %+v, want Ops with bob", v)
		}
	}
	_, err := s.TeamView(ctx, ada, ops.ID)
	wantCode(t, err, db.CodeNotFound)
}
