package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web"
	"github.com/keyhold/keyhold/web/webtest"
)

// inviteLink invites email into admin's organization and returns the link's path.
func inviteLink(t testing.TB, ts *webtest.Server, admin db.Actor, email string, teams ...string) string {
	t.Helper()
	token, _, err := ts.Store.CreateInvitation(context.Background(), admin, db.NewInvitation{Email: email, TeamIDs: teams})
	if err != nil {
		t.Fatal(err)
	}
	return "/invite/" + token
}

func TestInvite_NewAccount(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	team, err := ts.Store.CreateTeam(context.Background(), ada, "Platform", "")
	if err != nil {
		t.Fatal(err)
	}
	owner := ts.SeedMember(t, ada, "olive@example.com", "Olive", "Owner")
	sec := ts.SeedSecret(t, owner, "DEPLOY_KEY", "deploy-value")
	if err := ts.Store.ChangeAccess(context.Background(), owner, sec.ID, []db.AccessChange{{Kind: db.PrincipalTeam, ID: team.ID, Role: db.RoleReader}}); err != nil {
		t.Fatal(err)
	}
	link := inviteLink(t, ts, ada, "nia@example.com", team.ID)
	c := ts.NewClient(t)
	page := c.Get(link)
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
		{"passwords differ", form("Nia", webtest.Password, webtest.Password+"!"), "The two passwords do not match."},
		{"short password", form("Nia", "short", "short"), "Password must be at least 12 characters long."},
		{"control characters in the name", form("Ni\x01a", webtest.Password, webtest.Password), "First name must not contain control characters."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.PostForm(link, tc.form)
			wantStatus(t, "POST "+tc.name, r, http.StatusUnprocessableEntity)
			if got := webtest.PageError(r.Body); got != tc.want {
				t.Errorf("error %q, want %q", got, tc.want)
			}
			if strings.Contains(r.Body, webtest.Password) {
				t.Error("the typed password came back")
			}
			// The page is drawn again whole: the invitation, and the names typed.
			for _, want := range []string{"Ada Admin invited", "Create account and join Acme", `value="Newhire"`} {
				if !strings.Contains(r.Body, want) {
					t.Errorf("the refused form's page lacks %q", want)
				}
			}
			if _, err := ts.Store.UserByEmail(context.Background(), "nia@example.com"); db.ErrorCode(err) != db.CodeNotFound {
				t.Fatalf("a refused form created the account: %v", err)
			}
		})
	}
	r := c.PostForm(link, form("Nia", webtest.Password, webtest.Password))
	wantRedirect(t, "create the account", r, "/secrets")
	secrets := c.Get("/secrets")
	if !strings.Contains(secrets.Body, "DEPLOY_KEY") || !strings.Contains(secrets.Body, "Nia Newhire") {
		t.Error("the new member does not see what the team shares, signed in as themselves")
	}
	// The link is used up, and says so in one message whatever happened to it.
	again := ts.NewClient(t).Get(link)
	wantStatus(t, "the used link", again, http.StatusNotFound)
	if !strings.Contains(again.Body, "This invitation link does not work") {
		t.Errorf("used link page: %q", webtest.PageError(again.Body))
	}
	// The secret's Owner sees who gained access through the team, and how.
	olive := webtest.SignedInClient(t, ts, "olive@example.com")
	act := olive.GetHX("/secrets/" + sec.ID + "/activity")
	for _, want := range []string{"nia@example.com", "gained", "Reader", "through team", "Platform", "invited by ada@example.com"} {
		if !strings.Contains(act.Body, want) {
			t.Errorf("the Activity lacks %q", want)
		}
	}
}

