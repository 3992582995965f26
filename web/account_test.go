package web_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web"
	"github.com/keyhold/keyhold/web/webtest"
)

const newPassword = "a brand new passphrase"

var successRE = regexp.MustCompile(`(?s)<div class="alert alert-success" role="status">.*?<span>(.*?)</span>`)

// successText is the text of the green confirmation in a response, unescaped, or "".
func successText(body string) string {
	m := successRE.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func passwordForm(current, next, confirm string) url.Values {
	return url.Values{"current_password": {current}, "new_password": {next}, "confirm_password": {confirm}}
}

// wantSignedOut fails unless c's session has ended: the next page load goes to sign-in.
func wantSignedOut(t testing.TB, what string, c *webtest.Client) {
	t.Helper()
	wantRedirect(t, what, c.Get("/secrets"), "/login?next=%2Fsecrets")
}

// wantSignedIn fails unless c's session still works.
func wantSignedIn(t testing.TB, what string, c *webtest.Client) {
	t.Helper()
	wantStatus(t, what, c.Get("/secrets"), http.StatusOK)
}

// wantPassword checks which password signs email in, with fresh clients.
func wantPassword(t testing.TB, ts *webtest.Server, email, works, fails string) {
	t.Helper()
	webtest.SignIn(t, ts.NewClient(t), email, works)
	if r := ts.NewClient(t).PostForm("/login", url.Values{"email": {email}, "password": {fails}}); r.Status != http.StatusUnauthorized {
		t.Fatalf("sign in as %s with the old password: status %d, want 401", email, r.Status)
	}
}

func TestAccount_Page(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ts.SeedOrg(t, "Acme", "ada@example.com")
	c := webtest.SignedInClient(t, ts, "ada@example.com")

	secrets := c.Get("/secrets")
	wantStatus(t, "GET /secrets", secrets, http.StatusOK)
	if !strings.Contains(secrets.Body, `<a class="menu-item" href="/account">`) {
		t.Error("the user menu has no Account link")
	}
	if strings.Index(secrets.Body, `href="/account"`) > strings.Index(secrets.Body, `action="/logout"`) {
		t.Error("Account comes after Sign out in the user menu")
	}
	r := c.Get("/account")
	wantStatus(t, "GET /account", r, http.StatusOK)
	for _, want := range []string{"Ada Admin", "ada@example.com", `action="/account/password"`, `action="/account/sign-out-everywhere"`,
		`id="password-current"`, `id="password-new"`, `id="password-confirm"`, "<title>Account · keyhold</title>"} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("the Account page lacks %q", want)
		}
	}
	wantRedirect(t, "GET /account signed out", ts.NewClient(t).Get("/account"), "/login?next=%2Faccount")
}

