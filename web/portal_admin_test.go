package web_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/db/dbtest"
	"github.com/keyhold/keyhold/web"
	"github.com/keyhold/keyhold/web/webtest"
)

// admEnv is the test server with one organization, "Example Org", whose admin is Ada Admin, a clock
// the test moves, and the server's log.
type admEnv struct {
	*webtest.Server
	t     *testing.T
	store *db.Store
	clock *dbtest.Clock
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
	clock := dbtest.NewClock(time.Now())
	logs := &syncBuffer{}
	ts := webtest.NewWith(t, web.Config{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))},
		db.Options{Now: clock.Now})
	org, u, err := ts.Store.CreateOrg(context.Background(), "Example Org",
		db.NewUser{Email: "ada@example.com", FirstName: "Ada", LastName: "Admin", Password: webtest.Password}, "cli")
	if err != nil {
		t.Fatal(err)
	}
	env := &admEnv{Server: ts, t: t, store: ts.Store, clock: clock, logs: logs, org: org}
	env.admin = env.actor(u.ID)
	return env
}

// actor is userID acting in the organization through the portal.
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
	return e.actor(e.SeedMember(e.t, e.admin, email, first, last).UserID)
}

func (e *admEnv) secret(a db.Actor, name, value string) *db.Secret {
	e.t.Helper()
	return e.SeedSecret(e.t, a, name, value)
}

// signIn returns a client signed in as email through the sign-in form.
func (e *admEnv) signIn(email string) *webtest.Client {
	e.t.Helper()
	return webtest.SignedInClient(e.t, e.Server, email)
}

// portalDo sends a request as the portal's pages do: htmx ones with HX-Request, every one but a GET
// with the CSRF token in its header. It returns the response and its body.
func portalDo(c *webtest.Client, method, path string, form url.Values, htmx bool) (*webtest.Response, string) {
	hdr := http.Header{}
	if method != http.MethodGet {
		hdr.Set("X-CSRF-Token", c.CSRF())
	}
	if htmx {
		hdr.Set("HX-Request", "true")
	}
	r := c.Do(method, path, form, hdr)
	return r, r.Body
}

