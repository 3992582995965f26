package db_test

import (
	"slices"
	"testing"

	"github.com/keyhold/keyhold/db"
)

func TestStore_AddMember(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	zed := mustOrg(t, s, "Globex", "zed@example.com")
	cli := db.SystemActor(ada.OrgID)
	bob := mustMember(t, s, ada, "bob@example.com")
	if bob.Role != db.OrgMember || bob.OrgID != ada.OrgID || bob.Email != "bob@example.com" {
		t.Fatalf("bob %+v", bob)
	}

	_, err := s.AddMember(ctx, cli, db.NewUser{Email: "BOB@example.com"}, db.OrgMember)
	wantCode(t, err, db.CodeConflict)
	// Only the operator adds members with a password: an admin, even of this organization, invites.
	for _, a := range []db.Actor{bob, ada, zed} {
		_, err = s.AddMember(ctx, a, db.NewUser{Email: "cat@example.com", Password: "correct horse battery"}, db.OrgMember)
		wantCode(t, err, db.CodeForbidden)
	}
	if _, err := s.UserByEmail(ctx, "cat@example.com"); db.ErrorCode(err) != db.CodeNotFound {
		t.Fatalf("a refused AddMember created an account: %v", err)
	}
	for _, nu := range []db.NewUser{
		{Email: "", Password: "correct horse battery"},
		{Email: "not an email", Password: "correct horse battery"},
		{Email: "Cat <cat@example.com>", Password: "correct horse battery"},
		{Email: "cat@example.com", Password: "short"},
		{Email: "cat@example.com"},
	} {
		_, err := s.AddMember(ctx, cli, nu, db.OrgMember)
		wantCode(t, err, db.CodeInvalid)
	}
	_, err = s.AddMember(ctx, cli, db.NewUser{Email: "cat@example.com", Password: "correct horse battery"}, "owner")
	wantCode(t, err, db.CodeInvalid)

	// The operator cannot attach an account that exists (whoever made it, perhaps an admin of another
	// organization holding an invitation link, may not be the person meant), with or without a
	// password: its holder accepts an invitation by signing in with it.
	for _, nu := range []db.NewUser{{Email: "Zed@Example.com"}, {Email: "zed@example.com", Password: "the operator's choice"}} {
		_, err = s.AddMember(ctx, cli, nu, db.OrgAdmin)
		wantCode(t, err, db.CodeConflict)
	}
	if _, err := s.ActorFor(ctx, zed.UserID, ada.OrgID, "portal", ""); db.ErrorCode(err) != db.CodeForbidden {
		t.Fatalf("a refused AddMember made zed a member: %v", err)
	}
	if _, _, err := s.SignIn(ctx, "zed@example.com", "the operator's choice", ""); err == nil {
		t.Fatal("a refused AddMember set zed's password")
	}
	if m := mustJoin(t, s, ada, zed, db.OrgAdmin); m.Role != db.OrgAdmin {
		t.Fatalf("zed joined as %s, want admin", m.Role)
	}
	members, err := s.ListMembers(ctx, bob, "")
	if err != nil {
		t.Fatal(err)
	}
	var emails []string
	for _, m := range members {
		emails = append(emails, m.Email)
	}
	if want := []string{"ada@example.com", "bob@example.com", "zed@example.com"}; !slices.Equal(emails, want) {
		t.Errorf("members %v, want %v", emails, want)
	}
	got, err := s.MemberByEmail(ctx, ada, " BOB@EXAMPLE.COM ")
	if err != nil || got.ID != bob.UserID {
		t.Fatalf("MemberByEmail %+v %v", got, err)
	}
	_, err = s.MemberByEmail(ctx, ada, "nobody@example.com")
	wantCode(t, err, db.CodeNotFound)
	_, err = s.MemberByEmail(ctx, ada, "")
	wantCode(t, err, db.CodeNotFound)
}

func TestStore_SignIn(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	mustOrg(t, s, "Aardvark", "ada@example.com") // first by name: the session starts there
	u, orgID, err := s.SignIn(ctx, " ADA@example.com", "correct horse battery", "192.0.2.1")
	if err != nil || u.ID != ada.UserID {
		t.Fatalf("SignIn %+v %v", u, err)
	}
	if org, err := s.OrgByName(ctx, "Aardvark"); err != nil || orgID != org.ID {
		t.Fatalf("signed in to %s, want Aardvark (%v)", orgID, err)
	}
	_, _, err = s.SignIn(ctx, "ada@example.com", "correct horse batterY", "192.0.2.1")
	wantCode(t, err, db.CodeUnauthorized)
	wrongPw := db.ErrorMessage(err)
	_, _, err = s.SignIn(ctx, "nobody@example.com", "correct horse battery", "192.0.2.1")
	wantCode(t, err, db.CodeUnauthorized)
	if db.ErrorMessage(err) != wrongPw {
		t.Errorf("unknown email and wrong password differ: %q vs %q", db.ErrorMessage(err), wrongPw)
	}
	// An account that belongs to no organization (any more) cannot start a session.
	if _, err := s.RemoveMember(ctx, db.SystemActor(ada.OrgID), mustMember(t, s, ada, "bob@example.com").UserID); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.SignIn(ctx, "bob@example.com", "correct horse battery", "192.0.2.1")
	wantCode(t, err, db.CodeForbidden)
}

