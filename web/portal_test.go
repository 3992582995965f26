package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web"
	"github.com/keyhold/keyhold/web/webtest"
)

// wantStatus fails the test unless r has status want.
func wantStatus(t testing.TB, what string, r *webtest.Response, want int) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("%s: status %d, want %d; error box %q, toast %q", what, r.Status, want, webtest.PageError(r.Body), webtest.ToastText(r.Body))
	}
}

// wantRedirect fails the test unless r is a 303 to target.
func wantRedirect(t testing.TB, what string, r *webtest.Response, target string) {
	t.Helper()
	if r.Status != http.StatusSeeOther || r.Location() != target {
		t.Fatalf("%s: status %d to %q, want 303 to %q", what, r.Status, r.Location(), target)
	}
}

func setupForm(org, first, last, email, pw, confirm string) url.Values {
	return url.Values{"org_name": {org}, "first_name": {first}, "last_name": {last}, "email": {email},
		"password": {pw}, "password_confirm": {confirm}}
}

func TestPortal_FirstRunSetup(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	c := ts.NewClient(t)

	wantRedirect(t, "GET / before setup", c.Get("/"), "/setup")
	page := c.Get("/setup")
	wantStatus(t, "GET /setup", page, http.StatusOK)
	if tok := webtest.CSRFFromPage(page.Body); tok == "" || c.Cookie("kh_anon") == "" || strings.Contains(tok, c.Cookie("kh_anon")) {
		t.Fatalf("setup page token %q, kh_anon cookie %q: want a token that is not the cookie's value", tok, c.Cookie("kh_anon"))
	}

	bad := []struct {
		name string
		form url.Values
		want string
	}{
		{"mismatched passwords", setupForm("Acme", "Ada", "Admin", "ada@example.com", webtest.Password, webtest.Password+"x"), "The two passwords do not match."},
		{"short password", setupForm("Acme", "Ada", "Admin", "ada@example.com", "elevenchars", "elevenchars"), "Password must be at least 12 characters long."},
		{"bad email", setupForm("Acme", "Ada", "Admin", "ada.example.com", webtest.Password, webtest.Password), `"ada.example.com" is not a valid email address.`},
		{"empty org name", setupForm("   ", "Ada", "Admin", "ada@example.com", webtest.Password, webtest.Password), "Organization name is required."},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			r := c.PostForm("/setup", tc.form)
			wantStatus(t, "POST /setup", r, http.StatusUnprocessableEntity)
			if got := webtest.PageError(r.Body); got != tc.want {
				t.Errorf("error %q, want %q", got, tc.want)
			}
			if email, _ := webtest.InputValue(r.Body, "setup-email"); email != tc.form.Get("email") {
				t.Errorf("email field %q, want the typed %q", email, tc.form.Get("email"))
			}
			if strings.Contains(r.Body, tc.form.Get("password")) {
				t.Error("the page sends the typed password back")
			}
			if r.Cookie("kh_session") != nil {
				t.Error("a refused setup set a session cookie")
			}
			if ts.HasOrgs(t) {
				t.Fatal("a refused setup created an organization")
			}
		})
	}

	r := c.PostForm("/setup", setupForm("Acme", "Ada", "Admin", "ada@example.com", webtest.Password, webtest.Password))
	wantRedirect(t, "good setup", r, "/secrets")
	if k := r.Cookie("kh_session"); k == nil || k.Value == "" {
		t.Fatal("setup did not sign the admin in (no kh_session cookie)")
	}
	if !ts.HasOrgs(t) {
		t.Fatal("setup created no organization")
	}
	home := c.Get("/secrets")
	wantStatus(t, "GET /secrets after setup", home, http.StatusOK)
	for _, want := range []string{"No secrets yet", "Ada Admin", "Acme"} {
		if !strings.Contains(home.Body, want) {
			t.Errorf("the Secrets page after setup lacks %q", want)
		}
	}

	// Setup is gone once an organization exists, for the admin and for anyone else.
	wantRedirect(t, "GET / after setup", c.Get("/"), "/secrets")
	other := ts.NewClient(t)
	wantRedirect(t, "GET / anonymous after setup", other.Get("/"), "/login")
	for _, cl := range []*webtest.Client{c, other} {
		if r := cl.Get("/setup"); r.Status != http.StatusSeeOther || r.Location() == "/setup" {
			t.Errorf("GET /setup after setup: status %d to %q, want a redirect away", r.Status, r.Location())
		}
		r := cl.PostForm("/setup", setupForm("Second", "Eve", "Example", "eve@example.com", webtest.Password, webtest.Password))
		wantStatus(t, "second POST /setup", r, http.StatusUnprocessableEntity)
		if got := webtest.PageError(r.Body); !strings.Contains(got, "already set up") {
			t.Errorf("second setup error %q, want it to say keyhold is already set up", got)
		}
		if r.Cookie("kh_session") != nil {
			t.Error("a refused second setup set a session cookie")
		}
	}
	if _, err := ts.Store.OrgByName(context.Background(), "Second"); db.ErrorCode(err) != db.CodeNotFound {
		t.Fatalf("second organization: err %v, want not found", err)
	}
	if _, err := ts.Store.UserByEmail(context.Background(), "eve@example.com"); db.ErrorCode(err) != db.CodeNotFound {
		t.Fatalf("second admin: err %v, want not found", err)
	}
}

func TestPortal_AnonymousIsSentToSignIn(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ts.SeedOrg(t, "Acme", "ada@example.com")
	c := ts.NewClient(t)

	wantRedirect(t, "GET /secrets", c.Get("/secrets"), "/login?next=%2Fsecrets")
	wantRedirect(t, "GET /secrets?q=db", c.Get("/secrets?q=db"), "/login?next=%2Fsecrets%3Fq%3Ddb")
	wantRedirect(t, "GET /secrets/new", c.Get("/secrets/new"), "/login?next=%2Fsecrets%2Fnew")

	// An htmx request asks for a fragment (a dialog, a table): after signing in, the browser must come
	// back to the page the request was made from, not to the fragment's URL.
	for _, path := range []string{"/secrets?q=db", "/secrets/new", "/secrets/some-id/edit", "/secrets/some-id/activity"} {
		r := c.Do(http.MethodGet, path, nil, http.Header{"Hx-Request": {"true"}, "Hx-Current-Url": {ts.URL + "/secrets?q=db&page=2"}})
		if want := "/login?next=%2Fsecrets%3Fq%3Ddb%26page%3D2"; r.Header.Get("HX-Redirect") != want || r.Status < 400 {
			t.Errorf("htmx GET %s: status %d, HX-Redirect %q; want an error status and HX-Redirect to %s", path, r.Status, r.Header.Get("HX-Redirect"), want)
		}
	}
	if r := c.GetHX("/secrets/new"); r.Header.Get("HX-Redirect") != "/login" {
		t.Errorf("htmx GET /secrets/new without HX-Current-URL: HX-Redirect %q, want /login", r.Header.Get("HX-Redirect"))
	}
	r := c.Do(http.MethodPost, "/secrets", url.Values{"name": {"X"}, "value": {"v"}},
		http.Header{"Hx-Request": {"true"}, "X-Csrf-Token": {c.CSRF()}, "Hx-Current-Url": {ts.URL + "/secrets"}})
	if r.Header.Get("HX-Redirect") != "/login?next=%2Fsecrets" {
		t.Errorf("htmx POST /secrets: status %d, HX-Redirect %q; want HX-Redirect to /login?next=%%2Fsecrets", r.Status, r.Header.Get("HX-Redirect"))
	}

	// After signing in, next is honored when it is a local path, and only then.
	for next, want := range map[string]string{
		"/secrets?q=db":        "/secrets?q=db",
		"//evil.example/x":     "/secrets",
		"https://evil.example": "/secrets",
		`/\evil.example`:       "/secrets",
	} {
		c := ts.NewClient(t)
		r := c.PostForm("/login", url.Values{"email": {"ada@example.com"}, "password": {webtest.Password}, "next": {next}})
		wantRedirect(t, "sign in with next="+next, r, want)
	}
}

