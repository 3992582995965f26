// Package webtest is keyhold's one test harness for everything above db: the real server (web.New over
// real HTTP on loopback, on a fresh database of the run's backend (dbtest.Location: a real SQLite file
// under t.TempDir(), or a new PostgreSQL database), with a settable clock), a client that
// keeps cookies and carries the CSRF token its pages hand out, seeding helpers, and parsers for what
// the portal answers. Tests of web, of the portal and of the main package (against a child server)
// use it.
package webtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/db/dbtest"
	"github.com/keyhold/keyhold/web"
)

// Password is the password of every user the tests create.
const Password = "correct horse battery staple"

// Server is the real keyhold handler (web.New) over real HTTP on loopback, on a fresh database of the
// run's backend.
type Server struct {
	*httptest.Server
	Store *db.Store
	// Echo is the echo instance web.New made, for its route table.
	Echo *echo.Echo
	read *atomic.Int64 // bytes the server read from its connections
}

// BytesRead is how many bytes the server has read from the network so far: a body it refused before
// reading stays out of it.
func (ts *Server) BytesRead() int64 { return ts.read.Load() }

// New starts keyhold with the default configuration. Server and store close when the test
// ends.
func New(t testing.TB) *Server {
	t.Helper()
	return NewConfig(t, web.Config{})
}

// NewConfig starts keyhold with cfg (zero fields take web's defaults).
func NewConfig(t testing.TB, cfg web.Config) *Server {
	t.Helper()
	return NewWith(t, cfg, db.Options{})
}

// PlentyAttempts is a sign-in throttle no test reaches by accident: the tests sign in many times from
// one address. Throttle tests set their own.
var PlentyAttempts = db.Throttle{MaxFailures: 1 << 20, Window: time.Minute, Lockout: time.Minute}

// NewWith starts keyhold with cfg and the store options opt (the master key is made up;
// without SignIn limits, PlentyAttempts).
func NewWith(t testing.TB, cfg web.Config, opt db.Options) *Server {
	t.Helper()
	return NewAt(t, dbtest.Location(t), cfg, opt)
}