func TestStore_LastAdmin(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")

	r, err := s.RemoveMember(ctx, ada, ada.UserID)
	wantCode(t, err, db.CodeConflict)
	if r == nil || r.Member.Email != "ada@example.com" || len(r.Deleted) != 0 {
		t.Fatalf("the refused removal says %+v, want it to name ada and delete nothing", r)
	}
	r, err = s.PreviewRemoveMember(ctx, ada, ada.UserID)
	wantCode(t, err, db.CodeConflict)
	if r == nil || r.Member.Email != "ada@example.com" {
		t.Fatalf("the refused preview says %+v, want it to name ada", r)
	}
	_, err = s.RemoveMember(ctx, db.SystemActor(ada.OrgID), ada.UserID)
	wantCode(t, err, db.CodeConflict)
	wantCode(t, s.SetMemberRole(ctx, ada, ada.UserID, db.OrgMember), db.CodeConflict)
	_, err = s.RemoveMember(ctx, bob, ada.UserID)
	wantCode(t, err, db.CodeForbidden)
	wantCode(t, s.SetMemberRole(ctx, bob, bob.UserID, db.OrgAdmin), db.CodeForbidden)
	wantCode(t, s.SetMemberRole(ctx, ada, bob.UserID, "owner"), db.CodeInvalid)
	_, err = s.RemoveMember(ctx, ada, "no-such-user")
	wantCode(t, err, db.CodeNotFound)
	if _, err := s.ActorFor(ctx, ada.UserID, ada.OrgID, "portal", ""); err != nil {
		t.Fatalf("ada was removed: %v", err)
	}

	// With a second admin, the first may go.
	if err := s.SetMemberRole(ctx, ada, bob.UserID, db.OrgAdmin); err != nil {
		t.Fatal(err)
	}
	bob = mustActor(t, s, bob.UserID, ada.OrgID)
	if !bob.IsAdmin() {
		t.Fatalf("bob's role %q", bob.Role)
	}
	if _, err := s.RemoveMember(ctx, bob, ada.UserID); err != nil {
		t.Fatal(err)
	}
	_, err = s.ActorFor(ctx, ada.UserID, ada.OrgID, "portal", "")
	wantCode(t, err, db.CodeForbidden)
	// Now bob is the last one.
	_, err = s.RemoveMember(ctx, bob, bob.UserID)
	wantCode(t, err, db.CodeConflict)
}

