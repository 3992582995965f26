package web_test

// Trust boundaries over real HTTP: whose address a request has, what a CSRF token is bound to, what
// a cross-site page can make a signed-in browser do, and what an invitation answer tells an admin.

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web"
	"github.com/keyhold/keyhold/web/webtest"
)

// lastAuditIP is the client address of the organization's newest audit event with action.
func lastAuditIP(t testing.TB, ts *webtest.Server, admin db.Actor, action string) string {
	t.Helper()
	evs, err := ts.Store.ListAudit(context.Background(), admin, db.AuditFilter{Action: action, Limit: 1})
	if err != nil || len(evs) == 0 {
		t.Fatalf("no %s event: %v", action, err)
	}
	return evs[0].ClientIP
}

// Without trusted proxies, a client cannot choose its address with X-Forwarded-For or X-Real-IP:
// rotating them does not get past the per-address sign-in limit, a forged header cannot lock out
// another client, and the audit trail records the connection's address.
func TestClientAddress_HeadersNotTrustedByDefault(t *testing.T) {
	t.Parallel()
	limit := db.Throttle{MaxFailures: 3, Window: time.Hour, Lockout: time.Hour}
	ts := webtest.NewWith(t, web.Config{}, db.Options{SignIn: db.SignInLimits{Account: webtest.PlentyAttempts, Client: limit}})
	ts.SeedOrg(t, "Acme", "ada@example.com")
	attacker := ts.NewClient(t)
	for i := range 3 {
		spoof := http.Header{"X-Forwarded-For": {fmt.Sprintf("203.0.113.%d", i+1)}, "X-Real-Ip": {fmt.Sprintf("198.51.100.%d", i+1)}}
		form := url.Values{"_csrf": {attacker.CSRF()}, "email": {fmt.Sprintf("guess%d@example.com", i)}, "password": {"wrong"}}
		r := attacker.Do(http.MethodPost, "/login", form, spoof)
		wantStatus(t, "a failed sign-in with a spoofed address", r, http.StatusUnauthorized)
	}
	form := url.Values{"_csrf": {attacker.CSRF()}, "email": {"guess-z@example.com"}, "password": {"wrong"}}
	r := attacker.Do(http.MethodPost, "/login", form, http.Header{"X-Forwarded-For": {"192.0.2.200"}})
	wantStatus(t, "the fourth attempt from the same connection address, with a new header", r, http.StatusTooManyRequests)

	// A forged header naming another client does not lock that client out: only the connection's
	// address, 127.0.0.1, has a count.
	raw := ts.RawDB(t)
	rows, err := raw.Query(`SELECT key FROM login_failures WHERE key LIKE 'ip:%'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		rows.Scan(&k)
		if k != "ip:127.0.0.1" {
			t.Errorf("an address taken from a header was counted: %s", k)
		}
	}
}

// The audit trail records the connection's address, whatever the headers say.
func TestClientAddress_AuditRecordsTheConnection(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	sec := ts.SeedSecret(t, ada, "API_TOKEN", "v1")
	c := webtest.SignedInClient(t, ts, "ada@example.com")
	r := c.Do(http.MethodPost, "/secrets/"+sec.ID+"/reveal", url.Values{}, http.Header{"Hx-Request": {"true"}, "X-Csrf-Token": {c.CSRF()},
		"X-Forwarded-For": {"203.0.113.66"}, "X-Real-Ip": {"203.0.113.67"}})
	wantStatus(t, "reveal", r, http.StatusOK)
	if ip := lastAuditIP(t, ts, ada, db.ActionSecretRead); ip != "127.0.0.1" {
		t.Errorf("the read was recorded from %q, want the connection's 127.0.0.1", ip)
	}
	// The same through the API.
	key, _, err := ts.Store.CreateAPIKey(context.Background(), ada, "ci", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/v1/secrets?name=API_TOKEN", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("X-Forwarded-For", "203.0.113.68")
	req.Header.Set("X-Real-Ip", "203.0.113.69")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("API fetch: %d", res.StatusCode)
	}
	evs, err := ts.Store.ListAudit(context.Background(), ada, db.AuditFilter{Action: db.ActionSecretRead, Limit: 1})
	if err != nil || len(evs) != 1 || evs[0].APIKeyLabel != "ci" || evs[0].ClientIP != "127.0.0.1" {
		t.Errorf("the API read was recorded as %+v (%v), want from the connection's 127.0.0.1", evs, err)
	}
}

// With --trusted-proxies, the address a trusted proxy appends is believed, and only that: a client
// of the proxy still cannot put a made-up address in front of it.
func TestClientAddress_TrustedProxies(t *testing.T) {
	t.Parallel()
	trusted, err := web.ParseTrustedProxies("127.0.0.1/32, 10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	if want := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")}; len(trusted) != 2 || trusted[0] != want[0] || trusted[1] != want[1] {
		t.Fatalf("parsed %v", trusted)
	}
	for _, bad := range []string{"10.0.0.0/33", "not-an-address", "10.0.0.0/8,,nope"} {
		if _, err := web.ParseTrustedProxies(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	ts := webtest.NewConfig(t, web.Config{TrustedProxies: trusted})
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	sec := ts.SeedSecret(t, ada, "API_TOKEN", "v1")
	c := webtest.SignedInClient(t, ts, "ada@example.com")
	for _, tc := range []struct {
		xff  []string
		want string
	}{
		{nil, "127.0.0.1"},
		{[]string{"198.51.100.7"}, "198.51.100.7"},
		{[]string{"203.0.113.9, 198.51.100.7"}, "198.51.100.7"},           // the client wrote the first one
		{[]string{"203.0.113.9, 198.51.100.7, 10.1.2.3"}, "198.51.100.7"}, // through two trusted proxies
		{[]string{"203.0.113.9", "198.51.100.7"}, "198.51.100.7"},         // two header lines
		{[]string{"garbage, 198.51.100.7"}, "198.51.100.7"},
		{[]string{"198.51.100.7, garbage"}, "127.0.0.1"},              // a hop the proxy did not write: believe no further
		{[]string{"203.0.113.9, 198.51.100.8:51234"}, "198.51.100.8"}, // a proxy that writes the port
		{[]string{"[2001:db8::7]:443"}, "2001:db8::7"},
		{[]string{"[2001:db8::8]"}, "2001:db8::8"},
	} {
		hdr := http.Header{"Hx-Request": {"true"}, "X-Csrf-Token": {c.CSRF()}, "X-Forwarded-For": tc.xff}
		wantStatus(t, "reveal", c.Do(http.MethodPost, "/secrets/"+sec.ID+"/reveal", url.Values{}, hdr), http.StatusOK)
		if ip := lastAuditIP(t, ts, ada, db.ActionSecretRead); ip != tc.want {
			t.Errorf("X-Forwarded-For %q: recorded %q, want %q", tc.xff, ip, tc.want)
		}
	}
}

// The CSRF token is bound to the session: a cookie and token pair planted from elsewhere (a sibling
// subdomain, or a man in the middle on plain HTTP, can set cookies) does not work for the victim's
// session, nor does the victim's own token for another session.
func TestCSRF_BoundToTheSession(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	ts.SeedMember(t, ada, "bob@example.com", "Bob", "Example")
	victim := webtest.SignedInClient(t, ts, "ada@example.com")
	attacker := webtest.SignedInClient(t, ts, "bob@example.com")

	// The attacker's own valid pairs: an anonymous cookie with its token, and its session's token.
	stranger := ts.NewClient(t)
	anonToken, anonCookie := stranger.CSRF(), stranger.Cookie("kh_anon")
	victim.SetCookie("kh_anon", anonCookie)               // planted
	victim.SetCookie("kh_csrf", "chosen-by-the-attacker") // a double-submit pair, as once accepted
	for what, tok := range map[string]string{"a planted anonymous pair": anonToken, "another session's token": attacker.CSRF(),
		"a planted double-submit pair": "chosen-by-the-attacker"} {
		r := victim.Do(http.MethodPost, "/secrets", url.Values{"name": {"PLANTED"}, "value": {"x"}}, http.Header{"Hx-Request": {"true"}, "X-Csrf-Token": {tok}})
		wantStatus(t, what, r, http.StatusForbidden)
		f := url.Values{"_csrf": {tok}}
		wantStatus(t, what+" in a form", victim.Do(http.MethodPost, "/logout", f, nil), http.StatusForbidden)
	}
	if names := ts.SecretNames(t, ada); len(names) != 0 {
		t.Fatalf("secrets %v", names)
	}
	wantSignedIn(t, "the victim", victim)
	// A token outlives nothing: after signing out and in again, the old one is refused.
	old := victim.CSRF()
	wantRedirect(t, "sign out", victim.PostForm("/logout", nil), "/login?signed_out=1")
	webtest.SignIn(t, victim, "ada@example.com", webtest.Password)
	if tok := victim.CSRF(); tok == old {
		t.Fatal("the new session has the old session's token")
	}
	r := victim.Do(http.MethodPost, "/secrets", url.Values{"name": {"OLD_TOKEN"}, "value": {"x"}}, http.Header{"Hx-Request": {"true"}, "X-Csrf-Token": {old}})
	wantStatus(t, "the old session's token", r, http.StatusForbidden)
}

// Revealing a value is recorded in the audit trail, so it is a POST with the CSRF token: a cross-site
// page cannot open it in the victim's name (a top-level GET once rendered the value and recorded a
// read), nor post it without the token.
func TestReveal_OnlyByPostWithToken(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	sec := ts.SeedSecret(t, ada, "API_TOKEN", "s3cr3t-value")
	c := webtest.SignedInClient(t, ts, "ada@example.com")
	reads := func() int {
		evs, err := ts.Store.SecretActivity(context.Background(), ada, sec.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range evs {
			if e.Action == db.ActionSecretRead {
				n++
			}
		}
		return n
	}
	for what, r := range map[string]*webtest.Response{
		"a top-level GET of the old URL":   c.Get("/secrets/" + sec.ID + "/value"),
		"a GET of the reveal URL":          c.Get("/secrets/" + sec.ID + "/reveal"),
		"a POST without the token":         c.Do(http.MethodPost, "/secrets/"+sec.ID+"/reveal", url.Values{}, nil),
		"a cross-site POST with the token": c.Do(http.MethodPost, "/secrets/"+sec.ID+"/reveal", url.Values{"_csrf": {c.CSRF()}}, http.Header{"Sec-Fetch-Site": {"cross-site"}}),
		"a same-site POST with the token":  c.Do(http.MethodPost, "/secrets/"+sec.ID+"/reveal", url.Values{"_csrf": {c.CSRF()}}, http.Header{"Sec-Fetch-Site": {"same-site"}}),
	} {
		if r.Status < 400 || strings.Contains(r.Body, "s3cr3t-value") {
			t.Errorf("%s: status %d, the value shown: %v", what, r.Status, strings.Contains(r.Body, "s3cr3t-value"))
		}
	}
	if n := reads(); n != 0 {
		t.Fatalf("%d reads recorded by refused requests", n)
	}
	r := c.Reveal("/secrets/" + sec.ID)
	wantStatus(t, "Reveal", r, http.StatusOK)
	if v, _ := webtest.TextareaValue(r.Body); v != "s3cr3t-value" || reads() != 1 {
		t.Fatalf("Reveal gave %q with %d reads recorded", v, reads())
	}
}

var inviteLinkRE = regexp.MustCompile(`id="invite-link" class="input mono" value="([^"]+)"`)

