package web_test

// Fuzz targets for the portal's form handlers, through the real echo instance with a signed-in
// session and a valid CSRF token: whatever the url-encoded body, no 5xx (a recovered panic is a 500),
// and nothing stored changes unless the answer is a success (below 400). Sign-in and setup are also
// checked for what a success may be. Inputs name the fixture's IDs by placeholders ($SECRET, $VERSION,
// $ADA, $BOB, $TEAM, $OTHER, $OTHERTEAM; see fuzzFixture).
//
//	go test -run '^$' -fuzz '^FuzzPortalSecretForm$' -fuzztime 60s ./web

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web"
	"github.com/keyhold/keyhold/web/webtest"
)

// fuzzConfig is the server's configuration under fuzzing: the test servers' sign-in throttle
// (webtest.PlentyAttempts) never locks the fixture's account.
var fuzzConfig = web.Config{}

// portalFuzz is a fuzzFixture with Ada signed in.
type portalFuzz struct {
	*fuzzFixture
	cookies []*http.Cookie
	csrf    string
}

func newPortalFuzz(f *testing.F) *portalFuzz {
	fx := &portalFuzz{fuzzFixture: newFuzzFixture(f, fuzzConfig)}
	c := webtest.SignedInClient(f, fx.ts, "ada@example.com")
	fx.csrf = c.CSRF()
	fx.cookies = c.Cookies()
	return fx
}

// portalPost sends body (url-encoded, placeholders already expanded) to h as a form of the portal,
// with cookies and the CSRF token, and fails on a 5xx or on a change stored by a refused request.
func portalPost(t *testing.T, fx *fuzzFixture, cookies []*http.Cookie, csrf string, htmx bool, method, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	fx.log.Reset()
	before := fx.changes.count(t)
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", csrf)
	if htmx {
		req.Header.Set("HX-Request", "true")
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	fx.ts.Config.Handler.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("%s %s %q: status %d\nlog: %s", method, path, body, rec.Code, fx.log.String())
	}
	if strings.Contains(rec.Body.String(), "goroutine ") {
		t.Fatalf("%s %s %q: a stack trace in the answer", method, path, body)
	}
	if rec.Code >= 400 {
		if after := fx.changes.count(t); after != before {
			t.Fatalf("%s %s %q: status %d, but %d changes were stored", method, path, body, rec.Code, after-before)
		}
		for _, c := range rec.Result().Cookies() {
			if c.Name == "kh_session" && c.Value != "" {
				t.Fatalf("%s %s %q: status %d with a session cookie", method, path, body, rec.Code)
			}
		}
	}
	return rec
}

// post sends one htmx form of the signed-in Ada.
func (fx *portalFuzz) post(t *testing.T, method, path, body string) int {
	t.Helper()
	return portalPost(t, fx.fuzzFixture, fx.cookies, fx.csrf, true, method, fx.expand(path), fx.expand(body)).Code
}

// FuzzPortalSecretForm: POST /secrets (even route) and PUT /secrets/:id (odd route) from the New and
// Edit dialogs. $VERSION is the secret's current version.
func FuzzPortalSecretForm(f *testing.F) {
	fx := newPortalFuzz(f)
	for _, seed := range []struct {
		route uint8
		body  string
	}{
		{0, "name=API_TOKEN&value=s3cr3t"},
		{0, "name=+API_TOKEN+&value=%C3%A9%00"},
		{0, "name=bad-name&value=v"},
		{0, "name=&value="},
		{0, "name=A&name=B&value=v&value=w"},
		{0, "name=%ZZ&value=v"},
		{0, "name=SEMI;colon&value=v"},
		{0, "value=no+name"},
		{1, "version=$VERSION&value=new+value"},
		{1, "version=1&value=stale"},
		{1, "version=-1&value=v"},
		{1, "version=99999999999999999999&value=v"},
		{1, "value=no+version"},
		{1, "version=$VERSION&value=" + strings.Repeat("x", 1000)},
	} {
		f.Add(seed.route, seed.body)
	}
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		if route%2 == 0 {
			fx.post(t, http.MethodPost, "/secrets", body)
			return
		}
		sec, err := fx.ts.Store.SecretByID(context.Background(), fx.ada, fx.vars["$SECRET"])
		if err != nil {
			t.Fatal(err)
		}
		fx.post(t, http.MethodPut, "/secrets/$SECRET", strings.ReplaceAll(body, "$VERSION", strconv.FormatInt(sec.Version, 10)))
	})
}