func TestAccount_ChangePassword_Refused(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ts.SeedOrg(t, "Acme", "ada@example.com")
	c := webtest.SignedInClient(t, ts, "ada@example.com")
	other := webtest.SignedInClient(t, ts, "ada@example.com")

	for _, tc := range []struct {
		name             string
		form             url.Values
		wantErr, invalid string
	}{
		{"wrong current password", passwordForm("not my password", newPassword, newPassword), "Your current password is incorrect.", "password-current"},
		{"too short", passwordForm(webtest.Password, "short", "short"), "Password must be at least 12 characters long.", "password-new"},
		{"confirmation differs", passwordForm(webtest.Password, newPassword, newPassword+"!"), "The new password and its confirmation do not match.", "password-confirm"},
		{"same as now", passwordForm(webtest.Password, webtest.Password, webtest.Password), "The new password must differ from your current one.", "password-new"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.HX(http.MethodPost, "/account/password", tc.form)
			wantStatus(t, "POST /account/password", r, http.StatusUnprocessableEntity)
			if got := webtest.PageError(r.Body); got != tc.wantErr {
				t.Errorf("error %q, want %q", got, tc.wantErr)
			}
			if !strings.HasPrefix(strings.TrimSpace(r.Body), `<section id="password-card"`) {
				t.Errorf("htmx got %.60q…, want the #password-card fragment", r.Body)
			}
			tag := regexp.MustCompile(`<input[^>]*id="` + tc.invalid + `"[^>]*>`).FindString(r.Body)
			if !strings.Contains(tag, `aria-invalid="true"`) || !strings.Contains(tag, "autofocus") {
				t.Errorf("field %s is not marked invalid and focused: %s", tc.invalid, tag)
			}
			if strings.Contains(r.Body, tc.form.Get("new_password")) || strings.Contains(r.Body, tc.form.Get("current_password")) {
				t.Error("a typed password came back in the page")
			}
			// Nothing changed: the old password signs in, the new one does not, no session ended.
			wantPassword(t, ts, "ada@example.com", webtest.Password, newPassword)
			wantSignedIn(t, "the other session", other)
			wantSignedIn(t, "this session", c)
		})
	}

	// Without htmx the form posts as a plain form: the whole page comes back with the error.
	r := c.PostForm("/account/password", passwordForm("not my password", newPassword, newPassword))
	wantStatus(t, "plain POST /account/password", r, http.StatusUnprocessableEntity)
	if got := webtest.PageError(r.Body); got != "Your current password is incorrect." || !strings.Contains(r.Body, `class="topbar"`) {
		t.Errorf("plain form: error %q, want the whole page with the error", got)
	}
}

func TestAccount_ChangePassword(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	ts.SeedMember(t, ada, "bob@example.com", "Bob", "Example")
	other := webtest.SignedInClient(t, ts, "ada@example.com") // another browser, signed in before the change
	c := webtest.SignedInClient(t, ts, "ada@example.com")
	bobClient := webtest.SignedInClient(t, ts, "bob@example.com")

	r := c.HX(http.MethodPost, "/account/password", passwordForm(webtest.Password, newPassword, newPassword))
	wantStatus(t, "POST /account/password", r, http.StatusOK)
	if got, want := successText(r.Body), "Password changed. Your other sessions were signed out."; got != want {
		t.Errorf("confirmation %q, want %q", got, want)
	}
	if strings.Contains(r.Body, newPassword) || strings.Contains(r.Body, webtest.Password) {
		t.Error("a password came back in the page")
	}
	wantSignedOut(t, "the other session after the change", other)
	wantSignedIn(t, "this session after the change", c)
	wantSignedIn(t, "Bob's session", bobClient)
	wantPassword(t, ts, "ada@example.com", newPassword, webtest.Password)

	evs, err := ts.Store.ListAudit(t.Context(), ada, db.AuditFilter{Action: db.ActionPasswordChange})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].ActorID != ada.UserID {
		t.Errorf("audit %+v, want one password change by Ada", evs)
	}
	audit := c.Get("/audit")
	if !strings.Contains(audit.Body, "Changed password") {
		t.Error("the audit log does not label the password change")
	}
}