// An admin inviting someone learns nothing about whether the email has an account anywhere on the
// instance: the answer is the same (but for the link and the email), and no password is asked.
func TestInvite_SameAnswerWhetherOrNotTheEmailHasAnAccount(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ts.SeedOrg(t, "Acme", "ada@example.com")
	ts.SeedOrg(t, "Globex", "gina@example.com") // has an account, in another organization
	admin := webtest.SignedInClient(t, ts, "ada@example.com")
	dialog := admin.GetHX("/members/invite")
	wantStatus(t, "the Invite dialog", dialog, http.StatusOK)
	if strings.Contains(dialog.Body, `type="password"`) || strings.Contains(dialog.Body, `name="password"`) {
		t.Error("the Invite dialog has a password field")
	}
	answer := func(email string) *webtest.Response {
		r := admin.HX(http.MethodPost, "/invitations", url.Values{"email": {email}, "role": {"member"}})
		wantStatus(t, "invite "+email, r, http.StatusOK)
		return r
	}
	known, unknown := answer("gina@example.com"), answer("nobody@example.com")
	norm := func(r *webtest.Response, email string) string {
		return strings.ReplaceAll(inviteLinkRE.ReplaceAllString(r.Body, "LINK"), email, "EMAIL")
	}
	if a, b := norm(known, "gina@example.com"), norm(unknown, "nobody@example.com"); a != b {
		t.Errorf("the answers differ:\n%s\n---\n%s", a, b)
	}
	if inviteLinkRE.FindString(known.Body) == "" {
		t.Fatal("no invitation link in the answer")
	}
}