// FuzzPortalShareForm: POST /secrets/:id/share from the Share dialog. After a change, the next input
// gets a fresh secret.
func FuzzPortalShareForm(f *testing.F) {
	fx := newPortalFuzz(f)
	for _, seed := range []string{
		"principal=user:$BOB&role_user:$BOB=owner&orig_user:$BOB=reader",
		"principal=user:$BOB&role_user:$BOB=remove&orig_user:$BOB=reader",
		"principal=team:$TEAM&role_team:$TEAM=reader&orig_team:$TEAM=",
		"principal=user:$ADA&role_user:$ADA=remove&orig_user:$ADA=owner",
		"principal=user:$ADA&role_user:$ADA=reader&orig_user:$ADA=owner&principal=team:$TEAM&role_team:$TEAM=owner",
		"principal=user:$OTHER&role_user:$OTHER=reader",
		"principal=team:$OTHERTEAM&role_team:$OTHERTEAM=owner",
		"principal=user:$BOB&role_user:$BOB=admin",
		"principal=robot:$BOB&role_robot:$BOB=reader",
		"principal=user&role_user=reader",
		"principal=&role_=",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		if fx.post(t, http.MethodPost, "/secrets/$SECRET/share", body) < 400 {
			fx.newSecret(t)
		}
	})
}

// FuzzPortalMemberForm: POST /members (even route, the Add member dialog) and POST /members/:id/role
// (odd route, Bob's role select).
func FuzzPortalMemberForm(f *testing.F) {
	fx := newPortalFuzz(f)
	for _, seed := range []struct {
		route uint8
		body  string
	}{
		{0, "email=dan@example.com&first_name=Dan&last_name=Driver&role=member&password=a+long+enough+password"},
		{0, "email=bob@example.com&role=member"},
		{0, "email=carol@example.com&role=admin"},
		{0, "email=eve@example.com&role=owner&password=a+long+enough+password"},
		{0, "email=not-an-email&role=member&password=a+long+enough+password"},
		{0, "email=fay@example.com&role=member&password=short"},
		{0, "email=%00@example.com&first_name=%FF&role=member&password=a+long+enough+password"},
		{1, "role=admin"},
		{1, "role=member"},
		{1, "role=superuser"},
		{1, ""},
	} {
		f.Add(seed.route, seed.body)
	}
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		if route%2 == 0 {
			fx.post(t, http.MethodPost, "/members", body)
		} else {
			fx.post(t, http.MethodPost, "/members/$BOB/role", body)
		}
	})
}

// FuzzPortalTeamForm: POST /teams (route 0, New team), PUT /teams/:id (route 1, Edit team) and POST
// /teams/:id/members (route 2, add a member).
func FuzzPortalTeamForm(f *testing.F) {
	fx := newPortalFuzz(f)
	for _, seed := range []struct {
		route uint8
		body  string
	}{
		{0, "name=Platform&description=Runs+the+platform"},
		{0, "name=ops&description="},
		{0, "name=+++&description=x"},
		{0, "name=" + strings.Repeat("T", 300)},
		{1, "name=Renamed&description=new"},
		{1, "name=&description="},
		{1, "description=no+name"},
		{2, "email=ada@example.com"},
		{2, "email=carol@example.com"},
		{2, "email=BOB@EXAMPLE.COM"},
		{2, "email="},
	} {
		f.Add(seed.route, seed.body)
	}
	routes := []struct{ method, path string }{
		{http.MethodPost, "/teams"},
		{http.MethodPut, "/teams/$TEAM"},
		{http.MethodPost, "/teams/$TEAM/members"},
	}
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		r := routes[int(route)%len(routes)]
		fx.post(t, r.method, r.path, body)
	})
}

func setupBody(org, first, last, email, pw, confirm string) string {
	return url.Values{"org_name": {org}, "first_name": {first}, "last_name": {last}, "email": {email},
		"password": {pw}, "password_confirm": {confirm}}.Encode()
}

