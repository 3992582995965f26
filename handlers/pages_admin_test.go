package handlers_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web"
)

const admPassword = "correct horse battery staple"

// admClock is the store's clock: the real time moved by an offset the test sets, so events can be
// recorded on other days.
type admClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *admClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *admClock) Set(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset = d
}

// admEnv is a running portal over a real SQLite file, with one organization whose admin is Ada Admin.
type admEnv struct {
	t     *testing.T
	store *db.Store
	srv   *httptest.Server
	clock *admClock
	logs  *syncBuffer
	org   *db.Org
	admin db.Actor
}

// syncBuffer collects the server's log lines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newAdmEnv(t *testing.T) *admEnv {
	t.Helper()
	ctx := context.Background()
	key := make([]byte, 32)
	rand.Read(key)
	clock := &admClock{}
	store, err := db.Open(ctx, filepath.Join(t.TempDir(), db.FileName), db.Options{MasterKey: key, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	srv := httptest.NewServer(web.New(store, web.Config{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		AttemptRate: 1e6, AttemptBurst: 1e6})) // the tests sign in many times from one address
	t.Cleanup(func() {
		srv.Close()
		store.Close()
	})
	org, u, err := store.CreateOrg(ctx, "Example Org", db.NewUser{Email: "ada@example.com", FirstName: "Ada", LastName: "Admin", Password: admPassword}, "cli")
	if err != nil {
		t.Fatal(err)
	}
	env := &admEnv{t: t, store: store, srv: srv, clock: clock, logs: logs, org: org}
	env.admin = env.actor(u.ID)
	return env
}

func (e *admEnv) actor(userID string) db.Actor {
	e.t.Helper()
	a, err := e.store.ActorFor(context.Background(), userID, e.org.ID, "portal", "192.0.2.10")
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// member adds a plain member and returns its actor.
func (e *admEnv) member(email, first, last string) db.Actor {
	e.t.Helper()
	m, err := e.store.AddMember(context.Background(), db.SystemActor(e.admin.OrgID), db.NewUser{Email: email, FirstName: first, LastName: last, Password: admPassword}, db.OrgMember)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.actor(m.ID)
}

func (e *admEnv) secret(a db.Actor, name, value string) *db.Secret {
	e.t.Helper()
	sec, err := e.store.CreateSecret(context.Background(), a, name, []byte(value))
	if err != nil {
		e.t.Fatal(err)
	}
	return sec
}

// admClient is a browser: a cookie jar signed in as one user.
type admClient struct {
	t    *testing.T
	base string
	http *http.Client
	// token is the CSRF token the client's pages hand out, for the cookies in tokenFor.
	token, tokenFor string
}

func (e *admEnv) signIn(email string) *admClient {
	e.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &admClient{t: e.t, base: e.srv.URL, http: &http.Client{Jar: jar}}
	form := url.Values{"email": {email}, "password": {admPassword}, "_csrf": {c.csrf()}}
	resp, err := c.http.PostForm(c.base+"/login", form)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/secrets" {
		e.t.Fatalf("sign in as %s: status %d at %s", email, resp.StatusCode, resp.Request.URL.Path)
	}
	return c
}

var (
	csrfFieldPattern   = regexp.MustCompile(`name="_csrf" value="([^"]*)"`)
	csrfHeadersPattern = regexp.MustCompile(`hx-headers="\{&#34;X-CSRF-Token&#34;:&#34;([^&"]*)&#34;\}"`)
)

// csrf is the CSRF token the client's pages hand out: bound to its session (or, signed out, to its
// anonymous cookie), so fetched again when its cookies change.
func (c *admClient) csrf() string {
	u, _ := url.Parse(c.base)
	var cookies []string
	for _, ck := range c.http.Jar.Cookies(u) {
		cookies = append(cookies, ck.Name+"="+ck.Value)
	}
	if key := strings.Join(cookies, ";"); c.token != "" && key == c.tokenFor {
		return c.token
	}
	for _, path := range []string{"/login", "/account"} {
		req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
		resp, err := c.http.Do(req)
		if err != nil {
			c.t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, re := range []*regexp.Regexp{csrfFieldPattern, csrfHeadersPattern} {
			if m := re.FindStringSubmatch(string(b)); m != nil {
				c.token = html.UnescapeString(m[1])
				cookies = cookies[:0]
				for _, ck := range c.http.Jar.Cookies(u) {
					cookies = append(cookies, ck.Name+"="+ck.Value)
				}
				c.tokenFor = strings.Join(cookies, ";")
				return c.token
			}
		}
	}
	c.t.Fatal("no CSRF token in the sign-in or Account page")
	return ""
}

// do sends a request, as htmx does when htmx is set, and returns the response with its body read.
func (c *admClient) do(method, path string, form url.Values, htmx bool) (*http.Response, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if method != http.MethodGet {
		req.Header.Set("X-CSRF-Token", c.csrf())
	}
	if htmx {
		req.Header.Set("HX-Request", "true")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp, string(b)
}

// get fetches path and fails the test unless the status is want.
func (c *admClient) get(path string, htmx bool, want int) string {
	c.t.Helper()
	resp, body := c.do(http.MethodGet, path, nil, htmx)
	if resp.StatusCode != want {
		c.t.Fatalf("GET %s: status %d, want %d\n%s", path, resp.StatusCode, want, body)
	}
	return body
}

func mustContain(t *testing.T, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("response lacks %q", w)
		}
	}
}

func mustNotContain(t *testing.T, body string, nots ...string) {
	t.Helper()
	for _, n := range nots {
		if strings.Contains(body, n) {
			t.Errorf("response contains %q", n)
		}
	}
}

var newKeyPattern = regexp.MustCompile(`id="new-api-key"[^>]*value="(kh_[A-Za-z0-9_-]+)"|value="(kh_[A-Za-z0-9_-]+)"[^>]*id="new-api-key"`)

func TestAPIKeys_CreateShowsKeyOnce(t *testing.T) {
	env := newAdmEnv(t)
	env.member("max@example.com", "Max", "Member")
	c := env.signIn("max@example.com")

	resp, body := c.do(http.MethodGet, "/apikeys", nil, false)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("GET /apikeys: status %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	mustContain(t, body, "No API keys yet", `aria-current="page"`)

	expires := time.Now().UTC().AddDate(0, 0, 30).Format("2006-01-02")
	resp, body = c.do(http.MethodPost, "/apikeys", url.Values{"label": {"CI deploys"}, "expires": {expires}}, true)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /apikeys: status %d\n%s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("create response Cache-Control=%q, want no-store", got)
	}
	if got := resp.Header.Get("HX-Trigger"); got != "apikeys-changed" {
		t.Errorf("HX-Trigger=%q", got)
	}
	m := newKeyPattern.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the create response shows no kh_ key:\n%s", body)
	}
	key := m[1] + m[2]
	mustContain(t, body, "Copy this key now: keyhold shows it only once.", `data-copy-target="#new-api-key"`, "readonly")

	// The key works, and keyhold never shows it again.
	if _, err := env.store.AuthenticateAPIKey(context.Background(), key, "192.0.2.1"); err != nil {
		t.Fatalf("the shown key does not authenticate: %v", err)
	}
	list := c.get("/apikeys", false, http.StatusOK)
	mustNotContain(t, list, key)
	mustContain(t, list, "CI deploys", key[:len(db.APIKeyPrefix)+6]+"…", "Max Member", "Never")
	wantDate := time.Now().UTC().AddDate(0, 0, 30).Format("Jan 2, 2006")
	mustContain(t, list, wantDate)
	mustNotContain(t, c.get("/apikeys", true, http.StatusOK), key)

	// The database holds a hash of the key, never the key.
	raw, err := sql.Open("sqlite", "file:"+env.store.Path()+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.Query(`SELECT * FROM api_keys`)
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := rows.Columns()
	n := 0
	for rows.Next() {
		n++
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			if s := fmt.Sprint(v); strings.Contains(s, key) || strings.Contains(s, key[len(db.APIKeyPrefix):]) {
				t.Errorf("api_keys.%s holds the key", cols[i])
			}
			if b, ok := v.([]byte); ok && bytes.Contains(b, []byte(key)) {
				t.Errorf("api_keys.%s holds the key", cols[i])
			}
		}
	}
	rows.Close()
	if n != 1 {
		t.Errorf("api_keys has %d rows, want 1", n)
	}
	if strings.Contains(env.logs.String(), key) {
		t.Error("the key was logged")
	}
}

