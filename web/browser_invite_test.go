package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web/webtest"
)

// TestBrowser_Invitation is the whole invitation flow in a real browser: the admin invites a new hire
// into a team from the Members page and copies the link; the new hire opens it in a browser of their
// own, sets their own password and lands on the Secrets tab, where they see what the team shares;
// the admin's Members page shows the invitation accepted.
func TestBrowser_Invitation(t *testing.T) {
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	team, err := ts.Store.CreateTeam(context.Background(), ada, "Platform", "Runs the platform")
	if err != nil {
		t.Fatal(err)
	}
	owner := ts.SeedMember(t, ada, "olive@example.com", "Olive", "Owner")
	sec := ts.SeedSecret(t, owner, "PLATFORM_DEPLOY_KEY", "deploy-key-value")
	if err := ts.Store.ChangeAccess(context.Background(), owner, sec.ID, []db.AccessChange{{Kind: db.PrincipalTeam, ID: team.ID, Role: db.RoleReader}}); err != nil {
		t.Fatal(err)
	}
	ts.SeedSecret(t, owner, "OLIVES_OWN", "private")

	admin := newBrowserTab(t, ts)
	admin.label = "admin"
	admin.openAs("ada@example.com")
	admin.navigate("/members")
	admin.click(`button[hx-get="/members/invite"]`)
	admin.waitFor("the Invite dialog", dialogOpen)
	admin.wantFocus("invite-email", "the email")
	admin.typeInto("#invite-email", "nia@example.com")
	admin.click(`#dialog input[name="team"][value="` + team.ID + `"]`)
	admin.shot("invite-dialog")
	admin.click(`#dialog button[type="submit"]`)
	admin.waitVisible("#invite-link")
	admin.shot("invite-created")
	link := admin.value("#invite-link")
	if !strings.HasPrefix(link, ts.URL+"/invite/") {
		t.Fatalf("the link %q is not an invitation link of this keyhold", link)
	}
	admin.click(`#dialog button[data-close-dialog]`)
	admin.waitFor("the dialog closed", dialogClosed)
	admin.waitFor("the pending invitation listed", `document.querySelector("#members-table") && document.querySelector("#members-table").innerText.includes("nia@example.com")`)
	admin.shot("members-invitation-pending")

	hire := newBrowserTab(t, ts) // a browser of the new hire's own: no cookie of the admin's
	hire.label = "new hire"
	hire.navigate(strings.TrimPrefix(link, ts.URL))
	hire.waitVisible("#invite-first")
	if got := hire.text(".auth-subtitle"); !strings.Contains(got, "Ada Admin invited nia@example.com") || !strings.Contains(got, "Platform") {
		t.Errorf("the invitation page says %q", got)
	}
	hire.shot("invite-page")
	hire.typeInto("#invite-first", "Nia")
	hire.typeInto("#invite-last", "Newhire")
	hire.fill("#invite-password", "nia's own passphrase")
	hire.fill("#invite-password-confirm", "nia's own passphrase, mistyped")
	hire.click(`form[action$="` + strings.TrimPrefix(link, ts.URL) + `"] button[type="submit"]`)
	hire.waitVisible(".alert-error")
	if got := hire.text(".alert-error"); got != "The two passwords do not match." {
		t.Errorf("error %q", got)
	}
	if got := hire.value("#invite-first"); got != "Nia" {
		t.Errorf("the first name field holds %q after the refusal", got)
	}
	hire.fill("#invite-password", "nia's own passphrase")
	hire.fill("#invite-password-confirm", "nia's own passphrase")
	hire.click(`form[action$="` + strings.TrimPrefix(link, ts.URL) + `"] button[type="submit"]`)
	hire.waitVisible("#secret-search")
	hire.waitRows("PLATFORM_DEPLOY_KEY")
	hire.shot("new-hire-secrets")
	if got := hire.rows(); len(got) != 1 {
		t.Errorf("the new hire sees %v, want only what the team shares", got)
	}

	admin.navigate("/members")
	admin.waitFor("Nia as a member", `document.querySelector("#members-table").innerText.includes("Nia Newhire")`)
	if got := admin.text("#members-table .invitations"); !strings.Contains(got, "Accepted") {
		t.Errorf("the invitations table says %q, want the invitation accepted", got)
	}
	admin.shot("members-invitation-accepted")
	wantPassword(t, ts, "nia@example.com", "nia's own passphrase", webtest.Password)

	// The secret's Owner sees in its Activity who gained access, through which team, and who invited.
	olive := newBrowserTab(t, ts)
	olive.label = "owner"
	olive.openAs("olive@example.com")
	olive.click(`button[hx-get="/secrets/` + sec.ID + `/activity"]`)
	olive.waitFor("the Activity dialog", dialogOpen)
	olive.shot("activity-via-team")
	line := evalJS[string](olive, `document.querySelector("#dialog .activity-line").textContent.replace(/\s+/g, " ").trim()`)
	if got := line; got != "nia@example.com gained Reader through team Platform · invited by ada@example.com" {
		t.Errorf("the Activity says %q", got)
	}
}