// NewAt is NewWith on the database at loc (a SQLite file or a PostgreSQL URL) rather than a fresh one
// of the run's backend.
func NewAt(t testing.TB, loc string, cfg web.Config, opt db.Options) *Server {
	t.Helper()
	if cfg.AttemptRate == 0 { // tests sign in many times from one address: the pace test sets its own
		cfg.AttemptRate, cfg.AttemptBurst = 1e6, 1e6
	}
	key := make([]byte, 32)
	rand.Read(key)
	opt.MasterKey = key
	if opt.SignIn.Account.MaxFailures == 0 && opt.SignIn.Client.MaxFailures == 0 {
		opt.SignIn = db.SignInLimits{Account: PlentyAttempts, Client: PlentyAttempts}
	}
	store, err := db.Open(context.Background(), loc, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e := web.New(store, cfg)
	srv := httptest.NewUnstartedServer(e)
	read := &atomic.Int64{}
	srv.Listener = countingListener{srv.Listener, read}
	srv.Start()
	t.Cleanup(srv.Close) // runs before the store closes
	return &Server{Server: srv, Store: store, Echo: e, read: read}
}

// countingListener counts the bytes the server reads from its connections.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.n}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// SeedOrg creates an organization whose first admin is "Ada Admin" <email> with Password, and
// returns her actor in it. When email already has an account, that user becomes the admin.
func (ts *Server) SeedOrg(t testing.TB, name, email string) db.Actor {
	t.Helper()
	ctx := context.Background()
	org, u, err := ts.Store.CreateOrg(ctx, name, db.NewUser{Email: email, FirstName: "Ada", LastName: "Admin", Password: Password}, "test")
	if err != nil {
		t.Fatal(err)
	}
	return ts.Actor(t, u.ID, org.ID)
}

// SeedMember adds first last <email> (password Password) to admin's organization as a plain member
// and returns their actor.
func (ts *Server) SeedMember(t testing.TB, admin db.Actor, email, first, last string) db.Actor {
	t.Helper()
	m, err := ts.Store.AddMember(context.Background(), db.SystemActor(admin.OrgID),
		db.NewUser{Email: email, FirstName: first, LastName: last, Password: Password}, db.OrgMember)
	if err != nil {
		t.Fatal(err)
	}
	return ts.Actor(t, m.ID, admin.OrgID)
}

func (ts *Server) Actor(t testing.TB, userID, orgID string) db.Actor {
	t.Helper()
	a, err := ts.Store.ActorFor(context.Background(), userID, orgID, "test", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// SeedSecret creates a secret owned by a.
func (ts *Server) SeedSecret(t testing.TB, a db.Actor, name, value string) *db.Secret {
	t.Helper()
	sec, err := ts.Store.CreateSecret(context.Background(), a, name, []byte(value))
	if err != nil {
		t.Fatal(err)
	}
	return sec
}

// SeedShare gives user role on sec, as owner.
func (ts *Server) SeedShare(t testing.TB, owner db.Actor, sec *db.Secret, user db.Actor, role db.Role) {
	t.Helper()
	err := ts.Store.ChangeAccess(context.Background(), owner, sec.ID,
		[]db.AccessChange{{Kind: db.PrincipalUser, ID: user.UserID, Role: role}})
	if err != nil {
		t.Fatal(err)
	}
}

// SecretValue reads the stored value of secret id as a (the read is audited like any other).
func (ts *Server) SecretValue(t testing.TB, a db.Actor, id string) string {
	t.Helper()
	sec, err := ts.Store.RevealSecret(context.Background(), a, id)
	if err != nil {
		t.Fatal(err)
	}
	return sec.Value
}

// SecretNames lists the names of every secret a can see in its organization.
func (ts *Server) SecretNames(t testing.TB, a db.Actor) []string {
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

// HasOrgs reports whether first-run setup has happened.
func (ts *Server) HasOrgs(t testing.TB) bool {
	t.Helper()
	has, err := ts.Store.HasOrgs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return has
}

// Client is a browser stand-in: it keeps cookies and does not follow redirects, so tests see
// every 303.
type Client struct {
	t testing.TB
	// URL is the server's address; HTTP sends the requests, with the client's cookies.
	URL  *url.URL
	HTTP *http.Client
	jar  *cookiejar.Jar
	// csrfToken is the last token a page handed out, for the cookies in csrfFor.
	csrfToken, csrfFor string
}

// NewClient returns a client of ts with an empty cookie jar.
func (ts *Server) NewClient(t testing.TB) *Client {
	t.Helper()
	return NewClient(t, ts.URL)
}

// NewClient returns a client of the keyhold at base (http://host:port) with an empty cookie jar: a
// test server's, or a child process's.
func NewClient(t testing.TB, base string) *Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	return &Client{t: t, URL: u, jar: jar, HTTP: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Cookies are the cookies the client holds for the server.
func (c *Client) Cookies() []*http.Cookie { return c.jar.Cookies(c.URL) }

// Response is a fully read HTTP response.
type Response struct {
	Status int
	Header http.Header
	Body   string
	// Cookies are the cookies the response set.
	Cookies []*http.Cookie
}

// Location is the redirect target.
func (r *Response) Location() string { return r.Header.Get("Location") }

// Cookie returns the cookie named name that the response set, or nil.
func (r *Response) Cookie(name string) *http.Cookie {
	for _, c := range r.Cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Do sends one request; form, when not nil, is the url-encoded body.
func (c *Client) Do(method, path string, form url.Values, hdr http.Header) *Response {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.URL.String()+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return &Response{Status: res.StatusCode, Header: res.Header, Body: string(b), Cookies: res.Cookies()}
}

// Get fetches a page as a browser navigation would.
func (c *Client) Get(path string) *Response {
	c.t.Helper()
	return c.Do(http.MethodGet, path, nil, nil)
}

// GetHX fetches path as htmx does (HX-Request: true).
func (c *Client) GetHX(path string) *Response {
	c.t.Helper()
	return c.Do(http.MethodGet, path, nil, http.Header{"Hx-Request": {"true"}})
}

// PostForm submits a plain HTML form (sign-in, setup, sign-out, organization switch) with the CSRF
// token in its _csrf field.
func (c *Client) PostForm(path string, form url.Values) *Response {
	c.t.Helper()
	f := url.Values{"_csrf": {c.CSRF()}}
	for k, v := range form {
		f[k] = v
	}
	return c.Do(http.MethodPost, path, f, nil)
}

// HX sends an htmx request from a signed-in page: the CSRF token rides in X-CSRF-Token (the layout's
// hx-headers), and form, when not nil, is the body (POST and PUT).
func (c *Client) HX(method, path string, form url.Values) *Response {
	c.t.Helper()
	return c.Do(method, path, form, http.Header{"Hx-Request": {"true"}, "X-Csrf-Token": {c.CSRF()}})
}

// Send sends an htmx request of c with body as is (length -1 streams it chunked) and reads the answer.
func (c *Client) Send(method, path, contentType string, body io.Reader, length int64) *Response {
	c.t.Helper()
	tok := c.CSRF()
	req, err := http.NewRequest(method, c.URL.String()+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.ContentLength = length
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("HX-Request", "true")
	req.Header.Set("X-CSRF-Token", tok)
	res, err := c.HTTP.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &Response{Status: res.StatusCode, Header: res.Header, Body: string(b)}
}

// Reveal presses Reveal in the Edit dialog of the secret at secretPath (/secrets/{id}): an htmx POST.
func (c *Client) Reveal(secretPath string) *Response {
	c.t.Helper()
	return c.HX(http.MethodPost, secretPath+"/reveal", url.Values{})
}

// CSRF returns the client's CSRF token: the one its pages hand out (the _csrf field of their forms or
// the X-CSRF-Token of their hx-headers). It is bound to the client's session, or before sign-in to
// its anonymous cookie, so it is fetched again whenever those cookies change.
func (c *Client) CSRF() string {
	c.t.Helper()
	binding := c.Cookie("kh_session") + "|" + c.Cookie("kh_anon")
	if c.csrfToken != "" && c.csrfFor == binding {
		return c.csrfToken
	}
	r := c.Get("/login") // signed out: the sign-in form; signed in: a redirect
	tok := CSRFFromPage(r.Body)
	if tok == "" {
		r = c.Get("/account")
		tok = CSRFFromPage(r.Body)
	}
	if tok == "" {
		c.t.Fatalf("no CSRF token in GET /login or GET /account (status %d)", r.Status)
	}
	c.csrfToken, c.csrfFor = tok, c.Cookie("kh_session")+"|"+c.Cookie("kh_anon")
	return tok
}

// Cookie returns the value of the client's cookie named name, or "".
func (c *Client) Cookie(name string) string {
	for _, k := range c.jar.Cookies(c.URL) {
		if k.Name == name {
			return k.Value
		}
	}
	return ""
}

// SetCookie puts a cookie in the client's jar, as an attacker planting a value would.
func (c *Client) SetCookie(name, value string) {
	c.jar.SetCookies(c.URL, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

var (
	csrfFieldRE   = regexp.MustCompile(`name="_csrf" value="([^"]*)"`)
	csrfHeadersRE = regexp.MustCompile(`hx-headers="\{&#34;X-CSRF-Token&#34;:&#34;([^&"]*)&#34;\}"`)
)

// CSRFFromPage extracts the CSRF token a page hands out: the _csrf hidden field of its forms, or the
// X-CSRF-Token of the body's hx-headers attribute. It returns "" when there is none.
func CSRFFromPage(body string) string {
	if m := csrfFieldRE.FindStringSubmatch(body); m != nil {
		return html.UnescapeString(m[1])
	}
	if m := csrfHeadersRE.FindStringSubmatch(body); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

// SignIn signs c in through POST /login and fails the test unless it is redirected.
func SignIn(t testing.TB, c *Client, email, password string) *Response {
	t.Helper()
	r := c.PostForm("/login", url.Values{"email": {email}, "password": {password}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("sign in as %s: status %d, want 303; error %q", email, r.Status, PageError(r.Body))
	}
	return r
}

// SignedInClient returns a new client of ts signed in as email (password Password).
func SignedInClient(t testing.TB, ts *Server, email string) *Client {
	t.Helper()
	c := ts.NewClient(t)
	SignIn(t, c, email, Password)
	return c
}

var (
	alertRE      = regexp.MustCompile(`(?s)<div class="alert alert-error[^"]*"[^>]*role="alert">.*?<span>(.*?)</span>`)
	toastRE      = regexp.MustCompile(`(?s)<div class="toast[^"]*" role="(?:status|alert)">.*?<span>(.*?)</span>`)
	secretNameRE = regexp.MustCompile(`<span class="secret-name">([^<]*)</span>`)
	textareaRE   = regexp.MustCompile(`(?s)<textarea[^>]*\bid="secret-value"[^>]*>(.*?)</textarea>`)
	tagRE        = regexp.MustCompile(`<[^>]+>`)
)

// FieldError is the error shown under the input with the given id (unescaped, "" for none), and
// whether that input is marked invalid and points at it (aria-invalid, aria-errormessage).
func FieldError(body, id string) (msg string, marked bool) {
	box := regexp.MustCompile(`(?s)<div class="alert alert-error alert-field" id="` + regexp.QuoteMeta(id) + `-error" role="alert">.*?<span>(.*?)</span>`).FindStringSubmatch(body)
	if box != nil {
		msg = html.UnescapeString(tagRE.ReplaceAllString(box[1], ""))
	}
	tag := regexp.MustCompile(`<(?:input|textarea)[^>]*\bid="` + regexp.QuoteMeta(id) + `"[^>]*>`).FindString(body)
	marked = strings.Contains(tag, `aria-invalid="true"`) && strings.Contains(tag, `aria-errormessage="`+id+`-error"`)
	return msg, marked
}

// PageError is the text of the page's or dialog's red error box, or of the error under one of its
// fields, unescaped, or "".
func PageError(body string) string {
	m := alertRE.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(tagRE.ReplaceAllString(m[1], ""))
}

// ToastText is the text of the toast in a response, unescaped, or "".
func ToastText(body string) string {
	m := toastRE.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// RowNames lists the secret names in a secrets table, in order.
func RowNames(body string) []string {
	var names []string
	for _, m := range secretNameRE.FindAllStringSubmatch(body, -1) {
		names = append(names, html.UnescapeString(m[1]))
	}
	return names
}

// TextareaValue is what a browser shows in the #secret-value textarea: the HTML parser drops the one
// newline right after <textarea>, and entities are decoded. ok is false when there is no such field.
func TextareaValue(body string) (v string, ok bool) {
	m := textareaRE.FindStringSubmatch(body)
	if m == nil {
		return "", false
	}
	raw := strings.TrimPrefix(m[1], "\n")
	return html.UnescapeString(raw), true
}

// TextareaByID is what a browser shows in the <textarea> with the given id (see TextareaValue).
func TextareaByID(body, id string) (v string, ok bool) {
	m := regexp.MustCompile(`(?s)<textarea[^>]*\bid="` + regexp.QuoteMeta(id) + `"[^>]*>(.*?)</textarea>`).FindStringSubmatch(body)
	if m == nil {
		return "", false
	}
	return html.UnescapeString(strings.TrimPrefix(m[1], "\n")), true
}

// InputValue returns the value attribute of the <input> with the given id, unescaped.
func InputValue(body, id string) (v string, ok bool) {
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

// RawDB opens the server's database directly, to look behind the store: the SQLite file read-only, or
// the PostgreSQL database through db.PostgresDriver (queries are written with ? on both).
func (ts *Server) RawDB(t testing.TB) *sql.DB {
	t.Helper()
	driver, dsn := "sqlite", "file:"+(&url.URL{Path: ts.Store.Path()}).EscapedPath()+"?mode=ro&_pragma=busy_timeout(10000)"
	if loc := ts.Store.Location(); db.IsPostgres(loc) {
		driver, dsn = db.PostgresDriver, loc
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

// WantAccess fails unless a's access to the secret id is want ("" for none: the secret is invisible).
func WantAccess(t testing.TB, ts *Server, a db.Actor, id string, want db.Role) {
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