// FuzzPortalSetup: POST /setup on a server with no organization yet: a success creates exactly the
// organization and admin the form names, and signs the admin in. Then the database is emptied again
// for the next input.
func FuzzPortalSetup(f *testing.F) {
	for _, seed := range []string{
		setupBody("Acme", "Ada", "Admin", "ada@example.com", webtest.Password, webtest.Password),
		setupBody("Acme", "Ada", "Admin", "ada@example.com", webtest.Password, webtest.Password+"x"),
		setupBody("Acme", "", "", "ada@example.com", "elevenchars", "elevenchars"),
		setupBody("   ", "Ada", "Admin", "ada@example.com", webtest.Password, webtest.Password),
		setupBody("Acme", "Ada", "Admin", "ada.example.com", webtest.Password, webtest.Password),
		setupBody("Ac\x00me", "A\nda", "<b>", "ada@example.com", webtest.Password, webtest.Password),
		setupBody(strings.Repeat("O", 300), "Ada", "Admin", "ada@example.com", webtest.Password, webtest.Password),
		"org_name=Acme&email=ada@example.com&password=" + webtest.Password,
		"",
	} {
		f.Add(seed)
	}
	fx := &fuzzFixture{log: &logBuffer{}}
	cfg := fuzzConfig
	cfg.Logger = slog.New(slog.NewTextHandler(fx.log, nil))
	fx.ts = webtest.NewConfig(f, cfg)
	fx.changes = watchChanges(f, fx.ts.Store.Path())
	cookies, csrf := anonCSRF(f, fx.ts)
	f.Fuzz(func(t *testing.T, body string) {
		rec := portalPost(t, fx, cookies, csrf, false, http.MethodPost, "/setup", body)
		if rec.Code >= 400 {
			return
		}
		defer fx.changes.wipe(t)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/secrets" {
			t.Fatalf("%q: status %d to %q, want 303 to /secrets or a refusal", body, rec.Code, rec.Header().Get("Location"))
		}
		form, _ := url.ParseQuery(body)
		if form.Get("password") != form.Get("password_confirm") {
			t.Fatalf("%q: set up with two different passwords", body)
		}
		org, err := fx.ts.Store.OrgByName(context.Background(), strings.TrimSpace(form.Get("org_name")))
		if err != nil {
			t.Fatalf("%q: set up, but no organization %q: %v", body, form.Get("org_name"), err)
		}
		m, err := fx.ts.Store.MemberByEmail(context.Background(), db.SystemActor(org.ID), strings.TrimSpace(form.Get("email")))
		if err != nil || m.Role != db.OrgAdmin {
			t.Fatalf("%q: set up, but %q is not its admin: %v", body, form.Get("email"), err)
		}
		if _, _, err := fx.ts.Store.SignIn(context.Background(), form.Get("email"), form.Get("password"), "192.0.2.1"); err != nil {
			t.Fatalf("%q: set up, but the admin cannot sign in with the password: %v", body, err)
		}
	})
}

// FuzzPortalLogin: POST /login. A sign-in succeeds only with a user's email and password, and then
// redirects only to a path on this site, as a browser reads the Location header.
func FuzzPortalLogin(f *testing.F) {
	fx := newFuzzFixture(f, fuzzConfig)
	for _, seed := range []string{
		url.Values{"email": {"ada@example.com"}, "password": {webtest.Password}}.Encode(),
		url.Values{"email": {" ADA@example.com "}, "password": {webtest.Password}, "next": {"/members"}}.Encode(),
		url.Values{"email": {"ada@example.com"}, "password": {webtest.Password}, "next": {"//evil.example.com/"}}.Encode(),
		url.Values{"email": {"ada@example.com"}, "password": {webtest.Password}, "next": {"/\\evil.example.com"}}.Encode(),
		url.Values{"email": {"ada@example.com"}, "password": {webtest.Password}, "next": {"https://evil.example.com"}}.Encode(),
		url.Values{"email": {"ada@example.com"}, "password": {webtest.Password}, "next": {"/\t/evil.example.com"}}.Encode(),
		url.Values{"email": {"ada@example.com"}, "password": {webtest.Password + " "}}.Encode(),
		url.Values{"email": {"bob@example.com"}, "password": {"wrong password"}}.Encode(),
		url.Values{"email": {"nobody@example.com"}, "password": {webtest.Password}}.Encode(),
		"email=ada@example.com&password=" + url.QueryEscape(webtest.Password) + "&next=/%0d%0aSet-Cookie:x=y",
		"email=&password=",
		"",
	} {
		f.Add(seed)
	}
	users := map[string]bool{"ada@example.com": true, "bob@example.com": true, "carol@example.com": true}
	cookies, csrf := anonCSRF(f, fx.ts)
	f.Fuzz(func(t *testing.T, body string) {
		rec := portalPost(t, fx, cookies, csrf, false, http.MethodPost, "/login", body)
		if rec.Code >= 400 {
			return
		}
		form, _ := url.ParseQuery(body)
		if rec.Code != http.StatusSeeOther || !users[strings.ToLower(strings.TrimSpace(form.Get("email")))] || form.Get("password") != webtest.Password {
			t.Fatalf("%q: status %d: signed in without a user's email and password", body, rec.Code)
		}
		if loc := rec.Header().Get("Location"); !onSite(loc) {
			t.Fatalf("%q: redirected to %q, which a browser reads as off this site", body, loc)
		}
	})
}

// anonCSRF is what a visitor who is not signed in posts forms with: the anonymous cookie and the CSRF
// token bound to it, from the sign-in page.
func anonCSRF(t testing.TB, ts *webtest.Server) ([]*http.Cookie, string) {
	t.Helper()
	c := ts.NewClient(t)
	tok := c.CSRF()
	return c.Cookies(), tok
}

// onSite reports whether a browser following Location: loc stays on this site. Browsers drop tabs and
// newlines anywhere in a URL and read \ as /, so "/\t/evil.example" leads to //evil.example.
func onSite(loc string) bool {
	loc = strings.Map(func(r rune) rune {
		switch r {
		case '\t', '\n', '\r':
			return -1
		case '\\':
			return '/'
		}
		return r
	}, strings.TrimLeft(loc, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f "))
	return strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, "//")
}