// TestBrowser_PasswordReset: the operator's one-time link lets a user who forgot their password set a
// new one in the browser, and signs them in.
func TestBrowser_PasswordReset(t *testing.T) {
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	ts.SeedMember(t, ada, "bob@example.com", "Bob", "Builder")
	token, _, err := ts.Store.ResetPassword(context.Background(), "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowserTab(t, ts)
	b.navigate("/reset/" + token)
	b.waitVisible("#reset-password")
	b.wantFocus("reset-password", "the new password")
	b.shot("reset-page")
	b.fill("#reset-password", "short")
	b.fill("#reset-password-confirm", "short")
	b.click(`form[action^="/reset/"] button[type="submit"]`)
	b.waitVisible(".alert-error")
	if got := b.text(".alert-error"); got != "Password must be at least 12 characters long." {
		t.Errorf("error %q", got)
	}
	b.fill("#reset-password", "bob's brand new passphrase")
	b.fill("#reset-password-confirm", "bob's brand new passphrase")
	b.click(`form[action^="/reset/"] button[type="submit"]`)
	b.waitVisible("#secret-search")
	wantPassword(t, ts, "bob@example.com", "bob's brand new passphrase", webtest.Password)
	b.navigate("/reset/" + token)
	b.waitVisible(".alert-error")
	b.shot("reset-used")
	if got := b.text(".alert-error"); !strings.Contains(got, "does not work") {
		t.Errorf("the used link says %q", got)
	}
}

// TestBrowser_InvitationsOnAPhone: on a 390 px phone the Members page with a long invitation email
// scrolls its tables inside their cards; the page itself never scrolls sideways, nor do the Invite
// dialog and the invitation page.
func TestBrowser_InvitationsOnAPhone(t *testing.T) {
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	token, _, err := ts.Store.CreateInvitation(context.Background(), ada, db.NewInvitation{Email: "nia.newhire.with.a.long.name@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	const pageFits = `document.documentElement.scrollWidth <= innerWidth`

	admin := newBrowserTab(t, ts)
	admin.run("a phone's viewport", chromedp.EmulateViewport(390, 844))
	admin.openAs("ada@example.com")
	admin.navigate("/members")
	admin.waitVisible("#members-table .invitations")
	admin.shot("phone-members")
	if !evalJS[bool](admin, pageFits) {
		t.Errorf("the Members page is %d px wide on a 390 px phone", evalJS[int](admin, `document.documentElement.scrollWidth`))
	}
	admin.click(`button[hx-get="/members/invite"]`)
	admin.waitFor("the Invite dialog", dialogOpen)
	admin.shot("phone-invite-dialog")
	if !evalJS[bool](admin, pageFits) {
		t.Errorf("the Invite dialog widens the page to %d px", evalJS[int](admin, `document.documentElement.scrollWidth`))
	}

	hire := newBrowserTab(t, ts)
	hire.run("a phone's viewport", chromedp.EmulateViewport(390, 844))
	hire.navigate("/invite/" + token)
	hire.waitVisible("#invite-first")
	hire.shot("phone-invite-page")
	if !evalJS[bool](hire, pageFits) {
		t.Errorf("the invitation page is %d px wide on a 390 px phone", evalJS[int](hire, `document.documentElement.scrollWidth`))
	}
}
