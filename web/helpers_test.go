package web_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web"
)

// testPassword is the password of every user the tests create.
const testPassword = "correct horse battery staple"

// testServer is the real keyhold handler (web.New) over real HTTP on loopback, with a real SQLite file
// under t.TempDir().
type testServer struct {
	*httptest.Server
	Store *db.Store
}

// newTestServer starts keyhold with the default configuration. Server and store close when the test
// ends.
func newTestServer(t testing.TB) *testServer {
	t.Helper()
	return newTestServerConfig(t, web.Config{})
}

// newTestServerConfig starts keyhold with cfg (zero fields take web's defaults).
func newTestServerConfig(t testing.TB, cfg web.Config) *testServer {
	t.Helper()
	return newTestServerWith(t, cfg, db.Options{})
}

// plentyAttempts is a sign-in throttle no test reaches by accident: the tests sign in many times from
// one address. Throttle tests set their own.
var plentyAttempts = db.Throttle{MaxFailures: 1 << 20, Window: time.Minute, Lockout: time.Minute}

// newTestServerWith starts keyhold with cfg and the store options opt (the master key is made up;
// without SignIn limits, plentyAttempts).
func newTestServerWith(t testing.TB, cfg web.Config, opt db.Options) *testServer {
	t.Helper()
	if cfg.AttemptRate == 0 { // tests sign in many times from one address: the pace test sets its own
		cfg.AttemptRate, cfg.AttemptBurst = 1e6, 1e6
	}
	key := make([]byte, 32)
	rand.Read(key)
	opt.MasterKey = key
	if opt.SignIn.Account.MaxFailures == 0 && opt.SignIn.Client.MaxFailures == 0 {
		opt.SignIn = db.SignInLimits{Account: plentyAttempts, Client: plentyAttempts}
	}
	store, err := db.Open(context.Background(), filepath.Join(t.TempDir(), db.FileName), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	srv := httptest.NewServer(web.New(store, cfg))
	t.Cleanup(srv.Close) // runs before the store closes
	return &testServer{Server: srv, Store: store}
}

// seedOrg creates an organization whose first admin is "Ada Admin" <email> with testPassword, and
// returns her actor in it. When email already has an account, that user becomes the admin.
func (ts *testServer) seedOrg(t testing.TB, name, email string) db.Actor {
	t.Helper()
	ctx := context.Background()
	org, u, err := ts.Store.CreateOrg(ctx, name, db.NewUser{Email: email, FirstName: "Ada", LastName: "Admin", Password: testPassword}, "test")
	if err != nil {
		t.Fatal(err)
	}
	return ts.actor(t, u.ID, org.ID)
}

// seedMember adds first last <email> (password testPassword) to admin's organization as a plain member
// and returns their actor.
func (ts *testServer) seedMember(t testing.TB, admin db.Actor, email, first, last string) db.Actor {
	t.Helper()
	m, err := ts.Store.AddMember(context.Background(), db.SystemActor(admin.OrgID),
		db.NewUser{Email: email, FirstName: first, LastName: last, Password: testPassword}, db.OrgMember)
	if err != nil {
		t.Fatal(err)
	}
	return ts.actor(t, m.ID, admin.OrgID)
}

func (ts *testServer) actor(t testing.TB, userID, orgID string) db.Actor {
	t.Helper()
	a, err := ts.Store.ActorFor(context.Background(), userID, orgID, "test", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// seedSecret creates a secret owned by a.
func (ts *testServer) seedSecret(t testing.TB, a db.Actor, name, value string) *db.Secret {
	t.Helper()
	sec, err := ts.Store.CreateSecret(context.Background(), a, name, []byte(value))
	if err != nil {
		t.Fatal(err)
	}
	return sec
}

// seedShare gives user role on sec, as owner.
func (ts *testServer) seedShare(t testing.TB, owner db.Actor, sec *db.Secret, user db.Actor, role db.Role) {
	t.Helper()
	err := ts.Store.ChangeAccess(context.Background(), owner, sec.ID,
		[]db.AccessChange{{Kind: db.PrincipalUser, ID: user.UserID, Role: role}})
	if err != nil {
		t.Fatal(err)
	}
}

// secretValue reads the stored value of secret id as a (the read is audited like any other).
func (ts *testServer) secretValue(t testing.TB, a db.Actor, id string) string {
	t.Helper()
	sec, err := ts.Store.RevealSecret(context.Background(), a, id)
	if err != nil {
		t.Fatal(err)
	}
	return sec.Value
}

// secretNames lists the names of every secret a can see in its organization.
func (ts *testServer) secretNames(t testing.TB, a db.Actor) []string {
	t.Helper()
	page, err := ts.Store.ListSecrets(context.Background(), a, "", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range page.Secrets {
		names = append(names, s.Name)
	}
	return names
}

// hasOrgs reports whether first-run setup has happened.
func (ts *testServer) hasOrgs(t testing.TB) bool {
	t.Helper()
	has, err := ts.Store.HasOrgs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return has
}

// testClient is a browser stand-in: it keeps cookies and does not follow redirects, so tests see
// every 303.
type testClient struct {
	t    testing.TB
	base *url.URL
	jar  *cookiejar.Jar
	http *http.Client
	// csrfToken is the last token a page handed out, for the cookies in csrfFor.
	csrfToken, csrfFor string
}

// newClient returns a client of ts with an empty cookie jar.
func (ts *testServer) newClient(t testing.TB) *testClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	base, err := url.Parse(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	return &testClient{t: t, base: base, jar: jar, http: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// response is a fully read HTTP response.
type response struct {
	Status int
	Header http.Header
	Body   string
	// Cookies are the cookies the response set.
	Cookies []*http.Cookie
}

// location is the redirect target.
func (r *response) location() string { return r.Header.Get("Location") }

// cookie returns the cookie named name that the response set, or nil.
func (r *response) cookie(name string) *http.Cookie {
	for _, c := range r.Cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// do sends one request; form, when not nil, is the url-encoded body.
func (c *testClient) do(method, path string, form url.Values, hdr http.Header) *response {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base.String()+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return &response{Status: res.StatusCode, Header: res.Header, Body: string(b), Cookies: res.Cookies()}
}

// get fetches a page as a browser navigation would.
func (c *testClient) get(path string) *response {
	c.t.Helper()
	return c.do(http.MethodGet, path, nil, nil)
}

// getHX fetches path as htmx does (HX-Request: true).
func (c *testClient) getHX(path string) *response {
	c.t.Helper()
	return c.do(http.MethodGet, path, nil, http.Header{"Hx-Request": {"true"}})
}

// postForm submits a plain HTML form (sign-in, setup, sign-out, organization switch) with the CSRF
// token in its _csrf field.
func (c *testClient) postForm(path string, form url.Values) *response {
	c.t.Helper()
	f := url.Values{"_csrf": {c.csrf()}}
	for k, v := range form {
		f[k] = v
	}
	return c.do(http.MethodPost, path, f, nil)
}

// hx sends an htmx request from a signed-in page: the CSRF token rides in X-CSRF-Token (the layout's
// hx-headers), and form, when not nil, is the body (POST and PUT).
func (c *testClient) hx(method, path string, form url.Values) *response {
	c.t.Helper()
	return c.do(method, path, form, http.Header{"Hx-Request": {"true"}, "X-Csrf-Token": {c.csrf()}})
}

// reveal presses Reveal in the Edit dialog of the secret at secretPath (/secrets/{id}): an htmx POST.
func (c *testClient) reveal(secretPath string) *response {
	c.t.Helper()
	return c.hx(http.MethodPost, secretPath+"/reveal", url.Values{})
}

// csrf returns the client's CSRF token: the one its pages hand out (the _csrf field of their forms or
// the X-CSRF-Token of their hx-headers). It is bound to the client's session, or before sign-in to
// its anonymous cookie, so it is fetched again whenever those cookies change.
func (c *testClient) csrf() string {
	c.t.Helper()
	binding := c.cookie("kh_session") + "|" + c.cookie("kh_anon")
	if c.csrfToken != "" && c.csrfFor == binding {
		return c.csrfToken
	}
	r := c.get("/login") // signed out: the sign-in form; signed in: a redirect
	tok := csrfFromPage(r.Body)
	if tok == "" {
		r = c.get("/account")
		tok = csrfFromPage(r.Body)
	}
	if tok == "" {
		c.t.Fatalf("no CSRF token in GET /login or GET /account (status %d)", r.Status)
	}
	c.csrfToken, c.csrfFor = tok, c.cookie("kh_session")+"|"+c.cookie("kh_anon")
	return tok
}

// cookie returns the value of the client's cookie named name, or "".
func (c *testClient) cookie(name string) string {
	for _, k := range c.jar.Cookies(c.base) {
		if k.Name == name {
			return k.Value
		}
	}
	return ""
}

// setCookie puts a cookie in the client's jar, as an attacker planting a value would.
func (c *testClient) setCookie(name, value string) {
	c.jar.SetCookies(c.base, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

var (
	csrfFieldRE   = regexp.MustCompile(`name="_csrf" value="([^"]*)"`)
	csrfHeadersRE = regexp.MustCompile(`hx-headers="\{&#34;X-CSRF-Token&#34;:&#34;([^&"]*)&#34;\}"`)
)

// csrfFromPage extracts the CSRF token a page hands out: the _csrf hidden field of its forms, or the
// X-CSRF-Token of the body's hx-headers attribute. It returns "" when there is none.
func csrfFromPage(body string) string {
	if m := csrfFieldRE.FindStringSubmatch(body); m != nil {
		return html.UnescapeString(m[1])
	}
	if m := csrfHeadersRE.FindStringSubmatch(body); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

// signIn signs c in through POST /login and fails the test unless it is redirected.
func signIn(t testing.TB, c *testClient, email, password string) *response {
	t.Helper()
	r := c.postForm("/login", url.Values{"email": {email}, "password": {password}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("sign in as %s: status %d, want 303; error %q", email, r.Status, pageError(r.Body))
	}
	return r
}

// signedInClient returns a new client of ts signed in as email (password testPassword).
func signedInClient(t testing.TB, ts *testServer, email string) *testClient {
	t.Helper()
	c := ts.newClient(t)
	signIn(t, c, email, testPassword)
	return c
}

var (
	alertRE      = regexp.MustCompile(`(?s)<div class="alert alert-error" role="alert">.*?<span>(.*?)</span>`)
	toastRE      = regexp.MustCompile(`(?s)<div class="toast[^"]*" role="(?:status|alert)">.*?<span>(.*?)</span>`)
	secretNameRE = regexp.MustCompile(`<span class="secret-name">([^<]*)</span>`)
	textareaRE   = regexp.MustCompile(`(?s)<textarea[^>]*\bid="secret-value"[^>]*>(.*?)</textarea>`)
	tagRE        = regexp.MustCompile(`<[^>]+>`)
)

// pageError is the text of the page's or dialog's red error box, unescaped, or "".
func pageError(body string) string {
	m := alertRE.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(tagRE.ReplaceAllString(m[1], ""))
}

// toastText is the text of the toast in a response, unescaped, or "".
func toastText(body string) string {
	m := toastRE.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// rowNames lists the secret names in a secrets table, in order.
func rowNames(body string) []string {
	var names []string
	for _, m := range secretNameRE.FindAllStringSubmatch(body, -1) {
		names = append(names, html.UnescapeString(m[1]))
	}
	return names
}

// textareaValue is what a browser shows in the #secret-value textarea: the HTML parser drops the one
// newline right after <textarea>, and entities are decoded. ok is false when there is no such field.
func textareaValue(body string) (v string, ok bool) {
	m := textareaRE.FindStringSubmatch(body)
	if m == nil {
		return "", false
	}
	raw := strings.TrimPrefix(m[1], "\n")
	return html.UnescapeString(raw), true
}

// inputValue returns the value attribute of the <input> with the given id, unescaped.
func inputValue(body, id string) (v string, ok bool) {
	tag := regexp.MustCompile(`<input[^>]*\bid="` + regexp.QuoteMeta(id) + `"[^>]*>`).FindString(body)
	if tag == "" {
		return "", false
	}
	m := regexp.MustCompile(`\bvalue="([^"]*)"`).FindStringSubmatch(tag)
	if m == nil {
		return "", true
	}
	return html.UnescapeString(m[1]), true
}

// rawDB opens the server's database file directly, read-only, to look behind the store.
func (ts *testServer) rawDB(t testing.TB) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+(&url.URL{Path: ts.Store.Path()}).EscapedPath()+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

// wantAccess fails unless a's access to the secret id is want ("" for none: the secret is invisible).
func wantAccess(t testing.TB, ts *testServer, a db.Actor, id string, want db.Role) {
	t.Helper()
	sec, err := ts.Store.SecretByID(context.Background(), a, id)
	if want == "" {
		if db.ErrorCode(err) != db.CodeNotFound {
			t.Fatalf("%s sees secret %s (%+v, %v), want not found", a.Email, id, sec, err)
		}
		return
	}
	if err != nil || sec.Access != want {
		t.Fatalf("%s's access to %s: %+v %v, want %s", a.Email, id, sec, err, want)
	}
}