func TestInvite_ExistingAccount(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	ts.SeedOrg(t, "Globex", "gina@example.com")
	link := inviteLink(t, ts, ada, "gina@example.com")

	// Nobody takes over the account through the link: a second account is refused...
	c := ts.NewClient(t)
	r := c.PostForm(link, url.Values{"first_name": {"Not"}, "last_name": {"Gina"}, "password": {"an attacker's own pass"}, "password_confirm": {"an attacker's own pass"}})
	wantStatus(t, "a new account for an email that has one", r, http.StatusConflict)
	if got := webtest.PageError(r.Body); !strings.Contains(got, "already has a keyhold account: sign in with it") {
		t.Errorf("error %q", got)
	}
	wantPassword(t, ts, "gina@example.com", webtest.Password, "an attacker's own pass")
	// ...and the account's password is needed to join with it.
	r = c.PostForm(link+"/accept", url.Values{"password": {"a wrong guess"}})
	wantStatus(t, "accept with a wrong password", r, http.StatusUnauthorized)
	r = c.PostForm(link+"/accept", url.Values{"password": {webtest.Password}})
	wantRedirect(t, "accept with the account's password", r, "/secrets")
	page := c.Get("/secrets")
	if !strings.Contains(page.Body, "Acme") || !strings.Contains(page.Body, "Globex") {
		t.Error("the switcher does not offer both organizations")
	}
}

func TestInvite_SignedIn(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	ts.SeedOrg(t, "Globex", "gina@example.com")
	link := inviteLink(t, ts, ada, "gina@example.com")

	// Signed in as someone else: the page says so, and accepting is refused.
	bobOrg := ts.SeedOrg(t, "Bobco", "bob@example.com")
	bob := webtest.SignedInClient(t, ts, "bob@example.com")
	page := bob.Get(link)
	if !strings.Contains(page.Body, "You are signed in as") || strings.Contains(page.Body, "Create account and join") {
		t.Error("the page does not tell Bob that the invitation is someone else's")
	}
	r := bob.PostForm(link+"/accept", nil)
	wantStatus(t, "accept another's invitation", r, http.StatusForbidden)
	if ms, _ := ts.Store.Memberships(context.Background(), bobOrg.UserID); len(ms) != 1 {
		t.Fatalf("Bob is in %d organizations", len(ms))
	}
	// Signed in as the invited person: one button joins.
	gina := webtest.SignedInClient(t, ts, "gina@example.com")
	page = gina.Get(link)
	if !strings.Contains(page.Body, "Join Acme") {
		t.Error("no Join button for the invited person")
	}
	wantRedirect(t, "join", gina.PostForm(link+"/accept", nil), "/secrets")
	if !strings.Contains(gina.Get("/secrets").Body, "Acme") {
		t.Error("the session did not move to Acme")
	}
}

func TestInvite_Decline(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	link := inviteLink(t, ts, ada, "nia@example.com")
	c := ts.NewClient(t)
	r := c.PostForm(link+"/refuse", nil)
	wantStatus(t, "decline", r, http.StatusOK)
	if !strings.Contains(r.Body, "Invitation declined") || !strings.Contains(r.Body, "Acme") {
		t.Error("no confirmation naming the organization")
	}
	wantStatus(t, "the declined link", c.Get(link), http.StatusNotFound)
	wantStatus(t, "decline again", c.PostForm(link+"/refuse", nil), http.StatusNotFound)
	// A dead link answers as one, whatever the form holds.
	r = c.PostForm(link, url.Values{"first_name": {"Nia"}, "password": {webtest.Password}, "password_confirm": {webtest.Password + "x"}})
	wantStatus(t, "mismatched passwords on the declined link", r, http.StatusNotFound)
	r = c.PostForm(link, url.Values{"first_name": {"Nia"}, "password": {webtest.Password}, "password_confirm": {webtest.Password}})
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
	t.Parallel()
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	link := inviteLink(t, ts, ada, "nia@example.com")
	invs, err := ts.Store.ListInvitations(context.Background(), ada, db.InvitationFilter{})
	if err != nil || len(invs) != 1 {
		t.Fatal(err)
	}
	admin := webtest.SignedInClient(t, ts, "ada@example.com")
	members := admin.Get("/members")
	if !strings.Contains(members.Body, "nia@example.com") || !strings.Contains(members.Body, "Pending") {
		t.Error("the Members page does not list the pending invitation")
	}
	dlg := admin.GetHX("/invitations/" + invs[0].ID + "/revoke")
	wantStatus(t, "the Revoke dialog", dlg, http.StatusOK)
	r := admin.HX(http.MethodDelete, "/invitations/"+invs[0].ID, nil)
	wantStatus(t, "revoke", r, http.StatusOK)
	if got := webtest.ToastText(r.Body); got != "Revoked the invitation of nia@example.com." {
		t.Errorf("toast %q", got)
	}
	wantStatus(t, "the revoked link", ts.NewClient(t).Get(link), http.StatusNotFound)
	wantStatus(t, "revoke again", admin.HX(http.MethodDelete, "/invitations/"+invs[0].ID, nil), http.StatusConflict)
}