// Changing the password can revoke every API key of the user (the form ticks it by default): keys a
// thief made with a stolen password stop working with it.
func TestAccount_ChangePassword_RevokesAPIKeys(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	key, _, err := ts.Store.CreateAPIKey(t.Context(), ada, "laptop", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	c := webtest.SignedInClient(t, ts, "ada@example.com")
	if !strings.Contains(c.Get("/account").Body, `name="revoke_api_keys" value="1" checked`) {
		t.Error("the Account page does not tick Also revoke my API keys by default")
	}
	form := passwordForm(webtest.Password, newPassword, newPassword)
	form.Set("revoke_api_keys", "1")
	r := c.HX(http.MethodPost, "/account/password", form)
	wantStatus(t, "POST /account/password", r, http.StatusOK)
	if got, want := successText(r.Body), "Password changed. Your other sessions were signed out and 1 API key revoked."; got != want {
		t.Errorf("confirmation %q, want %q", got, want)
	}
	if _, err := ts.Store.AuthenticateAPIKey(t.Context(), key, ""); db.ErrorCode(err) != db.CodeUnauthorized {
		t.Errorf("the API key still works: %v", err)
	}
	wantSignedIn(t, "this session", c)
}

func TestAccount_ChangePassword_Throttled(t *testing.T) {
	t.Parallel()
	limit := db.Throttle{MaxFailures: 2, Window: time.Minute, Lockout: time.Minute}
	ts := webtest.NewWith(t, web.Config{}, db.Options{SignIn: db.SignInLimits{Account: limit, Client: webtest.PlentyAttempts}})
	ts.SeedOrg(t, "Acme", "ada@example.com")
	c := webtest.SignedInClient(t, ts, "ada@example.com")

	for range 2 {
		r := c.HX(http.MethodPost, "/account/password", passwordForm("a wrong guess", newPassword, newPassword))
		wantStatus(t, "a wrong current password", r, http.StatusUnprocessableEntity)
	}
	// Locked: even the right current password is not checked now, and the lock is the sign-in's too.
	r := c.HX(http.MethodPost, "/account/password", passwordForm(webtest.Password, newPassword, newPassword))
	wantStatus(t, "the right password while locked", r, http.StatusUnprocessableEntity)
	if got := webtest.PageError(r.Body); got != "Too many failed sign-ins. Try again later." {
		t.Errorf("error %q, want the lockout", got)
	}
	if r.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After on the lockout")
	}
	if r := ts.NewClient(t).PostForm("/login", url.Values{"email": {"ada@example.com"}, "password": {webtest.Password}}); r.Status != http.StatusTooManyRequests {
		t.Errorf("sign-in while locked: status %d, want 429", r.Status)
	}
	raw := ts.RawDB(t)
	var changed int64
	if err := raw.QueryRow(`SELECT password_changed_at - created_at FROM users WHERE email = 'ada@example.com'`).Scan(&changed); err != nil || changed != 0 {
		t.Errorf("the password changed while locked (%d, %v)", changed, err)
	}
}

// Org admins cannot set or reset anyone's password: there is no such page, route or button. (An admin
// who could would sign in as the member, read their private secrets and mint an API key.)
func TestAccount_NoAdminPasswordPath(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	bob := ts.SeedMember(t, ada, "bob@example.com", "Bob", "Example")
	private := ts.SeedSecret(t, bob, "BOBS_PRIVATE", "only bob")
	admin := webtest.SignedInClient(t, ts, "ada@example.com")
	bobClient := webtest.SignedInClient(t, ts, "bob@example.com")

	members := admin.Get("/members")
	wantStatus(t, "GET /members", members, http.StatusOK)
	if strings.Contains(members.Body, "/password") || strings.Contains(members.Body, "Set password") {
		t.Error("the admin's Members page offers to set a password")
	}
	for _, rq := range []struct{ method, path string }{
		{http.MethodGet, "/members/" + bob.UserID + "/password"},
		{http.MethodPost, "/members/" + bob.UserID + "/password"},
		{http.MethodGet, "/members/new"},
		{http.MethodPost, "/members"},
	} {
		r := admin.HX(rq.method, rq.path, url.Values{"password": {newPassword}, "email": {"bob@example.com"}})
		if r.Status != http.StatusNotFound && r.Status != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: status %d, want no such route", rq.method, rq.path, r.Status)
		}
	}
	wantSignedIn(t, "Bob", bobClient)
	wantPassword(t, ts, "bob@example.com", webtest.Password, newPassword)
	webtest.WantAccess(t, ts, ada, private.ID, "")
}

func TestAccount_SignOutEverywhere(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	ts.SeedMember(t, ada, "bob@example.com", "Bob", "Example")
	c := webtest.SignedInClient(t, ts, "ada@example.com")
	other := webtest.SignedInClient(t, ts, "ada@example.com")
	bob := webtest.SignedInClient(t, ts, "bob@example.com")

	r := c.PostForm("/account/sign-out-everywhere", nil)
	wantRedirect(t, "POST /account/sign-out-everywhere", r, "/login?signed_out=1")
	if k := r.Cookie("kh_session"); k == nil || k.Value != "" || k.MaxAge >= 0 {
		t.Errorf("cookie %v, want kh_session cleared", k)
	}
	wantSignedOut(t, "this session", c)
	wantSignedOut(t, "the other session", other)
	wantSignedIn(t, "Bob", bob)
	webtest.SignIn(t, c, "ada@example.com", webtest.Password) // the password still works
}