// The CLI acts as SystemActor: an admin that is no user. Its admin changes work and are recorded
// without an actor ID.
func TestStore_SystemActor_AdminChanges(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	raw := rawDB(t, s)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	cli := db.SystemActor(ada.OrgID)
	m, err := s.AddMember(ctx, cli, db.NewUser{Email: "bob@example.com", Password: "correct horse battery"}, db.OrgMember)
	if err != nil {
		t.Fatal(err)
	}
	bob := mustActor(t, s, m.ID, ada.OrgID)
	ops := mustTeam(t, s, ada, "Ops")
	if _, err := s.UpdateTeam(ctx, cli, ops.ID, db.TeamChange{AddUserIDs: []string{bob.UserID}, Name: strptr("Ops2")}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMemberRole(ctx, cli, bob.UserID, db.OrgAdmin); err != nil {
		t.Fatal(err)
	}
	sec := mustSecret(t, s, bob, "BOB_ONLY", "v")
	deleted, err := s.RemoveMember(ctx, cli, bob.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if names := secretNames(deleted.Deleted); !slices.Equal(names, []string{"BOB_ONLY"}) || deleted.Member.Email != "bob@example.com" {
		t.Fatalf("deleted %v", names)
	}
	if n := rawInt(t, raw, `SELECT COUNT(*) FROM secrets WHERE id = ? AND deleted_at IS NOT NULL AND deleted_by IS NULL`, sec.ID); n != 1 {
		t.Errorf("the orphan is not recorded as deleted by no user")
	}
	if _, err := s.DeleteTeam(ctx, cli, ops.ID); err != nil {
		t.Fatal(err)
	}
	if n := rawInt(t, raw, `SELECT COUNT(*) FROM audit_events WHERE actor_id = '' AND source = 'cli'`); n < 6 {
		t.Errorf("%d CLI events, want at least 6", n)
	}
}

func TestStore_SetupFirstOrg(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	if has, err := s.HasOrgs(ctx); err != nil || has {
		t.Fatalf("HasOrgs on a new database = %v, %v", has, err)
	}
	// Two racing setups: exactly one wins.
	type result struct {
		org *db.Org
		err error
	}
	results := make(chan result, 2)
	for _, email := range []string{"ada@example.com", "bob@example.com"} {
		go func() {
			org, _, err := s.SetupFirstOrg(ctx, "Acme "+email, db.NewUser{Email: email, Password: "correct horse battery"})
			results <- result{org, err}
		}()
	}
	var won int
	for range 2 {
		r := <-results
		if r.err == nil {
			won++
			continue
		}
		wantCode(t, r.err, db.CodeConflict)
	}
	if won != 1 {
		t.Fatalf("%d setups succeeded, want 1", won)
	}
	if has, err := s.HasOrgs(ctx); err != nil || !has {
		t.Fatalf("HasOrgs after setup = %v, %v", has, err)
	}
	_, _, err := s.SetupFirstOrg(ctx, "Later", db.NewUser{Email: "cat@example.com", Password: "correct horse battery"})
	wantCode(t, err, db.CodeConflict)
}

func TestStore_Orgs(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	acme := mustOrg(t, s, "Acme", "ada@example.com")
	_, _, err := s.CreateOrg(ctx, " ACME ", db.NewUser{Email: "ada@example.com"}, "test")
	wantCode(t, err, db.CodeConflict)
	_, _, err = s.CreateOrg(ctx, "", db.NewUser{Email: "ada@example.com"}, "test")
	wantCode(t, err, db.CodeInvalid)
	_, _, err = s.CreateOrg(ctx, "Initech", db.NewUser{Email: "new@example.com", Password: "short"}, "test")
	wantCode(t, err, db.CodeInvalid)
	if _, err := s.OrgByName(ctx, "Initech"); db.ErrorCode(err) != db.CodeNotFound {
		t.Fatalf("a refused CreateOrg left an org behind: %v", err)
	}
	globex := mustOrg(t, s, "Globex", "ada@example.com")

	org, err := s.OrgByName(ctx, " acme ")
	if err != nil || org.ID != acme.OrgID || org.Name != "Acme" {
		t.Fatalf("OrgByName %+v %v", org, err)
	}
	_, err = s.OrgByName(ctx, "Nope")
	wantCode(t, err, db.CodeNotFound)
	if org, err := s.Org(ctx, globex); err != nil || org.Name != "Globex" {
		t.Fatalf("Org %+v %v", org, err)
	}
	u, err := s.UserByEmail(ctx, " ADA@example.com ")
	if err != nil || u.ID != acme.UserID {
		t.Fatalf("UserByEmail %+v %v", u, err)
	}
	_, err = s.UserByEmail(ctx, "nobody@example.com")
	wantCode(t, err, db.CodeNotFound)

	ms, err := s.Memberships(ctx, acme.UserID)
	if err != nil || len(ms) != 2 || ms[0].OrgName != "Acme" || ms[1].OrgName != "Globex" || ms[0].Role != db.OrgAdmin {
		t.Fatalf("Memberships %+v %v", ms, err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

// The Members page reads members and invitations together; a member sees the members only.
func TestStore_Roster(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	mustOrg(t, s, "Other", "oz@example.com")
	if _, _, err := s.CreateInvitation(ctx, ada, db.NewInvitation{Email: "nia@example.com", Role: db.OrgMember}); err != nil {
		t.Fatal(err)
	}
	r, err := s.Roster(ctx, ada)
	if err != nil {
		t.Fatal(err)
	}
	var emails []string
	for _, m := range r.Members {
		emails = append(emails, m.Email)
	}
	if !slices.Equal(emails, []string{"ada@example.com", "bob@example.com"}) || len(r.Invitations) != 1 || r.Invitations[0].Email != "nia@example.com" {
		t.Fatalf("the admin's roster: members %v, invitations %+v", emails, r.Invitations)
	}
	r, err = s.Roster(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Members) != 2 || len(r.Invitations) != 0 {
		t.Fatalf("a member's roster: %d members, invitations %+v; want 2 and none", len(r.Members), r.Invitations)
	}
}
