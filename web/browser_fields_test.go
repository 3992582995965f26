package web_test

import (
	"testing"

	"github.com/keyhold/keyhold/web/webtest"
)

// The field tests check that a refusal, the browser's or the server's, shows our message under the
// field it is about, with that field marked invalid and focused.

// wantFieldError waits for the message under the input id and checks it, the input's marks and the
// focus.
func (b *browserTab) wantFieldError(id, want string) {
	b.t.Helper()
	b.waitVisible("#" + id + "-error")
	if got := b.text("#" + id + "-error"); got != want {
		b.t.Errorf("under #%s: %q, want %q", id, got, want)
	}
	if !evalJS[bool](b, `(el => el.getAttribute("aria-invalid") === "true" && el.getAttribute("aria-errormessage") === `+jsString(id+"-error")+`)(document.getElementById(`+jsString(id)+`))`) {
		b.t.Errorf("#%s is not marked invalid", id)
	}
	if n := evalJS[int](b, `document.querySelectorAll('[aria-invalid="true"]').length`); n != 1 {
		b.t.Errorf("%d fields marked invalid, want only #%s", n, id)
	}
	b.wantFocus(id, "the field in error")
}

func TestBrowser_FieldErrors_NewSecret(t *testing.T) {
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	ts.SeedSecret(t, ada, "EXISTING_KEY", "old")
	b := newBrowserTab(t, ts)
	b.openAs("ada@example.com")
	b.click(`.page-header button[hx-get="/secrets/new"]`)
	b.waitFor("the New Secret dialog", dialogOpen)
	b.countRequests()

	// A bad name: our words under Name, not the browser's bubble; nothing is sent.
	b.typeInto("#secret-name", "bad-name!")
	b.typeInto("#secret-value", "the value")
	b.click(`#dialog button[type="submit"]`)
	b.wantFieldError("secret-name", "Name may contain only letters, digits and _.")
	b.shot("field-secret-name")
	if n := b.requests(); n != 0 {
		t.Errorf("%d requests went out with an invalid name", n)
	}
	// Typing in the field clears its error.
	b.typeInto("#secret-name", "x")
	b.waitFor("the error cleared", `!document.getElementById("secret-name-error") && !document.querySelector('[aria-invalid="true"]')`)

	// An empty value: under Value.
	b.fill("#secret-name", "NEW_KEY")
	b.fill("#secret-value", "")
	b.click(`#dialog button[type="submit"]`)
	b.wantFieldError("secret-value", "Value is required.")

	// A taken name, refused by the server: under Name, the typed value kept.
	b.fill("#secret-name", "EXISTING_KEY")
	b.fill("#secret-value", "the value")
	b.click(`#dialog button[type="submit"]`)
	b.wantFieldError("secret-name", "A secret named EXISTING_KEY already exists in this organization.")
	if n := evalJS[int](b, `document.querySelectorAll("#dialog .alert-error:not(.alert-field)").length`); n != 0 {
		t.Errorf("the refusal also shows in %d boxes over the form", n)
	}
	if got := b.value("#secret-value"); got != "the value" {
		t.Errorf("value %q after the refusal, want the typed value", got)
	}
	if got := ts.SecretNames(t, ada); len(got) != 1 {
		t.Errorf("secrets %v after the refusals, want only EXISTING_KEY", got)
	}
}

func TestBrowser_FieldErrors_Setup(t *testing.T) {
	ts := webtest.New(t)
	b := newBrowserTab(t, ts)
	b.navigate("/setup")
	b.waitVisible("#setup-org")
	if got := b.text("#setup-password-hint"); got != "At least 12 characters." {
		t.Errorf("the password hint says %q, want the 12-character minimum", got)
	}
	b.fill("#setup-org", "Acme")
	b.fill("#setup-first", "Ada")
	b.fill("#setup-last", "Admin")
	b.fill("#setup-email", "ada@example.com")
	b.countRequests()

	// A short password, typed: the browser's check, in our words.
	b.typeInto("#setup-password", "short")
	b.typeInto("#setup-password-confirm", "short")
	b.click(`form[action="/setup"] button[type="submit"]`)
	b.wantFieldError("setup-password", "Password must be at least 12 characters long.")

	// Passwords that differ: under the confirmation.
	b.fill("#setup-password", webtest.Password)
	b.fill("#setup-password-confirm", webtest.Password+"!")
	b.click(`form[action="/setup"] button[type="submit"]`)
	b.wantFieldError("setup-password-confirm", "The two passwords do not match.")
	b.shot("field-setup-confirm")
	if ts.HasOrgs(t) {
		t.Fatal("a refused setup created an organization")
	}

	// Correcting the password settles the confirmation's complaint too.
	b.fill("#setup-password-confirm", webtest.Password)
	b.waitFor("the error cleared", `!document.querySelector('[aria-invalid="true"]')`)
	b.click(`form[action="/setup"] button[type="submit"]`)
	b.waitVisible("#secret-search")
}

func TestBrowser_FieldErrors_Dialogs(t *testing.T) {
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	ts.SeedMember(t, ada, "bob@example.com", "Bob", "Example")
	b := newBrowserTab(t, ts)
	b.openAs("ada@example.com")

	// New team with a taken name: the server's refusal under Name.
	b.navigate("/teams")
	b.click(`.page-header button[hx-get="/teams/new"]`)
	b.waitFor("the New team dialog", dialogOpen)
	b.fill("#team-name", "Platform")
	b.click(`#dialog button[type="submit"]`)
	b.waitFor("the dialog closed", dialogClosed)
	b.click(`.page-header button[hx-get="/teams/new"]`)
	b.waitFor("the New team dialog", dialogOpen)
	b.fill("#team-name", "platform")
	b.click(`#dialog button[type="submit"]`)
	b.wantFieldError("team-name", `A team named "platform" already exists in this organization.`)
	b.closeDialog()

	// Invite someone who is already a member: under Email.
	b.navigate("/members")
	b.click(`button[hx-get="/members/invite"]`)
	b.waitFor("the Invite dialog", dialogOpen)
	b.fill("#invite-email", "bob@example.com")
	b.click(`#dialog button[type="submit"]`)
	b.wantFieldError("invite-email", "bob@example.com is already a member of this organization.")
	b.closeDialog()

	// An API key without a label: under Label, in our words.
	b.navigate("/apikeys")
	b.click(`.page-header button[hx-get="/apikeys/new"]`)
	b.waitFor("the Create API key dialog", dialogOpen)
	b.click(`#dialog button[type="submit"]`)
	b.wantFieldError("apikey-label", "Label is required.")
	b.closeDialog()

	// The account's new password, confirmed wrong: under the confirmation, nothing sent.
	b.navigate("/account")
	b.waitVisible("#password-card")
	b.countRequests()
	b.fill("#password-current", webtest.Password)
	b.typeInto("#password-new", "a brand new passphrase")
	b.typeInto("#password-confirm", "a brand new passphrase!")
	b.click(`#password-card button[type="submit"]`)
	b.wantFieldError("password-confirm", "The new password and its confirmation do not match.")
	if n := b.requests(); n != 0 {
		t.Errorf("%d requests went out with passwords that differ", n)
	}
	// The wrong current password, refused by the server: under Current password.
	b.fill("#password-current", "not the password")
	b.fill("#password-confirm", "a brand new passphrase")
	b.click(`#password-card button[type="submit"]`)
	b.wantFieldError("password-current", "Your current password is incorrect.")
	wantPassword(t, ts, "ada@example.com", webtest.Password, "a brand new passphrase")
}