func TestPortal_CSRF(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	sec := ts.SeedSecret(t, ada, "API_TOKEN", "v1")
	c := webtest.SignedInClient(t, ts, "ada@example.com")
	c.Get("/secrets")
	stranger := ts.NewClient(t)
	strangerToken := stranger.CSRF() // a real token, of someone else
	if strangerToken == c.CSRF() {
		t.Fatal("two clients got the same CSRF token")
	}

	noToken := func(method, path string, form url.Values) *webtest.Response {
		return c.Do(method, path, form, http.Header{"Hx-Request": {"true"}})
	}
	wrongHeader := func(method, path string, form url.Values) *webtest.Response {
		return c.Do(method, path, form, http.Header{"Hx-Request": {"true"}, "X-Csrf-Token": {strangerToken}})
	}
	wrongField := func(method, path string, form url.Values) *webtest.Response {
		f := url.Values{"_csrf": {strangerToken}}
		for k, v := range form {
			f[k] = v
		}
		return c.Do(method, path, f, nil)
	}
	crossSite := func(method, path string, form url.Values) *webtest.Response {
		return c.Do(method, path, form, http.Header{"Hx-Request": {"true"}, "X-Csrf-Token": {c.CSRF()},
			"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}})
	}
	senders := map[string]func(method, path string, form url.Values) *webtest.Response{
		"no token": noToken, "another client's token in the header": wrongHeader,
		"another client's token in the form": wrongField, "cross-site with a good token": crossSite,
	}
	requests := []struct {
		method, path string
		form         url.Values
	}{
		{http.MethodPost, "/secrets", url.Values{"name": {"NEW_ONE"}, "value": {"planted"}}},
		{http.MethodPut, "/secrets/" + sec.ID, url.Values{"version": {"1"}, "value": {"planted"}}},
		{http.MethodDelete, "/secrets/" + sec.ID, nil},
		{http.MethodPost, "/logout", url.Values{}},
		{http.MethodPost, "/login", url.Values{"email": {"ada@example.com"}, "password": {webtest.Password}}},
		{http.MethodPost, "/org/switch", url.Values{"org_id": {ada.OrgID}}},
	}
	session := c.Cookie("kh_session")
	for how, send := range senders {
		for _, rq := range requests {
			t.Run(how+" "+rq.method+" "+rq.path, func(t *testing.T) {
				r := send(rq.method, rq.path, rq.form)
				wantStatus(t, rq.method+" "+rq.path, r, http.StatusForbidden)
				if k := r.Cookie("kh_session"); k != nil {
					t.Errorf("a refused request set kh_session=%q", k.Value)
				}
			})
		}
	}

	// Nothing happened: the secret is there, unchanged, alone, and the session still works.
	if got := ts.SecretNames(t, ada); !slices.Equal(got, []string{"API_TOKEN"}) {
		t.Errorf("secrets %v, want only API_TOKEN", got)
	}
	if v := ts.SecretValue(t, ada, sec.ID); v != "v1" {
		t.Errorf("value %q, want v1", v)
	}
	if c.Cookie("kh_session") != session {
		t.Error("the session cookie changed")
	}
	wantStatus(t, "GET /secrets with the old session", c.Get("/secrets"), http.StatusOK)

	// And with the right token the same requests go through.
	r := c.HX(http.MethodPost, "/secrets", url.Values{"name": {"NEW_ONE"}, "value": {"v"}})
	wantStatus(t, "POST /secrets with the token", r, http.StatusOK)
	wantRedirect(t, "POST /logout with the token", c.PostForm("/logout", nil), "/login?signed_out=1")
}

func TestPortal_SignIn(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ts.SeedOrg(t, "Acme", "ada@example.com")

	c := ts.NewClient(t)
	wrongPw := c.PostForm("/login", url.Values{"email": {"ada@example.com"}, "password": {"not the password"}})
	unknown := c.PostForm("/login", url.Values{"email": {"nobody@example.com"}, "password": {"not the password"}})
	wantStatus(t, "wrong password", wrongPw, http.StatusUnauthorized)
	wantStatus(t, "unknown email", unknown, http.StatusUnauthorized)
	if a, b := webtest.PageError(wrongPw.Body), webtest.PageError(unknown.Body); a != b || a == "" {
		t.Errorf("wrong password says %q, unknown email says %q: want the same message", a, b)
	}
	if email, _ := webtest.InputValue(wrongPw.Body, "login-email"); email != "ada@example.com" {
		t.Errorf("email field %q after a failure, want the typed address", email)
	}
	if c.Cookie("kh_session") != "" {
		t.Fatal("a failed sign-in set a session cookie")
	}

	r := webtest.SignIn(t, c, "ADA@example.com ", webtest.Password) // emails match case-insensitively, trimmed
	if r.Location() != "/secrets" {
		t.Errorf("signed in to %q, want /secrets", r.Location())
	}
	wantStatus(t, "GET /secrets signed in", c.Get("/secrets"), http.StatusOK)
	wantRedirect(t, "GET /login signed in", c.Get("/login"), "/secrets")
}

func TestPortal_SignInThrottle(t *testing.T) {
	t.Parallel()
	limit := db.Throttle{MaxFailures: 3, Window: time.Minute, Lockout: time.Minute}
	plenty := db.Throttle{MaxFailures: 1000, Window: time.Minute, Lockout: time.Minute}

	wantLocked := func(t *testing.T, r *webtest.Response) {
		t.Helper()
		wantStatus(t, "locked sign-in", r, http.StatusTooManyRequests)
		secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if err != nil || secs < 1 || secs > 61 {
			t.Errorf("Retry-After %q, want 1..61 seconds", r.Header.Get("Retry-After"))
		}
		if !strings.Contains(webtest.PageError(r.Body), "Too many failed sign-ins") {
			t.Errorf("error %q, want it to say there were too many failed sign-ins", webtest.PageError(r.Body))
		}
		if r.Cookie("kh_session") != nil {
			t.Error("a locked sign-in set a session cookie")
		}
	}

	t.Run("per account", func(t *testing.T) {
		ts := webtest.NewWith(t, web.Config{}, db.Options{SignIn: db.SignInLimits{Account: limit, Client: plenty}})
		admin := ts.SeedOrg(t, "Acme", "ada@example.com")
		ts.SeedMember(t, admin, "bob@example.com", "Bob", "Example")
		c := ts.NewClient(t)
		for _, email := range []string{"ada@example.com", "nobody@example.com"} {
			for i := range limit.MaxFailures {
				r := c.PostForm("/login", url.Values{"email": {email}, "password": {"wrong password " + strconv.Itoa(i)}})
				wantStatus(t, fmt.Sprintf("failure %d for %s", i+1, email), r, http.StatusUnauthorized)
			}
			wantLocked(t, c.PostForm("/login", url.Values{"email": {email}, "password": {"wrong again"}}))
		}
		// The right password does not get through a locked account, from this client or another.
		wantLocked(t, c.PostForm("/login", url.Values{"email": {"ada@example.com"}, "password": {webtest.Password}}))
		wantLocked(t, ts.NewClient(t).PostForm("/login", url.Values{"email": {"Ada@Example.com"}, "password": {webtest.Password}}))
		// Other accounts are not locked.
		webtest.SignIn(t, c, "bob@example.com", webtest.Password)
	})

	t.Run("per client", func(t *testing.T) {
		ts := webtest.NewWith(t, web.Config{}, db.Options{SignIn: db.SignInLimits{Account: plenty, Client: limit}})
		admin := ts.SeedOrg(t, "Acme", "ada@example.com")
		ts.SeedMember(t, admin, "bob@example.com", "Bob", "Example")
		c := ts.NewClient(t)
		for i := range limit.MaxFailures {
			r := c.PostForm("/login", url.Values{"email": {fmt.Sprintf("guess%d@example.com", i)}, "password": {"wrong"}})
			wantStatus(t, fmt.Sprintf("failure %d", i+1), r, http.StatusUnauthorized)
		}
		wantLocked(t, c.PostForm("/login", url.Values{"email": {"bob@example.com"}, "password": {webtest.Password}}))
	})
}

func TestPortal_SessionFixation(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	admin := ts.SeedOrg(t, "Acme", "ada@example.com")
	ts.SeedMember(t, admin, "bob@example.com", "Bob", "Example")

	t.Run("made-up value", func(t *testing.T) {
		c := ts.NewClient(t)
		c.SetCookie("kh_session", "planted-by-an-attacker")
		wantRedirect(t, "planted session", c.Get("/secrets"), "/login?next=%2Fsecrets")
		r := webtest.SignIn(t, c, "ada@example.com", webtest.Password)
		k := r.Cookie("kh_session")
		if k == nil || k.Value == "" || k.Value == "planted-by-an-attacker" {
			t.Fatalf("sign-in set kh_session %v, want a new value", k)
		}
	})

	t.Run("live session of the attacker", func(t *testing.T) {
		attacker := webtest.SignedInClient(t, ts, "bob@example.com")
		planted := attacker.Cookie("kh_session")
		victim := ts.NewClient(t)
		victim.SetCookie("kh_session", planted)
		webtest.SignIn(t, victim, "ada@example.com", webtest.Password)
		if got := victim.Cookie("kh_session"); got == planted || got == "" {
			t.Fatalf("the victim's session after sign-in is %q, want a new value", got)
		}
		// The planted ID is worthless afterwards: it does not reach Ada's secrets, nor anyone's.
		wantRedirect(t, "the planted session after sign-in", attacker.Get("/secrets"), "/login?next=%2Fsecrets")
		if r := victim.Get("/secrets"); r.Status != http.StatusOK || !strings.Contains(r.Body, "Ada Admin") {
			t.Fatalf("victim's /secrets: status %d, want 200 as Ada Admin", r.Status)
		}
	})
}

func TestPortal_SignOutEndsTheSession(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ts.SeedOrg(t, "Acme", "ada@example.com")
	c := webtest.SignedInClient(t, ts, "ada@example.com")
	old := c.Cookie("kh_session")

	r := c.PostForm("/logout", nil)
	wantRedirect(t, "POST /logout", r, "/login?signed_out=1")
	if k := r.Cookie("kh_session"); k == nil || k.Value != "" || k.MaxAge >= 0 {
		t.Errorf("sign-out cookie %v, want kh_session cleared", k)
	}
	wantRedirect(t, "GET /secrets after sign-out", c.Get("/secrets"), "/login?next=%2Fsecrets")

	// Replaying the old cookie does not bring the session back: it ended on the server.
	replay := ts.NewClient(t)
	replay.SetCookie("kh_session", old)
	wantRedirect(t, "GET /secrets with the old cookie", replay.Get("/secrets"), "/login?next=%2Fsecrets")
	if r := replay.GetHX("/secrets/new"); r.Header.Get("HX-Redirect") == "" {
		t.Errorf("htmx request with the old cookie: status %d, want HX-Redirect to sign-in", r.Status)
	}
}

// A change sent from a page whose session ended meanwhile (signed out elsewhere, expired) is sent to
// sign in, like a GET, rather than refused as a forged form: its token was bound to the ended session.
func TestPortal_ChangeAfterTheSessionEnded(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	sec := ts.SeedSecret(t, ada, "API_TOKEN", "v1")
	c := webtest.SignedInClient(t, ts, "ada@example.com")
	token := c.CSRF()
	if err := ts.Store.DeleteUserSessions(context.Background(), ada.UserID, ""); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ method, path string }{
		{http.MethodPost, "/secrets/" + sec.ID + "/reveal"},
		{http.MethodDelete, "/secrets/" + sec.ID},
		{http.MethodPost, "/logout"},
	} {
		r := c.Do(tc.method, tc.path, url.Values{}, http.Header{"Hx-Request": {"true"}, "X-Csrf-Token": {token}, "Hx-Current-Url": {ts.URL + "/secrets"}})
		if r.Status != http.StatusUnauthorized || r.Header.Get("HX-Redirect") != "/login?next=%2Fsecrets" {
			t.Errorf("%s %s after the session ended: %d, HX-Redirect %q; want 401 to sign in", tc.method, tc.path, r.Status, r.Header.Get("HX-Redirect"))
		}
	}
	if names := ts.SecretNames(t, ada); len(names) != 1 {
		t.Errorf("secrets %v after the refused delete", names)
	}
}

func TestPortal_CookieFlags(t *testing.T) {
	t.Parallel()
	for _, secure := range []bool{false, true} {
		t.Run(fmt.Sprintf("SecureCookies=%v", secure), func(t *testing.T) {
			ts := webtest.NewConfig(t, web.Config{SecureCookies: secure})
			ts.SeedOrg(t, "Acme", "ada@example.com")
			// Over TLS (or behind a TLS proxy) cookies get the __Host- prefix: only this host, over
			// TLS, for the whole site can set them, so a sibling subdomain cannot plant one.
			name := func(base string) string {
				if secure {
					return "__Host-" + base
				}
				return base
			}
			// A jar does not send Secure cookies over plain http, so carry the cookies by hand.
			hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			res, err := hc.Get(ts.URL + "/login")
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(res.Body)
			res.Body.Close()
			var anon *http.Cookie
			for _, k := range res.Cookies() {
				if k.Name == name("kh_anon") {
					anon = k
				}
			}
			if anon == nil {
				t.Fatalf("GET /login set no %s cookie", name("kh_anon"))
			}
			if !anon.HttpOnly || anon.SameSite != http.SameSiteLaxMode || anon.Secure != secure || anon.Path != "/" || anon.Domain != "" {
				t.Errorf("%s HttpOnly=%v SameSite=%v Secure=%v Path=%q Domain=%q, want true, Lax, %v, /, none",
					anon.Name, anon.HttpOnly, anon.SameSite, anon.Secure, anon.Path, anon.Domain, secure)
			}
			form := url.Values{"_csrf": {webtest.CSRFFromPage(string(page))}, "email": {"ada@example.com"}, "password": {webtest.Password}}
			req, _ := http.NewRequest(http.MethodPost, ts.URL+"/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(&http.Cookie{Name: anon.Name, Value: anon.Value})
			res, err = hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign-in: status %d, want 303", res.StatusCode)
			}
			var sess *http.Cookie
			for _, k := range res.Cookies() {
				if k.Name == name("kh_session") {
					sess = k
				}
			}
			if sess == nil {
				t.Fatalf("sign-in set no %s cookie", name("kh_session"))
			}
			if !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || sess.Secure != secure || sess.Path != "/" || sess.Domain != "" {
				t.Errorf("kh_session HttpOnly=%v SameSite=%v Secure=%v Path=%q, want true, Lax, %v, /",
					sess.HttpOnly, sess.SameSite, sess.Secure, sess.Path, secure)
			}
			if sess.MaxAge != 0 || !sess.Expires.IsZero() {
				t.Errorf("kh_session MaxAge=%d Expires=%v, want a browser-session cookie", sess.MaxAge, sess.Expires)
			}
		})
	}
}

// checkSecurityHeaders fails the test unless r carries the headers every page must have.
func checkSecurityHeaders(t testing.TB, what string, r *webtest.Response) {
	t.Helper()
	h := r.Header
	directives := map[string]string{}
	for _, d := range strings.Split(h.Get("Content-Security-Policy"), ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	if directives["default-src"] != "'self'" {
		t.Errorf("%s: CSP default-src %q, want 'self' (CSP %q)", what, directives["default-src"], h.Get("Content-Security-Policy"))
	}
	scripts, ok := directives["script-src"]
	if !ok {
		scripts = directives["default-src"]
	}
	if strings.Contains(scripts, "unsafe-inline") || strings.Contains(scripts, "unsafe-eval") || strings.Contains(scripts, "*") {
		t.Errorf("%s: CSP script-src %q allows inline or foreign scripts", what, scripts)
	}
	if directives["frame-ancestors"] != "'none'" {
		t.Errorf("%s: CSP frame-ancestors %q, want 'none'", what, directives["frame-ancestors"])
	}
	for name, want := range map[string]string{
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "same-origin",
		"X-Content-Type-Options": "nosniff",
		"Cache-Control":          "no-store",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s: %s %q, want %q", what, name, got, want)
		}
	}
}

func TestPortal_SecurityHeaders(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	anon := ts.NewClient(t)
	checkSecurityHeaders(t, "GET / before setup", anon.Get("/"))
	checkSecurityHeaders(t, "GET /setup", anon.Get("/setup"))
	checkSecurityHeaders(t, "refused POST /setup", anon.PostForm("/setup", setupForm("", "", "", "", "", "")))

	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	sec := ts.SeedSecret(t, ada, "API_TOKEN", "s3cr3t")
	anon = ts.NewClient(t)
	checkSecurityHeaders(t, "GET /login", anon.Get("/login"))
	checkSecurityHeaders(t, "GET /secrets anonymous", anon.Get("/secrets"))
	checkSecurityHeaders(t, "refused POST /login", anon.PostForm("/login", url.Values{"email": {"ada@example.com"}}))
	checkSecurityHeaders(t, "POST /login without CSRF", anon.Do(http.MethodPost, "/login", url.Values{}, nil))
	checkSecurityHeaders(t, "sign-in redirect", webtest.SignIn(t, anon, "ada@example.com", webtest.Password))

	c := anon
	id := sec.ID
	for _, path := range []string{"/", "/secrets", "/secrets?q=API&page=1", "/secrets/new", "/secrets/" + id + "/edit",
		"/secrets/" + id + "/activity", "/secrets/" + id + "/delete", "/secrets/no-such-id/edit", "/no-such-page"} {
		checkSecurityHeaders(t, "GET "+path, c.Get(path))
		checkSecurityHeaders(t, "htmx GET "+path, c.GetHX(path))
	}
	checkSecurityHeaders(t, "refused POST /secrets", c.HX(http.MethodPost, "/secrets", url.Values{"name": {"bad name"}, "value": {"v"}}))
	checkSecurityHeaders(t, "POST /secrets", c.HX(http.MethodPost, "/secrets", url.Values{"name": {"OK_NAME"}, "value": {"v"}}))
	checkSecurityHeaders(t, "PUT /secrets/:id", c.HX(http.MethodPut, "/secrets/"+id, url.Values{"version": {"1"}, "value": {"v2"}}))
	checkSecurityHeaders(t, "POST /logout", c.PostForm("/logout", nil))

	// Static assets may be cached, but carry the same protections.
	r := c.Get("/static/app.js")
	wantStatus(t, "GET /static/app.js", r, http.StatusOK)
	if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("static asset headers %v lack nosniff or CSP", r.Header)
	}
}

