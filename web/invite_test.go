package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/keyhold/keyhold/db"
)

// inviteLink invites email into admin's organization and returns the link's path.
func inviteLink(t testing.TB, ts *testServer, admin db.Actor, email string, teams ...string) string {
	t.Helper()
	token, _, err := ts.Store.CreateInvitation(context.Background(), admin, db.NewInvitation{Email: email, TeamIDs: teams})
	if err != nil {
		t.Fatal(err)
	}
	return "/invite/" + token
}

func TestInvite_NewAccount(t *testing.T) {
	ts := newTestServer(t)
	ada := ts.seedOrg(t, "Acme", "ada@example.com")
	team, err := ts.Store.CreateTeam(context.Background(), ada, "Platform", "")
	if err != nil {
		t.Fatal(err)
	}
	owner := ts.seedMember(t, ada, "olive@example.com", "Olive", "Owner")
	sec := ts.seedSecret(t, owner, "DEPLOY_KEY", "deploy-value")
	if err := ts.Store.ChangeAccess(context.Background(), owner, sec.ID, []db.AccessChange{{Kind: db.PrincipalTeam, ID: team.ID, Role: db.RoleReader}}); err != nil {
		t.Fatal(err)
	}
	link := inviteLink(t, ts, ada, "nia@example.com", team.ID)
	c := ts.newClient(t)
	page := c.get(link)
	wantStatus(t, "GET the invitation", page, http.StatusOK)
	for _, want := range []string{"Acme", "Ada Admin invited", "nia@example.com", "You will be in Platform.", "Create account and join Acme", "Sign in and join", "Decline the invitation"} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("the invitation page lacks %q", want)
		}
	}
	form := func(first, pw, confirm string) url.Values {
		return url.Values{"first_name": {first}, "last_name": {"Newhire"}, "password": {pw}, "password_confirm": {confirm}}
	}
	for _, tc := range []struct {
		name string
		form url.Values
		want string
	}{
		{"passwords differ", form("Nia", testPassword, testPassword+"!"), "The two passwords do not match."},
		{"short password", form("Nia", "short", "short"), "Password must be at least 12 characters long."},
		{"control characters in the name", form("Ni\x01a", testPassword, testPassword), "First name must not contain control characters."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.postForm(link, tc.form)
			wantStatus(t, "POST "+tc.name, r, http.StatusUnprocessableEntity)
			if got := pageError(r.Body); got != tc.want {
				t.Errorf("error %q, want %q", got, tc.want)
			}
			if strings.Contains(r.Body, testPassword) {
				t.Error("the typed password came back")
			}
			if _, err := ts.Store.UserByEmail(context.Background(), "nia@example.com"); db.ErrorCode(err) != db.CodeNotFound {
				t.Fatalf("a refused form created the account: %v", err)
			}
		})
	}
	r := c.postForm(link, form("Nia", testPassword, testPassword))
	wantRedirect(t, "create the account", r, "/secrets")
	secrets := c.get("/secrets")
	if !strings.Contains(secrets.Body, "DEPLOY_KEY") || !strings.Contains(secrets.Body, "Nia Newhire") {
		t.Error("the new member does not see what the team shares, signed in as themselves")
	}
	// The link is used up, and says so in one message whatever happened to it.
	again := ts.newClient(t).get(link)
	wantStatus(t, "the used link", again, http.StatusNotFound)
	if !strings.Contains(again.Body, "This invitation link does not work") {
		t.Errorf("used link page: %q", pageError(again.Body))
	}
	// The secret's Owner sees who gained access through the team, and how.
	olive := signedInClient(t, ts, "olive@example.com")
	act := olive.getHX("/secrets/" + sec.ID + "/activity")
	for _, want := range []string{"nia@example.com", "gained", "Reader", "through team", "Platform", "invited by ada@example.com"} {
		if !strings.Contains(act.Body, want) {
			t.Errorf("the Activity lacks %q", want)
		}
	}
}

func TestInvite_ExistingAccount(t *testing.T) {
	ts := newTestServer(t)
	ada := ts.seedOrg(t, "Acme", "ada@example.com")
	ts.seedOrg(t, "Globex", "gina@example.com")
	link := inviteLink(t, ts, ada, "gina@example.com")

	// Nobody takes over the account through the link: a second account is refused...
	c := ts.newClient(t)
	r := c.postForm(link, url.Values{"first_name": {"Not"}, "last_name": {"Gina"}, "password": {"an attacker's own pass"}, "password_confirm": {"an attacker's own pass"}})
	wantStatus(t, "a new account for an email that has one", r, http.StatusConflict)
	if got := pageError(r.Body); !strings.Contains(got, "already has a keyhold account: sign in with it") {
		t.Errorf("error %q", got)
	}
	wantPassword(t, ts, "gina@example.com", testPassword, "an attacker's own pass")
	// ...and the account's password is needed to join with it.
	r = c.postForm(link+"/accept", url.Values{"password": {"a wrong guess"}})
	wantStatus(t, "accept with a wrong password", r, http.StatusUnauthorized)
	r = c.postForm(link+"/accept", url.Values{"password": {testPassword}})
	wantRedirect(t, "accept with the account's password", r, "/secrets")
	page := c.get("/secrets")
	if !strings.Contains(page.Body, "Acme") || !strings.Contains(page.Body, "Globex") {
		t.Error("the switcher does not offer both organizations")
	}
}