func TestAPIKeys_CreateRefused(t *testing.T) {
	env := newAdmEnv(t)
	max := env.member("max@example.com", "Max", "Member")
	c := env.signIn("max@example.com")
	for _, tc := range []struct {
		name, label, expires, msg string
	}{
		{"past expiry", "Old key", "2001-01-01", "The expiry must be in the future."},
		{"yesterday", "Old key", time.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02"), "The expiry must be in the future."},
		{"empty label", "  ", "", "Label is required."},
		{"malformed date", "Some key", "next week", "Enter the expiry as a date"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := c.do(http.MethodPost, "/apikeys", url.Values{"label": {tc.label}, "expires": {tc.expires}}, true)
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422\n%s", resp.StatusCode, body)
			}
			mustContain(t, body, "<dialog", "Create API key", tc.msg, `value="`+strings.TrimSpace(tc.label)+`"`)
			mustNotContain(t, body, "kh_")
			keys, err := env.store.ListAPIKeys(context.Background(), max)
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != 0 {
				t.Fatalf("%d keys stored after a refused create", len(keys))
			}
		})
	}
}

func TestAPIKeys_MemberCannotSeeOrRevokeOthers(t *testing.T) {
	env := newAdmEnv(t)
	ctx := context.Background()
	max := env.member("max@example.com", "Max", "Member")
	env.member("mia@example.com", "Mia", "Member")
	maxKey, maxRec, err := env.store.CreateAPIKey(ctx, max, "Max laptop", time.Time{})
	if err != nil {
		t.Fatal(err)
	}

	mia := env.signIn("mia@example.com")
	mustNotContain(t, mia.get("/apikeys", false, http.StatusOK), "Max laptop", maxRec.Prefix)
	mia.get("/apikeys/"+maxRec.ID+"/revoke", true, http.StatusNotFound)
	if resp, body := mia.do(http.MethodDelete, "/apikeys/"+maxRec.ID, nil, true); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("DELETE another member's key: status %d\n%s", resp.StatusCode, body)
	}
	if _, err := env.store.AuthenticateAPIKey(ctx, maxKey, ""); err != nil {
		t.Fatalf("Max's key stopped working: %v", err)
	}

	// Its owner revokes it.
	maxC := env.signIn("max@example.com")
	mustContain(t, maxC.get("/apikeys/"+maxRec.ID+"/revoke", true, http.StatusOK), "Revoke Max laptop?", maxRec.Prefix+"…")
	resp, body := maxC.do(http.MethodDelete, "/apikeys/"+maxRec.ID, nil, true)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("HX-Trigger") != "apikeys-changed" {
		t.Fatalf("DELETE own key: status %d, HX-Trigger %q\n%s", resp.StatusCode, resp.Header.Get("HX-Trigger"), body)
	}
	mustContain(t, body, "API key revoked.")
	mustNotContain(t, maxC.get("/apikeys", true, http.StatusOK), "Max laptop")
}