// newSecretForm is what the New Secret dialog posts.
func newSecretForm(name, value string) url.Values {
	return url.Values{"name": {name}, "value": {value}}
}

func TestPortal_SecretCreate(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	ts.SeedSecret(t, ada, "EXISTING", "old value")
	c := webtest.SignedInClient(t, ts, "ada@example.com")

	dlg := c.GetHX("/secrets/new")
	wantStatus(t, "GET /secrets/new", dlg, http.StatusOK)
	if !strings.Contains(dlg.Body, `<dialog`) || !strings.Contains(dlg.Body, `hx-post="/secrets"`) {
		t.Fatalf("GET /secrets/new is not the New Secret dialog:\n%s", dlg.Body)
	}

	bad := []struct {
		name, value, want string
	}{
		{"", "v", "Name is required."},
		{"bad-name!", "v", `Name may contain only letters, digits and _ (not "-", "!").`},
		{"has space", "v", `Name may contain only letters, digits and _ (not spaces).`},
		{strings.Repeat("N", 257), "v", "Name is 257 characters long; the limit is 256."},
		{"EXISTING", "v", "A secret named EXISTING already exists in this organization."},
		{"EMPTY_VALUE", "", "Value is required."},
		{"TOO_BIG", strings.Repeat("x", db.MaxValueBytes+1), "5 MB"},
		{"NOT_UTF8", "ok\xff\xfe", "Value must be UTF-8 text."},
		{"ENCODED_SURROGATE", "ok\xed\xa0\x80", "Value must be UTF-8 text."}, // value=ok%ED%A0%80
	}
	for _, tc := range bad {
		label := tc.name
		if len(label) > 20 {
			label = label[:20] + "…"
		}
		t.Run(label+" "+tc.want, func(t *testing.T) {
			r := c.HX(http.MethodPost, "/secrets", newSecretForm(tc.name, tc.value))
			wantStatus(t, "POST /secrets", r, http.StatusUnprocessableEntity)
			if !strings.Contains(r.Body, "<dialog") {
				t.Fatal("the answer is not the dialog")
			}
			if got := webtest.PageError(r.Body); !strings.Contains(got, tc.want) {
				t.Errorf("dialog error %q, want %q", got, tc.want)
			}
			if got, _ := webtest.InputValue(r.Body, "secret-name"); got != tc.name {
				t.Errorf("name field %q, want the typed name kept", got)
			}
			if r.Header.Get("HX-Trigger") != "" {
				t.Errorf("a refused create triggered %q", r.Header.Get("HX-Trigger"))
			}
			if len(r.Body) > 100_000 {
				t.Errorf("the answer is %d bytes: the value is sent back", len(r.Body))
			}
			if got := ts.SecretNames(t, ada); !slices.Equal(got, []string{"EXISTING"}) {
				t.Fatalf("secrets %v after a refused create, want only EXISTING", got)
			}
		})
	}
	if v := ts.SecretValue(t, ada, mustSecretID(t, ts, ada, "EXISTING")); v != "old value" {
		t.Fatalf("EXISTING holds %q, want the old value", v)
	}

	// At the limits everything is accepted.
	longName, bigValue := strings.Repeat("N", db.MaxNameLen), strings.Repeat("x", db.MaxValueBytes)
	r := c.HX(http.MethodPost, "/secrets", newSecretForm(" "+longName+" ", bigValue))
	wantStatus(t, "POST /secrets at the limits", r, http.StatusOK)
	if r.Header.Get("HX-Trigger") != "secrets-changed" {
		t.Errorf("HX-Trigger %q, want secrets-changed", r.Header.Get("HX-Trigger"))
	}
	if got, want := webtest.ToastText(r.Body), "Created "+longName+"."; got != want {
		t.Errorf("toast %q, want %q", got, want)
	}
	if v := ts.SecretValue(t, ada, mustSecretID(t, ts, ada, longName)); v != bigValue {
		t.Errorf("stored value of %d bytes, want %d", len(v), len(bigValue))
	}
}