func TestAccount_CSRF(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	bob := ts.SeedMember(t, ada, "bob@example.com", "Bob", "Example")
	c := webtest.SignedInClient(t, ts, "ada@example.com")
	bobClient := webtest.SignedInClient(t, ts, "bob@example.com")

	for _, rq := range []struct {
		path string
		form url.Values
	}{
		{"/account/password", passwordForm(webtest.Password, newPassword, newPassword)},
		{"/account/sign-out-everywhere", url.Values{}},
		{"/members/" + bob.UserID + "/role", url.Values{"role": {"admin"}}},
	} {
		t.Run(rq.path, func(t *testing.T) {
			for what, hdr := range map[string]http.Header{
				"htmx without the header":  {"Hx-Request": {"true"}},
				"plain form without _csrf": nil,
			} {
				wantStatus(t, what+" POST "+rq.path, c.Do(http.MethodPost, rq.path, rq.form, hdr), http.StatusForbidden)
			}
		})
	}
	// Nothing happened.
	wantSignedIn(t, "Ada", c)
	wantSignedIn(t, "Bob", bobClient)
	wantPassword(t, ts, "ada@example.com", webtest.Password, newPassword)
	if m, err := ts.Store.MemberByEmail(t.Context(), ada, "bob@example.com"); err != nil || m.Role != db.OrgMember {
		t.Errorf("Bob %+v %v, want still a plain member", m, err)
	}
}

func TestBrowser_Account(t *testing.T) {
	ts := webtest.New(t)
	ts.SeedOrg(t, "Acme", "ada@example.com")
	other := webtest.SignedInClient(t, ts, "ada@example.com") // another browser of Ada's
	b := newBrowserTab(t, ts)
	b.openAs("ada@example.com")

	b.click("summary.user-menu-button")
	b.click(`.menu a[href="/account"]`)
	b.waitVisible("#password-card")
	b.shot("account")
	if got := b.path(); got != "/account" {
		t.Fatalf("the Account link opens %s", got)
	}

	// A wrong current password: the error shows in the card, whose fields come back empty, with the
	// focus in the field to fix.
	b.fill("#password-current", "not my password")
	b.fill("#password-new", newPassword)
	b.fill("#password-confirm", newPassword)
	b.click(`#password-card button[type="submit"]`)
	b.waitVisible("#password-card .alert-error")
	if got := b.text("#password-card .alert-error"); got != "Your current password is incorrect." {
		t.Errorf("error %q", got)
	}
	b.waitFor("the focus on the current password", `document.activeElement && document.activeElement.id === "password-current"`)
	if got := b.value("#password-new"); got != "" {
		t.Errorf("the new password field kept %q", got)
	}
	wantSignedIn(t, "the other browser after a refused change", other)

	b.fill("#password-current", webtest.Password)
	b.fill("#password-new", newPassword)
	b.fill("#password-confirm", newPassword)
	b.click(`#password-card button[type="submit"]`)
	b.waitVisible("#password-card .alert-success")
	if got := b.text("#password-card .alert-success"); got != "Password changed. Your other sessions were signed out and 0 API keys revoked." {
		t.Errorf("confirmation %q", got)
	}
	wantSignedOut(t, "the other browser after the change", other)
	b.navigate("/secrets")
	b.waitVisible("#secret-search") // this one is still signed in

	b.navigate("/account")
	b.click(`form[action="/account/sign-out-everywhere"] button[type="submit"]`)
	b.waitVisible("#login-email")
	b.navigate("/secrets")
	b.waitVisible("#login-email")
}