// Password attempts are paced per client address: a burst goes through at once, then each attempt
// is held until its turn (a held request costs no CPU, so a client that never waits cannot turn a
// flood of attempts into work for the server), and one whose turn is too far off is refused with
// Retry-After. Other addresses are not slowed.
func TestSignIn_PacedPerAddress(t *testing.T) {
	ts := webtest.NewConfig(t, web.Config{AttemptRate: 1, AttemptBurst: 2, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	ts.SeedOrg(t, "Acme", "ada@example.com")
	c := ts.NewClient(t)
	from := func(addr string) http.Header { return http.Header{"X-Forwarded-For": {addr}} }
	attempt := func(addr string) (*webtest.Response, time.Duration) {
		start := time.Now()
		r := c.Do(http.MethodPost, "/login", url.Values{"_csrf": {c.CSRF()}, "email": {"nobody@example.com"}, "password": {"wrong"}}, from(addr))
		return r, time.Since(start)
	}
	for i := range 2 { // the burst
		r, _ := attempt("198.51.100.1")
		wantStatus(t, fmt.Sprintf("attempt %d of the burst", i+1), r, http.StatusUnauthorized)
	}
	// Five at once: the first two get their turns 1 and 2 s later; the others are due later than
	// 2 s, so they are held 2 s, then refused.
	type answer struct {
		status     int
		retryAfter string
		took       time.Duration
	}
	answers := make(chan answer, 5)
	for range 5 {
		go func() {
			r, took := attempt("198.51.100.1")
			answers <- answer{r.Status, r.Header.Get("Retry-After"), took}
		}()
	}
	var held, refused int
	for range 5 {
		a := <-answers
		switch {
		case a.status == http.StatusUnauthorized:
			held++
		case a.status == http.StatusTooManyRequests && a.retryAfter != "" && a.took >= attemptHold:
			refused++
		default:
			t.Errorf("answer %+v, want 401 after its turn, or 429 with Retry-After after being held %v", a, attemptHold)
		}
	}
	if held != 2 || refused != 3 {
		t.Errorf("%d handled in turn and %d refused, want 2 and 3", held, refused)
	}
	r, _ := attempt("203.0.113.5") // another client is not slowed
	wantStatus(t, "another address", r, http.StatusUnauthorized)
}

// attemptHold is how long a refused attempt is held before its 429 (web's attemptPaceMaxDelay).
const attemptHold = 2 * time.Second