// mustSecretID finds a secret of a's organization by name.
func mustSecretID(t testing.TB, ts *webtest.Server, a db.Actor, name string) string {
	t.Helper()
	page, err := ts.Store.ListSecrets(context.Background(), a, name, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range page.Secrets {
		if s.Name == name {
			return s.ID
		}
	}
	t.Fatalf("no secret named %s", name)
	return ""
}

// secretsFixture is an organization with Ada (admin, Owner of API_TOKEN), Bob (co-Owner), Rita
// (Reader) and Nora (a member with no access), and Ada's client.
type secretsFixture struct {
	ts                     *webtest.Server
	ada, bob, rita, nora   db.Actor
	sec                    *db.Secret
	adaC, ritaC, noraC     *webtest.Client
	secretPath, secretName string
}

func newSecretsFixture(t *testing.T) *secretsFixture {
	t.Helper()
	ts := webtest.New(t)
	f := &secretsFixture{ts: ts}
	f.ada = ts.SeedOrg(t, "Acme", "ada@example.com")
	f.bob = ts.SeedMember(t, f.ada, "bob@example.com", "Bob", "Example")
	f.rita = ts.SeedMember(t, f.ada, "rita@example.com", "Rita", "Reader")
	f.nora = ts.SeedMember(t, f.ada, "nora@example.com", "Nora", "Noaccess")
	f.sec = ts.SeedSecret(t, f.ada, "API_TOKEN", "v1")
	ts.SeedShare(t, f.ada, f.sec, f.bob, db.RoleOwner)
	ts.SeedShare(t, f.ada, f.sec, f.rita, db.RoleReader)
	f.adaC = webtest.SignedInClient(t, ts, "ada@example.com")
	f.ritaC = webtest.SignedInClient(t, ts, "rita@example.com")
	f.noraC = webtest.SignedInClient(t, ts, "nora@example.com")
	f.secretPath, f.secretName = "/secrets/"+f.sec.ID, f.sec.Name
	return f
}

func (f *secretsFixture) value(t testing.TB) string {
	t.Helper()
	return f.ts.SecretValue(t, f.ada, f.sec.ID)
}

func TestPortal_SecretEdit(t *testing.T) {
	t.Parallel()
	f := newSecretsFixture(t)
	ctx := context.Background()

	dlg := f.adaC.GetHX(f.secretPath + "/edit")
	wantStatus(t, "GET edit", dlg, http.StatusOK)
	if !strings.Contains(dlg.Body, `name="version" value="1"`) || !strings.Contains(dlg.Body, `hx-put="`+f.secretPath+`"`) {
		t.Fatalf("the Edit dialog lacks the version field or the PUT:\n%s", dlg.Body)
	}

	r := f.adaC.HX(http.MethodPut, f.secretPath, url.Values{"version": {"1"}, "value": {"v2"}})
	wantStatus(t, "PUT version 1", r, http.StatusOK)
	if got := webtest.ToastText(r.Body); got != "Updated API_TOKEN." {
		t.Errorf("toast %q, want Updated API_TOKEN.", got)
	}
	if r.Header.Get("HX-Trigger") != "secrets-changed" {
		t.Errorf("HX-Trigger %q, want secrets-changed", r.Header.Get("HX-Trigger"))
	}
	if v := f.value(t); v != "v2" {
		t.Fatalf("value %q after the update, want v2", v)
	}

	t.Run("stale version", func(t *testing.T) {
		// Ada opened the dialog at version 2; Bob saves version 3 behind her back.
		if _, err := f.ts.Store.UpdateSecret(ctx, f.bob, f.sec.ID, []byte("bob's value"), 2); err != nil {
			t.Fatal(err)
		}
		r := f.adaC.HX(http.MethodPut, f.secretPath, url.Values{"version": {"2"}, "value": {"ada's value"}})
		wantStatus(t, "PUT with a stale version", r, http.StatusUnprocessableEntity)
		msg := webtest.PageError(r.Body)
		if !strings.Contains(msg, "was changed by Bob Example") || !strings.Contains(msg, "reload to see the latest") {
			t.Errorf("error %q, want it to say Bob changed it and to reload", msg)
		}
		if got, _ := webtest.TextareaValue(r.Body); got != "ada's value" {
			t.Errorf("value field %q, want Ada's typed value kept", got)
		}
		if !strings.Contains(r.Body, `name="version" value="2"`) {
			t.Error("the dialog no longer carries the stale version: a second click would overwrite Bob's value")
		}
		if strings.Contains(r.Body, "bob&#39;s value") || strings.Contains(r.Body, "bob's value") {
			t.Error("the refusal shows Bob's value")
		}
		if v := f.value(t); v != "bob's value" {
			t.Fatalf("value %q, want Bob's value kept", v)
		}
	})

	t.Run("bad version", func(t *testing.T) {
		for _, version := range []string{"", "abc", "0", "-1", "1.5", "99999999999999999999"} {
			form := url.Values{"value": {"overwritten"}}
			if version != "" {
				form.Set("version", version)
			}
			r := f.adaC.HX(http.MethodPut, f.secretPath, form)
			wantStatus(t, fmt.Sprintf("PUT version=%q", version), r, http.StatusBadRequest)
		}
		if v := f.value(t); v == "overwritten" {
			t.Fatal("a PUT without a good version overwrote the value")
		}
	})

	t.Run("not UTF-8", func(t *testing.T) {
		sec, err := f.ts.Store.RevealSecret(ctx, f.ada, f.sec.ID)
		if err != nil {
			t.Fatal(err)
		}
		version := strconv.FormatInt(sec.Version, 10)
		for _, value := range []string{"\xff", "ok\xed\xa0\x80"} { // sent as %FF and ok%ED%A0%80
			r := f.adaC.HX(http.MethodPut, f.secretPath, url.Values{"version": {version}, "value": {value}})
			wantStatus(t, fmt.Sprintf("PUT value=%q", value), r, http.StatusUnprocessableEntity)
			if got := webtest.PageError(r.Body); got != "Value must be UTF-8 text." {
				t.Errorf("dialog error %q, want Value must be UTF-8 text.", got)
			}
			if r.Header.Get("HX-Trigger") != "" {
				t.Errorf("a refused update triggered %q", r.Header.Get("HX-Trigger"))
			}
		}
		after, err := f.ts.Store.RevealSecret(ctx, f.ada, f.sec.ID)
		if err != nil {
			t.Fatal(err)
		}
		if after.Value != sec.Value || after.Version != sec.Version {
			t.Fatalf("after refused updates: %q at version %d, want %q at version %d", after.Value, after.Version, sec.Value, sec.Version)
		}
	})

	t.Run("reader", func(t *testing.T) {
		before := f.value(t)
		sec, err := f.ts.Store.SecretByID(ctx, f.ada, f.sec.ID)
		if err != nil {
			t.Fatal(err)
		}
		version := strconv.FormatInt(sec.Version, 10)
		dlg := f.ritaC.GetHX(f.secretPath + "/edit")
		wantStatus(t, "reader GET edit", dlg, http.StatusOK)
		if strings.Contains(dlg.Body, "hx-put") || !strings.Contains(dlg.Body, "View <span") {
			t.Error("a Reader gets an editable dialog")
		}
		r := f.ritaC.HX(http.MethodPut, f.secretPath, url.Values{"version": {version}, "value": {"rita's value"}})
		if r.Status != http.StatusUnprocessableEntity && r.Status != http.StatusForbidden {
			t.Fatalf("reader PUT: status %d, want a refusal", r.Status)
		}
		if msg := webtest.PageError(r.Body) + webtest.ToastText(r.Body); !strings.Contains(msg, "Only Owners can change API_TOKEN") {
			t.Errorf("reader PUT says %q, want Only Owners can change API_TOKEN", msg)
		}
		if v := f.value(t); v != before {
			t.Fatalf("value %q after a Reader's PUT, want %q", v, before)
		}
	})

	t.Run("no access", func(t *testing.T) {
		before := f.value(t)
		for _, path := range []string{"/edit", "/activity", "/delete"} {
			wantStatus(t, "GET "+path+" without access", f.noraC.GetHX(f.secretPath+path), http.StatusNotFound)
		}
		wantStatus(t, "reveal without access", f.noraC.Reveal(f.secretPath), http.StatusNotFound)
		r := f.noraC.HX(http.MethodPut, f.secretPath, url.Values{"version": {"9"}, "value": {"nora's value"}})
		wantStatus(t, "PUT without access", r, http.StatusNotFound)
		if v := f.value(t); v != before {
			t.Fatalf("value %q after a PUT without access, want %q", v, before)
		}
	})
}

func TestPortal_SecretDelete(t *testing.T) {
	t.Parallel()
	f := newSecretsFixture(t)

	// A Reader can neither open the confirmation nor delete.
	wantStatus(t, "reader GET delete", f.ritaC.GetHX(f.secretPath+"/delete"), http.StatusForbidden)
	wantStatus(t, "reader DELETE", f.ritaC.HX(http.MethodDelete, f.secretPath, nil), http.StatusForbidden)
	if got := f.ts.SecretNames(t, f.ada); !slices.Equal(got, []string{"API_TOKEN"}) {
		t.Fatalf("secrets %v after a Reader's delete, want API_TOKEN", got)
	}

	dlg := f.adaC.GetHX(f.secretPath + "/delete")
	wantStatus(t, "GET delete", dlg, http.StatusOK)
	if !strings.Contains(dlg.Body, `hx-delete="`+f.secretPath+`"`) || !strings.Contains(dlg.Body, `role="alertdialog"`) ||
		!strings.Contains(dlg.Body, "API_TOKEN") {
		t.Fatalf("GET delete is not the confirmation:\n%s", dlg.Body)
	}
	if got := f.ts.SecretNames(t, f.ada); len(got) != 1 {
		t.Fatal("opening the confirmation deleted the secret")
	}

	r := f.adaC.HX(http.MethodDelete, f.secretPath, nil)
	wantStatus(t, "DELETE", r, http.StatusOK)
	if got := webtest.ToastText(r.Body); got != "Deleted API_TOKEN." {
		t.Errorf("toast %q, want Deleted API_TOKEN.", got)
	}
	if r.Header.Get("HX-Trigger") != "secrets-changed" {
		t.Errorf("HX-Trigger %q, want secrets-changed", r.Header.Get("HX-Trigger"))
	}
	if names := webtest.RowNames(f.adaC.Get("/secrets").Body); len(names) != 0 {
		t.Errorf("the list shows %v after the delete", names)
	}
	if names := webtest.RowNames(f.ritaC.Get("/secrets").Body); len(names) != 0 {
		t.Errorf("the Reader's list shows %v after the delete", names)
	}
	for _, path := range []string{"/edit", "/activity", "/delete"} {
		wantStatus(t, "GET "+path+" after the delete", f.adaC.GetHX(f.secretPath+path), http.StatusNotFound)
	}
	wantStatus(t, "reveal after the delete", f.adaC.Reveal(f.secretPath), http.StatusNotFound)
	wantStatus(t, "DELETE again", f.adaC.HX(http.MethodDelete, f.secretPath, nil), http.StatusNotFound)

	// The name is free again.
	wantStatus(t, "POST /secrets with the deleted name", f.adaC.HX(http.MethodPost, "/secrets", newSecretForm("API_TOKEN", "new")), http.StatusOK)
	if v := f.ts.SecretValue(t, f.ada, mustSecretID(t, f.ts, f.ada, "API_TOKEN")); v != "new" {
		t.Fatalf("new API_TOKEN holds %q, want new", v)
	}
}

func TestPortal_SecretReveal(t *testing.T) {
	t.Parallel()
	f := newSecretsFixture(t)
	ctx := context.Background()
	values := map[string]string{
		"MULTI_LINE":    "line one\nline two\n\tline three",
		"TRAILING_NL":   "-----BEGIN KEY-----\nMIIB\n-----END KEY-----\n",
		"LEADING_NL":    "\n\nafter two newlines",
		"UNICODE":       "pässwörd 🔑 日本語 — ok",
		"HTML_SPECIALS": `<b>&amp;</b> "double" 'single' </textarea><script>alert(1)</script>`,
		"ONLY_SPACES":   "   ",
		"CRLF":          "a\r\nb",
		"BACKSLASHES":   `C:\path\to\x00`,
	}
	for name, value := range values {
		t.Run(name, func(t *testing.T) {
			sec := f.ts.SeedSecret(t, f.ada, name, value)
			f.ts.SeedShare(t, f.ada, sec, f.rita, db.RoleReader)
			for who, c := range map[string]*webtest.Client{"owner": f.adaC, "reader": f.ritaC} {
				r := c.Reveal("/secrets/" + sec.ID)
				wantStatus(t, who+" reveal", r, http.StatusOK)
				if got := r.Header.Get("Cache-Control"); got != "no-store" {
					t.Errorf("%s reveal: Cache-Control %q, want no-store", who, got)
				}
				got, ok := webtest.TextareaValue(r.Body)
				if !ok {
					t.Fatalf("%s reveal: no value field in\n%s", who, r.Body)
				}
				if got != value {
					t.Errorf("%s reveal: value %q, want %q", who, got, value)
				}
				if strings.Contains(r.Body, "<script>") {
					t.Errorf("%s reveal: the value is not escaped", who)
				}
				if !strings.Contains(r.Body, "data-copy-target") {
					t.Errorf("%s reveal: no Copy button", who)
				}
			}
			events, err := f.ts.Store.ListAudit(ctx, f.ada, db.AuditFilter{Secret: sec.ID, Action: db.ActionSecretRead})
			if err != nil {
				t.Fatal(err)
			}
			readers := map[string]bool{}
			for _, e := range events {
				readers[e.ActorEmail] = true
				if e.Source != "portal" {
					t.Errorf("read event source %q, want portal", e.Source)
				}
			}
			if !readers["ada@example.com"] || !readers["rita@example.com"] {
				t.Errorf("read events by %v, want Ada's and Rita's", readers)
			}
		})
	}
}

func TestPortal_SecretSearchAndPaging(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	for _, n := range []string{"STRIPE_KEY", "STRIPEXKEY", "stripe_webhook", "AWS_SECRET"} {
		ts.SeedSecret(t, ada, n, "v")
	}
	c := webtest.SignedInClient(t, ts, "ada@example.com")

	for q, want := range map[string][]string{
		"":          {"AWS_SECRET", "STRIPEXKEY", "STRIPE_KEY", "stripe_webhook"},
		"STRIPE":    {"STRIPEXKEY", "STRIPE_KEY", "stripe_webhook"},
		"e_k":       {"STRIPE_KEY"}, // _ is a character, not a wildcard; case does not matter
		"aws":       {"AWS_SECRET"},
		"%":         nil,
		"NO_SUCH_X": nil,
	} {
		path := "/secrets?q=" + url.QueryEscape(q)
		page := c.Get(path)
		wantStatus(t, "GET "+path, page, http.StatusOK)
		frag := c.GetHX(path)
		wantStatus(t, "htmx GET "+path, frag, http.StatusOK)
		for what, body := range map[string]string{"page": page.Body, "fragment": frag.Body} {
			if got := webtest.RowNames(body); !slices.Equal(got, want) {
				t.Errorf("%s of %s: rows %v, want %v", what, path, got, want)
			}
		}
		if strings.Contains(frag.Body, "<html") || !strings.Contains(frag.Body, `id="secrets-table"`) {
			t.Errorf("htmx GET %s is not the bare table fragment", path)
		}
		if want == nil && !strings.Contains(page.Body, "No secrets match") {
			t.Errorf("GET %s: no no-match message", path)
		}
	}

	var all []string
	for i := range 55 {
		name := fmt.Sprintf("PAGED_%02d", i)
		ts.SeedSecret(t, ada, name, "v")
		all = append(all, name)
	}
	p1 := c.Get("/secrets?q=PAGED")
	p2 := c.Get("/secrets?q=PAGED&page=2")
	p3 := c.GetHX("/secrets?q=PAGED&page=3")
	if got := webtest.RowNames(p1.Body); !slices.Equal(got, all[:50]) {
		t.Errorf("page 1 rows %v, want %v", got, all[:50])
	}
	if got := webtest.RowNames(p2.Body); !slices.Equal(got, all[50:]) {
		t.Errorf("page 2 rows %v, want %v", got, all[50:])
	}
	if !strings.Contains(p1.Body, "Showing 1–50 of 55") || !strings.Contains(p2.Body, "Showing 51–55 of 55") {
		t.Error("the pager does not say Showing 1–50 of 55 and Showing 51–55 of 55")
	}
	if !strings.Contains(p1.Body, `hx-get="/secrets?page=2&amp;q=PAGED"`) {
		t.Error("page 1 has no Next link to page 2 that keeps the search")
	}
	if got := webtest.RowNames(p3.Body); len(got) != 0 || !strings.Contains(p3.Body, "Nothing on this page") {
		t.Errorf("page 3 rows %v, want none and a way back", got)
	}
	for _, bad := range []string{"0", "-3", "abc"} {
		if got := webtest.RowNames(c.Get("/secrets?q=PAGED&page=" + bad).Body); !slices.Equal(got, all[:50]) {
			t.Errorf("page=%s shows %d rows, want page 1", bad, len(got))
		}
	}
}

func TestPortal_OrgSwitch(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ctx := context.Background()
	acme := ts.SeedOrg(t, "Acme", "ada@example.com")
	betaOrg, _, err := ts.Store.CreateOrg(ctx, "Beta", db.NewUser{Email: "ada@example.com"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	beta := ts.Actor(t, acme.UserID, betaOrg.ID)
	gammaOrg, bob, err := ts.Store.CreateOrg(ctx, "Gamma", db.NewUser{Email: "bob@example.com", FirstName: "Bob", LastName: "Example", Password: webtest.Password}, "test")
	if err != nil {
		t.Fatal(err)
	}
	gamma := ts.Actor(t, bob.ID, gammaOrg.ID) // Ada is not a member of Gamma
	acmeSec := ts.SeedSecret(t, acme, "ACME_ONLY", "acme value")
	betaSec := ts.SeedSecret(t, beta, "BETA_ONLY", "beta value")
	ts.SeedSecret(t, gamma, "GAMMA_ONLY", "gamma value")

	c := webtest.SignedInClient(t, ts, "ada@example.com") // lands in the first organization by name: Acme
	page := c.Get("/secrets")
	if got := webtest.RowNames(page.Body); !slices.Equal(got, []string{"ACME_ONLY"}) {
		t.Fatalf("Acme rows %v, want ACME_ONLY", got)
	}
	if !strings.Contains(page.Body, `id="org-switch"`) || !strings.Contains(page.Body, `value="`+betaOrg.ID+`"`) ||
		strings.Contains(page.Body, gamma.OrgID) {
		t.Error("the switcher does not offer exactly Acme and Beta")
	}

	wantRedirect(t, "switch to Beta", c.PostForm("/org/switch", url.Values{"org_id": {betaOrg.ID}}), "/secrets")
	if got := webtest.RowNames(c.Get("/secrets").Body); !slices.Equal(got, []string{"BETA_ONLY"}) {
		t.Fatalf("Beta rows %v, want BETA_ONLY", got)
	}
	// Acme's secret is not reachable from Beta, even by ID.
	for _, path := range []string{"/edit", "/activity", "/delete"} {
		wantStatus(t, "Acme secret from Beta "+path, c.GetHX("/secrets/"+acmeSec.ID+path), http.StatusNotFound)
	}
	wantStatus(t, "reveal Acme secret from Beta", c.Reveal("/secrets/"+acmeSec.ID), http.StatusNotFound)
	wantStatus(t, "reveal Beta secret", c.Reveal("/secrets/"+betaSec.ID), http.StatusOK)

	for _, org := range []string{gamma.OrgID, "no-such-org", ""} {
		r := c.PostForm("/org/switch", url.Values{"org_id": {org}})
		wantStatus(t, "switch to "+org, r, http.StatusNotFound)
	}
	if got := webtest.RowNames(c.Get("/secrets").Body); !slices.Equal(got, []string{"BETA_ONLY"}) {
		t.Fatalf("rows %v after refused switches, want still BETA_ONLY", got)
	}

	// htmx asks for a redirect by header.
	r := c.Do(http.MethodPost, "/org/switch", url.Values{"org_id": {acme.OrgID}}, http.Header{"Hx-Request": {"true"}, "X-Csrf-Token": {c.CSRF()}})
	if r.Status != http.StatusOK || r.Header.Get("HX-Redirect") != "/secrets" {
		t.Fatalf("htmx switch: status %d, HX-Redirect %q; want 200 and /secrets", r.Status, r.Header.Get("HX-Redirect"))
	}
	if got := webtest.RowNames(c.Get("/secrets").Body); !slices.Equal(got, []string{"ACME_ONLY"}) {
		t.Fatalf("rows %v after switching back, want ACME_ONLY", got)
	}
}

func TestPortal_ValueShownOnlyByReveal(t *testing.T) {
	t.Parallel()
	f := newSecretsFixture(t)
	values := map[string]string{"FIRST_SECRET": "tok-3f9a1c77e0-value", "SECOND_SECRET": "multi-7c1e\nline-8d2b44-value\n"}
	stored := []string{"tok-3f9a1c77e0-value", "multi-7c1e", "line-8d2b44-value", "tok-new-51e0-value"}
	var responses []*webtest.Response
	add := func(what string, r *webtest.Response) {
		t.Helper()
		if r.Status >= 500 {
			t.Fatalf("%s: status %d", what, r.Status)
		}
		responses = append(responses, r)
	}
	ids := map[string]string{}
	for name, value := range values {
		add("create "+name, f.adaC.HX(http.MethodPost, "/secrets", newSecretForm(name, value)))
		ids[name] = mustSecretID(t, f.ts, f.ada, name)
		f.ts.SeedShare(t, f.ada, &db.Secret{ID: ids[name]}, f.rita, db.RoleReader)
	}
	for _, c := range []*webtest.Client{f.adaC, f.ritaC} {
		for _, path := range []string{"/secrets", "/secrets?q=SECRET", "/secrets?page=2"} {
			add("GET "+path, c.Get(path))
			add("htmx GET "+path, c.GetHX(path))
		}
		for _, id := range ids {
			for _, action := range []string{"/edit", "/delete"} {
				add("GET "+action, c.GetHX("/secrets/"+id+action))
			}
		}
	}
	// A successful update, a refused stale one and a delete answer without any stored value.
	id := ids["FIRST_SECRET"]
	add("PUT", f.adaC.HX(http.MethodPut, "/secrets/"+id, url.Values{"version": {"1"}, "value": {"tok-new-51e0-value"}}))
	add("stale PUT", f.adaC.HX(http.MethodPut, "/secrets/"+id, url.Values{"version": {"1"}, "value": {"typed by ada"}}))
	add("GET edit after the update", f.adaC.GetHX("/secrets/"+id+"/edit"))
	add("DELETE", f.adaC.HX(http.MethodDelete, "/secrets/"+ids["SECOND_SECRET"], nil))

	for i, r := range responses {
		for _, v := range stored {
			if strings.Contains(r.Body, v) {
				t.Errorf("response %d (status %d) contains the stored value %q", i, r.Status, v)
			}
			for k, hv := range r.Header {
				if strings.Contains(strings.Join(hv, " "), v) {
					t.Errorf("response %d: header %s carries the stored value %q", i, k, v)
				}
			}
		}
	}
	if r := f.adaC.Reveal("/secrets/" + id); !strings.Contains(r.Body, "tok-new-51e0-value") {
		t.Fatal("the reveal does not show the value: the checks above prove nothing")
	}
}

func TestPortal_RemovedFromTheCurrentOrg(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ctx := context.Background()
	bobOrg, bobUser, err := ts.Store.CreateOrg(ctx, "Acme", db.NewUser{Email: "bob@example.com", FirstName: "Bob", LastName: "Example", Password: webtest.Password}, "test")
	if err != nil {
		t.Fatal(err)
	}
	bob := ts.Actor(t, bobUser.ID, bobOrg.ID)
	ts.SeedSecret(t, bob, "ACME_KEY", "v")

	// staleSession is a session in Acme that outlived its user's membership (RemoveMember ends the
	// sessions it knows of; one being used at that moment, or made by another instance, survives).
	staleSession := func(t *testing.T, email string) *webtest.Client {
		t.Helper()
		m := ts.SeedMember(t, bob, email, "Someone", "Example")
		c := webtest.SignedInClient(t, ts, email)
		if _, err := ts.Store.RemoveMember(ctx, bob, m.UserID); err != nil {
			t.Fatal(err)
		}
		wantRedirect(t, "GET /secrets after the removal", c.Get("/secrets"), "/login?next=%2Fsecrets")
		token, err := ts.Store.CreateSession(ctx, m.UserID, bob.OrgID)
		if err != nil {
			t.Fatal(err)
		}
		c.SetCookie("kh_session", token)
		return c
	}

	t.Run("another organization left", func(t *testing.T) {
		c := staleSession(t, "ada@example.com")
		beta := ts.SeedOrg(t, "Beta", "ada@example.com") // Ada's own organization
		ts.SeedSecret(t, beta, "BETA_KEY", "v")
		r := c.Get("/secrets")
		wantStatus(t, "GET /secrets with the stale session", r, http.StatusOK)
		if got := webtest.RowNames(r.Body); !slices.Equal(got, []string{"BETA_KEY"}) {
			t.Errorf("rows %v, want Beta's", got)
		}
		if got := webtest.RowNames(c.Get("/secrets").Body); !slices.Equal(got, []string{"BETA_KEY"}) {
			t.Errorf("rows %v on the next request, want Beta's: the session moved", got)
		}
	})

	t.Run("no organization left", func(t *testing.T) {
		c := staleSession(t, "carol@example.com")
		old := c.Cookie("kh_session")
		r := c.GetHX("/secrets/new")
		if r.Header.Get("HX-Redirect") == "" || r.Status < 400 {
			t.Errorf("htmx GET with the stale session: status %d, HX-Redirect %q, body %q; want a redirect to sign-in",
				r.Status, r.Header.Get("HX-Redirect"), r.Body)
		}
		replay := ts.NewClient(t)
		replay.SetCookie("kh_session", old)
		wantRedirect(t, "GET /secrets with the ended session", replay.Get("/secrets"), "/login?next=%2Fsecrets")
	})

	t.Run("no organization left, page load", func(t *testing.T) {
		c := staleSession(t, "dan@example.com")
		wantRedirect(t, "GET /secrets with the stale session", c.Get("/secrets"), "/login?next=%2Fsecrets")
	})
}