func TestAPIKeys_AdminSeesAndRevokesAll(t *testing.T) {
	env := newAdmEnv(t)
	ctx := context.Background()
	max := env.member("max@example.com", "Max", "Member")
	mia := env.member("mia@example.com", "Mia", "Member")
	maxKey, maxRec, err := env.store.CreateAPIKey(ctx, max, "Max laptop", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	_, miaRec, err := env.store.CreateAPIKey(ctx, mia, "Mia CI", time.Now().Add(72*time.Hour))
	if err != nil {
		t.Fatal(err)
	}

	ada := env.signIn("ada@example.com")
	list := ada.get("/apikeys", false, http.StatusOK)
	mustContain(t, list, "Max laptop", "Mia CI", "Max Member", "Mia Member", maxRec.Prefix+"…", miaRec.Prefix+"…", "every key in this organization")

	mustContain(t, ada.get("/apikeys/"+maxRec.ID+"/revoke", true, http.StatusOK), "Revoke Max laptop?", "The key belongs to Max Member.")
	resp, body := ada.do(http.MethodDelete, "/apikeys/"+maxRec.ID, nil, true)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("admin revoke: status %d\n%s", resp.StatusCode, body)
	}
	list = ada.get("/apikeys", true, http.StatusOK)
	mustNotContain(t, list, "Max laptop")
	mustContain(t, list, "Mia CI")
	if _, err := env.store.AuthenticateAPIKey(ctx, maxKey, ""); db.ErrorCode(err) != db.CodeUnauthorized {
		t.Fatalf("a revoked key still authenticates: %v", err)
	}
	// A revoked key cannot be revoked again.
	if resp, _ := ada.do(http.MethodDelete, "/apikeys/"+maxRec.ID, nil, true); resp.StatusCode != http.StatusNotFound {
		t.Errorf("second revoke: status %d, want 404", resp.StatusCode)
	}
}