func TestInvite_SignedIn(t *testing.T) {
	ts := newTestServer(t)
	ada := ts.seedOrg(t, "Acme", "ada@example.com")
	ts.seedOrg(t, "Globex", "gina@example.com")
	link := inviteLink(t, ts, ada, "gina@example.com")

	// Signed in as someone else: the page says so, and accepting is refused.
	bobOrg := ts.seedOrg(t, "Bobco", "bob@example.com")
	bob := signedInClient(t, ts, "bob@example.com")
	page := bob.get(link)
	if !strings.Contains(page.Body, "You are signed in as") || strings.Contains(page.Body, "Create account and join") {
		t.Error("the page does not tell Bob that the invitation is someone else's")
	}
	r := bob.postForm(link+"/accept", nil)
	wantStatus(t, "accept another's invitation", r, http.StatusForbidden)
	if ms, _ := ts.Store.Memberships(context.Background(), bobOrg.UserID); len(ms) != 1 {
		t.Fatalf("Bob is in %d organizations", len(ms))
	}
	// Signed in as the invited person: one button joins.
	gina := signedInClient(t, ts, "gina@example.com")
	page = gina.get(link)
	if !strings.Contains(page.Body, "Join Acme") {
		t.Error("no Join button for the invited person")
	}
	wantRedirect(t, "join", gina.postForm(link+"/accept", nil), "/secrets")
	if !strings.Contains(gina.get("/secrets").Body, "Acme") {
		t.Error("the session did not move to Acme")
	}
}

func TestInvite_Decline(t *testing.T) {
	ts := newTestServer(t)
	ada := ts.seedOrg(t, "Acme", "ada@example.com")
	link := inviteLink(t, ts, ada, "nia@example.com")
	c := ts.newClient(t)
	r := c.postForm(link+"/refuse", nil)
	wantStatus(t, "decline", r, http.StatusOK)
	if !strings.Contains(r.Body, "Invitation declined") {
		t.Error("no confirmation")
	}
	wantStatus(t, "the declined link", c.get(link), http.StatusNotFound)
	r = c.postForm(link, url.Values{"first_name": {"Nia"}, "password": {testPassword}, "password_confirm": {testPassword}})
	wantStatus(t, "create after declining", r, http.StatusNotFound)
	if _, err := ts.Store.UserByEmail(context.Background(), "nia@example.com"); db.ErrorCode(err) != db.CodeNotFound {
		t.Fatalf("an account was created: %v", err)
	}
	invs, err := ts.Store.ListInvitations(context.Background(), ada, db.InvitationFilter{})
	if err != nil || len(invs) != 1 || invs[0].State != db.InvitationRefused {
		t.Fatalf("invitations %+v %v", invs, err)
	}
}

func TestInvite_RevokeFromMembersPage(t *testing.T) {
	ts := newTestServer(t)
	ada := ts.seedOrg(t, "Acme", "ada@example.com")
	link := inviteLink(t, ts, ada, "nia@example.com")
	invs, err := ts.Store.ListInvitations(context.Background(), ada, db.InvitationFilter{})
	if err != nil || len(invs) != 1 {
		t.Fatal(err)
	}
	admin := signedInClient(t, ts, "ada@example.com")
	members := admin.get("/members")
	if !strings.Contains(members.Body, "nia@example.com") || !strings.Contains(members.Body, "Pending") {
		t.Error("the Members page does not list the pending invitation")
	}
	dlg := admin.getHX("/invitations/" + invs[0].ID + "/revoke")
	wantStatus(t, "the Revoke dialog", dlg, http.StatusOK)
	r := admin.hx(http.MethodDelete, "/invitations/"+invs[0].ID, nil)
	wantStatus(t, "revoke", r, http.StatusOK)
	if got := toastText(r.Body); got != "Revoked the invitation of nia@example.com." {
		t.Errorf("toast %q", got)
	}
	wantStatus(t, "the revoked link", ts.newClient(t).get(link), http.StatusNotFound)
	wantStatus(t, "revoke again", admin.hx(http.MethodDelete, "/invitations/"+invs[0].ID, nil), http.StatusConflict)
}

func TestReset_Page(t *testing.T) {
	ts := newTestServer(t)
	ada := ts.seedOrg(t, "Acme", "ada@example.com")
	ts.seedMember(t, ada, "bob@example.com", "Bob", "Example")
	bobBefore := signedInClient(t, ts, "bob@example.com")
	token, _, err := ts.Store.ResetPassword(context.Background(), "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	wantSignedOut(t, "Bob after the operator's reset", bobBefore)
	link := "/reset/" + token
	c := ts.newClient(t)
	wantStatus(t, "a made-up link", c.get("/reset/made-up"), http.StatusNotFound)
	page := c.get(link)
	wantStatus(t, "GET the reset page", page, http.StatusOK)
	if !strings.Contains(page.Body, "For bob@example.com.") {
		t.Error("the page does not say whose password it sets")
	}
	for _, tc := range []struct {
		pw, confirm, want string
	}{
		{testPassword, testPassword + "x", "The two passwords do not match."},
		{"short", "short", "Password must be at least 12 characters long."},
	} {
		r := c.postForm(link, url.Values{"password": {tc.pw}, "password_confirm": {tc.confirm}})
		wantStatus(t, "refused reset", r, http.StatusUnprocessableEntity)
		if got := pageError(r.Body); got != tc.want {
			t.Errorf("error %q, want %q", got, tc.want)
		}
	}
	wantRedirect(t, "set the password", c.postForm(link, url.Values{"password": {newPassword}, "password_confirm": {newPassword}}), "/secrets")
	wantSignedIn(t, "Bob after the reset", c)
	wantPassword(t, ts, "bob@example.com", newPassword, testPassword)
	wantStatus(t, "the used link", ts.newClient(t).get(link), http.StatusNotFound)
}