// portalGet fetches path and fails the test unless the status is want.
func portalGet(t *testing.T, c *webtest.Client, path string, htmx bool, want int) string {
	t.Helper()
	resp, body := portalDo(c, http.MethodGet, path, nil, htmx)
	if resp.Status != want {
		t.Fatalf("GET %s: status %d, want %d\n%s", path, resp.Status, want, body)
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
	t.Parallel()
	env := newAdmEnv(t)
	env.member("max@example.com", "Max", "Member")
	c := env.signIn("max@example.com")

	resp, body := portalDo(c, http.MethodGet, "/apikeys", nil, false)
	if resp.Status != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("GET /apikeys: status %d, Cache-Control %q", resp.Status, resp.Header.Get("Cache-Control"))
	}
	mustContain(t, body, "No API keys yet", `aria-current="page"`)

	expires := time.Now().UTC().AddDate(0, 0, 30).Format("2006-01-02")
	resp, body = portalDo(c, http.MethodPost, "/apikeys", url.Values{"label": {"CI deploys"}, "expires": {expires}}, true)
	if resp.Status != http.StatusOK {
		t.Fatalf("POST /apikeys: status %d\n%s", resp.Status, body)
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
	list := portalGet(t, c, "/apikeys", false, http.StatusOK)
	mustNotContain(t, list, key)
	mustContain(t, list, "CI deploys", key[:len(db.APIKeyPrefix)+6]+"…", "Max Member", "Never")
	wantDate := time.Now().UTC().AddDate(0, 0, 30).Format("Jan 2, 2006")
	mustContain(t, list, wantDate)
	mustNotContain(t, portalGet(t, c, "/apikeys", true, http.StatusOK), key)

	// The database holds a hash of the key, never the key.
	raw := env.RawDB(t)
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
	t.Parallel()
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
			resp, body := portalDo(c, http.MethodPost, "/apikeys", url.Values{"label": {tc.label}, "expires": {tc.expires}}, true)
			if resp.Status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422\n%s", resp.Status, body)
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
	t.Parallel()
	env := newAdmEnv(t)
	ctx := context.Background()
	max := env.member("max@example.com", "Max", "Member")
	env.member("mia@example.com", "Mia", "Member")
	maxKey, maxRec, err := env.store.CreateAPIKey(ctx, max, "Max laptop", time.Time{})
	if err != nil {
		t.Fatal(err)
	}

	mia := env.signIn("mia@example.com")
	mustNotContain(t, portalGet(t, mia, "/apikeys", false, http.StatusOK), "Max laptop", maxRec.Prefix)
	portalGet(t, mia, "/apikeys/"+maxRec.ID+"/revoke", true, http.StatusNotFound)
	if resp, body := portalDo(mia, http.MethodDelete, "/apikeys/"+maxRec.ID, nil, true); resp.Status != http.StatusNotFound {
		t.Fatalf("DELETE another member's key: status %d\n%s", resp.Status, body)
	}
	if _, err := env.store.AuthenticateAPIKey(ctx, maxKey, ""); err != nil {
		t.Fatalf("Max's key stopped working: %v", err)
	}

	// Its owner revokes it.
	maxC := env.signIn("max@example.com")
	mustContain(t, portalGet(t, maxC, "/apikeys/"+maxRec.ID+"/revoke", true, http.StatusOK), "Revoke Max laptop?", maxRec.Prefix+"…")
	resp, body := portalDo(maxC, http.MethodDelete, "/apikeys/"+maxRec.ID, nil, true)
	if resp.Status != http.StatusOK || resp.Header.Get("HX-Trigger") != "apikeys-changed" {
		t.Fatalf("DELETE own key: status %d, HX-Trigger %q\n%s", resp.Status, resp.Header.Get("HX-Trigger"), body)
	}
	mustContain(t, body, "API key revoked.")
	mustNotContain(t, portalGet(t, maxC, "/apikeys", true, http.StatusOK), "Max laptop")
}

func TestAPIKeys_AdminSeesAndRevokesAll(t *testing.T) {
	t.Parallel()
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
	list := portalGet(t, ada, "/apikeys", false, http.StatusOK)
	mustContain(t, list, "Max laptop", "Mia CI", "Max Member", "Mia Member", maxRec.Prefix+"…", miaRec.Prefix+"…", "every key in this organization")

	mustContain(t, portalGet(t, ada, "/apikeys/"+maxRec.ID+"/revoke", true, http.StatusOK), "Revoke Max laptop?", "The key belongs to Max Member.")
	resp, body := portalDo(ada, http.MethodDelete, "/apikeys/"+maxRec.ID, nil, true)
	if resp.Status != http.StatusOK {
		t.Fatalf("admin revoke: status %d\n%s", resp.Status, body)
	}
	list = portalGet(t, ada, "/apikeys", true, http.StatusOK)
	mustNotContain(t, list, "Max laptop")
	mustContain(t, list, "Mia CI")
	if _, err := env.store.AuthenticateAPIKey(ctx, maxKey, ""); db.ErrorCode(err) != db.CodeUnauthorized {
		t.Fatalf("a revoked key still authenticates: %v", err)
	}
	// A revoked key cannot be revoked again.
	if resp, _ := portalDo(ada, http.MethodDelete, "/apikeys/"+maxRec.ID, nil, true); resp.Status != http.StatusNotFound {
		t.Errorf("second revoke: status %d, want 404", resp.Status)
	}
}

func TestAudit_NonAdminForbidden(t *testing.T) {
	t.Parallel()
	env := newAdmEnv(t)
	env.member("max@example.com", "Max", "Member")
	c := env.signIn("max@example.com")
	mustNotContain(t, portalGet(t, c, "/secrets", false, http.StatusOK), `href="/audit"`)
	portalGet(t, c, "/audit", false, http.StatusForbidden)
	portalGet(t, c, "/audit?action=secret.read", true, http.StatusForbidden)
	portalGet(t, c, "/audit?secret=ANY_NAME", true, http.StatusForbidden)
}

// auditRows counts the events in an audit page.
func auditRows(body string) int { return strings.Count(body, `class="audit-time"`) }

func TestAudit_Filters(t *testing.T) {
	t.Parallel()
	env := newAdmEnv(t)
	ctx := context.Background()
	max := env.member("max@example.com", "Max", "Member")

	env.clock.Add(-40 * 24 * time.Hour)
	old := env.secret(env.admin, "OLD_TOKEN", "v")
	env.clock.Add(40 * 24 * time.Hour)
	alpha := env.secret(env.admin, "ALPHA_TOKEN", "v")
	bravo := env.secret(max, "BRAVO_TOKEN", "v")
	if _, err := env.store.RevealSecret(ctx, max, bravo.ID); err != nil {
		t.Fatal(err)
	}

	ada := env.signIn("ada@example.com")
	page := portalGet(t, ada, "/audit", false, http.StatusOK)
	mustContain(t, page, `id="audit-filters"`, `hx-get="/audit"`, `hx-target="#audit-table"`, `hx-push-url="true"`,
		`<option value="`+max.UserID+`">Max Member (max@example.com)</option>`, `<option value="secret.read">Read value</option>`)
	_, table, _ := strings.Cut(page, `id="audit-table"`) // the action filter lists every label
	mustContain(t, table, "OLD_TOKEN", "ALPHA_TOKEN", "BRAVO_TOKEN", "Read value", "Created secret", "Member added",
		"Created organization", "192.0.2.10")
	if n := auditRows(table); n != 6 {
		t.Errorf("unfiltered: %d rows, want 6", n)
	}

	byMax := portalGet(t, ada, "/audit?actor="+max.UserID, true, http.StatusOK)
	mustContain(t, byMax, `id="audit-table"`, "BRAVO_TOKEN", "max@example.com")
	mustNotContain(t, byMax, "ALPHA_TOKEN", "OLD_TOKEN", "ada@example.com", "<html")
	if n := auditRows(byMax); n != 2 {
		t.Errorf("Max's events: %d rows, want 2 (create, read)", n)
	}

	reads := portalGet(t, ada, "/audit?action=secret.read", true, http.StatusOK)
	mustContain(t, reads, "Read value", "BRAVO_TOKEN")
	mustNotContain(t, reads, "Created secret", "ALPHA_TOKEN")
	if n := auditRows(reads); n != 1 {
		t.Errorf("reads: %d rows, want 1", n)
	}

	oldDay := time.Now().UTC().Add(-40 * 24 * time.Hour).Format("2006-01-02")
	then := portalGet(t, ada, "/audit?from="+oldDay+"&to="+oldDay, true, http.StatusOK)
	mustContain(t, then, "OLD_TOKEN")
	mustNotContain(t, then, "ALPHA_TOKEN", "BRAVO_TOKEN")
	recent := portalGet(t, ada, "/audit?from="+time.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02"), true, http.StatusOK)
	mustContain(t, recent, "ALPHA_TOKEN", "BRAVO_TOKEN")
	mustNotContain(t, recent, "OLD_TOKEN")
	portalGet(t, ada, "/audit?from=2030-02-01&to=2030-01-01", true, http.StatusBadRequest)
	portalGet(t, ada, "/audit?from=yesterday", true, http.StatusBadRequest)
	for _, bad := range []string{"action=secret.steal", "before=abc", "before=-5", "before=0"} {
		if r := ada.GetHX("/audit?" + bad); r.Status != http.StatusBadRequest || webtest.ToastText(r.Body) == "" {
			t.Errorf("/audit?%s: %d, toast %q; want 400 with a message", bad, r.Status, webtest.ToastText(r.Body))
		}
	}

	// The secret filter takes an ID or a part of a name, in any case.
	byID := portalGet(t, ada, "/audit?secret="+alpha.ID, true, http.StatusOK)
	mustContain(t, byID, "ALPHA_TOKEN")
	mustNotContain(t, byID, "BRAVO_TOKEN", "OLD_TOKEN")
	byName := portalGet(t, ada, "/audit?secret=OLD_TOKEN", true, http.StatusOK)
	mustContain(t, byName, "OLD_TOKEN", `/audit?secret=`+old.ID)
	mustNotContain(t, byName, "ALPHA_TOKEN")
	byPart := portalGet(t, ada, "/audit?secret="+url.QueryEscape(" ld_tok "), false, http.StatusOK)
	if n := auditRows(byPart); n != 1 {
		t.Errorf("secret ld_tok: %d rows, want OLD_TOKEN's 1", n)
	}
	mustContain(t, byPart, `value="ld_tok"`) // the search, trimmed, stays in its field
	if n := auditRows(portalGet(t, ada, "/audit?secret=_token", true, http.StatusOK)); n != 4 {
		t.Errorf("secret _token: %d rows, want 4 (3 creates, 1 read)", n)
	}
	for _, q := range []string{"NO_SUCH_TOKEN", "%", "_%_", `\`, "' OR 1=1 --"} {
		none := portalGet(t, ada, "/audit?secret="+url.QueryEscape(q), true, http.StatusOK)
		if n := auditRows(none); n != 0 {
			t.Errorf("secret %q: %d rows, want none", q, n)
		}
		mustContain(t, none, "No event names a secret")
	}
	// Another organization's events never show, by its secret's ID or name.
	globex, zedUser, err := env.store.CreateOrg(ctx, "Globex", db.NewUser{Email: "zed@example.com", FirstName: "Zed", LastName: "Other", Password: webtest.Password}, "cli")
	if err != nil {
		t.Fatal(err)
	}
	zed, err := env.store.ActorFor(ctx, zedUser.ID, globex.ID, "portal", "192.0.2.99")
	if err != nil {
		t.Fatal(err)
	}
	theirs := env.secret(zed, "GLOBEX_TOKEN", "v")
	for _, q := range []string{theirs.ID, "GLOBEX", "token"} {
		mustNotContain(t, portalGet(t, ada, "/audit?secret="+q, true, http.StatusOK), "GLOBEX_TOKEN", "zed@example.com", "192.0.2.99")
	}

	// Who: the name beside the email; when: the date and time in UTC, how long ago on hover.
	_, row, _ := strings.Cut(portalGet(t, ada, "/audit?actor="+max.UserID+"&action=secret.read", true, http.StatusOK), "<tbody>")
	mustContain(t, row, `<span class="audit-actor">Max Member</span>`, `<span class="audit-email">max@example.com</span>`)
	now := env.clock.Now().UTC()
	mustContain(t, row, `datetime="`+now.Format(time.RFC3339)+`"`, `title="just now"`,
		`<span class="audit-date">`+now.Format("2006-01-02")+`</span>`, `<span class="audit-clock">`+now.Format("15:04:05")+` UTC</span>`)

	// Filters combine, and the page reflects them in the form.
	both := portalGet(t, ada, "/audit?actor="+max.UserID+"&action=secret.create", false, http.StatusOK)
	if n := auditRows(both); n != 1 {
		t.Errorf("Max's creates: %d rows, want 1", n)
	}
	mustContain(t, both, `<option value="secret.create" selected>`, `<option value="`+max.UserID+`" selected>`)
}

func TestAudit_Paging(t *testing.T) {
	t.Parallel()
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
	first := portalGet(t, ada, "/audit", false, http.StatusOK)
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
	second := portalGet(t, ada, older[1], true, http.StatusOK)
	if n, want := auditRows(second), len(all)-50; n != want {
		t.Fatalf("second page: %d rows, want %d", n, want)
	}
	mustContain(t, second, "Created organization", `href="/audit"`, "Newest events")
	mustNotContain(t, second, "Older events")
	// The Older link is a link (it works without script) as well as an htmx request.
	mustContain(t, first, `href="`+older[1]+`"`, "Older events")
	mustNotContain(t, first, "Newest events")

	// Events recorded meanwhile do not move the older page: it starts after the last event shown.
	for i := range 5 {
		env.secret(env.admin, fmt.Sprintf("LATER_%d", i), "v")
	}
	again := portalGet(t, ada, older[1], true, http.StatusOK)
	if again != second {
		t.Error("the older page changed when newer events were recorded")
	}

	// Paging keeps the filter.
	reads := portalGet(t, ada, "/audit?action=secret.read", true, http.StatusOK)
	m := regexp.MustCompile(`hx-get="(/audit\?action=secret.read&amp;before=\d+)"`).FindStringSubmatch(reads)
	if m == nil {
		t.Fatal("the Older link drops the action filter")
	}
	rest := portalGet(t, ada, strings.ReplaceAll(m[1], "&amp;", "&"), true, http.StatusOK)
	if n := auditRows(rest); n != 10 {
		t.Errorf("second page of reads: %d rows, want 10", n)
	}
	mustNotContain(t, rest, "Created secret")
}

func TestAudit_NeverShowsValues(t *testing.T) {
	t.Parallel()
	env := newAdmEnv(t)
	ctx := context.Background()
	max := env.member("max@example.com", "Max", "Member")
	values := []string{"zq-VALUE-alpha-7731", "zq-VALUE-bravo-9182", "zq-VALUE-charlie-4410"}
	ada := env.signIn("ada@example.com")
	var ids []string
	for i, v := range values {
		sec := env.secret(env.admin, fmt.Sprintf("DISTINCT_%d", i), v)
		ids = append(ids, sec.ID)
		_, revealed := portalDo(ada, http.MethodPost, "/secrets/"+sec.ID+"/reveal", url.Values{}, true)
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
		portalGet(t, ada, "/audit", false, http.StatusOK),
		portalGet(t, ada, "/audit?action=secret.read", true, http.StatusOK),
		portalGet(t, ada, "/audit?secret="+ids[1], true, http.StatusOK),
		portalGet(t, ada, "/secrets/"+ids[0]+"/activity", true, http.StatusOK),
		portalGet(t, ada, "/secrets/"+ids[1]+"/activity", true, http.StatusOK),
	}
	_, table, _ := strings.Cut(pages[0], `id="audit-table"`)
	mustContain(t, table, "Read value", "Changed value", "version 2", "DISTINCT_0", "Granted access")
	for _, p := range pages {
		mustNotContain(t, p, append(values, "zq-VALUE")...)
	}
}

func TestSecretActivity(t *testing.T) {
	t.Parallel()
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
	list := portalGet(t, ada, "/secrets", false, http.StatusOK)
	mustContain(t, list, `hx-get="/secrets/`+sec.ID+`/activity"`)

	dlg := portalGet(t, ada, "/secrets/"+sec.ID+"/activity", true, http.StatusOK)
	mustContain(t, dlg, "<dialog", "Activity of", "SHARED_TOKEN", "Created secret", "Granted access", "Read value",
		"max@example.com", "ada@example.com", "via API key <strong>Deploy bot</strong>", "198.51.100.7", "192.0.2.10")
	mustNotContain(t, dlg, "shared-value-8841")
	if strings.Count(dlg, "Read value") != 2 {
		t.Errorf("want 2 reads (Max in the portal, the bot through the API)")
	}

	maxC := env.signIn("max@example.com")
	mustNotContain(t, portalGet(t, maxC, "/secrets", false, http.StatusOK), "/activity")
	portalGet(t, maxC, "/secrets/"+sec.ID+"/activity", true, http.StatusForbidden)
	portalGet(t, env.signIn("mia@example.com"), "/secrets/"+sec.ID+"/activity", true, http.StatusNotFound)
	portalGet(t, ada, "/secrets/00000000-0000-0000-0000-000000000000/activity", true, http.StatusNotFound)
}

// The dialog that shows a new key once shows code that uses it with this server's address: under the
// public address when one is configured (whatever Host the request named), else the request's. The
// curl and environment snippets, run as written, fetch a secret.
func TestAPIKeys_CreatedSnippets(t *testing.T) {
	t.Parallel()
	for _, public := range []string{"", "https://keyhold.example.com"} {
		ts := webtest.NewConfig(t, web.Config{PublicURL: public})
		ada := ts.SeedOrg(t, "Acme", "ada@example.com")
		ts.SeedSecret(t, ada, "DB_PASSWORD", "hunter2-value")
		c := webtest.SignedInClient(t, ts, "ada@example.com")
		r := c.Do(http.MethodPost, "/apikeys", url.Values{"label": {"notebook"}},
			http.Header{"X-CSRF-Token": {c.CSRF()}, "HX-Request": {"true"}, "X-Forwarded-Host": {"evil.example.net"}})
		wantStatus(t, "POST /apikeys", r, http.StatusOK)
		key, _ := webtest.InputValue(r.Body, "new-api-key")
		base := public
		if base == "" {
			base = ts.URL
		}
		snippets := map[string]string{}
		for _, id := range []string{"curl", "python", "env"} {
			v, ok := webtest.TextareaByID(r.Body, "snippet-"+id)
			if !ok {
				t.Fatalf("no %s snippet in\n%s", id, r.Body)
			}
			snippets[id] = v
			if !strings.Contains(v, key) || !strings.Contains(v, base) || strings.Contains(v, "evil.example.net") {
				t.Errorf("public URL %q: the %s snippet is\n%s\nwant key %s and address %s", public, id, v, key, base)
			}
		}
		mustContain(t, snippets["curl"], `-H "Authorization: Bearer `+key+`"`, `"`+base+`/v1/secrets?name=SECRET_NAME"`)
		mustContain(t, snippets["python"], "import singlestoredb as s2", "s2.manage_workspaces(", `"`+key+`",`, `base_url="`+base+`",`)
		mustContain(t, snippets["env"], "SINGLESTOREDB_MANAGEMENT_TOKEN="+key+"\n", "SINGLESTOREDB_MANAGEMENT_BASE_URL="+base+"\n",
			"KEYHOLD_URL="+base+"\n", "KEYHOLD_API_KEY="+key)
		mustContain(t, r.Body, `href="/v1/openapi.json"`)
		if public != "" {
			continue
		}
		// The curl snippet's request, with a real name, answers the secret.
		u := regexp.MustCompile(`"(http[^"]+)"`).FindStringSubmatch(snippets["curl"])
		auth := regexp.MustCompile(`-H "([^:]+): ([^"]+)"`).FindStringSubmatch(snippets["curl"])
		if u == nil || auth == nil {
			t.Fatalf("cannot read the curl snippet:\n%s", snippets["curl"])
		}
		api := webtest.NewClient(t, ts.URL)
		got := api.Do(http.MethodGet, strings.TrimPrefix(strings.Replace(u[1], "SECRET_NAME", "DB_PASSWORD", 1), ts.URL), nil,
			http.Header{auth[1]: {auth[2]}})
		wantStatus(t, "the curl snippet's request", got, http.StatusOK)
		mustContain(t, got.Body, `"hunter2-value"`)
	}
}