func TestAudit_NonAdminForbidden(t *testing.T) {
	env := newAdmEnv(t)
	env.member("max@example.com", "Max", "Member")
	c := env.signIn("max@example.com")
	mustNotContain(t, c.get("/secrets", false, http.StatusOK), `href="/audit"`)
	c.get("/audit", false, http.StatusForbidden)
	c.get("/audit?action=secret.read", true, http.StatusForbidden)
	c.get("/audit?secret=ANY_NAME", true, http.StatusForbidden)
}

// auditRows counts the events in an audit page.
func auditRows(body string) int { return strings.Count(body, `class="audit-time"`) }

func TestAudit_Filters(t *testing.T) {
	env := newAdmEnv(t)
	ctx := context.Background()
	max := env.member("max@example.com", "Max", "Member")

	env.clock.Set(-40 * 24 * time.Hour)
	old := env.secret(env.admin, "OLD_TOKEN", "v")
	env.clock.Set(0)
	alpha := env.secret(env.admin, "ALPHA_TOKEN", "v")
	bravo := env.secret(max, "BRAVO_TOKEN", "v")
	if _, err := env.store.RevealSecret(ctx, max, bravo.ID); err != nil {
		t.Fatal(err)
	}

	ada := env.signIn("ada@example.com")
	page := ada.get("/audit", false, http.StatusOK)
	mustContain(t, page, `id="audit-filters"`, `hx-get="/audit"`, `hx-target="#audit-table"`, `hx-push-url="true"`,
		`<option value="`+max.UserID+`">Max Member (max@example.com)</option>`, `<option value="secret.read">Read value</option>`)
	_, table, _ := strings.Cut(page, `id="audit-table"`) // the action filter lists every label
	mustContain(t, table, "OLD_TOKEN", "ALPHA_TOKEN", "BRAVO_TOKEN", "Read value", "Created secret", "Member added",
		"Created organization", "192.0.2.10")
	if n := auditRows(table); n != 6 {
		t.Errorf("unfiltered: %d rows, want 6", n)
	}

	byMax := ada.get("/audit?actor="+max.UserID, true, http.StatusOK)
	mustContain(t, byMax, `id="audit-table"`, "BRAVO_TOKEN", "max@example.com")
	mustNotContain(t, byMax, "ALPHA_TOKEN", "OLD_TOKEN", "ada@example.com", "<html")
	if n := auditRows(byMax); n != 2 {
		t.Errorf("Max's events: %d rows, want 2 (create, read)", n)
	}

	reads := ada.get("/audit?action=secret.read", true, http.StatusOK)
	mustContain(t, reads, "Read value", "BRAVO_TOKEN")
	mustNotContain(t, reads, "Created secret", "ALPHA_TOKEN")
	if n := auditRows(reads); n != 1 {
		t.Errorf("reads: %d rows, want 1", n)
	}

	oldDay := time.Now().UTC().Add(-40 * 24 * time.Hour).Format("2006-01-02")
	then := ada.get("/audit?from="+oldDay+"&to="+oldDay, true, http.StatusOK)
	mustContain(t, then, "OLD_TOKEN")
	mustNotContain(t, then, "ALPHA_TOKEN", "BRAVO_TOKEN")
	recent := ada.get("/audit?from="+time.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02"), true, http.StatusOK)
	mustContain(t, recent, "ALPHA_TOKEN", "BRAVO_TOKEN")
	mustNotContain(t, recent, "OLD_TOKEN")
	ada.get("/audit?from=2030-02-01&to=2030-01-01", true, http.StatusBadRequest)
	ada.get("/audit?from=yesterday", true, http.StatusBadRequest)

	// The secret filter takes an ID or an exact name.
	byID := ada.get("/audit?secret="+alpha.ID, true, http.StatusOK)
	mustContain(t, byID, "ALPHA_TOKEN")
	mustNotContain(t, byID, "BRAVO_TOKEN", "OLD_TOKEN")
	byName := ada.get("/audit?secret=OLD_TOKEN", true, http.StatusOK)
	mustContain(t, byName, "OLD_TOKEN", `/audit?secret=`+old.ID)
	mustNotContain(t, byName, "ALPHA_TOKEN")
	mustContain(t, ada.get("/audit?secret=NO_SUCH_TOKEN", true, http.StatusOK), "No event names a secret")

	// Filters combine, and the page reflects them in the form.
	both := ada.get("/audit?actor="+max.UserID+"&action=secret.create", false, http.StatusOK)
	if n := auditRows(both); n != 1 {
		t.Errorf("Max's creates: %d rows, want 1", n)
	}
	mustContain(t, both, `<option value="secret.create" selected>`, `<option value="`+max.UserID+`" selected>`)
}

func TestAudit_Paging(t *testing.T) {
	env := newAdmEnv(t)
	ctx := context.Background()
	sec := env.secret(env.admin, "BUSY_TOKEN", "v")
	for range 60 {
		if _, err := env.store.RevealSecret(ctx, env.admin, sec.ID); err != nil {
			t.Fatal(err)
		}
	}
	ada := env.signIn("ada@example.com")
	all, err := env.store.ListAudit(ctx, env.admin, db.AuditFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	first := ada.get("/audit", false, http.StatusOK)
	if n := auditRows(first); n != 50 {
		t.Fatalf("first page: %d rows, want 50", n)
	}
	_, table, _ := strings.Cut(first, `id="audit-table"`) // the action filter lists every label
	mustNotContain(t, table, "Created organization")
	older := regexp.MustCompile(`hx-get="(/audit\?before=(\d+))"`).FindStringSubmatch(first)
	if older == nil {
		t.Fatal("no Older link on the first page")
	}
	if want := fmt.Sprint(all[49].ID); older[2] != want {
		t.Errorf("Older goes before %s, want %s", older[2], want)
	}
	second := ada.get(older[1], true, http.StatusOK)
	if n, want := auditRows(second), len(all)-50; n != want {
		t.Fatalf("second page: %d rows, want %d", n, want)
	}
	mustContain(t, second, "Created organization", "Newest")
	if regexp.MustCompile(`disabled[^>]*hx-get="/audit"[^>]*>\s*Older`).FindString(second) == "" {
		t.Error("the last page's Older button is not disabled")
	}

	// Paging keeps the filter.
	reads := ada.get("/audit?action=secret.read", true, http.StatusOK)
	m := regexp.MustCompile(`hx-get="(/audit\?action=secret.read&amp;before=\d+)"`).FindStringSubmatch(reads)
	if m == nil {
		t.Fatal("the Older link drops the action filter")
	}
	rest := ada.get(strings.ReplaceAll(m[1], "&amp;", "&"), true, http.StatusOK)
	if n := auditRows(rest); n != 10 {
		t.Errorf("second page of reads: %d rows, want 10", n)
	}
	mustNotContain(t, rest, "Created secret")
}

func TestAudit_NeverShowsValues(t *testing.T) {
	env := newAdmEnv(t)
	ctx := context.Background()
	max := env.member("max@example.com", "Max", "Member")
	values := []string{"zq-VALUE-alpha-7731", "zq-VALUE-bravo-9182", "zq-VALUE-charlie-4410"}
	ada := env.signIn("ada@example.com")
	var ids []string
	for i, v := range values {
		sec := env.secret(env.admin, fmt.Sprintf("DISTINCT_%d", i), v)
		ids = append(ids, sec.ID)
		_, revealed := ada.do(http.MethodPost, "/secrets/"+sec.ID+"/reveal", url.Values{}, true)
		mustContain(t, revealed, v) // revealed in the portal
	}
	if err := env.store.ChangeAccess(ctx, env.admin, ids[0], []db.AccessChange{{Kind: db.PrincipalUser, ID: max.UserID, Role: db.RoleReader}}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.store.RevealSecret(ctx, max, ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := env.store.UpdateSecret(ctx, env.admin, ids[1], []byte("zq-VALUE-bravo-NEW-5521"), 1); err != nil {
		t.Fatal(err)
	}
	values = append(values, "zq-VALUE-bravo-NEW-5521")

	pages := []string{
		ada.get("/audit", false, http.StatusOK),
		ada.get("/audit?action=secret.read", true, http.StatusOK),
		ada.get("/audit?secret="+ids[1], true, http.StatusOK),
		ada.get("/secrets/"+ids[0]+"/activity", true, http.StatusOK),
		ada.get("/secrets/"+ids[1]+"/activity", true, http.StatusOK),
	}
	_, table, _ := strings.Cut(pages[0], `id="audit-table"`)
	mustContain(t, table, "Read value", "Changed value", "version 2", "DISTINCT_0", "Granted access")
	for _, p := range pages {
		mustNotContain(t, p, append(values, "zq-VALUE")...)
	}
}

func TestSecretActivity(t *testing.T) {
	env := newAdmEnv(t)
	ctx := context.Background()
	max := env.member("max@example.com", "Max", "Member")
	env.member("mia@example.com", "Mia", "Member")
	sec := env.secret(env.admin, "SHARED_TOKEN", "shared-value-8841")
	if err := env.store.ChangeAccess(ctx, env.admin, sec.ID, []db.AccessChange{{Kind: db.PrincipalUser, ID: max.UserID, Role: db.RoleReader}}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.store.RevealSecret(ctx, max, sec.ID); err != nil {
		t.Fatal(err)
	}
	key, _, err := env.store.CreateAPIKey(ctx, env.admin, "Deploy bot", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	bot, err := env.store.AuthenticateAPIKey(ctx, key, "198.51.100.7")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.store.SecretByName(ctx, bot, "SHARED_TOKEN"); err != nil {
		t.Fatal(err)
	}

	ada := env.signIn("ada@example.com")
	list := ada.get("/secrets", false, http.StatusOK)
	mustContain(t, list, `hx-get="/secrets/`+sec.ID+`/activity"`)

	dlg := ada.get("/secrets/"+sec.ID+"/activity", true, http.StatusOK)
	mustContain(t, dlg, "<dialog", "Activity of", "SHARED_TOKEN", "Created secret", "Granted access", "Read value",
		"max@example.com", "ada@example.com", "via API key <strong>Deploy bot</strong>", "198.51.100.7", "192.0.2.10")
	mustNotContain(t, dlg, "shared-value-8841")
	if strings.Count(dlg, "Read value") != 2 {
		t.Errorf("want 2 reads (Max in the portal, the bot through the API)")
	}

	maxC := env.signIn("max@example.com")
	mustNotContain(t, maxC.get("/secrets", false, http.StatusOK), "/activity")
	maxC.get("/secrets/"+sec.ID+"/activity", true, http.StatusForbidden)
	env.signIn("mia@example.com").get("/secrets/"+sec.ID+"/activity", true, http.StatusNotFound)
	ada.get("/secrets/00000000-0000-0000-0000-000000000000/activity", true, http.StatusNotFound)
}
