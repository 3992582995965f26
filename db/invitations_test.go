package db_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyhold/keyhold/db"
)

func mustInvite(t testing.TB, s *db.Store, admin db.Actor, email string, role db.OrgRole, teams ...string) (string, *db.Invitation) {
	t.Helper()
	token, inv, err := s.CreateInvitation(ctx, admin, db.NewInvitation{Email: email, Role: role, TeamIDs: teams})
	if err != nil {
		t.Fatal(err)
	}
	return token, inv
}

func memberOrgs(t testing.TB, s *db.Store, userID string) []string {
	t.Helper()
	ms, err := s.Memberships(ctx, userID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		out = append(out, m.OrgName)
	}
	return out
}

func TestStore_Invitation_NewAccount(t *testing.T) {
	t.Parallel()
	s, clock := mustOpenClock(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	platform := mustTeam(t, s, ada, "Platform")
	sec := mustSecret(t, s, ada, "DB_PASSWORD", "hunter2hunter2")
	mustShare(t, s, ada, sec, db.PrincipalTeam, platform.ID, db.RoleReader)

	token, inv := mustInvite(t, s, ada, " Newhire@Example.com ", db.OrgMember, platform.ID)
	if inv.State != db.InvitationPending || inv.Email != "Newhire@Example.com" || inv.Role != db.OrgMember ||
		!inv.ExpiresAt.Equal(inv.CreatedAt.Add(7*24*time.Hour)) || len(inv.Teams) != 1 || inv.Teams[0].Name != "Platform" || inv.CreatedBy.ID != ada.UserID {
		t.Fatalf("invitation %+v", inv)
	}
	got, err := s.InvitationByToken(ctx, token)
	if err != nil || got.ID != inv.ID || got.OrgName != "Acme" || got.CreatedBy.Email != "ada@example.com" || len(got.Teams) != 1 {
		t.Fatalf("InvitationByToken %+v %v", got, err)
	}
	clock.Add(time.Hour)

	// Bad input changes nothing: the link still works afterwards.
	_, _, err = s.AcceptInvitationNewAccount(ctx, token, db.NewAccount{FirstName: "New", LastName: "Hire", Password: "short"})
	wantCode(t, err, db.CodeInvalid)
	_, _, err = s.AcceptInvitationNewAccount(ctx, token, db.NewAccount{FirstName: "New\x00", Password: "my own good password"})
	wantCode(t, err, db.CodeInvalid)
	if _, err := s.UserByEmail(ctx, "newhire@example.com"); db.ErrorCode(err) != db.CodeNotFound {
		t.Fatalf("a refused acceptance created the account: %v", err)
	}

	u, orgID, err := s.AcceptInvitationNewAccount(ctx, token, db.NewAccount{FirstName: "New", LastName: "Hire", Password: "my own good password", ClientIP: "192.0.2.4"})
	if err != nil || orgID != ada.OrgID || u.Email != "Newhire@Example.com" || u.Name() != "New Hire" {
		t.Fatalf("accept: %+v %q %v", u, orgID, err)
	}
	wantSignIn(t, s, "newhire@example.com", "my own good password", true)
	newhire := mustActor(t, s, u.ID, ada.OrgID)
	if newhire.Role != db.OrgMember {
		t.Errorf("role %q", newhire.Role)
	}
	if v := mustReveal(t, s, newhire, sec.ID); v != "hunter2hunter2" {
		t.Errorf("through Platform the new hire reads %q", v)
	}
	// Used up.
	_, err = s.InvitationByToken(ctx, token)
	wantCode(t, err, db.CodeNotFound)
	_, _, err = s.AcceptInvitationNewAccount(ctx, token, db.NewAccount{Password: "another good password"})
	wantCode(t, err, db.CodeNotFound)
	listed, err := s.InvitationByID(ctx, ada, inv.ID)
	if err != nil || listed.State != db.InvitationAccepted || listed.ActedAt.IsZero() {
		t.Fatalf("after accepting: %+v %v", listed, err)
	}

	// Recorded: the invitation, the acceptance, the new member, and on the secret that they gained
	// Reader through Platform.
	for _, action := range []string{db.ActionInvitationCreate, db.ActionInvitationAccept, db.ActionMemberAdd} {
		if evs := auditActions(t, s, ada, action); len(evs) != 1 {
			t.Errorf("%s: %d events, want 1", action, len(evs))
		}
	}
	act, err := s.SecretActivity(ctx, ada, sec.ID, 50)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(act, func(e db.AuditEvent) bool { return e.Action == db.ActionAccessViaTeam })
	if i < 0 {
		t.Fatalf("no %s event in the secret's activity: %+v", db.ActionAccessViaTeam, act)
	}
	if e := act[i]; e.TargetID != u.ID || e.Role != string(db.RoleReader) || e.Detail != "Platform; invited by ada@example.com" || e.SecretName != "DB_PASSWORD" {
		t.Errorf("event %+v", e)
	}
}

func TestStore_Invitation_ExistingAccount(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	zed := mustOrg(t, s, "Globex", "zed@example.com")
	token, _ := mustInvite(t, s, ada, "zed@example.com", db.OrgAdmin)

	// Nobody can make a second account for the email, or set its password through the link.
	_, _, err := s.AcceptInvitationNewAccount(ctx, token, db.NewAccount{FirstName: "Not", LastName: "Zed", Password: "an attacker's password"})
	wantCode(t, err, db.CodeConflict)
	wantSignIn(t, s, "zed@example.com", "an attacker's password", false)
	_, _, err = s.AcceptInvitationSignIn(ctx, token, "not zed's password", "192.0.2.5")
	wantCode(t, err, db.CodeUnauthorized)
	if orgs := memberOrgs(t, s, zed.UserID); !slices.Equal(orgs, []string{"Globex"}) {
		t.Fatalf("zed is in %v after refusals", orgs)
	}
	// Signed in as someone else, the link is refused, even as an account whose email only folds to
	// the invitation's (ſ folds to s under strings.EqualFold, but is another address).
	_, err = s.AcceptInvitation(ctx, token, ada.UserID, "")
	wantCode(t, err, db.CodeForbidden)
	sedToken, _ := mustInvite(t, s, ada, "sed@example.com", db.OrgMember)
	longS := mustOrg(t, s, "Initech", "ſed@example.com")
	_, err = s.AcceptInvitation(ctx, sedToken, longS.UserID, "")
	wantCode(t, err, db.CodeForbidden)

	u, orgID, err := s.AcceptInvitationSignIn(ctx, token, helperPassword, "192.0.2.5")
	if err != nil || u.ID != zed.UserID || orgID != ada.OrgID {
		t.Fatalf("accept with the account's password: %+v %q %v", u, orgID, err)
	}
	if a := mustActor(t, s, zed.UserID, ada.OrgID); !a.IsAdmin() {
		t.Errorf("zed joined Acme as %q, want admin", a.Role)
	}
}

func TestStore_Invitation_Refusals(t *testing.T) {
	t.Parallel()
	s, clock := mustOpenClock(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	zed := mustOrg(t, s, "Globex", "zed@example.com")
	globexTeam := mustTeam(t, s, zed, "Globex ops")
	for _, tc := range []struct {
		name  string
		actor db.Actor
		in    db.NewInvitation
		want  db.Code
	}{
		{"not an admin", bob, db.NewInvitation{Email: "cat@example.com"}, db.CodeForbidden},
		{"already a member", ada, db.NewInvitation{Email: "BOB@example.com"}, db.CodeConflict},
		{"bad email", ada, db.NewInvitation{Email: "Cat <cat@example.com>"}, db.CodeInvalid},
		{"empty email", ada, db.NewInvitation{Email: " "}, db.CodeInvalid},
		{"unknown role", ada, db.NewInvitation{Email: "cat@example.com", Role: "owner"}, db.CodeInvalid},
		{"another org's team", ada, db.NewInvitation{Email: "cat@example.com", TeamIDs: []string{globexTeam.ID}}, db.CodeInvalid},
		{"no such team", ada, db.NewInvitation{Email: "cat@example.com", TeamIDs: []string{"no-such-team"}}, db.CodeInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := s.CreateInvitation(ctx, tc.actor, tc.in)
			wantCode(t, err, tc.want)
		})
	}
	if invs, err := s.ListInvitations(ctx, ada, db.InvitationFilter{}); err != nil || len(invs) != 0 {
		t.Fatalf("after refusals: %d invitations, %v", len(invs), err)
	}
	_, err := s.ListInvitations(ctx, bob, db.InvitationFilter{})
	wantCode(t, err, db.CodeForbidden)

	// Inviting again replaces the pending invitation: the first link dies.
	first, firstInv := mustInvite(t, s, ada, "cat@example.com", db.OrgMember)
	second, _ := mustInvite(t, s, ada, "cat@example.com", db.OrgAdmin)
	_, err = s.InvitationByToken(ctx, first)
	wantCode(t, err, db.CodeNotFound)
	if got, err := s.InvitationByID(ctx, ada, firstInv.ID); err != nil || got.State != db.InvitationRevoked {
		t.Fatalf("first invitation %+v %v, want revoked", got, err)
	}
	// Another organization's admin cannot see or revoke it.
	_, err = s.InvitationByID(ctx, zed, firstInv.ID)
	wantCode(t, err, db.CodeNotFound)
	_, err = s.RevokeInvitation(ctx, zed, firstInv.ID)
	wantCode(t, err, db.CodeNotFound)
	_, err = s.RevokeInvitation(ctx, bob, firstInv.ID)
	wantCode(t, err, db.CodeForbidden)

	// Refused, revoked and expired links all stop working, with one message.
	if inv, err := s.RefuseInvitation(ctx, second, ""); err != nil || inv.OrgName != "Acme" {
		t.Fatalf("refused %+v, %v; want Acme's invitation", inv, err)
	}
	_, _, err = s.AcceptInvitationNewAccount(ctx, second, db.NewAccount{Password: "a good password!"})
	wantCode(t, err, db.CodeNotFound)
	msg := db.ErrorMessage(err)

	revoked, revokedInv := mustInvite(t, s, ada, "dan@example.com", db.OrgMember)
	if _, err := s.RevokeInvitation(ctx, ada, revokedInv.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.RevokeInvitation(ctx, ada, revokedInv.ID)
	wantCode(t, err, db.CodeConflict)
	expired, _ := mustInvite(t, s, ada, "eve@example.com", db.OrgMember)
	clock.Add(7*24*time.Hour + time.Second)
	for _, tok := range []string{revoked, expired, "", "not-a-token"} {
		_, _, err := s.AcceptInvitationNewAccount(ctx, tok, db.NewAccount{Password: "a good password!"})
		wantCode(t, err, db.CodeNotFound)
		if db.ErrorMessage(err) != msg {
			t.Errorf("message %q, want the one message %q", db.ErrorMessage(err), msg)
		}
		_, err = s.RefuseInvitation(ctx, tok, "")
		wantCode(t, err, db.CodeNotFound)
	}
	for _, email := range []string{"cat@example.com", "dan@example.com", "eve@example.com"} {
		if _, err := s.UserByEmail(ctx, email); db.ErrorCode(err) != db.CodeNotFound {
			t.Errorf("%s has an account: %v", email, err)
		}
	}
}

// Inviting answers the same, and does the same work, whether or not the email has an account
// anywhere on the instance: an organization admin learns nothing about other organizations' people.
func TestStore_Invitation_SameAnswerForExistingAccounts(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	mustOrg(t, s, "Globex", "zed@example.com")
	_, known, err := s.CreateInvitation(ctx, ada, db.NewInvitation{Email: "zed@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	_, unknown, err := s.CreateInvitation(ctx, ada, db.NewInvitation{Email: "nobody@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	norm := func(i db.Invitation) db.Invitation {
		i.ID, i.Email, i.CreatedAt, i.ExpiresAt = "", "", time.Time{}, time.Time{}
		return i
	}
	if a, b := norm(*known), norm(*unknown); !slices.EqualFunc([]db.Invitation{a}, []db.Invitation{b}, func(x, y db.Invitation) bool {
		return x.OrgID == y.OrgID && x.State == y.State && x.Role == y.Role && x.CreatedBy == y.CreatedBy && len(x.Teams) == len(y.Teams) && x.Message == y.Message
	}) {
		t.Fatalf("answers differ: %+v vs %+v", a, b)
	}
	if _, err := s.UserByEmail(ctx, "nobody@example.com"); db.ErrorCode(err) != db.CodeNotFound {
		t.Fatalf("inviting created an account: %v", err)
	}
}

// The cross-organization pre-hijack: an admin of one organization can no longer choose the password
// of someone another organization will invite, and even holding an account in their name, never
// reaches what that other organization shares with them.
func TestStore_PreHijack(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	gina := mustOrg(t, s, "Globex", "gina@g.test") // the attacker, admin of Globex
	alma := mustOrg(t, s, "Acme", "alma@a.test")   // admin of Acme

	// Gina can no longer "add" the new hire with a password she chooses.
	_, err := s.AddMember(ctx, gina, db.NewUser{Email: "newhire@a.test", Password: "gina chose this"}, db.OrgMember)
	wantCode(t, err, db.CodeForbidden)
	// She can invite the address and open her own link: then the account is hers, in Globex only.
	gToken, _ := mustInvite(t, s, gina, "newhire@a.test", db.OrgMember)
	squatter, _, err := s.AcceptInvitationNewAccount(ctx, gToken, db.NewAccount{Password: "gina chose this"})
	if err != nil {
		t.Fatal(err)
	}
	ginaKey, _, err := s.CreateAPIKey(ctx, mustActor(t, s, squatter.ID, gina.OrgID), "squatter", noExpiry)
	if err != nil {
		t.Fatal(err)
	}

	// Acme invites the real new hire and shares a secret once they are in.
	aToken, _ := mustInvite(t, s, alma, "newhire@a.test", db.OrgMember)
	// Gina, signed in as the account, has no Acme token: nothing she holds makes her a member.
	_, err = s.AcceptInvitation(ctx, gToken, squatter.ID, "")
	wantCode(t, err, db.CodeNotFound)
	if orgs := memberOrgs(t, s, squatter.ID); !slices.Equal(orgs, []string{"Globex"}) {
		t.Fatalf("the squatted account is in %v", orgs)
	}
	// The real new hire, with Acme's link, cannot take over nor be taken over: a new account is
	// refused, and they do not know the squatter's password.
	_, _, err = s.AcceptInvitationNewAccount(ctx, aToken, db.NewAccount{Password: "the real new hire's"})
	wantCode(t, err, db.CodeConflict)
	// The operator resets the account: Gina's password, sessions and keys die; the new hire sets theirs.
	resetToken, _, err := s.ResetPassword(ctx, "newhire@a.test")
	if err != nil {
		t.Fatal(err)
	}
	wantSignIn(t, s, "newhire@a.test", "gina chose this", false)
	_, err = s.AuthenticateAPIKey(ctx, ginaKey, "")
	wantCode(t, err, db.CodeUnauthorized)
	if _, _, err := s.CompletePasswordReset(ctx, resetToken, "the real new hire's", ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AcceptInvitationSignIn(ctx, aToken, "the real new hire's", ""); err != nil {
		t.Fatal(err)
	}
	newhire := mustActor(t, s, squatter.ID, alma.OrgID)
	sec := mustSecret(t, s, alma, "ACME_TOKEN", "acme-only")
	mustShare(t, s, alma, sec, db.PrincipalUser, newhire.UserID, db.RoleReader)
	wantSignIn(t, s, "newhire@a.test", "gina chose this", false)
	// Gina, admin of Globex where the account still is, reads nothing of Acme's.
	wantAccess(t, s, mustActor(t, s, squatter.ID, gina.OrgID), sec.ID, "")
}

// Someone who joins a team that holds grants gains access to those secrets: each secret's Activity
// says who gained what, through which team, and who added them.
func TestStore_TeamJoin_RecordedOnSecrets(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	ops := mustTeam(t, s, ada, "Ops")
	owned := mustSecret(t, s, bob, "OWNED_BY_TEAM", "v")
	read := mustSecret(t, s, bob, "READ_BY_TEAM", "v")
	untouched := mustSecret(t, s, bob, "NOT_SHARED", "v")
	mustShare(t, s, bob, owned, db.PrincipalTeam, ops.ID, db.RoleOwner)
	mustShare(t, s, bob, read, db.PrincipalTeam, ops.ID, db.RoleReader)
	carol := mustMember(t, s, ada, "carol@example.com")

	if _, err := s.UpdateTeam(ctx, ada, ops.ID, db.TeamChange{AddUserIDs: []string{carol.UserID}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		sec  *db.Secret
		role db.Role
	}{{owned, db.RoleOwner}, {read, db.RoleReader}, {untouched, ""}} {
		act, err := s.SecretActivity(ctx, bob, tc.sec.ID, 50)
		if err != nil {
			t.Fatal(err)
		}
		var got []db.AuditEvent
		for _, e := range act {
			if e.Action == db.ActionAccessViaTeam {
				got = append(got, e)
			}
		}
		if tc.role == "" {
			if len(got) != 0 {
				t.Errorf("%s: %+v, want no team-join event", tc.sec.Name, got)
			}
			continue
		}
		if len(got) != 1 || got[0].TargetID != carol.UserID || got[0].Role != string(tc.role) || got[0].Detail != "Ops; added by ada@example.com" || got[0].ActorID != ada.UserID {
			t.Errorf("%s: %+v, want carol gained %s through Ops, added by Ada", tc.sec.Name, got, tc.role)
		}
	}
	// Adding someone already in the team records nothing new.
	if _, err := s.UpdateTeam(ctx, ada, ops.ID, db.TeamChange{AddUserIDs: []string{carol.UserID}}); err != nil {
		t.Fatal(err)
	}
	if evs := auditActions(t, s, ada, db.ActionAccessViaTeam); len(evs) != 2 {
		t.Errorf("%d team-join events after a repeated add, want 2", len(evs))
	}
}

// An admin who leaves the organization, or stops being an admin, does not keep working invitation
// links: one could otherwise let themselves back in under another email.
func TestStore_Invitation_RevokedWhenTheInviterGoes(t *testing.T) {
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	cli := db.SystemActor(ada.OrgID)
	var admins []db.Actor
	for _, email := range []string{"rex@example.com", "dee@example.com"} {
		m := mustMember(t, s, ada, email)
		if err := s.SetMemberRole(ctx, ada, m.UserID, db.OrgAdmin); err != nil {
			t.Fatal(err)
		}
		admins = append(admins, mustActor(t, s, m.UserID, ada.OrgID))
	}
	rex, dee := admins[0], admins[1]
	rexLink, _ := mustInvite(t, s, rex, "alias-of-rex@example.com", db.OrgAdmin)
	deeLink, _ := mustInvite(t, s, dee, "friend-of-dee@example.com", db.OrgMember)
	adaLink, _ := mustInvite(t, s, ada, "newhire@example.com", db.OrgMember)
	cliLink, _ := mustInvite(t, s, cli, "another@example.com", db.OrgMember)

	if _, err := s.RemoveMember(ctx, ada, rex.UserID); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMemberRole(ctx, ada, dee.UserID, db.OrgMember); err != nil {
		t.Fatal(err)
	}
	for _, dead := range []string{rexLink, deeLink} {
		_, err := s.InvitationByToken(ctx, dead)
		wantCode(t, err, db.CodeNotFound)
	}
	for _, live := range []string{adaLink, cliLink} {
		if _, err := s.InvitationByToken(ctx, live); err != nil {
			t.Errorf("another admin's invitation died: %v", err)
		}
	}
	if evs := auditActions(t, s, ada, db.ActionInvitationRevoke); len(evs) != 2 {
		t.Errorf("%d revocations recorded, want 2", len(evs))
	}
}

// The credential resets revoke the pending invitations the user made, in each of their organizations,
// with their API keys: a stolen password or session may have been used to invite the thief. A
// password change that keeps the API keys keeps the invitations.
func TestStore_Invitation_RevokedWithTheInvitersCredentials(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	zed := mustOrg(t, s, "Globex", "zed@example.com")
	adaInGlobex := mustJoin(t, s, zed, ada, db.OrgAdmin)
	bob := mustMember(t, s, ada, "bob@example.com")
	if err := s.SetMemberRole(ctx, ada, bob.UserID, db.OrgAdmin); err != nil {
		t.Fatal(err)
	}
	bob = mustActor(t, s, bob.UserID, ada.OrgID)
	bobLink, _ := mustInvite(t, s, bob, "bobs-friend@example.com", db.OrgMember)

	acmeLink, _ := mustInvite(t, s, ada, "thief@example.com", db.OrgAdmin)
	globexLink, _ := mustInvite(t, s, adaInGlobex, "thief@example.com", db.OrgAdmin)
	done, err := s.ChangePassword(ctx, ada, db.PasswordChange{Current: helperPassword, New: "a routine new password"})
	if err != nil || done.InvitationsRevoked != 0 {
		t.Fatalf("a change that keeps the API keys: %+v %v", done, err)
	}
	for _, live := range []string{acmeLink, globexLink, bobLink} {
		if _, err := s.InvitationByToken(ctx, live); err != nil {
			t.Fatalf("a routine password change revoked an invitation: %v", err)
		}
	}
	done, err = s.ChangePassword(ctx, ada, db.PasswordChange{Current: "a routine new password", New: "someone knew the old one", RevokeAPIKeys: true})
	if err != nil || done.InvitationsRevoked != 2 {
		t.Fatalf("a change that revokes the API keys: %+v %v, want 2 invitations revoked", done, err)
	}
	for _, dead := range []string{acmeLink, globexLink} {
		_, err := s.InvitationByToken(ctx, dead)
		wantCode(t, err, db.CodeNotFound)
	}
	if _, err := s.InvitationByToken(ctx, bobLink); err != nil {
		t.Fatalf("ada's password change revoked bob's invitation: %v", err)
	}

	// The operator's reset of bob's password revokes his.
	if _, _, err := s.ResetPassword(ctx, "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	_, err = s.InvitationByToken(ctx, bobLink)
	wantCode(t, err, db.CodeNotFound)
	if evs := auditActions(t, s, ada, db.ActionInvitationRevoke); len(evs) != 2 {
		t.Errorf("Acme records %d revocations, want 2 (ada's and bob's)", len(evs))
	}
	if evs := auditActions(t, s, zed, db.ActionInvitationRevoke); len(evs) != 1 {
		t.Errorf("Globex records %d revocations, want 1", len(evs))
	}
}

// ListInvitations gives each invitation its own teams, by name, newest invitation first.
func TestStore_ListInvitations_Teams(t *testing.T) {
	t.Parallel()
	s, clock := mustOpenClock(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	ops, web, data := mustTeam(t, s, ada, "Ops"), mustTeam(t, s, ada, "Web"), mustTeam(t, s, ada, "Data")
	mustInvite(t, s, ada, "one@example.com", db.OrgMember, web.ID, ops.ID)
	clock.Add(time.Second)
	mustInvite(t, s, ada, "none@example.com", db.OrgMember)
	clock.Add(time.Second)
	mustInvite(t, s, ada, "two@example.com", db.OrgMember, data.ID)
	invs, err := s.ListInvitations(ctx, ada, db.InvitationFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, inv := range invs {
		var names []string
		for _, tm := range inv.Teams {
			names = append(names, tm.Name)
		}
		got = append(got, inv.Email+": "+strings.Join(names, ", "))
	}
	if want := []string{"two@example.com: Data", "none@example.com: ", "one@example.com: Ops, Web"}; !slices.Equal(got, want) {
		t.Errorf("invitations %q, want %q", got, want)
	}
}
