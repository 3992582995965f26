package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web/webtest"
)

// TestPortal_RefusalsAtTheField posts, past the browser's checks, input each form's server refuses:
// the answer draws the message under the input it is about, marked invalid, sends no password back,
// and stores nothing.
func TestPortal_RefusalsAtTheField(t *testing.T) {
	ctx := context.Background()
	ts := webtest.New(t)
	empty := webtest.New(t) // for /setup: no organization yet
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	ts.SeedSecret(t, ada, "TAKEN", "v")
	invite, _, err := ts.Store.CreateInvitation(ctx, ada, db.NewInvitation{Email: "nia@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	ts.SeedMember(t, ada, "bob@example.com", "Bob", "Example")
	reset, _, err := ts.Store.ResetPassword(ctx, "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	admin := webtest.SignedInClient(t, ts, "ada@example.com")
	anon, anonEmpty := ts.NewClient(t), empty.NewClient(t)
	const short = "short-pw"

	cases := []struct {
		name      string
		c         *webtest.Client
		hx        bool
		method    string
		path      string
		form      url.Values
		wantField string
		wantErr   string
	}{
		{"secret with a bad name", admin, true, http.MethodPost, "/secrets", url.Values{"name": {"bad-name"}, "value": {"v"}},
			"secret-name", `Name may contain only letters, digits and _ (not "-").`},
		{"secret with a taken name", admin, true, http.MethodPost, "/secrets", url.Values{"name": {"TAKEN"}, "value": {"v"}},
			"secret-name", "A secret named TAKEN already exists in this organization."},
		{"secret without a value", admin, true, http.MethodPost, "/secrets", url.Values{"name": {"NEW"}, "value": {""}},
			"secret-value", "Value is required."},
		{"API key without a label", admin, true, http.MethodPost, "/apikeys", url.Values{"label": {" "}},
			"apikey-label", "Label is required."},
		{"API key with a bad expiry", admin, true, http.MethodPost, "/apikeys", url.Values{"label": {"ci"}, "expires": {"soon"}},
			"apikey-expires", "Enter the expiry as a date, e.g. 2030-12-31, or leave it empty."},
		{"setup with a short password", anonEmpty, false, http.MethodPost, "/setup", url.Values{"org_name": {"Acme"}, "first_name": {"Ada"},
			"last_name": {"Admin"}, "email": {"ada@example.com"}, "password": {short}, "password_confirm": {short}},
			"setup-password", "Password must be at least 12 characters long."},
		{"setup with passwords that differ", anonEmpty, false, http.MethodPost, "/setup", url.Values{"org_name": {"Acme"}, "first_name": {"Ada"},
			"last_name": {"Admin"}, "email": {"ada@example.com"}, "password": {webtest.Password}, "password_confirm": {webtest.Password + "!"}},
			"setup-password-confirm", "The two passwords do not match."},
		{"setup with a bad email", anonEmpty, false, http.MethodPost, "/setup", url.Values{"org_name": {"Acme"}, "first_name": {"Ada"},
			"last_name": {"Admin"}, "email": {"ada"}, "password": {webtest.Password}, "password_confirm": {webtest.Password}},
			"setup-email", `"ada" is not a valid email address.`},
		{"setup without an organization name", anonEmpty, false, http.MethodPost, "/setup", url.Values{"org_name": {" "}, "first_name": {"Ada"},
			"last_name": {"Admin"}, "email": {"ada@example.com"}, "password": {webtest.Password}, "password_confirm": {webtest.Password}},
			"setup-org", "Organization name is required."},
		{"invitation with a short password", anon, false, http.MethodPost, "/invite/" + invite, url.Values{"first_name": {"Nia"},
			"last_name": {"New"}, "password": {short}, "password_confirm": {short}},
			"invite-password", "Password must be at least 12 characters long."},
		{"invitation with passwords that differ", anon, false, http.MethodPost, "/invite/" + invite, url.Values{"first_name": {"Nia"},
			"last_name": {"New"}, "password": {webtest.Password}, "password_confirm": {webtest.Password + "!"}},
			"invite-password-confirm", "The two passwords do not match."},
		{"reset with a short password", anon, false, http.MethodPost, "/reset/" + reset, url.Values{"password": {short}, "password_confirm": {short}},
			"reset-password", "Password must be at least 12 characters long."},
		{"reset with passwords that differ", anon, false, http.MethodPost, "/reset/" + reset,
			url.Values{"password": {webtest.Password + "?"}, "password_confirm": {webtest.Password + "!"}},
			"reset-password-confirm", "The two passwords do not match."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			secrets, orgs := ts.SecretNames(t, ada), empty.HasOrgs(t)
			var r *webtest.Response
			if tc.hx {
				r = tc.c.HX(tc.method, tc.path, tc.form)
			} else {
				r = tc.c.PostForm(tc.path, tc.form)
			}
			if r.Status != http.StatusUnprocessableEntity {
				t.Errorf("status %d, want 422", r.Status)
			}
			if got, marked := webtest.FieldError(r.Body, tc.wantField); got != tc.wantErr || !marked {
				t.Errorf("under #%s: %q (marked invalid: %v), want %q", tc.wantField, got, marked, tc.wantErr)
			}
			if n := strings.Count(r.Body, `aria-invalid="true"`); n != 1 {
				t.Errorf("%d inputs marked invalid, want 1", n)
			}
			if strings.Contains(r.Body, `class="alert alert-error" role="alert"`) {
				t.Error("the refusal also shows in the box over the form")
			}
			for _, pw := range []string{short, webtest.Password} {
				if strings.Contains(r.Body, pw) {
					t.Errorf("the answer sends the password %q back", pw)
				}
			}
			if strings.Contains(tc.path, "setup") || strings.Contains(tc.path, "invite") || strings.Contains(tc.path, "reset") {
				if !strings.Contains(r.Body, "Type the password again") {
					t.Error("the emptied password fields do not say to type the password again")
				}
			}
			if got := ts.SecretNames(t, ada); strings.Join(got, ",") != strings.Join(secrets, ",") {
				t.Errorf("secrets %v after the refusal, want %v", got, secrets)
			}
			if empty.HasOrgs(t) != orgs {
				t.Error("a refused setup created an organization")
			}
		})
	}
	wantPassword(t, ts, "ada@example.com", webtest.Password, short)
	if _, err := ts.Store.UserByEmail(ctx, "nia@example.com"); err == nil {
		t.Error("a refused invitation sign-up created the account")
	}
}