func TestReset_Page(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	ts.SeedMember(t, ada, "bob@example.com", "Bob", "Example")
	bobBefore := webtest.SignedInClient(t, ts, "bob@example.com")
	token, _, err := ts.Store.ResetPassword(context.Background(), "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	wantSignedOut(t, "Bob after the operator's reset", bobBefore)
	link := "/reset/" + token
	c := ts.NewClient(t)
	wantStatus(t, "a made-up link", c.Get("/reset/made-up"), http.StatusNotFound)
	page := c.Get(link)
	wantStatus(t, "GET the reset page", page, http.StatusOK)
	if !strings.Contains(page.Body, "For bob@example.com.") {
		t.Error("the page does not say whose password it sets")
	}
	for _, tc := range []struct {
		pw, confirm, want string
	}{
		{webtest.Password, webtest.Password + "x", "The two passwords do not match."},
		{"short", "short", "Password must be at least 12 characters long."},
	} {
		r := c.PostForm(link, url.Values{"password": {tc.pw}, "password_confirm": {tc.confirm}})
		wantStatus(t, "refused reset", r, http.StatusUnprocessableEntity)
		if got := webtest.PageError(r.Body); got != tc.want {
			t.Errorf("error %q, want %q", got, tc.want)
		}
	}
	wantRedirect(t, "set the password", c.PostForm(link, url.Values{"password": {newPassword}, "password_confirm": {newPassword}}), "/secrets")
	wantSignedIn(t, "Bob after the reset", c)
	wantPassword(t, ts, "bob@example.com", newPassword, webtest.Password)
	wantStatus(t, "the used link", ts.NewClient(t).Get(link), http.StatusNotFound)
}

// The Invite dialog's link is under the configured public address, whatever Host the request named
// (behind a proxy, or a Host header an attacker chose); without one, under the request's address.
func TestInvite_LinkUnderThePublicURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ public, want string }{
		{"https://keyhold.example.com", "https://keyhold.example.com/invite/"},
		{"", "http://127.0.0.1:"},
	} {
		ts := webtest.NewConfig(t, web.Config{PublicURL: tc.public})
		ts.SeedOrg(t, "Acme", "ada@example.com")
		c := webtest.SignedInClient(t, ts, "ada@example.com")
		r := c.HX(http.MethodPost, "/invitations", url.Values{"email": {"nia@example.com"}, "role": {"member"}})
		wantStatus(t, "POST /invitations", r, http.StatusOK)
		link, ok := webtest.InputValue(r.Body, "invite-link")
		if !ok || !strings.HasPrefix(link, tc.want) || !strings.Contains(link, "/invite/") {
			t.Errorf("public URL %q: the link is %q, want it under %q", tc.public, link, tc.want)
		}
	}
}

// Inviting an email again replaces its pending invitation: the dialog says the earlier link no longer
// works, and it does not.
func TestInvite_AgainReplacesTheEarlierLink(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ts.SeedOrg(t, "Acme", "ada@example.com")
	c := webtest.SignedInClient(t, ts, "ada@example.com")
	const replaced = "The link of their earlier invitation no longer works."
	var links []string
	for i := range 2 {
		r := c.HX(http.MethodPost, "/invitations", url.Values{"email": {"nia@example.com"}, "role": {"member"}})
		wantStatus(t, "POST /invitations", r, http.StatusOK)
		link, _ := webtest.InputValue(r.Body, "invite-link")
		links = append(links, strings.TrimPrefix(link, ts.URL))
		if got := strings.Contains(r.Body, replaced); got != (i == 1) {
			t.Errorf("invitation %d: says the earlier link died: %v", i+1, got)
		}
	}
	wantStatus(t, "the first link", ts.NewClient(t).Get(links[0]), http.StatusNotFound)
	wantStatus(t, "the second link", ts.NewClient(t).Get(links[1]), http.StatusOK)
}
